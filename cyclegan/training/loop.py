"""The training loop: epochs from epoch_count to n_epochs + n_epochs_decay, read top to bottom.

Per iteration: set_input -> optimize_parameters, then report.py decides what is shown: losses every print_freq
(console, loss_log.txt, every display sink), visuals every display_freq (the page every update_html_freq), and
both at the first iteration and at each epoch's end. The display is one Visualizer (display/visualizer.py) that
feeds every sink (page, visdom, W&B, TensorBoard); it is built first, so a missing optional package stops the run
before any work. Every save_latest_freq and at epoch ends: atomic checkpoints. Counters count images, as officially.

The counters also carry train_seconds: wall-clock seconds inside the epoch loop (steps, data loading, saves; not
the process start-up nor the held-out scoring of cyclegan-ablate), restored on resume so a resumed run adds its new
seconds to the saved ones. Every end-of-epoch save appends them to the run's train_time.jsonl (runs/layout.py).
"""
import os
import random
import time

import numpy as np
import torch

from ..data import create_dataloader, create_dataset
from ..display.loss_log import LossLog
from ..display.progress import Progress
from ..display.visualizer import Visualizer
from ..metrics.evaluate import append_jsonl
from ..models import create_model
from ..perf import device_name
from ..runs import checkpoint, run_folder
from ..runs.layout import RunFolder
from ..runs.guards import NanGuard, StopSignal
from . import distributed
from .quality import QualityEval
from .report import Report


def seed_everything(seed, deterministic=False):
    random.seed(seed)
    np.random.seed(seed % 2 ** 32)
    torch.manual_seed(seed)
    if deterministic:
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")  # required for deterministic cuBLAS
        torch.use_deterministic_algorithms(True)


def train(opt, opt_dict=None, before_start=None):
    """Train the model `opt` describes; returns the model. `opt_dict` is the saved form of the options.
    Under torchrun each process trains one data-parallel shard; only rank 0 prints and writes files.
    The run folder is locked and checked first (run_folder.claim); then rank 0 calls `before_start()`."""
    ctx = distributed.setup(opt)
    try:
        with run_folder.claim(opt, ctx), distributed.quiet_unless_main(ctx):
            if before_start is not None and ctx.is_main:
                before_start()
            return train_process(opt, opt_dict, ctx)
    finally:
        distributed.cleanup(ctx)


def train_process(opt, opt_dict, ctx):
    vis = Visualizer(opt) if ctx.is_main else distributed.Null()  # first: a missing wandb/tensorboard stops here
    try:
        return train_with(opt, opt_dict, ctx, vis)
    finally:
        vis.close()


def train_with(opt, opt_dict, ctx, vis):
    opt_dict = opt_dict if opt_dict is not None else {k: v for k, v in vars(opt).items()}
    seed_everything(opt.seed, opt.deterministic)
    dataset = create_dataset(opt)
    loader = create_dataloader(dataset, opt.batch_size, shuffle=not opt.serial_batches,
                               num_workers=opt.num_threads, seed=opt.seed, rank=ctx.rank,
                               world_size=ctx.world_size, pin_memory=opt.device.type == "cuda")
    print(f"The number of training images = {len(dataset)} ({distributed.describe(ctx)})")

    model = create_model(opt)
    model.configure(world_size=ctx.world_size)  # speed settings from the options (amp, compile, CUDA graph, ...)
    model.setup(opt, load=False)  # schedulers; weights are restored below, with everything else
    counters = {"epoch": opt.epoch_count, "batches_done": 0, "total_iters": 0}
    if opt.continue_train:
        counters = resume_run(model, opt, counters, opt_dict if ctx.is_main else None)  # on every rank
    if ctx.is_main and (warning := checkpoint.free_space_warning(model)):
        print(warning, flush=True)
    distributed.wrap(model, ctx)
    cfg = model.speed
    if model.cuda_graph_off:
        print(f"CUDA graph step: off ({model.cuda_graph_off})")
    print(f"speed settings: {cfg.as_dict()}")

    last_epoch = opt.n_epochs + opt.n_epochs_decay
    log = LossLog(os.path.join(model.save_dir, "loss_log.txt")) if ctx.is_main else distributed.Null()
    guard = NanGuard(model.loss_names, model.device)
    report = Report(opt, model, vis, log, guard, len(dataset))
    total_iters = counters["total_iters"]
    vis.begin(total_iters)  # where this process starts (a resume), before the quality curve's earlier points
    quality = QualityEval(opt, model, vis) if ctx.is_main else distributed.Null()
    clock = TrainClock(counters.get("train_seconds", 0.0), model)
    try:
        with StopSignal() as stop:
            for epoch in range(counters["epoch"], last_epoch + 1):
                start = counters["batches_done"] if epoch == counters["epoch"] else 0
                loader.sampler.set_epoch(epoch, start * opt.batch_size)
                epoch_start = time.time()
                epoch_iter = start * opt.batch_size * ctx.world_size  # counters count images of all ranks
                bar = Progress(len(loader.sampler) * ctx.world_size, desc=f"epoch {epoch}/{last_epoch}",
                               unit="img") if ctx.is_main else distributed.Null()
                report.start_epoch(bar)
                data_start = time.time()
                for i, data in enumerate(loader, start):
                    t_data = time.time() - data_start
                    n = data["A"].shape[0] * ctx.world_size
                    total_iters += n
                    epoch_iter += n
                    model.set_input(data)
                    model.optimize_parameters()
                    guard.observe(model, total_iters)
                    report.step(epoch, epoch_iter, total_iters, n, t_data)  # losses and visuals when due
                    bar.update(n)

                    stopping = stop.requested is not None
                    if ctx.world_size > 1:  # all ranks must stop at one iteration: agree at print_freq
                        stopping = total_iters % opt.print_freq < n and bool(distributed.average(
                            torch.tensor(float(stopping), device=model.device)) > 0)
                    if total_iters % opt.save_latest_freq < n or stopping:
                        guard.check()
                        label = f"iter_{total_iters}" if opt.save_by_iter and not stopping else "latest"
                        save(model, [label], epoch, i + 1, total_iters, opt_dict, clock.seconds())
                        print(f"saved the latest model (epoch {epoch}, total_iters {total_iters})", flush=True)
                    if stopping:
                        report.end_epoch(epoch, epoch_iter, total_iters)  # the display ends with the last step
                        bar.close()
                        print(f"stopped by {stop.requested or 'a signal'} at epoch {epoch}, iteration {total_iters}; "
                              f"saved to {model.save_dir}. Resume with the same command plus --continue_train")
                        return model
                    data_start = time.time()
                report.end_epoch(epoch, epoch_iter, total_iters)  # the epoch's last visuals and losses
                bar.close()

                guard.check()
                metric = model.epoch_metric()  # the mean over this epoch's steps, kept on the device
                metric = float(distributed.average(metric)) if metric is not None else 0.0  # same on all ranks
                old_lr, lr = model.update_learning_rate(metric)
                if lr != old_lr:
                    print(f"learning rate {old_lr:.7f} -> {lr:.7f}")
                    vis.show_status(epoch, epoch_iter, lr, (time.time() - epoch_start) / max(1, len(loader)),
                                    step=total_iters)
                if epoch % opt.save_epoch_freq == 0 or epoch == last_epoch:
                    print(f"saving the model at the end of epoch {epoch}, iters {total_iters}")
                    seconds = clock.seconds()
                    save(model, [epoch, "latest"], epoch + 1, 0, total_iters, opt_dict, seconds)
                    clock.log(epoch, total_iters, seconds)
                    prune_states(model.save_dir, keep=2)
                quality.end_of_epoch(epoch, total_iters)  # held-out curves; scored in the background
                print(f"End of epoch {epoch} / {last_epoch} \t Time Taken: {time.time() - epoch_start:.0f} sec")
    finally:
        quality.close()  # its last point reaches the display before the display closes
    return model


