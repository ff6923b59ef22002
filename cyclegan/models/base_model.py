"""BaseModel: the official model surface (setup, set_input, optimize_parameters, losses, visuals, save/load)
and a full state_dict()/load_state_dict(). How the step runs (speed, AMP, the captured step) is its
StepRunner's (step_runner.py); which files hold the weights is the run folder's (runs/layout.py).

Subclasses fill the name lists; logging, display, checkpointing and testing walk them generically:
  loss_names      -> attributes loss_<name>       visual_names -> image tensors
  model_names     -> attributes net<name>         saved as {epoch}_net_<name>.pth (official layout)
  generator_names -> the nets generators() gives  (the forward one first)
  optimizer_names -> attributes optimizer_<name>  (one scheduler and, under fp16, one GradScaler each)
  pool_names      -> attributes holding ImagePools (their contents are part of the full state)
General code (the training loop, quality curves, benchmark) asks the model instead of naming its parts:
current_lr(), epoch_metric(), generators(), runtime(); a model with a captured step declares it in capture_spec().
"""
import os
from collections import OrderedDict

import torch
import torch.nn as nn

from ..io import load_state_dict_file
from ..runs.layout import RunFolder
from .schedulers import get_scheduler
from .speed import resolve_options
from .step_runner import StepRunner
from .weights import load_official_state_dict, unwrap


