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
    """The queue is full: 429, with `retry_after` seconds (the HTTP Retry-After header): about when a place
    frees up, from how long recent jobs took."""
    status = 429

    def __init__(self, message, retry_after=1):
        super().__init__(message)
        self.retry_after = max(1, int(retry_after))


class NotFound(DemoError):
    """An unknown job or result file: 404."""
    status = 404
