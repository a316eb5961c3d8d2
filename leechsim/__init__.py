"""The ``leechsim`` command line: parse the arguments, call the ``forensics`` library, print.

``main(args, env)`` runs it in-process with injectable I/O (``env.Environment``) and returns an
``env.ExitStatus``; nothing outside this package imports it (tests/test_architecture.py).
"""
