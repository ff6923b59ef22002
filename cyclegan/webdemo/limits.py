"""The demo's limits and the checks of what is uploaded against them.

An image's pixel count is read from its header before anything is decoded, so a decompression bomb (a small
file that claims billions of pixels) is refused without allocating them; then cyclegan.images.read_rgb decodes
it (the one image loader). Results are computed at most `max_side` pixels on their longest side.
"""
import os
import warnings
from dataclasses import asdict, dataclass

from PIL import Image

from ..images import ImageFileError, read_rgb, resize
from ..media import FORMATS as VIDEO_SUFFIXES
from .errors import InputError, TooLarge

DEFAULT_SIZE = 512  # longest side of the models' results unless a request asks for less
DEFAULT_GATYS_SIZE = 256  # Gatys optimises every pixel: smaller by default
DEFAULT_GATYS_ITERS = 50


@dataclass
class Limits:
    max_upload_mb: float = 20.0  # one request, every file together
    max_pixels: int = 25_000_000  # one image, read from its header before decoding
    max_side: int = 1024  # longest side of any result
    max_files: int = 8  # photos (or videos) in one request; style images count apart
    max_gatys_iters: int = 300
    max_video_frames: int = 300

    @property
    def max_upload_bytes(self):
        return int(self.max_upload_mb * 2 ** 20)

    def public(self):
        return {**asdict(self), "max_upload_bytes": self.max_upload_bytes,
                "default_size": min(DEFAULT_SIZE, self.max_side),
                "default_gatys_size": min(DEFAULT_GATYS_SIZE, self.max_side),
                "default_gatys_iters": min(DEFAULT_GATYS_ITERS, self.max_gatys_iters),
                "video_suffixes": sorted(VIDEO_SUFFIXES)}


def is_video_name(name):
    return os.path.splitext(str(name))[1].lower() in VIDEO_SUFFIXES


def open_image(path, shown, limits):
    """The uploaded file at `path` (called `shown` in messages) as an RGB PIL image, after the pixel limit;
    InputError for a file that is not an image, TooLarge for one over the limit."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # our own limit decides, below
            with Image.open(path) as img:
                w, h = img.size
    except Image.DecompressionBombError as e:
        raise TooLarge(f"{shown}: refused as a decompression bomb ({e})") from None
    except (OSError, SyntaxError, ValueError):
        raise InputError(f"{shown}: not an image this demo can read; upload a JPEG, PNG, WebP, BMP or TIFF photo"
                         + (f" (or a video: {', '.join(sorted(VIDEO_SUFFIXES))})" if limits.max_video_frames else "")
                         ) from None
    if w * h > limits.max_pixels:
        raise TooLarge(f"{shown}: {w} x {h} = {w * h / 1e6:.1f} megapixels, over this demo's limit of "
                       f"{limits.max_pixels / 1e6:g} megapixels (--max_pixels); it was not decoded (a small file "
                       f"claiming that many pixels is a decompression bomb)")
    try:
        return read_rgb(path)
    except ImageFileError as e:
        raise InputError(str(e).replace(os.fspath(path), shown)) from None


def fit(img, side):
    """`img` with its longest side at most `side` (aspect kept); smaller images stay as they are."""
    return resize(img, longest=side) if max(img.size) > side else img


def int_field(fields, name, default, low, high, flag):
    """An integer form field within [low, high]; InputError naming the field and the limit otherwise."""
    values = fields.get(name) or []
    text = str(values[-1]).strip() if values else ""
    if not text:
        return default
    try:
        value = int(float(text))
    except ValueError:
        raise InputError(f"{name}={text!r}: give a whole number") from None
    if value < low:
        raise InputError(f"{name}={value}: give at least {low}")
    if value > high:
        raise InputError(f"{name}={value} is over this demo's limit of {high} ({flag})")
    return value
