"""Stereoscopic style transfer (after Chen et al. 2018): stylise a left/right pair so the two eyes agree.

Disparity comes from OpenCV's semi-global matching (StereoSGBM, a classical matcher, no weights): the left
disparity d_L (a point at x in the left view is at x - d_L(x) in the right one) and the right disparity d_R
(from the mirrored pair). A left-right check keeps the pixels where both agree within a pixel; the rest
are occluded or unmatched.

- Left-right consistency (the measure): the right output warped into the left view by d_L, against the left
  output, on the checked pixels: Lai et al.'s squared RGB error (cyclegan.metrics.warp.masked_error), in [0, 1]
  pixel units. 0: the two outputs show the scene alike.
- Consistent stylisation (the same idea at inference): stylise the left view; the right view takes the left
  output through d_R where the check holds, blended (a feathered mask) with the independently stylised right
  view elsewhere (occlusions, the left margin that SGBM cannot match, textureless patches).
- Outputs: both views, a side-by-side image and a red-cyan anaglyph (red from the left eye, green and blue
  from the right).
"""
import os
from pathlib import Path

import cv2
import numpy as np
import torch

from ..errors import UserError
from ..images import list_images, load_image, save_image
from ..io import atomic_write_json
from ..metrics.warp import masked_error, sample, to_gray_uint8

LR_TOLERANCE = 1.0  # pixels: the left-right check
FEATHER = 2.0  # sigma, pixels: the blend mask's soft edge


class StereoError(UserError, ValueError):
    """A pair that cannot be stylised as a stereo pair; the message names the file(s) and says what to do."""


def load_stylizer(method, run_dir, epoch="latest", direction="AtoB", model_suffix=None, device="cpu", raw=False):
    """A trained run's styliser, process((N, 3, H, W) in [0, 1]) -> the same shape: the one place this module
    loads a generator (through cyclegan.media.stylizers, as cyclegan-video does; raw: the raw weights even where
    the run saved EMA ones)."""
    from .stylizers import cyclegan_frames, fast_nst_frames
    run_dir = str(run_dir)
    if method == "fast_nst":
        return fast_nst_frames(run_dir, epoch, device)
    if method == "cyclegan":
        return cyclegan_frames(run_dir, epoch, direction, model_suffix, device, raw=raw)
    raise ValueError(f"unknown method {method!r}: fast_nst or cyclegan")


