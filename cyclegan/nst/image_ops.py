"""Images for the optimizer: (1, 3, H, W) float tensors in [0, 1], tensor resizing, colour spaces, and
output file names. Files are read and written by cyclegan.images."""
import re
from pathlib import Path

import torch
import torch.nn.functional as F

from cyclegan.images import load_image as _load, save_image


def load_image(path, longest=None):
    """Read an image as a (1, 3, H, W) float tensor in [0, 1], its longest side `longest` pixels."""
    return _load(path, longest=longest).unsqueeze(0)


def resize_to(img, hw):
    """Resize a (1, C, H, W) tensor to (H, W), bicubic, kept in [0, 1]."""
    if tuple(img.shape[-2:]) == tuple(hw):
        return img
    return F.interpolate(img, size=tuple(hw), mode="bicubic", align_corners=False).clamp(0, 1)


# YIQ (NTSC): Y is luminance; Gatys et al. 2016 ("Preserving colour in neural artistic style
# transfer") run the transfer on Y only and take I and Q from the photo.
_RGB2YIQ = torch.tensor([[0.299, 0.587, 0.114], [0.595716, -0.274453, -0.321263], [0.211456, -0.522591, 0.311135]])


def rgb_to_yiq(img):
    return torch.einsum("ij,bjhw->bihw", _RGB2YIQ.to(img), img)


def yiq_to_rgb(img):
    return torch.einsum("ij,bjhw->bihw", torch.linalg.inv(_RGB2YIQ).to(img), img)


def luminance(img):
    """(1, 1, H, W) Y channel of an RGB image."""
    return rgb_to_yiq(img)[:, :1]


def match_luminance(style_y, content_y):
    """Give the style's luminance the photo's mean and spread (Gatys et al.'s histogram step)."""
    return (style_y - style_y.mean()) / (style_y.std() + 1e-8) * content_y.std() + content_y.mean()


def sanitize(name):
    """A file-name-safe version of `name`: letters, digits, '.', '-' and '_' only."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", str(name)).strip("._") or "image"


def _num(v):
    return "%.4g" % v  # 1 -> '1', 1e5 -> '1e+05', 1e-6 -> '1e-06', like the seed projects


def output_filename(content, styles, optimizer, init, size, backbone, content_weight, style_weight, tv_weight,
                    blend=None, style_loss="gram", preserve_color=False, ext=".jpg"):
    """e.g. golden_gate__vg_starry_night__lbfgs_content_512px_vgg19_cw1_sw1e+05_tv1e-06.jpg"""
    style_part = "+".join(sanitize(Path(s).stem) for s in styles)
    if blend:
        style_part += "_blend" + "-".join(_num(w) for w in blend)
    name = (f"{sanitize(Path(content).stem)}__{style_part}__{optimizer}_{init}_{size}px_{backbone}"
            f"_cw{_num(content_weight)}_sw{_num(style_weight)}_tv{_num(tv_weight)}")
    if style_loss != "gram":
        name += f"_{style_loss}"
    if preserve_color:
        name += "_pc"
    return name + ext


__all__ = ["load_image", "save_image", "resize_to", "rgb_to_yiq", "yiq_to_rgb", "luminance",
           "match_luminance", "sanitize", "output_filename"]
