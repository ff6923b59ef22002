"""The dataset scan run before training: every file is opened and decoded once, so a bad file is found
up front and reported in one summary instead of killing the run mid-epoch.

Unusable (skipped, or an error with --strict): unreadable or missing files (symlink loops, permissions),
zero-byte files, text or other non-images with an image extension, truncated JPEG/PNG data,
decompression bombs (over PIL's pixel limit), 1x1 images.
Usable (kept, converted at load time): grayscale, palette, RGBA, CMYK, 16-bit; images smaller than
crop_size (enlarged before cropping); any file name (spaces, quotes, non-ASCII, newlines).
"""
import os
import warnings
from concurrent.futures import ThreadPoolExecutor

from PIL import Image

from ..errors import UserError


class BadDatasetError(UserError, ValueError):
    """Raised with --strict when the scan finds unusable files; the message lists them."""


def check_image(path, crop_size=0):
    """Return (problem, note): problem is None for a usable file; note describes a usable oddity."""
    try:
        if os.path.getsize(path) == 0:
            return "empty file (0 bytes)", None
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as img:
                size, mode = img.size, img.mode
                if img.format == "JPEG":
                    img.draft("RGB", (max(1, size[0] // 8), max(1, size[1] // 8)))  # fast decode, still sees truncation
                img.load()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as e:
        return f"decompression bomb refused ({e})", None
    except Image.UnidentifiedImageError:
        return "not an image (unrecognised content)", None
    except (OSError, ValueError, SyntaxError) as e:  # truncated data, symlink loops, permissions, bad headers
        return f"unreadable: {e}", None
    if size[0] * size[1] <= 1:
        return f"degenerate {size[0]}x{size[1]} image", None
    notes = []
    if mode != "RGB":
        notes.append(f"mode {mode} converted to RGB")
    if crop_size and min(size) < crop_size:
        notes.append(f"{size[0]}x{size[1]} is smaller than crop_size {crop_size}: enlarged")
    return None, "; ".join(notes) or None


def scan_images(paths, crop_size=0, strict=False, workers=2, label="dataset"):
    """Check every path; return the usable ones. Prints one summary of what was skipped or converted."""
    with ThreadPoolExecutor(max(1, workers)) as pool:  # PIL decodes without holding the GIL
        results = list(pool.map(lambda p: check_image(p, crop_size), paths))
    good = [p for p, (problem, _) in zip(paths, results) if problem is None]
    bad = [(p, problem) for p, (problem, _) in zip(paths, results) if problem is not None]
    odd = [(p, note) for p, (problem, note) in zip(paths, results) if problem is None and note]
    if bad:
        listing = "\n".join(f"  {p!r}: {why}" for p, why in bad)
        if strict:
            raise BadDatasetError(f"{label}: {len(bad)} unusable file(s) (--strict):\n{listing}\n"
                                  f"Fix or remove them, or drop --strict to skip them.")
        warnings.warn(f"{label}: skipping {len(bad)} unusable file(s) of {len(paths)}:\n{listing}", stacklevel=2)
    if odd:
        print(f"{label}: {len(odd)} image(s) will be converted: "
              + "; ".join(f"{os.path.basename(p)!r} ({n})" for p, n in odd[:5]) + (" ..." if len(odd) > 5 else ""))
    if not good:
        raise BadDatasetError(f"{label}: none of the {len(paths)} files is a usable image")
    return good
