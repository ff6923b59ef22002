"""The user errors of loading and translating: each names the file and says what to do."""
from ..errors import UserError


class ModelFileError(UserError):
    """A model (run folder, .pth or .onnx) that is missing, unreadable, or not a network this suite can run."""


class ImageInputError(UserError):
    """An input image that is missing, not an image, or too large to decode safely."""


class NotTileable(UserError):
    """Tiles were asked for a network with a layer the tiled runner does not know (the message names it)."""
