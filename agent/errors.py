"""The error every user-facing failure derives from: its message is shown as is, no traceback."""


class NurtureError(Exception):
    """A problem the user can fix (bad input, bad configuration, missing data)."""
