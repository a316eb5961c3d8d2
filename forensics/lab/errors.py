"""Failures of a real swarm (as opposed to a user's bad input, which is forensics.errors.UserError)."""


class LabRunError(RuntimeError):
    """The real swarm failed: a peer crashed, the tracker died or did not start, a timeout."""


class LabTimeout(LabRunError):
    """A run exceeded --timeout-s."""
