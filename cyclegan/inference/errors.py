"""The user errors of loading and translating: each names the file and says what to do."""
from ..errors import MissingFileError, UserError


class ModelFileError(UserError, RuntimeError):
    """A model (run folder, .pth or .onnx) that is missing, unreadable, or not a network this suite can run."""


class MissingModelError(ModelFileError, MissingFileError):
    """A run folder or weights file that is not there (a FileNotFoundError too)."""


class ImageInputError(UserError, ValueError):
    """An input image that is missing, not an image, or too large to decode safely."""


class NotTileable(UserError, RuntimeError):
    """Tiles were asked for a network with a layer the tiled runner does not know (the message names it)."""
