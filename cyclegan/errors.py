"""The one base class of user errors: a bad file, flag value, dataset or checkpoint that the user can mend.

Library code raises a subclass with a message that names the file or flag and says what to do; every entry
point catches UserError once (cyclegan.cli.main_guard), prints `error: <message>` and exits 1 (flag errors go
through parser.error, exit 2). The subclasses keep a builtin base too (ValueError, RuntimeError, ...), so code
that catches those still does.
"""


class UserError(Exception):
    """Something the user can fix; the message says what and how."""


class MissingFileError(UserError, FileNotFoundError):
    """A file or folder the user named (or that a run should hold) does not exist."""


class SettingError(UserError, ValueError):
    """A setting that does not fit the data or the other settings, found only at run time (e.g. a layer name
    the chosen backbone lacks)."""
