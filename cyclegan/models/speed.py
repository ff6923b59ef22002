"""Speed settings as plain values: SpeedConfig, its per-device defaults (resolve) and the pieces
BaseModel.configure applies (fast instance norm, fused Adam, GradScalers, autocast).

Defaults, from measurements (docs/speed.md, docs/inference.md):
  amp             bf16 on CUDA and on CPUs with native bf16 (AMX or AVX512-BF16: measured 2x faster inference
                  and 3-4x faster training steps on such a Xeon); none on other CPUs, where bf16 autocast
                  measured ~35x slower (AMD EPYC without native bf16). native_bf16() is the probe.
  channels_last   on for CUDA (tensor cores want NHWC); off on CPU, where it measured slower.
  compile         off (it costs minutes of compilation on first use; turn it on for long GPU runs).
  cudnn_benchmark on for CUDA (fixed input sizes), off with --deterministic.
  cuda_graph      off (--cuda_graph asks for it; never yet run on a GPU). Whether it then runs is decided by
                  BaseModel.configure alone, which says why not in one line (CPU, DDP, --compile, varying sizes).
  fast_norm       off (forced on with channels_last where instance_norm's backward mishandles channels_last
                  gradients: the CPU with torch 2.14, see instance_norm_channels_last_ok): instance norm
                  through group_norm's kernel (one group per channel, the same math to ~1e-6), 2-4x faster
                  than instance_norm's forward on these CPUs; opt-in since the bits differ from the
                  official float32 step.
  deterministic   --deterministic: reflection padding by slices, flips and cat (the same values), since
                  CUDA's reflection-pad backward has no deterministic kernel and would raise under
                  torch.use_deterministic_algorithms.
--amp none with everything else off (the default on CPUs without native bf16) leaves the official float32
math untouched, bit for bit.
"""
import argparse
import contextlib
import functools
import warnings
from dataclasses import asdict, dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..settings import Settings, flag

AMP_DTYPES = {"none": None, "bf16": torch.bfloat16, "fp16": torch.float16}


@dataclass(frozen=True)
class SpeedConfig:
    device_type: str = "cpu"
    amp: str = "none"
    channels_last: bool = False
    compile: bool = False
    cudnn_benchmark: bool = False
    fast_norm: bool = False
    cuda_graph: bool = False
    deterministic: bool = False

    @property
    def amp_dtype(self):
        return AMP_DTYPES[self.amp]

    @property
    def memory_format(self):
        return torch.channels_last if self.channels_last else torch.contiguous_format

    def as_dict(self):
        return asdict(self)

    def autocast(self):
        """The autocast context (a no-op context when amp is none)."""
        if self.amp_dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(device_type=self.device_type, dtype=self.amp_dtype)


BF16_FLAGS = ("amx_bf16", "avx512_bf16")  # /proc/cpuinfo flags of CPUs that compute bf16 natively


@functools.lru_cache(maxsize=None)
def native_bf16(cpuinfo="/proc/cpuinfo"):
    """Whether this CPU computes bf16 natively (AMX-BF16 or AVX512-BF16): the flags in `cpuinfo`, else
    (no such file: not Linux) torch's own CPU capability query."""
    try:
        with open(cpuinfo, encoding="utf-8", errors="replace") as f:
            for line in f:
                if line.startswith("flags"):
                    return any(flag in line.split(":", 1)[-1].split() for flag in BF16_FLAGS)
        return False
    except OSError:
        pass
    try:
        caps = torch._C._cpu._get_cpu_capability()
    except (AttributeError, RuntimeError):
        return False
    return any(bool(caps.get(flag)) for flag in BF16_FLAGS)


