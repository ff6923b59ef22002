"""Video in and out with PyAV (whose wheels ship FFmpeg): frames are decoded and stylised in batches,
encoded at the input's frame rate, the audio packets are copied untouched, and the file is written
through the atomic writer, so a failure leaves nothing behind. Only one batch of frames is ever held,
so memory does not grow with the clip's length.
"""
import os
import time
from fractions import Fraction

import av
import numpy as np
import torch

from ..display.progress import Progress
from ..errors import MissingFileError, UserError
from ..io import atomic_write
from ..metrics.warp import WarpError

# output suffix -> (container format, video encoder)
FORMATS = {".mp4": ("mp4", "libx264"), ".m4v": ("mp4", "libx264"), ".mov": ("mov", "libx264"),
           ".mkv": ("matroska", "libx264"), ".avi": ("avi", "mpeg4"), ".webm": ("webm", "libvpx-vp9")}


class VideoError(UserError, ValueError):
    """A file that cannot be stylised as a video; the message names it and says what to do."""


def open_video(path):
    """(container, video stream, audio stream or None, frame rate); VideoError when it is not a usable video."""
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise MissingFileError(f"--input {path}: no such file")
    try:
        container = av.open(path)
    except (av.error.FFmpegError, UnicodeDecodeError) as e:
        raise VideoError(f"{path}: not a video FFmpeg can read ({getattr(e, 'strerror', None) or e})") from None
    fmt = container.format.name
    problem = None
    if fmt == "image2" or fmt.endswith("_pipe"):
        problem = (f"an image ({fmt}), not a video; stylise images with `cyclegan-fast-nst stylize`, "
                   f"`cyclegan-test` or `cyclegan-gatys`")
    elif not container.streams.video:
        problem = "contains no video stream (an empty or audio-only file)"
    else:
        video = container.streams.video[0]
        if video.codec_context is None:
            problem = ("its video codec has no decoder in this FFmpeg build (an unreadable codec); "
                       f"convert it first, e.g. `ffmpeg -i IN -c:v libx264 OUT.mp4`")
        elif not (video.average_rate or video.guessed_rate):
            problem = "has no frame rate"
    if problem:
        container.close()
        raise VideoError(f"{path}: {problem}")
    audio = container.streams.audio[0] if container.streams.audio else None
    return container, video, audio, Fraction(video.average_rate or video.guessed_rate)


