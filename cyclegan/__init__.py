"""CycleGAN suite: unpaired photo <-> Van Gogh translation, with a Gatys neural-style comparison.

Library layout by floors (an import points down or sideways, never up; no cycle between packages;
tests/test_import_floors.py checks it):
  6  entry points  train.py, test.py, evaluate.py, gatys.py, fast_nst.py, video.py, compare.py, benchmark.py,
                   c2st.py, export.py, demo.py, ablate.py, distill.py, ...: parse options/, call the library; cli.py's
                   main_guard catches UserError once
  5  options/      (beside the package) one option set per command
  4  media/        video in and out, per-method frame stylisers
     webdemo/      the local web demo (cyclegan-demo): a Starlette app over inference/, nst/ and media/
     ablation/     the recipe ablation: variants trained, scored at fixed steps, timed, reported
  3  training/     the CycleGAN training loop alone (loop, DDP, quality curves)
     testing.py    batch inference and the results page
     comparison/   CycleGAN, fast NST and Gatys on the same photos
     bench/        every benchmark (CycleGAN step and inference, Gatys, fast NST, C2ST)
     distillation/ cyclegan-distill: a small student generator trained on a teacher's outputs
  2  inference/    cyclegan.load (a run, .pth or .onnx): translate images of any size; ONNX export and runs
     nst/          Gatys and fast NST: backbones, losses, optimiser, transformer net, its training and stylising
     data/         image folders, dataset scan, datasets, transforms, sampler
     metrics/      C2ST, colour, SSIM/edges, painting classifier, FID/KID, the held-out evaluation
     display/      what the user sees: progress, loss log, visdom, HTML pages
  1  models/       CycleGANModel and its runtime (speed, the CUDA-graph step), nets, losses, pool, schedulers
     runs/         what every trainer shares: run folder and lock, full-state checkpoints, guards
     images.py     image files in and out
  0  io.py, perf.py, errors.py   atomic writes and weights_only loads; timing and devices; UserError
"""
__version__ = "0.1.0"
__all__ = ["load"]


def __getattr__(name):
    """cyclegan.load, imported on first use: `import cyclegan` stays cheap (no torch)."""
    if name == "load":
        from .inference import load
        return load
    raise AttributeError(f"module 'cyclegan' has no attribute {name!r}")
