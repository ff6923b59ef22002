"""Data-parallel training under torchrun: process group, DDP wrapping, rank-0-only output.

torchrun sets RANK, WORLD_SIZE and LOCAL_RANK (and the rendezvous for several nodes). Without them, or
with WORLD_SIZE 1, everything here is a no-op and training runs as one plain process.
Backend: NCCL when training on GPUs, gloo on the CPU.
"""
import contextlib
import os
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel

from ..errors import UserError


class LaunchError(UserError):
    """torchrun's environment does not fit this run (RANK/WORLD_SIZE/LOCAL_RANK, GPUs visible, --norm)."""


@dataclass
class DistContext:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    backend: str = ""

    @property
    def is_main(self):
        return self.rank == 0

    @property
    def enabled(self):
        return self.world_size > 1


def env_context():
    """RANK / WORLD_SIZE / LOCAL_RANK as torchrun sets them (defaults: one process)."""
    def read(name, default):
        value = os.environ.get(name, default)
        try:
            return int(value)
        except ValueError:
            raise LaunchError(f"environment variable {name}={value!r} is not an integer (set by torchrun)") from None
    return DistContext(read("RANK", "0"), read("WORLD_SIZE", "1"), read("LOCAL_RANK", "0"))


def setup(opt):
    """Join the process group if torchrun started several processes; adjust opt for this rank.

    On GPU each rank uses cuda:LOCAL_RANK: opt.device (parsed from --gpu_ids) is set to it here, the one
    place it changes. The seed of rank 0 is broadcast so that all ranks build the same nets and shard one
    shuffled order.
    """
    ctx = env_context()
    gpu = opt.device.type == "cuda"
    if not ctx.enabled:
        if gpu:
            torch.cuda.set_device(opt.device)  # --gpu_ids 1: streams and syncs default to that GPU too
        return ctx
    if gpu:
        if ctx.local_rank >= torch.cuda.device_count():
            raise LaunchError(f"LOCAL_RANK {ctx.local_rank} but only {torch.cuda.device_count()} GPUs are visible: "
                             f"lower torchrun --nproc_per_node")
        opt.device, opt.gpu_ids = torch.device("cuda", ctx.local_rank), [ctx.local_rank]
        torch.cuda.set_device(opt.device)
    elif opt.norm == "sync_batch":
        raise LaunchError("--norm sync_batch synchronises over GPUs only (NCCL); on the CPU use --norm batch "
                          "or --norm instance")
    ctx.backend = "nccl" if gpu else "gloo"
    if not dist.is_initialized():
        dist.init_process_group(ctx.backend, device_id=opt.device if gpu else None)
    seed = [opt.seed]
    dist.broadcast_object_list(seed, src=0)
    opt.seed = seed[0]
    return ctx


def wrap(model, ctx):
    """Wrap every net of the model in DistributedDataParallel (after compile, resume and speed settings)."""
    if not ctx.enabled:
        return model
    device_ids = [model.device.index] if model.device.type == "cuda" else None
    for name in model.model_names:
        net = getattr(model, "net" + name)
        if getattr(model.opt, "norm", None) == "sync_batch":
            net = torch.nn.SyncBatchNorm.convert_sync_batchnorm(net)  # no-op when built with SyncBatchNorm
        setattr(model, "net" + name, DistributedDataParallel(net, device_ids=device_ids))
    return model


def is_main():
    """True on rank 0, or when not distributed."""
    return not (dist.is_available() and dist.is_initialized()) or dist.get_rank() == 0


def average(tensor):
    """Mean of a tensor over all ranks (the tensor itself when not distributed)."""
    if not (dist.is_available() and dist.is_initialized()):
        return tensor
    tensor = tensor.detach().clone()
    dist.all_reduce(tensor)
    return tensor / dist.get_world_size()


def barrier():
    if dist.is_available() and dist.is_initialized():
        dist.barrier()


def cleanup(ctx):
    if ctx.enabled and dist.is_initialized():
        dist.destroy_process_group()


@contextlib.contextmanager
def quiet_unless_main(ctx):
    """Silence stdout on ranks other than 0 (errors on stderr still show)."""
    if ctx.is_main:
        yield
        return
    with open(os.devnull, "w") as null, contextlib.redirect_stdout(null):
        yield


class Null:
    """Stands in for the visualizer, loss log and progress bar on ranks other than 0: every call does nothing."""

    def __getattr__(self, name):
        return lambda *args, **kwargs: None


def describe(ctx):
    return (f"rank {ctx.rank}/{ctx.world_size} (local {ctx.local_rank}, {ctx.backend})" if ctx.enabled
            else "single process")


__all__ = ["DistContext", "LaunchError", "setup", "wrap", "is_main", "average", "barrier", "cleanup", "quiet_unless_main",
           "Null", "env_context", "describe"]
