"""The demo's answers to bad requests: each error carries the HTTP status the API answers with, and a message
for a person (the page shows it as it is; no stack trace ever reaches the page or the API)."""
from ..errors import UserError


class DemoError(UserError):
    """A request the demo refuses; `status` is the HTTP status of the JSON error."""
    status = 400


class InputError(DemoError, ValueError):
    """A bad field or file: not an image, an unknown model or style, a value outside the limits (400)."""


class TooLarge(InputError):
    """An upload over the size limit, or an image over the pixel limit (a decompression bomb): 413."""
    status = 413


class Busy(DemoError):
    """The queue is full: 429, try again when a job has finished."""
    status = 429


class NotFound(DemoError):
    """An unknown job or result file: 404."""
    status = 404
