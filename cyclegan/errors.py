"""The one base class of user errors: a bad file, flag value, dataset or checkpoint that the user can mend.

Library code raises a subclass with a message that names the file or flag and says what to do; every entry
point catches UserError once, prints `error: <message>` and exits 1 (flag errors go through parser.error, exit 2).
"""


class UserError(Exception):
    """Something the user can fix; the message says what and how."""
