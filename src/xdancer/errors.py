"""The error type for bad input: the CLI prints its message as one line and exits non-zero."""


class InputError(ValueError):
    """A problem with what the user gave us (a file, an option), stated so they can fix it."""
