"""Measure what --lambda_temporal buys (docs/video.md): the warping error and the style loss of fast NST and of
CycleGAN trained without and with it at equal steps, on a clip that pans and zooms over held-out photos, and the
left-right consistency of cyclegan-stereo before and after, on a pair made with a known shift.

    python scripts/measure_temporal.py --data ../shared/data --work /tmp/temporal [--part fast_nst|cyclegan|stereo]
        [--gan_netG resnet_6blocks_nearest --gan_lambda 125 --seed N] [--clip_from 8]

Each training run goes through its command (cyclegan-fast-nst train, cyclegan-train) with one thread; a run that
finished before is reused. No pretrained VGG exists here: the style loss uses random VGG19 weights saved to
WORK/vgg19_random.pth, so it measures the objective the training optimises, not perceptual quality; the colour
distance to the paintings (cyclegan.metrics.color) is the weights-free measure beside it. Prints a markdown table
and writes WORK/results.json.
"""
import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from cyclegan.images import list_images, load_image  # noqa: E402
from cyclegan.io import atomic_save, atomic_write_json  # noqa: E402
from cyclegan.media.clips import canvas_of, pan_zoom_frames, read_frames, write_clip  # noqa: E402
from cyclegan.media.stylizers import cyclegan_frames, fast_nst_frames  # noqa: E402
from cyclegan.metrics.color import color_distance, pool_lab_pixels  # noqa: E402
from cyclegan.metrics.warp import WarpError  # noqa: E402
from cyclegan.nst import Stylizer, load_image as load_style  # noqa: E402
from cyclegan.nst.fast_train import style_paths  # noqa: E402

FPS, SECONDS, CLIP_SIZE = 24, 10, (160, 120)
CONTENT, STYLE = ["conv3_1"], ["conv1_1", "conv2_1", "conv3_1"]  # VGG up to conv3_1: minutes per run
FAST = ["--image_size", "64", "--batch_size", "4", "--ngf", "16", "--n_res", "3", "--style_scale", "2",
        "--content_layers", ",".join(CONTENT), "--style_layers", ",".join(STYLE), "--print_freq", "50",
        "--save_freq", "100000"]
GAN = ["--load_size", "72", "--crop_size", "64", "--ngf", "8", "--ndf", "8",
       "--display_id", "0", "--num_threads", "0", "--no_html", "--print_freq", "400",
       "--save_epoch_freq", "1000", "--save_latest_freq", "1000000"]


def run(args, log):
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=str(REPO))
    t0 = time.time()
    with open(log, "w") as f:
        subprocess.run(["nice", "-n", "10", sys.executable, "-m", *map(str, args)], cwd=REPO, env=env, check=True,
                       stdout=f, stderr=subprocess.STDOUT)
    return time.time() - t0


def make_clip(data, work, first=0):
    """The pan-and-zoom clip over 8 held-out photos from the `first`-th (WORK/pan_zoom.mp4, made once)."""
    path = work / "pan_zoom.mp4"
    if not path.exists():
        photos = list_images(data / "vangogh2photo-mini" / "testB")[first:first + 8]
        write_clip(pan_zoom_frames(canvas_of(photos), FPS * SECONDS, CLIP_SIZE), path, FPS)
    return read_frames(path)


def vgg_file(work):
    path = work / "vgg19_random.pth"
    if not path.exists():
        from cyclegan.nst import load_extractor
        torch.manual_seed(0)
        atomic_save(load_extractor("vgg19", ["conv5_1"], weights="random").body.state_dict(), path)
    return path


def evaluate(process, frames, style_images, vgg, every=8):
    """Warping error of the stylised clip; style loss (random VGG, the training's layers) and colour distance to
    the style images of every `every`-th stylised frame."""
    meter, outs = WarpError(), []
    for batch in frames.split(16):
        y = process(batch)
        y = (y.clamp(0, 1) * 255 + 0.5).floor() / 255  # as cyclegan-video writes them
        meter.add(batch, y)
        outs.append(y)
    outs = torch.cat(outs)[::every]
    torch.manual_seed(0)
    st = Stylizer("vgg19", str(vgg), CONTENT, STYLE, None, "avg", "gram", "cpu")
    targets = st.style_targets([load_style(p, 128) for p in style_images])
    with torch.no_grad():  # the unweighted style part of fast NST's PerceptualLoss
        style = sum(float(sum(w * st.style_loss(st.extractor(o[None])[n].float(), targets.layers[n])
                              for n, w in st.layer_weights.items())) for o in outs) / len(outs)
    pool = pool_lab_pixels([str(p) for p in style_images])
    r = meter.result()
    return {"warp_error": r["warp_error"], "input_warp_error": r["input_warp_error"], "style_loss": style,
            "color_distance": float(color_distance(outs, pool).mean())}


