"""BaseModel: the official model surface (setup, set_input, optimize_parameters, losses, visuals, save/load).

Subclasses fill the name lists; logging, display and checkpointing walk them generically:
  loss_names   -> attributes loss_<name>     visual_names -> image tensors
  model_names  -> attributes net<name>       saved as {epoch}_net_<name>.pth (official layout)
"""
import contextlib
import os
from collections import OrderedDict

import torch
import torch.nn as nn

from ..io import atomic_save, load_state_dict_file
from .schedulers import get_scheduler


def device_from_gpu_ids(gpu_ids):
    return torch.device(f"cuda:{gpu_ids[0]}") if gpu_ids else torch.device("cpu")


class BaseModel:
    def __init__(self, opt):
        self.opt = opt
        self.gpu_ids = list(opt.gpu_ids)
        self.isTrain = opt.isTrain
        self.device = device_from_gpu_ids(self.gpu_ids)
        self.save_dir = os.path.join(opt.checkpoints_dir, opt.name)
        self.loss_names, self.model_names, self.visual_names = [], [], []
        self.optimizers, self.schedulers = [], []
        self.image_paths = []
        # speed settings (cyclegan.training.speed.apply sets them); the defaults are the official fp32 math
        self.speed = None
        self.memory_format = torch.contiguous_format
        self.scalers = None  # one fp16 GradScaler per optimizer, else None

    @staticmethod
    def modify_commandline_options(parser, is_train):
        return parser

    # -- to be filled by subclasses --
    def set_input(self, data):
        raise NotImplementedError

    def forward(self):
        raise NotImplementedError

    def optimize_parameters(self):
        raise NotImplementedError

    # -- generic machinery --
    def nets(self):
        """(name, module) for every network, unwrapped from DDP/compile wrappers."""
        return [(name, unwrap(getattr(self, "net" + name))) for name in self.model_names]

    def setup(self, opt):
        """Create schedulers when training; load weights when testing or resuming (official behaviour)."""
        if self.isTrain:
            self.schedulers = [get_scheduler(o, opt.lr_policy, opt.epoch_count, opt.n_epochs,
                                             opt.n_epochs_decay, opt.lr_decay_iters) for o in self.optimizers]
        if not self.isTrain or getattr(opt, "continue_train", False):
            suffix = f"iter_{opt.load_iter}" if getattr(opt, "load_iter", 0) > 0 else opt.epoch
            self.load_networks(suffix)
        if getattr(opt, "verbose", False):
            self.print_networks()

    def eval(self):
        for _, net in self.nets():
            net.eval()

    def test(self):
        with torch.no_grad(), self.autocast():
            self.forward()

    def autocast(self):
        """Autocast to the configured amp dtype; a no-op context without amp."""
        dtype = getattr(self.speed, "amp_dtype", None)
        if dtype is None:
            return contextlib.nullcontext()
        # torch's CUDA-graph notes: no autocast weight-cast cache in a captured step
        return torch.autocast(self.device.type, dtype=dtype, cache_enabled=getattr(self, "graph_step", None) is None)

    def backward(self, loss, optimizer):
        """loss.backward(), through the optimizer's GradScaler under fp16."""
        scaler = self.scalers[self.optimizers.index(optimizer)] if self.scalers else None
        (scaler.scale(loss) if scaler is not None else loss).backward()

    def step(self, optimizer):
        """optimizer.step(), through its GradScaler under fp16 (fused Adam: no host sync)."""
        scaler = self.scalers[self.optimizers.index(optimizer)] if self.scalers else None
        if scaler is None:
            optimizer.step()
        else:
            scaler.step(optimizer)
            scaler.update()

    @staticmethod
    def local(net):
        """The net without its DistributedDataParallel wrapper (compiled or not), for forwards whose
        parameters are frozen: DDP would wait for their gradients."""
        return net.module if isinstance(net, nn.parallel.DistributedDataParallel) else net

    def get_image_paths(self):
        return self.image_paths

    def update_learning_rate(self, metric=None):
        """Step every scheduler once (after the epoch's optimizer steps); plateau uses `metric`."""
        old = self.optimizers[0].param_groups[0]["lr"]
        for s in self.schedulers:
            if isinstance(s, torch.optim.lr_scheduler.ReduceLROnPlateau):
                s.step(metric)
            else:
                s.step()
        return old, self.optimizers[0].param_groups[0]["lr"]

    def get_current_visuals(self):
        return OrderedDict((n, getattr(self, n)) for n in self.visual_names if hasattr(self, n))

    def get_current_losses(self):
        """Float values of the losses; this syncs with the device, so call it only at print_freq."""
        return OrderedDict((n, float(getattr(self, "loss_" + n).detach())) for n in self.loss_names
                           if hasattr(self, "loss_" + n))

    def save_networks(self, epoch):
        """Write {epoch}_net_{name}.pth: plain CPU state dicts, readable by the official code."""
        for name, net in self.nets():
            sd = {k: v.detach().cpu() for k, v in net.state_dict().items()}
            atomic_save(sd, os.path.join(self.save_dir, f"{epoch}_net_{name}.pth"))

    def load_networks(self, epoch):
        for name, net in self.nets():
            path = os.path.join(self.save_dir, f"{epoch}_net_{name}.pth")
            if not os.path.isfile(path):
                raise FileNotFoundError(
                    f"{path} not found: is --name/--checkpoints_dir/--epoch right? "
                    f"Files there: {', '.join(sorted(os.listdir(self.save_dir))) if os.path.isdir(self.save_dir) else 'none (no such folder)'}")
            load_official_state_dict(net, load_state_dict_file(path), path)

    def print_networks(self):
        for name, net in self.nets():
            n = sum(p.numel() for p in net.parameters())
            print(f"[Network {name}] Total number of parameters : {n / 1e6:.3f} M")

    @staticmethod
    def set_requires_grad(nets, requires_grad=False):
        for net in nets if isinstance(nets, (list, tuple)) else [nets]:
            for p in net.parameters():
                p.requires_grad = requires_grad


