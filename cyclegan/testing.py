"""Batch inference over a folder and the results page: results/NAME/test_EPOCH/{images/, index.html}."""
import os
import time

import torch

from .data import create_dataloader, create_dataset
from .display.html import write_page
from .display.progress import Progress
from .images import save_image
from .models import create_model


def run_test(opt):
    """Translate every test image (or the first num_test) and write the page; returns the page path."""
    dataset = create_dataset(opt)
    batch_size = 1 if opt.preprocess == "none" else opt.batch_size  # sizes differ: cannot stack
    loader = create_dataloader(dataset, batch_size, shuffle=False, num_workers=opt.num_threads,
                               seed=opt.seed, pin_memory=opt.device.type == "cuda")
    loader.sampler.set_epoch(0)
    model = create_model(opt)
    model.setup(opt)
    model.configure()  # amp / channels_last / compile from the options and the device
    if opt.eval:
        model.eval()
    label = f"{opt.phase}_{opt.epoch}" if opt.load_iter <= 0 else f"{opt.phase}_iter{opt.load_iter}"
    web_dir = os.path.join(opt.results_dir, opt.name, label)
    img_dir = os.path.join(web_dir, "images")
    os.makedirs(img_dir, exist_ok=True)
    total = len(dataset) if opt.num_test is None else min(opt.num_test, len(dataset))
    print(f"testing {total} images from {opt.dataroot} with {opt.name} ({opt.epoch}) -> {web_dir}")

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
                items.append((os.path.join("images", fname), name))
            rows.append((os.path.basename(model.get_image_paths()[j]), items))
        done += n
        bar.update(n)
    bar.close()
    seconds = time.time() - t0
    page = write_page(
        os.path.join(web_dir, "index.html"), f"Experiment = {opt.name}, Phase = {opt.phase}, Epoch = {opt.epoch}",
        sections=rows, width=opt.display_winsize,
        notes=[f"{done} images translated in {seconds:.1f} s ({done / max(seconds, 1e-9):.2f} images/s) "
               f"on {model.device.type} with torch {torch.__version__}"])
    return page