def resolve(device_type, amp=None, channels_last=None, compile=None, cudnn_benchmark=None, deterministic=False,
            fast_norm=False, cuda_graph=False):
    """Fill every None (= auto) with the measured default for `device_type` ('cpu' or 'cuda')."""
    gpu = device_type == "cuda"
    if amp is None:
        amp = "bf16" if gpu or native_bf16() else "none"
    if amp not in AMP_DTYPES:
        raise ValueError(f"--amp {amp!r} is not one of: {', '.join(AMP_DTYPES)}")
    if not gpu and (amp == "fp16" or (amp == "bf16" and not native_bf16())):
        warnings.warn(f"--amp {amp} on a CPU without native {amp} (no AMX / AVX512-BF16 in its flags): "
                      f"autocast measured about 35x slower than float32 on such CPUs; use --amp none for speed",
                      stacklevel=2)
    if channels_last is None:
        channels_last = gpu
    if compile is None:
        compile = False
    if cudnn_benchmark is None:
        cudnn_benchmark = gpu and not deterministic
    if cudnn_benchmark and deterministic:
        raise ValueError("--cudnn_benchmark and --deterministic conflict: autotuning picks algorithms by timing")
    return SpeedConfig(device_type, amp, bool(channels_last), bool(compile), bool(cudnn_benchmark and gpu),
                       bool(fast_norm), bool(cuda_graph), bool(deterministic))


@dataclass(frozen=True)
class SpeedSettings(Settings):
    """The speed flags as typed (None = auto: resolve() fills in the measured per-device default)."""
    amp: str = flag(None, "mixed precision (default: bf16 on GPU and on CPUs with native bf16, AMX or AVX512-BF16; "
                    "none elsewhere, where bf16 is ~35x slower); none gives the official float32 math", type=str,
                    choices=list(AMP_DTYPES))
    channels_last: bool = flag(None, "channels_last memory format (default: on for GPU, off for CPU where it is "
                               "slower)", action=argparse.BooleanOptionalAction)
    compile: bool = flag(None, "torch.compile the networks (default: off)", action=argparse.BooleanOptionalAction)
    cudnn_benchmark: bool = flag(None, "cudnn autotuning (default: on for GPU)", action=argparse.BooleanOptionalAction)
    fast_norm: bool = flag(False, "instance norm through the group_norm kernel (same math to ~1e-6; faster on CPU)")
    deterministic: bool = flag(False, "deterministic algorithms (with --seed, runs and resumes are repeatable)")
    cuda_graph: bool = flag(False, "capture the training step in a CUDA graph and replay it (CUDA only; off by "
                            "default until a GPU run has verified it, see docs/gpu.md). Stays off, with a one-line "
                            "reason, under DDP, with --compile or with images of varying size")

    TRAINING_ONLY = ("cuda_graph",)

    def resolve(self, device_type, **overrides):
        """resolve() with these flags; overrides win."""
        return resolve(device_type, **{**vars(self), **overrides})


def resolve_options(opt, device_type, **overrides):
    """The SpeedConfig of an options namespace's speed flags (--amp, --channels_last, ...); overrides win."""
    return SpeedSettings.from_opt(opt).resolve(device_type, **overrides)


class FastInstanceNorm2d(nn.InstanceNorm2d):
    """InstanceNorm2d (no running stats) computed by group_norm with one group per channel (and its affine
    weight and bias, per channel, when it has them)."""

    def forward(self, x):
        return F.group_norm(x, x.shape[1], self.weight, self.bias, self.eps)


class SlicedReflectionPad2d(nn.ReflectionPad2d):
    """ReflectionPad2d as slices, flips and cat: the same values, and a backward of copies and adds, with
    no atomic adds (CUDA's reflection_pad2d backward raises under torch.use_deterministic_algorithms)."""

    def forward(self, x):
        left, right, top, bottom = self.padding
        x = torch.cat([x[..., 1:left + 1].flip(-1), x, x[..., -right - 1:-1].flip(-1)], dim=-1)
        return torch.cat([x[..., 1:top + 1, :].flip(-2), x, x[..., -bottom - 1:-1, :].flip(-2)], dim=-2)


