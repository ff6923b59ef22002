"""Batch inference over a folder and the results page: results/NAME/test_EPOCH/{images/, index.html}.

The page names the domains, links the run's training page and shows its loss curves. Every model translates
through cyclegan.load's Translator, as the Python API, video, the demo and export do: `--model test` (one
generator: a run's {epoch}_net_G{suffix}.pth, or an --onnx export) and `--model cycle_gan` (G_A with G_B as its
back generator: the official six pictures), with the EMA weights when saved unless --raw_weights, the device's
precision and any image size (tiles when an image would not fit the memory budget, --tile N to force them). A
folder that already holds the page
of a different test (other images, model, epoch or settings) is never replaced silently: the new page goes to
test_EPOCH_2 (_3, ...) unless `overwrite` is set, and it says which. With --use_wandb, as officially, each
translated image set also goes to Weights & Biases (display/wandb_sink.py; its files under the results folder).
"""
import json
import os
import shutil
import sys
import time

import torch

from .data import create_dataloader, create_dataset
from .data.domains import domain_names
from .display.html import write_page
from .display.plot import loss_svg
from .display.progress import Progress
from .display.visualizer import option_rows
from .display.wandb_sink import WandbSink, import_wandb
from .images import save_image
from .io import atomic_write_json
from .display.loss_log import read_loss_log
from .inference.errors import MissingModelError
from .inference.compiled import compile_summary, describe_compile


# what makes two test runs the same; a page written with other values is a different run's page
FINGERPRINT = ("name", "epoch", "load_iter", "dataroot", "phase", "model", "model_suffix", "direction", "num_test",
               "preprocess", "load_size", "crop_size", "aspect_ratio", "eval", "onnx", "raw_weights")
ARCH_FLAGS = ("netG", "ngf", "norm", "input_nc", "output_nc")  # typed: the weights must have them
MARKER = "test_run.json"


def fingerprint(opt):
    fp = {k: vars(opt).get(k) for k in FINGERPRINT}  # a flag another model lacks counts as None
    fp["dataroot"] = os.path.abspath(str(fp["dataroot"]))
    return fp


def choose_web_dir(web_dir, fp, overwrite=False):
    """The folder for this test's page: `web_dir` unless it holds a different run's page, then the
    first free (or same-run) web_dir_2, _3, ...; with overwrite, web_dir emptied of the old images."""
    def holds_other(folder):
        if not os.path.isfile(os.path.join(folder, "index.html")):
            return False
        try:
            with open(os.path.join(folder, MARKER), encoding="utf-8") as f:
                return json.load(f) != fp
        except (OSError, ValueError):
            return True  # a page without our record: another tool's or an older version's
    if not holds_other(web_dir):
        return web_dir
    if overwrite:
        print(f"replacing the earlier results page in {web_dir} (--overwrite)")
        shutil.rmtree(os.path.join(web_dir, "images"), ignore_errors=True)
        return web_dir
    n = 2
    while holds_other(f"{web_dir}_{n}"):
        n += 1
    print(f"{web_dir} holds the results page of a different test (other images, model or settings), kept as "
        f"it is; this one goes to {web_dir}_{n} (pass --overwrite to replace it instead)")
    return f"{web_dir}_{n}"


def captions(opt, domains):
    """Visual name -> caption naming its domain, e.g. fake_B -> 'fake_B: photos'."""
    a, b = (domains["A"], domains["B"]) if opt.direction == "AtoB" else (domains["B"], domains["A"])
    side = {"real_A": a, "fake_B": b, "rec_A": a, "real_B": b, "fake_A": a, "rec_B": b}
    if opt.model == "test" and opt.model_suffix in ("_A", "_B"):  # --model test declares --model_suffix
        src, dst = (a, b) if opt.model_suffix == "_A" else (b, a)
        side.update(real=src, fake=dst)
    return {k: f"{k}: {v}" for k, v in side.items()}


