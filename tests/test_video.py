"""cyclegan-video on generated clips: every method keeps the frame count, the frame rate and the audio; a still
clip measures zero flicker and zero warping error; not-a-video, empty and undecodable files fail clearly with
nothing written; memory follows the batch, not the clip length; and the speed flags (--warp_every, --compile,
--amp, the CPU's batch of 1) reach the run and its report."""
import json
import subprocess
import sys
import tracemalloc

import av
import numpy as np
import pytest

from conftest import REPO, make_images, run_env
from cyclegan.media import Flicker, stylize_video
from cyclegan.media.video import DEFAULT_PRESET

FPS, W, H = 12, 64, 48


def make_clip(path, frames=8, fps=FPS, still=False, audio=True, size=(W, H)):
    """An H.264 clip of a moving square (or a still frame) with a 440 Hz AAC tone lasting as long."""
    w, h = size
    rng = np.random.default_rng(0)
    base = (rng.random((h, w, 3)) * 255).astype(np.uint8)
    out = av.open(str(path), "w")
    vs = out.add_stream("libx264", rate=fps)
    vs.width, vs.height, vs.pix_fmt = w, h, "yuv420p"
    a = out.add_stream("aac", rate=16000) if audio else None
    if a is not None:
        a.layout = "mono"
    for i in range(frames):
        arr = base.copy()
        if not still:
            arr[10:20, i * 4:i * 4 + 10] = 255
        f = av.VideoFrame.from_ndarray(arr, format="rgb24")
        f.pts = i
        out.mux(vs.encode(f))
    out.mux(vs.encode(None))
    if a is not None:
        n = int(16000 * frames / fps)
        tone = (0.3 * np.sin(2 * np.pi * 440 * np.arange(n) / 16000)).astype(np.float32)[None]
        for k in range(0, n, 1024):
            fr = av.AudioFrame.from_ndarray(np.ascontiguousarray(tone[:, k:k + 1024]), format="fltp", layout="mono")
            fr.sample_rate, fr.pts = 16000, k
            out.mux(a.encode(fr))
        out.mux(a.encode(None))
    out.close()
    return path


def describe(path):
    with av.open(str(path)) as c:
        v = c.streams.video[0]
        rate = v.average_rate
        audio = c.streams.audio[0].codec_context.name if c.streams.audio else None
        audio_packets = sum(1 for p in c.demux(audio=0) if p.size) if audio else 0
    with av.open(str(path)) as c:
        frames = sum(1 for _ in c.decode(video=0))
    return frames, rate, audio, audio_packets


def video(*args):
    return subprocess.run([sys.executable, "-m", "cyclegan.video", *map(str, args)], cwd=REPO, env=run_env(),
                          capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="module")
def runs(tmp_path_factory, vgg_weights_file, tiny_run):
    """The session's tiny CycleGAN run and a tiny fast-NST run (2 iterations: the video path is under test)."""
    tmp = tmp_path_factory.mktemp("video")
    for i, sub in enumerate(("trainA", "trainB")):
        make_images(tmp / "data" / sub, 4, size=(40, 40), seed=i)
    subprocess.run([sys.executable, "-m", "cyclegan.fast_nst", "train", "--photos", tmp / "data" / "trainB",
                    "--style", tmp / "data" / "trainA", "--name", "fast", "--checkpoints_dir", tmp / "ck",
                    "--weights", vgg_weights_file, "--num_iters", "2", "--batch_size", "1", "--image_size", "32",
                    "--ngf", "4", "--n_res", "1", "--content_layers", "conv1_1", "--style_layers", "conv1_1",
                    "--seed", "0"], cwd=REPO, env=run_env(), check=True, capture_output=True)
    return {"tmp": tmp, "ck": tmp / "ck", "gan": tiny_run, "clip": make_clip(tmp / "clip.mp4"),
            "still": make_clip(tmp / "still.mp4", still=True, audio=False), "weights": vgg_weights_file,
            "style": sorted((tmp / "data" / "trainA").iterdir())[0]}


def method_args(runs, method):
    if method == "gatys":
        return ["--method", "gatys", "--style", runs["style"], "--weights", runs["weights"], "--num_iters", 2,
                "--content_layers", "conv2_1", "--style_layers", "conv1_1,conv2_1"]
    if method == "cyclegan":
        return ["--method", method, "--name", runs["gan"].name, "--checkpoints_dir", runs["gan"].checkpoints_dir]
    return ["--method", method, "--name", "fast", "--checkpoints_dir", runs["ck"]]