class TrainClock:
    """Wall-clock training seconds: those a resumed state saved plus this process's since the loop began."""

    def __init__(self, saved_seconds, model):
        self.saved, self.start, self.model = float(saved_seconds), time.perf_counter(), model

    def seconds(self):
        return round(self.saved + time.perf_counter() - self.start, 3)

    def log(self, epoch, total_iters, seconds):
        """Append the end-of-epoch seconds and the machine to the run's train_time.jsonl (main rank)."""
        if distributed.is_main():
            append_jsonl(RunFolder(self.model.save_dir).train_time_log(),
                         {"epoch": epoch, "total_iters": total_iters, "train_seconds": seconds,
                          "machine": device_name(self.model.device)})


def save(model, labels, next_epoch, batches_done, total_iters, opt_dict, train_seconds=None):
    if not distributed.is_main():
        return
    counters = {"epoch": next_epoch, "batches_done": batches_done, "total_iters": total_iters}
    if train_seconds is not None:
        counters["train_seconds"] = train_seconds
    checkpoint.save_state(model, labels, counters, opt_dict)


def resume_run(model, opt, counters, opt_dict=None):
    """Restore the newest complete full state (nets, optimisers, schedulers, pools, RNG, counters) and finish the
    save that wrote it if it was stopped (`opt_dict` given: the main rank); start from the beginning when the run
    saved its options but no state yet; fall back to official weights-only files, which restart the optimisers."""
    restored, path = checkpoint.resume(model, model.save_dir, checkpoint.wanted_state(model.save_dir, opt))
    if restored is not None:
        print(f"resumed from {path}: epoch {restored['epoch']}, {restored['total_iters']} images seen")
        if opt_dict is not None and (labels := checkpoint.finish_interrupted_save(model, path, restored, opt_dict)):
            print(f"finished the save that was interrupted: wrote the weight files and states of "
                  f"{', '.join(map(str, labels))} again from {os.path.basename(path)}")
        return restored
    if run_folder.starts_afresh(model.save_dir):
        print(f"no checkpoint was saved in {model.save_dir} before the run stopped; starting from the beginning "
              f"(epoch {opt.epoch_count})")
        return counters
    model.load_networks(opt.epoch)
    print(f"warning: no full-state checkpoint in {model.save_dir}; loaded the weights of epoch {opt.epoch} "
          f"only (optimisers, schedulers and pools start fresh, from --epoch_count {opt.epoch_count})")
    return counters


def prune_states(save_dir, keep=2):
    """Keep latest_state.pth and the `keep` newest numbered full states (they are large)."""
    if not distributed.is_main():
        return
    numbered = [p for p in checkpoint.candidates(save_dir) if checkpoint.label_of(p) != "latest"]
    for path in numbered[keep:]:
        os.remove(path)
