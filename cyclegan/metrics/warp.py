"""Warping error (Lai et al. 2018, "Learning Blind Video Temporal Consistency"): how much a stylised video
changes where its input does not, measured along the input's own motion.

For each pair of consecutive frames: optical flow between the INPUT frames from a classical estimator
(OpenCV's DIS, or Farnebäck; no learned weights), forward (t -> t+1) and backward (t+1 -> t); pixels that fail
the forward-backward check (Sundaram et al. 2010, as Lai et al. use it) or whose flow leaves the frame are
occluded. The OUTPUT frame t+1 is warped back into frame t by the forward flow, and the error is

    E = sum over non-occluded pixels p of |O_t(p) - O_{t+1}(p + F(p))|^2 (summed over R, G, B) / their count,

with pixel values in [0, 1], averaged over the pairs (Lai et al.'s evaluate_WarpError). A still clip scores 0; a
per-pixel colour map of a moving scene scores about what the input itself scores (the flow's own error,
reported as `input_warp_error`); flicker of the stylisation adds to it. Stereo uses the same warp with a
horizontal disparity (cyclegan.media.stereo).
"""
import functools

import cv2
import numpy as np
import torch

FB_RATIO, FB_OFFSET = 0.01, 0.5  # |w + w'|^2 > 0.01 (|w|^2 + |w'|^2) + 0.5: occluded (Sundaram et al.)
FLOW_METHODS = ("dis", "farneback")


def to_gray_uint8(image):
    """(3, H, W) tensor (float in [0, 1] or uint8), or an (H, W, 3) uint8 array -> (H, W) uint8 luma for the
    flow; an (H, W) uint8 array (already luma) is returned as it is."""
    if torch.is_tensor(image):
        image = image.detach().cpu()
        if image.dtype != torch.uint8:
            image = (image.float().clamp(0, 1) * 255 + 0.5).to(torch.uint8)
        image = image.permute(1, 2, 0).numpy()
    if image.ndim == 2:
        return image
    return cv2.cvtColor(np.ascontiguousarray(image), cv2.COLOR_RGB2GRAY)


@functools.lru_cache(maxsize=4)
def _dis():
    # DIS keeps no state between calc() calls that changes its result, so one object serves every pair
    return cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)


def optical_flow(a, b, method="dis"):
    """Flow from image a to image b as a float32 (H, W, 2) array (dx, dy): the pixel p of a is at p + flow[p]
    in b. Images as to_gray_uint8 takes them. method: 'dis' (OpenCV's DIS, medium preset) or 'farneback'."""
    ga, gb = to_gray_uint8(a), to_gray_uint8(b)
    if method == "dis":
        return _dis().calc(ga, gb, None)
    if method == "farneback":
        return cv2.calcOpticalFlowFarneback(ga, gb, None, 0.5, 3, 15, 3, 5, 1.2, 0)
    raise ValueError(f"unknown flow method {method!r}; use one of {', '.join(FLOW_METHODS)}")


@functools.lru_cache(maxsize=4)
def _pixel_grid(h, w):
    return torch.meshgrid(torch.arange(h, dtype=torch.float32), torch.arange(w, dtype=torch.float32), indexing="ij")


def sample(image, flow):
    """image (C, H, W) sampled bilinearly at p + flow[p] for every pixel p: (C, H, W), and an (H, W) bool
    mask of the pixels whose sample point lies inside the image. flow: (H, W, 2) array or tensor (dx, dy).
    Interpolated in pixel coordinates, so a whole-pixel flow (zero included) copies values exactly. Sampling
    several images along one flow costs one call with them stacked on C (the indices are computed once)."""
    c, h, w = image.shape
    flow = torch.as_tensor(np.asarray(flow), dtype=torch.float32)
    ys, xs = _pixel_grid(h, w)
    x, y = xs + flow[..., 0], ys + flow[..., 1]
    inside = (x >= 0) & (x <= w - 1) & (y >= 0) & (y <= h - 1)
    x, y = x.clamp(0, w - 1), y.clamp(0, h - 1)
    x0, y0 = x.floor().clamp(max=max(w - 2, 0)), y.floor().clamp(max=max(h - 2, 0))
    fx, fy = x - x0, y - y0
    x0, y0 = x0.long(), y0.long()
    x1, y1 = (x0 + 1).clamp(max=w - 1), (y0 + 1).clamp(max=h - 1)
    pixels = image.float().reshape(c, -1).t().contiguous()  # pixel-major: each gather reads C adjacent floats
    fx, fy = fx.reshape(-1, 1), fy.reshape(-1, 1)
    out = None
    for yy, xx, weight in ((y0, x0, (1 - fx) * (1 - fy)), (y0, x1, fx * (1 - fy)),
                           (y1, x0, (1 - fx) * fy), (y1, x1, fx * fy)):
        tap = pixels.index_select(0, (yy * w + xx).reshape(-1))
        out = tap.mul_(weight) if out is None else out.addcmul_(tap, weight)
    return out.t().reshape(c, h, w), inside