def load_translator(opt, generator, back=False, onnx=None):
    """cyclegan.load for the test options: the run (or --onnx file), its epoch, the typed architecture flags the
    weights must have, the speed flags, --tile and --raw_weights."""
    from .inference import load
    epoch = f"iter_{opt.load_iter}" if opt.load_iter > 0 else opt.epoch
    arch = {k: vars(opt)[k] for k in ARCH_FLAGS if k in opt.explicit}
    source = onnx or os.path.join(opt.checkpoints_dir, opt.name)
    translator = load(source, epoch=epoch, device=opt.device, generator=generator, arch=arch, amp=opt.amp,
                      channels_last=opt.channels_last, compile=opt.compile, tile=opt.tile,
                      raw_weights=opt.raw_weights, back=back)
    for path in translator.info.get("files", []):
        if path.endswith("_ema.pth"):
            print(f"loading the averaged (EMA) weights {path} (--raw_weights for the raw ones)")
    print(f"translating with {translator}")
    return translator


class TranslatorModel:
    """`--model test` through cyclegan.inference: the model surface run_test walks (set_input, test, visuals)
    around one Translator, its visuals real and fake as the official TestModel's."""
    visual_names = ["real", "fake"]

    def __init__(self, opt):
        self.translator = load_translator(opt, "G" + opt.model_suffix, onnx=opt.onnx)
        self.device, self.compiled = self.translator.device, self.translator.compiled

    def set_input(self, data):
        self.real, self.image_paths = data["A"], data["A_paths"]

    def test(self):
        self.fake = self.translator.forward(self.real)

    def get_current_visuals(self):
        return {"real": self.real, "fake": self.fake}

    def get_visual_paths(self):
        return {n: self.image_paths for n in self.visual_names}

    def get_image_paths(self):
        return self.image_paths


class CycleTranslatorModel(TranslatorModel):
    """`--model cycle_gan` through cyclegan.inference: G_A and G_B as one Translator and its back generator, the
    official CycleGANModel.test's six visuals (real, fake and reconstructed of both sides), --direction BtoA
    swapping the sides as officially."""
    visual_names = ["real_A", "fake_B", "rec_A", "real_B", "fake_A", "rec_B"]

    def __init__(self, opt):
        self.translator = load_translator(opt, "G_A", back=True)
        if self.translator.back is None:
            raise MissingModelError(f"{opt.name}: --model cycle_gan needs both generators (G_A and G_B) of the run; "
                                    f"for one direction use --model test --model_suffix _A or _B")
        self.device, self.compiled = self.translator.device, self.translator.compiled
        self.AtoB = opt.direction == "AtoB"

    def set_input(self, data):
        a, b = ("A", "B") if self.AtoB else ("B", "A")
        self.real_A, self.real_B = data[a], data[b]
        self.image_paths, self.image_paths_B = data[f"{a}_paths"], data[f"{b}_paths"]

    def test(self):
        forward, back = self.translator.forward, self.translator.back
        self.fake_B = forward(self.real_A)
        self.rec_A = forward(self.fake_B, back)
        self.fake_A = forward(self.real_B, back)
        self.rec_B = forward(self.fake_A)

    def get_current_visuals(self):
        return {n: getattr(self, n) for n in self.visual_names}

    def get_visual_paths(self):
        return {n: self.image_paths_B if n in ("real_B", "fake_A", "rec_B") else self.image_paths
                for n in self.visual_names}


class CUTTranslatorModel(CycleTranslatorModel):
    """`--model cut` through cyclegan.inference: its one generator G, the CUT code's test pictures real_A, fake_B
    and real_B (--direction as the run was trained)."""
    visual_names = ["real_A", "fake_B", "real_B"]

    def __init__(self, opt):
        self.translator = load_translator(opt, "G")
        self.device, self.compiled = self.translator.device, self.translator.compiled
        self.AtoB = opt.direction == "AtoB"

    def test(self):
        self.fake_B = self.translator.forward(self.real_A)


TRANSLATORS = {"test": TranslatorModel, "cycle_gan": CycleTranslatorModel, "cut": CUTTranslatorModel}


