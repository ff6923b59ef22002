"""Video in and out with PyAV (whose wheels ship FFmpeg): frames are decoded and stylised in batches,
encoded at the input's frame rate, the audio packets are copied untouched, and the file is written
through the atomic writer, so a failure leaves nothing behind. Only one batch of frames is ever held,
so memory does not grow with the clip's length.
"""
import os
import time
from fractions import Fraction

import av
import cv2
import numpy as np
import torch

from ..display.progress import Progress
from ..errors import MissingFileError, UserError
from ..images import batch_to_pixels, pixels_to_batch
from ..io import atomic_write
from ..metrics.warp import WarpError

# output suffix -> (container format, video encoder)
FORMATS = {".mp4": ("mp4", "libx264"), ".m4v": ("mp4", "libx264"), ".mov": ("mov", "libx264"),
           ".mkv": ("matroska", "libx264"), ".avi": ("avi", "mpeg4"), ".webm": ("webm", "libvpx-vp9")}


# libx264's speed presets; the default is veryfast, not x264's medium: on 2 CPU cores it encoded a 640x360 frame in
# 4.6 ms against 11.3 ms, into a file 1% larger (docs/video.md)
PRESETS = ("ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower", "veryslow")
DEFAULT_PRESET = "veryfast"


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
                       "convert it first, e.g. `ffmpeg -i IN -c:v libx264 OUT.mp4`")
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
    """Mean absolute change between consecutive stylised frames over that of the input frames (both as uint8
    (B, H, W, 3) arrays, as decoded and as written; the changes in [0, 1] units). 1 means the method adds no flicker
    of its own; a static clip gives 0. Summed in integers by OpenCV's L1 norm: one pass, no float copies."""

    def __init__(self):
        self.prev, self.dx, self.dy, self.pairs = None, 0, 0, 0

    def add(self, x, y):
        frames = list(zip(x, y))
        if self.prev is not None:
            frames.insert(0, self.prev)
        for (x0, y0), (x1, y1) in zip(frames, frames[1:]):
            self.dx += cv2.norm(x0, x1, cv2.NORM_L1)
            self.dy += cv2.norm(y0, y1, cv2.NORM_L1)
            self.pairs += 1
        self.prev = frames[-1]

    def result(self):
        scale = 255 * self.prev[0].size * self.pairs if self.pairs else 1
        dx, dy = self.dx / scale, self.dy / scale
        ratio = dy / dx if dx > 0 else (0.0 if dy == 0 else None)  # None: change out of a still input
        return {"flicker": ratio, "output_change": dy, "input_change": dx, "pairs": self.pairs}


def _channels_first(frames):
    """(B, H, W, 3) uint8 array -> a (B, 3, H, W) tensor view of it."""
    return torch.from_numpy(frames).permute(0, 3, 1, 2)


def stylize_video(src, dst, process, batch_size=8, max_size=None, log=print, progress=True, warp_every=1,
                  preset=DEFAULT_PRESET):
    """Decode `src`, stylise each batch of frames with process((B, 3, H, W) in [0, 1]) -> same shape (or, when it
    has one, its pixels() method: (B, H, W, 3) uint8 -> same, as a Translator), and write `dst` (format from its
    suffix, see FORMATS) with the same frame rate and the audio copied. warp_every: the warping error scores one
    consecutive pair of frames in that many (cyclegan.metrics.warp.WarpError). preset: libx264's (PRESETS), for
    the formats it encodes.
    Returns a dict: frames, fps, size, audio, seconds (the whole command: decoding, stylising, the measures,
    encoding), stylize_seconds (the styliser alone, with its conversions), the Flicker and WarpError results."""
    dst = os.fspath(dst)
    suffix = os.path.splitext(dst)[1].lower()
    if suffix not in FORMATS:
        raise ValueError(f"--output {dst}: unknown video type; end it in one of {', '.join(FORMATS)}")
    if preset not in PRESETS:
        raise ValueError(f"--preset {preset}: not a libx264 preset; use one of {', '.join(PRESETS)}")
    fmt, codec = FORMATS[suffix]
    container, video, audio, fps = open_video(src)
    width, height = frame_size(video.codec_context.width, video.codec_context.height, max_size)
    total = video.frames or None
    flicker, warp = Flicker(), WarpError(every=warp_every)
    info = {"frames": 0, "fps": str(fps), "size": [width, height], "audio": None}
    t0, styling = time.perf_counter(), [0.0]
    if hasattr(process, "pixels"):  # a Translator takes uint8 pixels: compiled, it converts inside the net
        def stylize(frames):
            return process.pixels(frames).numpy()
    else:
        def stylize(frames):
            return batch_to_pixels(process(pixels_to_batch(torch.from_numpy(frames)))).numpy()

    def write(f):
        out = av.open(f, "w", format=fmt)
        try:
            vs = out.add_stream(codec, rate=fps)
            vs.width, vs.height, vs.pix_fmt = width, height, "yuv420p"
            if codec == "libx264":
                vs.options = {"preset": preset}
            out_audio = None
            if audio is not None:
                try:
                    out_audio = out.add_stream_from_template(audio)
                    info["audio"] = audio.codec_context.name if audio.codec_context else "copied"
                except (ValueError, av.error.FFmpegError) as e:
                    log(f"warning: the audio stream ({audio.codec_context.name if audio.codec_context else '?'}) "
                        f"cannot go into a {suffix} file ({e}); writing the video without it")
            bar = Progress(total, desc="video", unit="frame", disable=not progress)

            for frames in _batches(container, video, audio if out_audio else None, width, height, batch_size,
                                   lambda p: _mux_audio(out, p, out_audio), src):
                ts = time.perf_counter()
                written = stylize(frames)
                styling[0] += time.perf_counter() - ts
                if written.shape != frames.shape:
                    raise RuntimeError(f"the stylised frames are {written.shape}, the input's {frames.shape}")
                flicker.add(frames, written)
                warp.add(_channels_first(frames), _channels_first(written))  # Lai et al.'s (cyclegan.metrics.warp)
                for arr in written:
                    frame = av.VideoFrame.from_ndarray(arr, format="rgb24")
                    frame.pts = info["frames"]
                    info["frames"] += 1
                    out.mux(vs.encode(frame))
                bar.update(len(written))
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
    """Yield (B, H, W, 3) uint8 batches of decoded frames; audio packets go to on_audio as they are read."""
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
                    yield np.stack(batch)
                    batch = []
    except av.error.FFmpegError as e:
        raise VideoError(f"{src}: decoding failed after {decoded} frames ({e}); the file may be truncated or "
                         f"corrupt, nothing was written") from None
    if batch:
        yield np.stack(batch)