@pytest.mark.parametrize("method", ["cyclegan", "fast_nst", "gatys"])
def test_every_method_keeps_frames_rate_and_audio(runs, method, tmp_path):
    out = tmp_path / f"{method}.mp4"
    r = video("--input", runs["clip"], "--output", out, "--batch_size", 3, *method_args(runs, method))
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-3000:]
    frames, rate, audio, packets = describe(out)
    src_frames, src_rate, src_audio, src_packets = describe(runs["clip"])
    assert (frames, rate, audio, packets) == (src_frames, src_rate, src_audio, src_packets) == (8, FPS, "aac",
                                                                                                 src_packets)
    report = json.loads(out.with_suffix(".json").read_text())
    assert report["frames"] == 8 and report["pairs"] == 7 and report["flicker"] > 0
    assert report["warp_pairs"] == 7 and report["warp_error"] > 0 and report["input_warp_error"] >= 0
    assert 0 < report["stylize_seconds"] < report["seconds"] and "frames/s end to end; stylising alone" in r.stdout
    assert "flicker" in r.stdout and "warping error" in r.stdout and str(out.with_suffix(".json")) in r.stdout
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"{method}.json", f"{method}.mp4"]  # no temp files left


def test_max_size_scales_the_frames(runs, tmp_path):
    out = tmp_path / "small.mkv"
    r = video("--input", runs["clip"], "--output", out, "--max_size", 32, *method_args(runs, "fast_nst"))
    assert r.returncode == 0, r.stderr[-2000:]
    with av.open(str(out)) as c:
        frame = next(c.decode(video=0))
    assert (frame.width, frame.height) == (32, 24)


@pytest.mark.parametrize("method", ["cyclegan", "fast_nst"])
def test_a_still_clip_measures_zero_flicker(runs, method, tmp_path):
    out = tmp_path / "still.mp4"
    r = video("--input", runs["still"], "--output", out, "--batch_size", 3, *method_args(runs, method))
    assert r.returncode == 0, r.stderr[-2000:]
    report = json.loads(out.with_suffix(".json").read_text())
    assert report["input_change"] == 0 and report["output_change"] == 0 and report["flicker"] == 0
    assert report["warp_error"] == 0 and report["warp_pairs"] == 7
    assert describe(out)[:2] == (8, FPS)


def _undecodable(tmp):
    """A Matroska clip whose codec ID no decoder knows (the H.264 ID overwritten in place)."""
    good = make_clip(tmp / "good.mkv", frames=3, audio=False)
    data = good.read_bytes()
    assert data.count(b"V_MPEG4/ISO/AVC") == 1
    bad = tmp / "unknown_codec.mkv"
    bad.write_bytes(data.replace(b"V_MPEG4/ISO/AVC", b"V_QQQQQ/ISO/QQQ"))
    return bad


def _empty(tmp):
    out = av.open(str(tmp / "empty.mp4"), "w")
    vs = out.add_stream("libx264", rate=FPS)
    vs.width, vs.height, vs.pix_fmt = W, H, "yuv420p"
    out.start_encoding()
    out.close()
    return tmp / "empty.mp4"


@pytest.mark.parametrize("kind,message", [("text", "not a video FFmpeg can read"), ("image", "an image"),
                                          ("empty", "no video"), ("codec", "no decoder")])
def test_bad_inputs_fail_clearly_and_write_nothing(runs, tmp_path, kind, message):
    src = {"text": lambda: (tmp_path / "notes.mp4").write_text("not a video") and tmp_path / "notes.mp4",
           "image": lambda: make_images(tmp_path, 1)[0], "empty": lambda: _empty(tmp_path),
           "codec": lambda: _undecodable(tmp_path)}[kind]()
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    r = video("--input", src, "--output", out_dir / "x.mp4", *method_args(runs, "fast_nst"))
    assert r.returncode == 1 and message in r.stderr and str(src.name) in r.stderr, r.stderr[-2000:]
    assert "Traceback" not in r.stderr
    assert list(out_dir.iterdir()) == []