def use_deterministic_pads(net):
    """Swap ReflectionPad2d layers for SlicedReflectionPad2d in place (no state: the state dict is unchanged)."""
    for module in net.modules():
        if type(module) is nn.ReflectionPad2d:
            module.__class__ = SlicedReflectionPad2d
    return net


def use_fast_norm(net, affine=False):
    """Swap plain InstanceNorm2d layers (affine ones too when `affine`: fast NST's) for FastInstanceNorm2d in
    place (the same state dict)."""
    for module in net.modules():
        if type(module) is nn.InstanceNorm2d and (affine or not module.affine) and not module.track_running_stats:
            module.__class__ = FastInstanceNorm2d
    return net


_PROBES = {}


def instance_norm_channels_last_ok(device_type):
    """Whether instance_norm's backward is right for channels_last gradients on this device.

    On the CPU with torch 2.14 it is not at batch 1 (measured: input gradients off by ~4 for O(1) values,
    even in float64), which made channels_last training diverge from eager; group_norm is right.
    Probed once per device type, at batch 1.
    """
    if device_type not in _PROBES:
        g = torch.Generator().manual_seed(0)
        x = torch.randn(1, 4, 6, 6, generator=g, dtype=torch.float64)
        w = torch.randn(1, 4, 6, 6, generator=g, dtype=torch.float64)
        grads = []
        for fmt in (torch.contiguous_format, torch.channels_last):
            xi = x.to(device_type).clone().requires_grad_()
            F.instance_norm(xi).backward(w.to(device_type).contiguous(memory_format=fmt))
            grads.append(xi.grad.cpu())
        _PROBES[device_type] = torch.allclose(grads[0], grads[1], atol=1e-9)
    return _PROBES[device_type]


def make_scalers(cfg, count):
    """One GradScaler per optimizer for fp16 (G and D losses differ in scale); None otherwise."""
    if cfg.amp != "fp16":
        return None
    return [torch.amp.GradScaler(cfg.device_type) for _ in range(count)]


def renew_scaler(scaler, device_type):
    """A GradScaler with `scaler`'s scale and growth state but none of its per-step bookkeeping (what a step that
    stopped midway leaves behind), through the public state_dict()/load_state_dict()."""
    fresh = torch.amp.GradScaler(device_type)
    fresh.load_state_dict(scaler.state_dict())
    return fresh


def make_adam(params, **kwargs):
    """torch.optim.Adam built with fused=True, then with plain param groups: every step runs plain Adam's
    kernels until fuse() flips the groups (Adam picks its kernel per group). Built fused because the constructor
    is the public way to declare that its step takes the GradScaler's scale and inf flag on the device (no host
    sync per fp16 step, and capturable in a CUDA graph). Fused kernels' device check comes at the first fused step."""
    optimizer = torch.optim.Adam(params, fused=True, **kwargs)
    optimizer.defaults.update(fused=None, foreach=None)
    for g in optimizer.param_groups:
        g["fused"], g["foreach"] = None, None
    return optimizer


def fuse(optimizer):
    """Switch an Adam's param groups to the fused kernel, in place (schedulers stay bound to it); again after
    load_state_dict, which brings back the saved (maybe unfused) groups. Under fp16 the GradScaler then steps
    it without a host sync when it was built by make_adam, with one per step otherwise."""
    if not isinstance(optimizer, torch.optim.Adam) or optimizer.defaults.get("differentiable"):
        return optimizer
    optimizer.defaults.update(fused=True, foreach=False)
    for g in optimizer.param_groups:
        g["fused"], g["foreach"] = True, False
    return steps_on_device(optimizer)


def steps_on_device(optimizer):
    """Move Adam's `step` counters to their parameters' devices as float32, where fused and capturable
    kernels want them (eager Adam accepts them there too)."""
    for p, st in optimizer.state.items():
        if torch.is_tensor(st.get("step")):
            st["step"] = st["step"].to(p.device, torch.float32)
    return optimizer
