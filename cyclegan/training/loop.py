"""The training loop: epochs from epoch_count to n_epochs + n_epochs_decay, read top to bottom.

Per iteration: set_input -> optimize_parameters. Every print_freq: losses to the console, loss_log.txt
and visdom. Every display_freq: visuals to visdom (and the HTML page every update_html_freq).
Every save_latest_freq and at epoch ends: atomic checkpoints. Counters count images, as officially.
"""
import os
import random
import time

import numpy as np
import torch

from ..data import create_dataloader, create_dataset
from ..display.progress import Progress
from ..display.visualizer import Visualizer
from ..models import create_model
from . import checkpoint
from .guards import NanGuard, StopSignal
from .loss_log import LossLog


def seed_everything(seed):
    random.seed(seed)
    np.random.seed(seed % 2 ** 32)
    torch.manual_seed(seed)


def train(opt, opt_dict=None):
    """Train the model `opt` describes; returns the model. `opt_dict` is the saved form of the options."""
    opt_dict = opt_dict if opt_dict is not None else {k: v for k, v in vars(opt).items()}
    seed_everything(opt.seed)
    dataset = create_dataset(opt)
    loader = create_dataloader(dataset, opt.batch_size, shuffle=not opt.serial_batches,
                               num_workers=opt.num_threads, seed=opt.seed, pin_memory=bool(opt.gpu_ids))
    print(f"The number of training images = {len(dataset)}")

    model = create_model(opt)
    continue_train, opt.continue_train = opt.continue_train, False
    model.setup(opt)  # schedulers; weights are restored below, with everything else
    opt.continue_train = continue_train
    counters = {"epoch": opt.epoch_count, "batches_done": 0, "total_iters": 0}
    if continue_train:
        counters = resume_run(model, opt, counters)

    last_epoch = opt.n_epochs + opt.n_epochs_decay
    log = LossLog(os.path.join(model.save_dir, "loss_log.txt"))
    vis = Visualizer(opt)
    guard = NanGuard(model.loss_names, model.device)
    total_iters = counters["total_iters"]
    try:
        with StopSignal() as stop:
            for epoch in range(counters["epoch"], last_epoch + 1):
                start = counters["batches_done"] if epoch == counters["epoch"] else 0
                loader.sampler.set_epoch(epoch, start * opt.batch_size)
                epoch_start = time.time()
                epoch_iter = start * opt.batch_size
                g_sum = torch.zeros((), device=model.device)
                bar = Progress(len(loader.sampler), desc=f"epoch {epoch}/{last_epoch}", unit="img")
                window_start, window_iters, t_data = time.time(), 0, 0.0
                data_start = time.time()
                for i, data in enumerate(loader, start):
                    t_data += time.time() - data_start
                    n = data["A"].shape[0]
                    total_iters += n
                    epoch_iter += n
                    model.set_input(data)
                    model.optimize_parameters()
                    guard.observe(model, total_iters)
                    g_sum += model.loss_G.detach()
                    window_iters += 1

                    if total_iters % opt.display_freq < n:
                        vis.display_current_results(model.get_current_visuals(), epoch,
                                                    save_result=total_iters % opt.update_html_freq < n)
                    if total_iters % opt.print_freq < n:
                        guard.check()
                        losses = model.get_current_losses()
                        t_iter = (time.time() - window_start) / window_iters
                        lr = model.optimizers[0].param_groups[0]["lr"]
                        bar.write(log.write(epoch, epoch_iter, losses, t_iter / n, t_data / window_iters))
                        vis.plot_current_losses(epoch, epoch_iter / len(dataset), losses)
                        vis.show_status(epoch, epoch_iter, lr, t_iter)
                        bar.update(0, **losses)
                        window_start, window_iters, t_data = time.time(), 0, 0.0
                    bar.update(n)

                    if total_iters % opt.save_latest_freq < n or stop.requested:
                        guard.check()
                        label = f"iter_{total_iters}" if opt.save_by_iter and not stop.requested else "latest"
                        save(model, label, epoch, i + 1, total_iters, opt_dict)
                    if stop.requested:
                        bar.close()
                        print(f"stopped by {stop.requested} at epoch {epoch}, iteration {total_iters}; saved to "
                              f"{model.save_dir}. Resume with the same command plus --continue_train")
                        return model
                    data_start = time.time()
                bar.close()

                guard.check()
                old_lr, lr = model.update_learning_rate(float(g_sum) / max(1, len(loader)))
                if lr != old_lr:
                    print(f"learning rate {old_lr:.7f} -> {lr:.7f}")
                if epoch % opt.save_epoch_freq == 0 or epoch == last_epoch:
                    print(f"saving the model at the end of epoch {epoch}, iters {total_iters}")
                    save(model, "latest", epoch + 1, 0, total_iters, opt_dict)
                    save(model, epoch, epoch + 1, 0, total_iters, opt_dict)
                    prune_states(model.save_dir, keep=2)
                print(f"End of epoch {epoch} / {last_epoch} \t Time Taken: {time.time() - epoch_start:.0f} sec")
    finally:
        vis.close()
    return model


def save(model, label, next_epoch, batches_done, total_iters, opt_dict):
    counters = {"epoch": next_epoch, "batches_done": batches_done, "total_iters": total_iters}
    checkpoint.save_state(model, label, counters, opt_dict)


def resume_run(model, opt, counters):
    """Restore the full state (nets, optimisers, schedulers, pools, RNG, counters); fall back to
    official weights-only files, which restart the optimisers, when no full state exists."""
    wanted = getattr(opt, "resume_from", None)
    if not wanted and opt.epoch != "latest":
        path = os.path.join(model.save_dir, f"{opt.epoch}_state.pth")
        wanted = path if os.path.isfile(path) else None
    restored, path = checkpoint.resume(model, model.save_dir, wanted)
    if restored is not None:
        print(f"resumed from {path}: epoch {restored['epoch']}, {restored['total_iters']} images seen")
        return restored
    model.load_networks(opt.epoch)
    print(f"warning: no full-state checkpoint in {model.save_dir}; loaded the weights of epoch {opt.epoch} "
          f"only (optimisers, schedulers and pools start fresh, from --epoch_count {opt.epoch_count})")
    return counters


def prune_states(save_dir, keep=2):
    """Keep latest_state.pth and the `keep` newest numbered full states (they are large)."""
    numbered = [p for p in checkpoint.candidates(save_dir) if not p.endswith("latest_state.pth")]
    for path in numbered[keep:]:
        os.remove(path)