def frame_size(width, height, max_size=None):
    """Output (width, height): the longest side at most max_size, both even (the yuv420p encoders need it)."""
    if max_size and max(width, height) > max_size:
        s = max_size / max(width, height)
        width, height = round(width * s), round(height * s)
    return max(2, width // 2 * 2), max(2, height // 2 * 2)


class Flicker:
    """Mean absolute change between consecutive stylised frames over that of the input frames (both in
    [0, 1], as written and as decoded). 1 means the method adds no flicker of its own; a static clip gives 0."""

    def __init__(self):
        self.prev, self.dx, self.dy, self.pairs = None, 0.0, 0.0, 0

    def add(self, x, y):
        if self.prev is not None:
            x, y = torch.cat([self.prev[0], x]), torch.cat([self.prev[1], y])
        if len(x) > 1:
            self.dx += float((x[1:] - x[:-1]).abs().mean(dim=(1, 2, 3)).sum())
            self.dy += float((y[1:] - y[:-1]).abs().mean(dim=(1, 2, 3)).sum())
            self.pairs += len(x) - 1
        self.prev = (x[-1:], y[-1:])

    def result(self):
        dx, dy = (self.dx / self.pairs, self.dy / self.pairs) if self.pairs else (0.0, 0.0)
        ratio = dy / dx if dx > 0 else (0.0 if dy == 0 else None)  # None: change out of a still input
        return {"flicker": ratio, "output_change": dy, "input_change": dx, "pairs": self.pairs}


def _to_tensor(arrays):
    return torch.from_numpy(np.stack(arrays)).permute(0, 3, 1, 2).float().div_(255).contiguous()


def _to_uint8(batch):
    return (batch.clamp(0, 1).mul(255).add_(0.5).to(torch.uint8).permute(0, 2, 3, 1).contiguous().numpy())


def stylize_video(src, dst, process, batch_size=8, max_size=None, log=print, progress=True, warp_every=1):
    """Decode `src`, stylise each batch of frames with process((B, 3, H, W) in [0, 1]) -> same shape, and write
    `dst` (format from its suffix, see FORMATS) with the same frame rate and the audio copied. warp_every: the
    warping error scores one consecutive pair of frames in that many (cyclegan.metrics.warp.WarpError).
    Returns a dict: frames, fps, size, audio, seconds (the whole command: decoding, stylising, the measures,
    encoding), stylize_seconds (process() alone), the Flicker result and the WarpError result."""
    dst = os.fspath(dst)
    suffix = os.path.splitext(dst)[1].lower()
    if suffix not in FORMATS:
        raise ValueError(f"--output {dst}: unknown video type; end it in one of {', '.join(FORMATS)}")
    fmt, codec = FORMATS[suffix]
    container, video, audio, fps = open_video(src)
    width, height = frame_size(video.codec_context.width, video.codec_context.height, max_size)
    total = video.frames or None
    flicker, warp = Flicker(), WarpError(every=warp_every)
    info = {"frames": 0, "fps": str(fps), "size": [width, height], "audio": None}
    t0, styling = time.perf_counter(), [0.0]

    def write(f):
        out = av.open(f, "w", format=fmt)
        try:
            vs = out.add_stream(codec, rate=fps)
            vs.width, vs.height, vs.pix_fmt = width, height, "yuv420p"
            out_audio = None
            if audio is not None:
                try:
                    out_audio = out.add_stream_from_template(audio)
                    info["audio"] = audio.codec_context.name if audio.codec_context else "copied"
                except (ValueError, av.error.FFmpegError) as e:
                    log(f"warning: the audio stream ({audio.codec_context.name if audio.codec_context else '?'}) "
                        f"cannot go into a {suffix} file ({e}); writing the video without it")
            bar = Progress(total, desc="video", unit="frame", disable=not progress)
            for batch in _batches(container, video, audio if out_audio else None, width, height, batch_size,
                                  lambda p: _mux_audio(out, p, out_audio), src):
                ts = time.perf_counter()
                styled = process(batch)
                styling[0] += time.perf_counter() - ts
                if tuple(styled.shape) != tuple(batch.shape):
                    raise RuntimeError(f"the stylised batch is {tuple(styled.shape)}, the frames {tuple(batch.shape)}")
                frames = _to_uint8(styled)
                written = torch.from_numpy(frames).permute(0, 3, 1, 2).float().div_(255)
                flicker.add(batch, written)
                warp.add(batch, written)  # Lai et al.'s warping error (cyclegan.metrics.warp)
                for arr in frames:
                    frame = av.VideoFrame.from_ndarray(arr, format="rgb24")
                    frame.pts = info["frames"]
                    info["frames"] += 1
                    out.mux(vs.encode(frame))
                bar.update(len(frames))
            bar.close()
            if info["frames"] == 0:
                raise VideoError(f"{src}: contains no video frames (an empty video); nothing was written")
            out.mux(vs.encode(None))
        finally:
            out.close()

    try:
        atomic_write(dst, write)
    finally:
        container.close()
    info["seconds"], info["stylize_seconds"] = time.perf_counter() - t0, styling[0]
    info.update(flicker.result())
    info.update(warp.result())
    return info


def _mux_audio(out, packet, stream):
    if packet.dts is None:  # the demuxer's flush packet
        return
    packet.stream = stream
    out.mux(packet)


def _batches(container, video, audio, width, height, batch_size, on_audio, src):
    """Yield (B, 3, H, W) float batches of decoded frames; audio packets go to on_audio as they are read."""
    streams = [video] + ([audio] if audio is not None else [])
    batch, decoded = [], 0
    try:
        for packet in container.demux(*streams):
            if packet.stream.type == "audio":
                on_audio(packet)
                continue
            for frame in packet.decode():
                batch.append(frame.reformat(width=width, height=height, format="rgb24").to_ndarray())
                decoded += 1
                if len(batch) == batch_size:
                    yield _to_tensor(batch)
                    batch = []
    except av.error.FFmpegError as e:
        raise VideoError(f"{src}: decoding failed after {decoded} frames ({e}); the file may be truncated or "
                         f"corrupt, nothing was written") from None
    if batch:
        yield _to_tensor(batch)
