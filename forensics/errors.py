"""Errors whose message is meant for the user as it is (no traceback): exit code 2."""


class UserError(Exception):
    pass