def default_num_disparities(width):
    """SGBM's search range: an eighth of the width, rounded up to a multiple of 16 (at least 16)."""
    return max(16, -(-(width // 8) // 16) * 16)


def _sgbm(a, b, num_disparities, block_size):
    m = cv2.StereoSGBM_create(minDisparity=0, numDisparities=num_disparities, blockSize=block_size,
                              P1=8 * block_size ** 2, P2=32 * block_size ** 2, disp12MaxDiff=-1,
                              uniquenessRatio=10, speckleWindowSize=50, speckleRange=2,
                              mode=cv2.STEREO_SGBM_MODE_SGBM_3WAY)
    d = m.compute(a, b).astype(np.float32) / 16  # fixed point, 4 fractional bits
    d[d < 0] = np.nan  # minDisparity - 1: no match
    return d


def disparities(left, right, num_disparities=None, block_size=5):
    """(d_L, d_R): float32 (H, W) disparities in pixels of the left and the right view, NaN where SGBM found no
    match. left, right: (3, H, W) in [0, 1] or (H, W, 3) uint8."""
    gl, gr = to_gray_uint8(left), to_gray_uint8(right)
    n = num_disparities or default_num_disparities(gl.shape[1])
    d_left = _sgbm(gl, gr, n, block_size)
    d_right = _sgbm(np.ascontiguousarray(gr[:, ::-1]), np.ascontiguousarray(gl[:, ::-1]), n, block_size)[:, ::-1]
    return d_left, np.ascontiguousarray(d_right)


def lr_check(d_from, d_to, sign, tolerance=LR_TOLERANCE):
    """(H, W) bool: pixels of one view whose disparity d_from lands (at x + sign * d) inside the other view
    on a pixel whose disparity d_to agrees within `tolerance`. sign: -1 from left to right, +1 back."""
    h, w = d_from.shape
    xs = np.arange(w, dtype=np.float32)[None, :] + sign * np.nan_to_num(d_from, nan=0.0)
    target = np.rint(xs).astype(np.int64)
    inside = (target >= 0) & (target < w) & ~np.isnan(d_from)
    other = np.take_along_axis(d_to, target.clip(0, w - 1), axis=1)
    return inside & (np.abs(np.nan_to_num(other, nan=np.inf) - np.nan_to_num(d_from, nan=0.0)) <= tolerance)


def horizontal_flow(d, sign):
    """A flow field (H, W, 2) that samples the other view at x + sign * d (0 where d is NaN)."""
    flow = np.zeros((*d.shape, 2), dtype=np.float32)
    flow[..., 0] = sign * np.nan_to_num(d, nan=0.0)
    return flow


def lr_error(out_left, out_right, d_left, valid_left):
    """Left-right consistency of two outputs (3, H, W) in [0, 1]: the right one warped into the left view by
    d_left against the left one, on `valid_left` pixels (see the module docstring); None when none is valid."""
    warped, inside = sample(out_right, horizontal_flow(d_left, -1))
    return masked_error(out_left, warped, torch.from_numpy(np.asarray(valid_left)) & inside)


def feathered(mask, sigma=FEATHER):
    """A float mask that is 0 where `mask` is false and falls smoothly to 0 towards its edges."""
    m = mask.astype(np.float32)
    return cv2.GaussianBlur(m, (0, 0), sigma) * m if sigma > 0 else m


def stylize_pair(process, left, right, num_disparities=None, block_size=5, consistent=True):
    """Stylise a pair ((3, H, W) in [0, 1], same size) with process((N, 3, H, W)) -> same. Returns a dict: the
    outputs `left` and `right` (the consistent right view, or the independent one when not `consistent`),
    `independent_right`, the disparities, and the numbers: `independent_lr_error` and `lr_error` (see
    lr_error), `valid_fraction` (left pixels passing the check), `filled_fraction` (right pixels taken from
    the left output) and `disparity_median`."""
    if left.shape != right.shape:
        raise StereoError(f"the two views differ in size: {tuple(left.shape[1:])} and {tuple(right.shape[1:])}")
    out = process(torch.stack([left, right]))
    out_left, independent = out[0], out[1]
    d_left, d_right = disparities(left, right, num_disparities, block_size)
    valid_left, valid_right = lr_check(d_left, d_right, -1), lr_check(d_right, d_left, +1)
    result = {"left": out_left, "independent_right": independent, "right": independent, "d_left": d_left,
              "d_right": d_right, "valid_fraction": float(valid_left.mean()), "filled_fraction": 0.0,
              "disparity_median": float(np.nanmedian(d_left)) if np.isfinite(d_left).any() else None}
    if consistent:
        from_left, _ = sample(out_left, horizontal_flow(d_right, +1))
        alpha = torch.from_numpy(feathered(valid_right))[None]
        result["right"] = alpha * from_left + (1 - alpha) * independent
        result["filled_fraction"] = float(valid_right.mean())
    result["independent_lr_error"] = lr_error(out_left, independent, d_left, valid_left)
    result["lr_error"] = lr_error(out_left, result["right"], d_left, valid_left)
    return result


def side_by_side(left, right):
    return torch.cat([left, right], dim=-1)


def anaglyph(left, right):
    """Red-cyan anaglyph of two (3, H, W) views: red from the left eye, green and blue from the right."""
    return torch.cat([left[:1], right[1:]], dim=0)


# -- files: pairs in, four images and a report out ------------------------------------------------------------

def find_pairs(left=None, right=None, sbs=None):
    """The pairs to stylise as (stem, sources): sources is (left file, right file) or (side-by-side file,).
    left/right: two image files, or two folders whose images pair up by relative name; sbs: a side-by-side
    image (left half = left eye) or a folder of them."""
    if sbs is not None:
        sbs = Path(sbs)
        files = list_images(sbs, recursive=True) if sbs.is_dir() else [sbs]
        return [(_stem(f, sbs), (f,)) for f in files]
    left, right = Path(left), Path(right)
    if left.is_dir() != right.is_dir():
        raise StereoError(f"--left {left} and --right {right}: give two image files or two folders")
    if not left.is_dir():
        return [(left.stem, (left, right))]
    names_l = {f.relative_to(left): f for f in list_images(left, recursive=True)}
    names_r = {f.relative_to(right): f for f in list_images(right, recursive=True)}
    unmatched = sorted(set(names_l) ^ set(names_r))
    if unmatched:
        shown = ", ".join(str((left if n in names_l else right) / n) for n in unmatched[:5])
        raise StereoError(f"--left {left} and --right {right} must hold the same image names; without a partner: "
                          f"{shown}{' ...' if len(unmatched) > 5 else ''}")
    return [(_stem(names_l[n], left), (names_l[n], names_r[n])) for n in sorted(names_l)]


def _stem(path, root):
    return path.stem if path == root else str(path.relative_to(root).with_suffix(""))


def load_pair(sources, max_size=None):
    """(left, right) (3, H, W) tensors in [0, 1] of one pair from find_pairs, resized alike so the longest side is
    at most max_size; StereoError naming the file(s) when the views differ in size or a file is no image."""
    if len(sources) == 1:
        image = load_image(str(sources[0]))
        w = image.shape[-1]
        if w < 2 or w % 2:
            raise StereoError(f"{sources[0]}: a side-by-side image must have an even width (left half: left eye), "
                              f"got {w} px")
        left, right = image[..., :w // 2], image[..., w // 2:]
    else:
        left, right = (load_image(str(p)) for p in sources)
        if left.shape != right.shape:
            raise StereoError(f"{sources[0]} is {left.shape[2]}x{left.shape[1]} but {sources[1]} is "
                              f"{right.shape[2]}x{right.shape[1]}: a stereo pair needs two views of one size")
    h, w = left.shape[-2:]
    if max_size and max(h, w) > max_size:
        s = max_size / max(h, w)
        size = (max(1, round(h * s)), max(1, round(w * s)))
        left, right = (torch.nn.functional.interpolate(v[None], size=size, mode="bicubic", antialias=True,
                                                       align_corners=False)[0].clamp(0, 1) for v in (left, right))
    return left, right


def stylize_files(process, pairs, output_dir, max_size=None, consistent=True, log=print, **matcher):
    """Stylise each (stem, sources) of find_pairs and write OUTPUT/<stem>_{left,right,sbs,anaglyph}.png and
    OUTPUT/stereo.json. Every pair is read and checked first, so a bad one stops the run with nothing written.
    **matcher: num_disparities, block_size. Returns the report (a list of dicts, one per pair)."""
    for _, sources in pairs:
        load_pair(sources, max_size)
    report = []
    for stem, sources in pairs:
        left, right = load_pair(sources, max_size)
        r = stylize_pair(process, left, right, consistent=consistent, **matcher)
        files = {}
        views = (("left", r["left"]), ("right", r["right"]), ("sbs", side_by_side(r["left"], r["right"])),
                 ("anaglyph", anaglyph(r["left"], r["right"])))
        for kind, image in views:
            files[kind] = str(save_image(image, os.path.join(output_dir, f"{stem}_{kind}.png")))
        row = {"pair": [str(p) for p in sources], "outputs": files, "consistent": consistent,
               **{k: r[k] for k in ("independent_lr_error", "lr_error", "valid_fraction", "filled_fraction",
                                    "disparity_median")}}
        report.append(row)
        log(describe(stem, row))
    atomic_write_json(os.path.join(output_dir, "stereo.json"), report, indent=1)
    return report


def describe(stem, row):
    def fmt(v):
        return "undefined" if v is None else f"{v:.5f}"
    return (f"{stem}: left-right error {fmt(row['independent_lr_error'])} independent -> {fmt(row['lr_error'])} "
            f"{'consistent' if row['consistent'] else 'written (--no-consistency)'}; {row['valid_fraction']:.0%} of "
            f"left pixels matched, median disparity {row['disparity_median']}")