def run_test(opt, saved=None, overwrite=False):
    """Translate every test image (or the first num_test) and write the page; returns the page path.
    saved: the run's saved training options (for the domain names of its dataset)."""
    if opt.use_wandb:
        import_wandb()  # a missing package stops the test before any work
    dataset = create_dataset(opt)
    batch_size = 1 if opt.preprocess == "none" else opt.batch_size  # sizes differ: cannot stack
    loader = create_dataloader(dataset, batch_size, shuffle=False, num_workers=opt.num_threads,
                               seed=opt.seed, pin_memory=opt.device.type == "cuda")
    loader.sampler.set_epoch(0)
    model = TRANSLATORS[opt.model](opt)  # one inference path: cyclegan.load, as the API, video, demo and export use
    compiled = model.compiled
    label = f"{opt.phase}_{opt.epoch}" if opt.load_iter <= 0 else f"{opt.phase}_iter{opt.load_iter}"
    fp = fingerprint(opt)
    web_dir = choose_web_dir(os.path.join(opt.results_dir, opt.name, label), fp, overwrite)
    img_dir = os.path.join(web_dir, "images")
    os.makedirs(img_dir, exist_ok=True)
    total = len(dataset) if opt.num_test is None else min(opt.num_test, len(dataset))
    print(f"testing {total} images from {opt.dataroot} with {opt.name} ({opt.epoch}) -> {web_dir}")

    domains = domain_names((saved or {}).get("dataroot") or opt.dataroot)
    names = captions(opt, domains)
    wandb = WandbSink(opt.wandb_project_name, opt.name, option_rows(opt), web_dir, every_image=True,
                      warn=lambda m: print(m, file=sys.stderr)) if opt.use_wandb else None
    rows, done, t0 = [], 0, time.time()
    bar = Progress(total, desc="test", unit="img")
    for data in loader:
        if done >= total:
            break
        model.set_input(data)
        model.test()
        visuals = model.get_current_visuals()
        n = min(next(iter(visuals.values())).shape[0], total - done)
        cpu = {k: v[:n].detach().cpu() for k, v in visuals.items()}
        paths = model.get_visual_paths()
        for j in range(n):
            items = []
            for name, batch in cpu.items():
                stem = os.path.splitext(os.path.basename(paths[name][j]))[0]
                fname = f"{stem}_{name}.png"
                save_image(batch[j], os.path.join(img_dir, fname), signed=True, aspect_ratio=opt.aspect_ratio)
                items.append((os.path.join("images", fname), names.get(name, name)))
            rows.append((os.path.basename(model.get_image_paths()[j]), items))
            if wandb is not None:  # one row of images per input, as the official test.py logs them
                wandb.images({name: batch[j] for name, batch in cpu.items()}, opt.epoch, done + j + 1, True)
        done += n
        bar.update(n)
    bar.close()
    if wandb is not None:
        wandb.close(timeout=60.0)
    compile_s = compile_summary(compiled)[0]
    seconds = max(time.time() - t0 - compile_s, 1e-9)  # images/s without the one-off compilation
    compile_note = describe_compile(compiled)
    if compile_note:
        print(compile_note)
    run_dir = os.path.join(opt.checkpoints_dir, opt.name)
    train_page = os.path.join(run_dir, "web", "index.html")
    links = [("the training page (visuals per epoch, loss curves, options)", train_page)] \
        if os.path.isfile(train_page) else []
    xs, series = read_loss_log(os.path.join(run_dir, "loss_log.txt"))
    svgs = [("Training losses", loss_svg(xs, series, title=f"{opt.name} losses"))] if xs else []
    page = write_page(
        os.path.join(web_dir, "index.html"), f"Experiment = {opt.name}, Phase = {opt.phase}, Epoch = {opt.epoch}",
        sections=rows, width=min(opt.display_winsize, 256), per_row=3, links=links, svgs=svgs,
        notes=[f"A = {domains['A']}, B = {domains['B']}: fake_B is real_A translated to B, rec_A is fake_B "
               f"translated back (the cycle); likewise from B.",
               f"{done} images translated in {seconds:.1f} s ({done / seconds:.2f} images/s) "
               f"on {model.device.type} with torch {torch.__version__}"
               + (f"; {compile_note}" if compile_note else "")])
    atomic_write_json(os.path.join(web_dir, MARKER), fp, indent=1, default=str)
    return page
