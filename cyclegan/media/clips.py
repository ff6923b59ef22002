"""Clips whose motion is known, made from still photos: a virtual camera pans and zooms over a canvas of the
photos laid side by side (no cuts, a static scene), for measuring how steady a styliser is under motion
(the warping error, cyclegan.metrics.warp) without a video data set; and writing frames as an H.264 file.
"""
import math
import os

import av
import numpy as np
import torch
from PIL import Image

from ..images import load_rgb, to_tensor
from ..io import atomic_write


def canvas_of(photos, height=256):
    """The photos (PIL images or files) resized to `height` and laid left to right: one PIL image."""
    imgs = [p if isinstance(p, Image.Image) else load_rgb(p) for p in photos]
    if not imgs:
        raise ValueError("canvas_of needs at least one photo")
    imgs = [im.resize((max(1, round(im.width * height / im.height)), height), Image.BICUBIC) for im in imgs]
    canvas = Image.new("RGB", (sum(im.width for im in imgs), height))
    x = 0
    for im in imgs:
        canvas.paste(im, (x, 0))
        x += im.width
    return canvas


def pan_zoom_frames(canvas, n_frames, size=(160, 120), zoom=(1.0, 1.4), zoom_cycles=2.0):
    """(T, 3, H, W) frames in [0, 1] of a camera that pans once across `canvas` (a PIL image) from left to
    right at constant speed while zooming between zoom[0] and zoom[1] (a cosine, zoom_cycles times): frame t
    shows a window of the canvas's full height / zoom, with the output's aspect, resampled (Lanczos, subpixel
    box) to `size` (W, H)."""
    w_out, h_out = size
    cw, ch = canvas.size
    frames = []
    for t in range(n_frames):
        u = t / max(1, n_frames - 1)
        z = zoom[0] + (zoom[1] - zoom[0]) * (1 - math.cos(2 * math.pi * zoom_cycles * u)) / 2
        wh = ch / z
        ww = min(wh * w_out / h_out, cw)
        wh = ww * h_out / w_out
        cx = ww / 2 + (cw - ww) * u
        cy = ch / 2
        box = (cx - ww / 2, cy - wh / 2, cx + ww / 2, cy + wh / 2)
        frames.append(to_tensor(canvas.resize((w_out, h_out), Image.LANCZOS, box=box)))
    return torch.stack(frames)


def write_clip(frames, path, fps=24, crf=12):
    """Write (T, 3, H, W) frames in [0, 1] as an H.264 file (yuv420p, so W and H must be even) at `fps`,
    nearly lossless at the default crf, atomically. Returns `path`."""
    n, _, h, w = frames.shape
    if w % 2 or h % 2:
        raise ValueError(f"write_clip: H.264 in yuv420p needs an even width and height, got {w}x{h}")
    arrays = (frames.clamp(0, 1) * 255 + 0.5).to(torch.uint8).permute(0, 2, 3, 1).numpy()

    def write(f):
        out = av.open(f, "w", format="mp4")
        try:
            vs = out.add_stream("libx264", rate=fps, options={"crf": str(crf)})
            vs.width, vs.height, vs.pix_fmt = w, h, "yuv420p"
            for i, arr in enumerate(arrays):
                frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(arr), format="rgb24")
                frame.pts = i
                out.mux(vs.encode(frame))
            out.mux(vs.encode(None))
        finally:
            out.close()
    atomic_write(os.fspath(path), write)
    return path


def read_frames(path, max_frames=None):
    """Decode a video file into (T, 3, H, W) float frames in [0, 1] (all of them, or the first max_frames)."""
    frames = []
    with av.open(os.fspath(path)) as c:
        for frame in c.decode(video=0):
            frames.append(torch.from_numpy(frame.to_ndarray(format="rgb24")).permute(2, 0, 1).float() / 255)
            if max_frames and len(frames) >= max_frames:
                break
    return torch.stack(frames)