def _mismatch(fw, bw_at):
    """The forward-backward check: fw (H, W, 2) and the backward flow sampled at p + fw[p], both tensors."""
    return ((fw + bw_at) ** 2).sum(-1) > FB_RATIO * ((fw ** 2).sum(-1) + (bw_at ** 2).sum(-1)) + FB_OFFSET


def occlusion(forward, backward):
    """(H, W) bool: pixels of the first frame occluded in the second, or flowing out of it. forward: flow
    first -> second, backward: second -> first (both (H, W, 2)); the forward-backward check of Sundaram et al."""
    fw = torch.as_tensor(np.asarray(forward), dtype=torch.float32)
    bw_at, inside = sample(torch.as_tensor(np.asarray(backward), dtype=torch.float32).permute(2, 0, 1), fw)
    return _mismatch(fw, bw_at.permute(1, 2, 0)) | ~inside


def masked_error(a, b, valid):
    """Lai et al.'s error: the squared RGB distance between (C, H, W) images a and b summed over channels,
    averaged over the pixels where `valid` (H, W) is true; None when no pixel is."""
    n = int(valid.sum())
    if n == 0:
        return None
    return float((((a.float() - b.float()) ** 2).sum(0) * valid).sum() / n)


def pair_errors(x0, x1, ys, method="dis"):
    """For consecutive input frames x0, x1 ((3, H, W) in [0, 1], or their to_gray_uint8 luma) and pairs (y0, y1)
    of (C, H, W) frames to score: the warping error of each pair (None where every pixel is occluded) and the
    fraction of pixels scored. The backward flow and every y1 are sampled along the forward flow in one call."""
    fw, bw = optical_flow(x0, x1, method), optical_flow(x1, x0, method)
    fw = torch.from_numpy(fw)
    stacked = torch.cat([torch.from_numpy(bw).permute(2, 0, 1)] + [y1.float() for _, y1 in ys])
    warped, inside = sample(stacked, fw)
    valid = ~(_mismatch(fw, warped[:2].permute(1, 2, 0)) | ~inside)
    errors, k = [], 2
    for y0, y1 in ys:
        errors.append(masked_error(y0, warped[k:k + y1.shape[0]], valid))
        k += y1.shape[0]
    return errors, float(valid.float().mean())


def unit(frame):
    """A frame as a float tensor in [0, 1]: uint8 ones divided by 255, float ones as they are."""
    return frame.float() / 255 if frame.dtype == torch.uint8 else frame


class WarpError:
    """Running warping error of a video: add(x, y) batch by batch with the input frames x and the output
    frames y ((B, 3, H, W), float in [0, 1] or uint8 as decoded and written); result() gives the means
    over the frame pairs of the output's and the input's own warping error (the flow's floor).
    every: score one consecutive pair in `every` (the 1st, the (every+1)th...): two flows and a warp per pair cost
    more than a small generator's frame on a CPU, so real-time video measures a regular sample of its pairs."""

    def __init__(self, method="dis", every=1):
        if int(every) < 1:
            raise ValueError(f"every must be at least 1, got {every}")
        self.method, self.every, self.prev = method, int(every), None
        self.out_sum, self.in_sum, self.valid_sum, self.pairs, self.skipped, self.seen = 0.0, 0.0, 0.0, 0, 0, 0

    def add(self, x, y):
        # [input, output, luma or None] per frame, as views: only the scored pairs are converted (no batch copy)
        frames = [[xi, yi, None] for xi, yi in zip(x.detach().cpu(), y.detach().cpu())]
        if self.prev is not None:
            frames.insert(0, self.prev)
        for a, b in zip(frames, frames[1:]):
            self.seen += 1
            if (self.seen - 1) % self.every:
                continue
            for f in (a, b):  # each frame's luma at most once, though it is in two pairs
                if f[2] is None:
                    f[2] = to_gray_uint8(f[0])
            (out, inp), valid = pair_errors(a[2], b[2], [(unit(a[1]), unit(b[1])), (unit(a[0]), unit(b[0]))],
                                            self.method)
            if out is None:
                self.skipped += 1  # a cut or a blank frame: nothing matches
                continue
            self.out_sum, self.in_sum, self.valid_sum = self.out_sum + out, self.in_sum + inp, self.valid_sum + valid
            self.pairs += 1
        self.prev = frames[-1]

    def result(self):
        n = self.pairs
        return {"warp_error": self.out_sum / n if n else None, "input_warp_error": self.in_sum / n if n else None,
                "warp_valid_fraction": self.valid_sum / n if n else None, "warp_pairs": n,
                "warp_skipped_pairs": self.skipped, "warp_every": self.every, "flow": self.method}


def warp_error(inputs, outputs, method="dis"):
    """The warping error (see the module docstring) of output frames against their input frames, both
    (T, 3, H, W) in [0, 1]; a dict as WarpError.result()."""
    if inputs.shape != outputs.shape:
        raise ValueError(f"warp_error: inputs {tuple(inputs.shape)} and outputs {tuple(outputs.shape)} differ")
    meter = WarpError(method)
    meter.add(inputs, outputs)
    return meter.result()