class BaseModel:
    def __init__(self, opt):
        self.opt = opt
        self.isTrain = opt.isTrain
        self.device = torch.device(opt.device)  # resolved once, when the options were parsed
        self.gpu_ids = [self.device.index or 0] if self.device.type == "cuda" else []  # official attribute
        self.save_dir = os.path.join(opt.checkpoints_dir, opt.name)
        self.loss_names, self.model_names, self.visual_names = [], [], []
        self.generator_names, self.optimizer_names, self.pool_names = [], [], []
        self.schedulers = []
        self.image_paths = []
        self.runner = StepRunner(self.device.type)  # speed, AMP, GradScalers, the captured step (step_runner.py)
        self._metric, self._metric_steps = None, 0  # the epoch metric's device-side sum (observe_metric)
        self.recipe = None  # training techniques that save weights or state (models/recipe.py), if any

    @property
    def optimizers(self):
        return [getattr(self, "optimizer_" + name) for name in self.optimizer_names]

    @staticmethod
    def modify_commandline_options(parser, is_train):
        return parser

    @staticmethod
    def apply_presets(parser, known, is_train=True, saved=None, typed=()):
        """Defaults that depend on the model's own flags (`known`: the command line parsed once with them), set
        with parser.set_defaults so typed flags win; e.g. CUTModel's --CUT_mode. On --continue_train `saved` is
        the run's train_opt.json and `typed` the flags on the command line. None by default."""

    def take_two_domains(self, data):
        """set_input of the unaligned two-domain models (CycleGAN, CUT): real_A and real_B on the device and their
        paths; --direction BtoA swaps the sides, as officially."""
        AtoB = self.opt.direction == "AtoB"
        fmt = self.memory_format
        self.real_A = data["A" if AtoB else "B"].to(self.device, memory_format=fmt, non_blocking=True)
        self.real_B = data["B" if AtoB else "A"].to(self.device, memory_format=fmt, non_blocking=True)
        self.image_paths = data.get("A_paths" if AtoB else "B_paths", [])
        self.image_paths_B = data.get("B_paths" if AtoB else "A_paths", [])

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

    def saved_nets(self):
        """(file name, module) of every weight file: the nets, then averaged copies (G_A_ema, ...)."""
        return self.nets() + (self.recipe.averaged_nets() if self.recipe is not None else [])

    def setup(self, opt, load=None):
        """Create schedulers when training; load the {epoch}_net_X.pth weights if `load`, which by default is
        the official rule: when testing or with --continue_train (the loop passes False and restores the
        full state itself)."""
        if self.isTrain:
            self.schedulers = [get_scheduler(o, opt.lr_policy, opt.epoch_count, opt.n_epochs,
                                             opt.n_epochs_decay, opt.lr_decay_iters) for o in self.optimizers]
        if load is None:
            load = not self.isTrain or opt.continue_train
        if load:
            suffix = f"iter_{opt.load_iter}" if opt.load_iter > 0 else opt.epoch
            self.load_networks(suffix)
        if opt.verbose:
            self.print_networks()

    def eval(self):
        for _, net in self.nets():
            net.eval()

    def test(self):
        with torch.no_grad(), self.autocast():
            self.forward()

    def configure(self, speed=None, world_size=1):
        """Apply speed settings (a SpeedConfig; None: resolve them from the options) through the StepRunner:
        cudnn autotuning, fast instance norm, channels_last nets and inputs, torch.compile, autocast, fused Adam,
        fp16 GradScalers and, for training, the captured (CUDA-graph) step (world_size: ranks under torchrun).
        Valid before or after setup() and load_state_dict() (fusing is in place and is re-applied after a
        load). Call it before distributed wrapping."""
        self.runner.configure(self, resolve_options(self.opt, self.device.type) if speed is None else speed,
                              world_size)
        return self

    no_capture_reason = "this model has no captured step"  # why the CUDA-graph step is off when capture_spec is None

    def capture_spec(self):
        """What the training step reads and writes, for a captured step (a graph_step.CaptureSpec), or None when
        the model has no captured step. CycleGANModel declares one."""
        return None

    # the runner's state, under the names the official surface and the training loop use
    speed = property(lambda self: self.runner.speed)
    memory_format = property(lambda self: self.runner.memory_format)
    cuda_graph_off = property(lambda self: self.runner.cuda_graph_off)

    @property
    def scalers(self):
        return self.runner.scalers

    @scalers.setter
    def scalers(self, value):
        self.runner.scalers = value

    @property
    def graph_step(self):
        return self.runner.graph_step

    @graph_step.setter
    def graph_step(self, value):
        self.runner.graph_step = value

    def abandon_step(self):
        """Undo what a training step that stopped midway (a failed capture) left behind: the fp16 GradScalers'
        per-step bookkeeping (fresh scalers, same scale) and frozen networks."""
        self.runner.abandon()
        self.set_requires_grad([net for _, net in self.nets()], True)

    def autocast(self):
        return self.runner.autocast()

    def backward(self, loss, optimizer):
        """loss.backward(), through the optimizer's GradScaler under fp16."""
        self.runner.backward(loss, self.optimizers.index(optimizer))

    def step(self, optimizer):
        """optimizer.step(), through its GradScaler under fp16 (fused Adam: no host sync)."""
        self.runner.step(optimizer, self.optimizers.index(optimizer))

    @staticmethod
    def local(net):
        """The net without its DistributedDataParallel wrapper (compiled or not), for forwards whose
        parameters are frozen: DDP would wait for their gradients."""
        return net.module if isinstance(net, nn.parallel.DistributedDataParallel) else net

    def get_image_paths(self):
        return self.image_paths

    def update_learning_rate(self, metric=None):
        """Step every scheduler once (after the epoch's optimizer steps); plateau uses `metric`. Returns the
        learning rate before and after."""
        old = self.current_lr()
        for s in self.schedulers:
            if isinstance(s, torch.optim.lr_scheduler.ReduceLROnPlateau):
                s.step(metric)
            else:
                s.step()
        return old, self.current_lr()

    def current_lr(self):
        """The learning rate now (the first optimizer's first group; the schedulers move all groups alike)."""
        return float(self.optimizers[0].param_groups[0]["lr"])

    def observe_metric(self, value):
        """Add one training step's value of the epoch metric to a device-side sum (no host sync)."""
        value = value.detach().float()
        self._metric = value.clone() if self._metric is None else self._metric.add_(value)
        self._metric_steps += 1

    def epoch_metric(self):
        """The mean of the epoch metric (what the plateau lr policy watches; CycleGAN: the G loss) over the steps
        since the last call, as a device tensor (reading it syncs), or None when no step was observed. Resets."""
        if self._metric is None:
            return None
        mean = self._metric / self._metric_steps
        self._metric, self._metric_steps = None, 0
        return mean

    def generators(self):
        """{name: module} of the generators (generator_names), the forward one first, as the model runs them
        (maybe compiled or DDP-wrapped: models.weights.unwrap gives the plain module)."""
        return OrderedDict((name, getattr(self, "net" + name)) for name in self.generator_names)

    def runtime(self):
        """How the model steps, for reports: its speed settings and whether the captured step runs (or why not)."""
        return self.runner.describe()

    def get_current_visuals(self):
        return OrderedDict((n, getattr(self, n)) for n in self.visual_names if hasattr(self, n))

    def get_visual_paths(self):
        """{visual name: the input paths its images come from}, to name result files after them."""
        return {n: self.image_paths for n in self.visual_names}

    def get_current_losses(self):
        """Float values of the losses; this syncs with the device, so call it only at print_freq."""
        return OrderedDict((n, float(getattr(self, "loss_" + n).detach())) for n in self.loss_names
                           if hasattr(self, "loss_" + n))

    def save_networks(self, epoch):
        """Write {epoch}_net_{name}.pth: plain CPU state dicts, readable by the official code."""
        RunFolder(self.save_dir).write_weights(epoch, {name: net.state_dict() for name, net in self.saved_nets()})

    def load_networks(self, epoch):
        """Load {epoch}_net_{name}.pth; testing takes the averaged {epoch}_net_{name}_ema.pth where the run
        saved one (unless --raw_weights); training always the raw weights, and restarts the averages."""
        raw = self.isTrain or self.opt.raw_weights  # the test options declare --raw_weights
        nets = dict(self.nets())
        for name, path in RunFolder(self.save_dir).weights_for_use(epoch, list(nets), raw).items():
            if path.endswith("_ema.pth"):
                print(f"loading the averaged (EMA) weights {path} (--raw_weights for the raw ones)")
            load_official_state_dict(nets[name], load_state_dict_file(path), path)
        if self.recipe is not None:
            self.recipe.load_state_dict(None)

    def state_dict(self):
        """Everything a resume needs from the model: nets (plain CPU tensors), optimizers, schedulers,
        image pools and GradScalers, keyed by the names the model declares."""
        state = {
            "nets": {name: {k: v.detach().cpu() for k, v in net.state_dict().items()} for name, net in self.nets()},
            "optimizers": {name: o.state_dict() for name, o in zip(self.optimizer_names, self.optimizers)},
            "schedulers": {name: s.state_dict() for name, s in zip(self.optimizer_names, self.schedulers)},
            "pools": {name: getattr(self, name).state_dict() for name in self.pool_names},
        }
        if self.scalers:
            state["scalers"] = {name: s.state_dict() for name, s in zip(self.optimizer_names, self.scalers)}
        extra = self.recipe.state_dict() if self.recipe is not None else None
        if extra:
            state["recipe"] = extra
        return state

    def load_state_dict(self, state):
        """Restore what state_dict() returned (extra keys, such as a checkpoint's counters, are ignored)."""
        for name, net in self.nets():
            net.load_state_dict(state["nets"][name])
        for part, objects in (("optimizers", self.optimizers), ("schedulers", self.schedulers),
                              ("scalers", self.scalers or [])):
            saved = state.get(part) or {}
            if isinstance(saved, list):  # full states written before the parts were keyed by name
                saved = dict(zip(self.optimizer_names, saved))
            for name, obj in zip(self.optimizer_names, objects):
                if name in saved:
                    obj.load_state_dict(saved[name])
        for name, sd in state.get("pools", {}).items():
            getattr(self, name).load_state_dict(sd, self.device)
        if self.recipe is not None:
            self.recipe.load_state_dict(state.get("recipe"))
        self.runner.fuse_optimizers(self.optimizers)  # the loaded param groups may predate --amp
        self.runner.recapture(self)  # the optimizers' state tensors were swapped

    def print_networks(self):
        for name, net in self.nets():
            n = sum(p.numel() for p in net.parameters())
            print(f"[Network {name}] Total number of parameters : {n / 1e6:.3f} M")

    @staticmethod
    def set_requires_grad(nets, requires_grad=False):
        for net in nets if isinstance(nets, (list, tuple)) else [nets]:
            for p in net.parameters():
                p.requires_grad = requires_grad