def test_memory_follows_the_batch_not_the_clip(tmp_path):
    """Peak traced allocation (numpy frames included) with a 6x longer clip stays about the same."""
    peaks, sizes = {}, []

    def process(x):
        sizes.append(len(x))
        return x

    for frames in (16, 96):
        clip = make_clip(tmp_path / f"c{frames}.mp4", frames=frames, audio=False, size=(128, 96))
        tracemalloc.start()
        info = stylize_video(clip, tmp_path / f"o{frames}.mp4", process, batch_size=4, progress=False)
        peaks[frames] = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        assert info["frames"] == frames
    assert max(sizes) == 4
    one_clip = 96 * 128 * 96 * 3 * 4  # the long clip as float32 frames
    assert peaks[96] < 1.5 * peaks[16] + 2 ** 20 and peaks[96] < one_clip / 4, peaks


def test_speed_flags_reach_the_run_and_the_report(runs, tmp_path, monkeypatch, capsys):
    """--warp_every 3 scores pairs 0, 3 and 6 of 7; --compile goes through torch.compile (its eager backend here,
    the same wrapping without inductor's minutes) and its first call is reported apart; the batch is 1 on the CPU."""
    import torch

    from cyclegan.cli import video as video_cli
    real, compiled = torch.compile, []

    def compile_eager(model, **kw):
        compiled.append(type(model).__name__)
        return real(model, **dict(kw, backend="eager"))

    monkeypatch.setattr(torch, "compile", compile_eager)
    out = tmp_path / "fast.mp4"
    code = video_cli.main(["--input", str(runs["clip"]), "--output", str(out), "--warp_every", "3", "--compile",
                           "--amp", "none", "--device", "cpu", *map(str, method_args(runs, "cyclegan"))])
    printed = capsys.readouterr().out
    assert code == 0 and compiled == ["ResnetGenerator", "PixelNet"], printed  # frames go through the pixel net
    report = json.loads(out.with_suffix(".json").read_text())
    assert report["warp_pairs"] == 3 and report["warp_every"] == 3 and report["pairs"] == 7
    assert report["batch_size"] == 1 and report["compile_seconds"] > 0
    assert "over 3 pairs: one in 3" in printed and "compiled the generator" in printed and "after it" in printed
    assert "frames/s end to end, " in printed and " after compiling; " in printed


@pytest.mark.parametrize("flags,message", [(["--compile"], "--compile applies to --method cyclegan and fast_nst"),
                                           (["--amp", "bf16"], "--amp applies to --method cyclegan and fast_nst"),
                                           (["--warp_every", "0"], "--warp_every must be at least 1")])
def test_speed_flags_refuse_what_they_cannot_do(runs, tmp_path, flags, message):
    r = video("--input", runs["clip"], "--output", tmp_path / "x.mp4", *flags, *method_args(runs, "gatys"))
    assert r.returncode == 2 and message in r.stderr, r.stderr[-2000:]
    assert list(tmp_path.iterdir()) == []


def test_the_preset_reaches_the_encoder(runs, tmp_path):
    """x264 writes its settings into the stream: ultrafast turns CABAC off, the default (veryfast) keeps it. A
    styliser without pixels() gets float frames in [0, 1]."""
    def clip_with(preset):
        out = tmp_path / f"{preset}.mp4"
        stylize_video(runs["clip"], out, lambda x: 1 - x, 1, progress=False, preset=preset)
        return out.read_bytes()
    assert b"cabac=0" in clip_with("ultrafast") and b"cabac=1" in clip_with(DEFAULT_PRESET)
    with pytest.raises(ValueError, match="--preset placebo: not a libx264 preset"):
        stylize_video(runs["clip"], tmp_path / "p.mp4", lambda x: x, preset="placebo")


def test_flicker_sums_uint8_frames_as_the_float_definition():
    """Flicker takes uint8 frames (as decoded and written) and sums in integers: the same as the mean absolute
    change of the frames in [0, 1], pair by pair, across batch boundaries."""
    rng = np.random.default_rng(1)
    x, y = (rng.integers(0, 256, (7, 6, 10, 3), dtype=np.uint8) for _ in range(2))
    meter = Flicker()
    for a, b in ((0, 3), (3, 4), (4, 7)):  # batches of 3, 1 and 3 frames
        meter.add(x[a:b], y[a:b])
    def change(f):
        f = f.astype(np.float64) / 255
        return np.abs(f[1:] - f[:-1]).mean(axis=(1, 2, 3)).mean()
    got = meter.result()
    assert got["pairs"] == 6
    assert got["input_change"] == pytest.approx(change(x), rel=1e-12)
    assert got["output_change"] == pytest.approx(change(y), rel=1e-12)
    assert got["flicker"] == pytest.approx(change(y) / change(x), rel=1e-12)