def part_fast_nst(data, work, vgg, frames, iters, lambdas, seed):
    style = data / "styles" / "vg_starry_night.jpg"
    rows, ck = {}, work / "ck"
    for lam in [0.0, *lambdas]:
        name = f"fast_nst_l{lam:g}" + (f"_s{seed}" if seed else "")
        if not (ck / name / "latest_net_T.pth").exists():
            secs = run(["cyclegan.fast_nst", "train", "--photos", data / "vangogh2photo-mini" / "trainB", "--style",
                        style, "--name", name, "--checkpoints_dir", ck, "--weights", vgg, "--num_iters", iters,
                        "--lambda_temporal", lam, "--seed", seed, *FAST], work / f"{name}.log")
            print(f"trained {name} in {secs:.0f} s", flush=True)
        rows[name] = {"lambda_temporal": lam, "steps": iters,
                      **evaluate(fast_nst_frames(ck / name, amp="none"), frames, [style], vgg)}
        print(name, rows[name], flush=True)
    return rows


def part_cyclegan(data, work, vgg, frames, epochs, lambdas, seed, netG="resnet_6blocks"):
    rows, ck = {}, work / "ck"
    paintings = list_images(data / "vangogh2photo-mini" / "trainA")
    for lam in [0.0, *lambdas]:
        name = f"cyclegan_l{lam:g}" + (f"_s{seed}" if seed else "") + ("" if netG == "resnet_6blocks" else f"_{netG}")
        if not (ck / name / "latest_net_G_B.pth").exists():
            secs = run(["cyclegan.train", "--dataroot", data / "vangogh2photo-mini", "--name", name,
                        "--checkpoints_dir", ck, "--n_epochs", epochs, "--n_epochs_decay", "0",
                        "--lambda_temporal", lam, "--seed", seed, "--netG", netG, *GAN], work / f"{name}.log")
            print(f"trained {name} in {secs:.0f} s", flush=True)
        run_dir = ck / name
        process = cyclegan_frames(str(run_dir), amp="none")  # photo -> painting (G_B), float32
        rows[name] = {"lambda_temporal": lam, "epochs": epochs, **evaluate(process, frames, paintings[::4], vgg)}
        print(name, rows[name], flush=True)
    return rows


def part_stereo(data, work, names, shift=7):
    """A pair cut from one held-out photo with a known shift (7 px: not a multiple of the networks' stride of 4),
    stylised by each run in `names`: the left-right error of independent and of consistent stylisation."""
    from cyclegan.media import stereo
    photo = load_image(list_images(data / "vangogh2photo-mini" / "testB")[3])
    w = photo.shape[-1] - shift
    left, right = photo[..., :w], photo[..., shift:]  # a point at x in the left view is at x - shift in the right
    rows = {}
    for name in names:
        method = "fast_nst" if name.startswith("fast_nst") else "cyclegan"
        r = stereo.stylize_pair(stereo.load_stylizer(method, work / "ck" / name), left, right)
        rows[name] = {k: r[k] for k in ("independent_lr_error", "lr_error", "disparity_median", "valid_fraction",
                                        "filled_fraction")}
        print(name, rows[name], flush=True)
    return rows


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data")
    p.add_argument("--work", type=Path, required=True)
    p.add_argument("--part", choices=("fast_nst", "cyclegan", "stereo"), action="append")
    p.add_argument("--fast_iters", type=int, default=300)
    p.add_argument("--fast_lambda", type=float, nargs="+", default=[10.0], help="weights to try beside 0")
    p.add_argument("--gan_epochs", type=int, default=2)
    p.add_argument("--gan_netG", default="resnet_6blocks", help="CycleGAN generator (--netG)")
    p.add_argument("--gan_lambda", type=float, nargs="+", default=[10.0], help="weights to try beside 0")
    p.add_argument("--clip_from", type=int, default=0,
                   help="the clip pans over testB photos clip_from..clip_from+7 (8: a second clip, to check a "
                        "weight chosen on the first)")
    p.add_argument("--seed", type=int, default=0, help="training seed (runs of seed N > 0 are named *_sN)")
    a = p.parse_args()
    torch.set_num_threads(1)
    a.work.mkdir(parents=True, exist_ok=True)
    parts = a.part or ["fast_nst", "cyclegan", "stereo"]
    results_path = a.work / "results.json"
    results = json.loads(results_path.read_text()) if results_path.exists() else {}
    vgg, frames = vgg_file(a.work), make_clip(a.data, a.work, a.clip_from)
    if "fast_nst" in parts:
        results.update(part_fast_nst(a.data, a.work, vgg, frames, a.fast_iters, a.fast_lambda, a.seed))
    if "cyclegan" in parts:
        results.update(part_cyclegan(a.data, a.work, vgg, frames, a.gan_epochs, a.gan_lambda, a.seed,
                                      a.gan_netG))
    if "stereo" in parts:
        runs = sorted(p.name for p in (a.work / "ck").iterdir() if p.is_dir())
        results["stereo"] = part_stereo(a.data, a.work, runs)
    atomic_write_json(results_path, results, indent=1)
    print(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