def unwrap(net):
    """The plain module inside DistributedDataParallel / DataParallel / torch.compile wrappers."""
    while True:
        if isinstance(net, (nn.parallel.DistributedDataParallel, nn.DataParallel)):
            net = net.module
        elif hasattr(net, "_orig_mod"):
            net = net._orig_mod
        else:
            return net


def load_official_state_dict(net, state_dict, path="<state dict>"):
    """Load official-layout weights; drop the InstanceNorm running stats that pre-0.4 checkpoints carry."""
    modules = dict(net.named_modules())
    state_dict = dict(state_dict)
    for key in list(state_dict):
        mod_name, _, attr = key.rpartition(".")
        mod = modules.get(mod_name)
        if isinstance(mod, nn.InstanceNorm2d) and attr in ("running_mean", "running_var", "num_batches_tracked") \
                and getattr(mod, attr, None) is None:
            del state_dict[key]
    hint = "Check --netG/--ngf/--norm/--no_dropout (they must match how the weights were trained)."
    expected = set(net.state_dict())
    missing, unexpected = sorted(expected - set(state_dict)), sorted(set(state_dict) - expected)
    if missing or unexpected:
        raise RuntimeError(
            f"{path}: does not fit this network. Missing keys: {missing[:5]}{'...' if len(missing) > 5 else ''}; "
            f"unexpected keys: {unexpected[:5]}{'...' if len(unexpected) > 5 else ''}. {hint}")
    try:
        net.load_state_dict(state_dict)
    except RuntimeError as e:
        raise RuntimeError(f"{path}: tensor shapes do not fit this network ({str(e).splitlines()[-1].strip()}). "
                           f"{hint}") from None
    return net
