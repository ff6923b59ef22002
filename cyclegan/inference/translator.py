"""Translator: one loaded generator (PyTorch or ONNX Runtime) that translates images of any size.

    t = cyclegan.load("checkpoints/vangogh2photo_cyclegan")   # see cyclegan.inference.loading
    painting = t(Image.open("me.jpg"))                        # PIL in, PIL out
    batch = t(torch.rand(4, 3, 300, 200))                     # (N, 3, H, W) or (3, H, W) in [0, 1], same back

Every caller that runs a generator for its images (the API, cyclegan-test --model test, the comparison,
video, the quality curves) goes through `Translator.forward`: pad to the multiple the net needs (reflection),
run it on the device with the precision of models.speed.resolve (bf16 autocast on GPUs and on CPUs with
native bf16, float32 elsewhere or with amp="none"), crop back. On a CPU with bf16 the loaded nets are cast to
bf16 once, in channels_last with instance norm by the group_norm kernel, and run without autocast: autocast
recasts the weights every call and runs each reflection pad in float32 (two casts per convolution). Images
whose estimated memory is over the budget (or all images, with tile=N) run layer by layer in tiles with
whole-image instance-norm statistics (cyclegan.inference.tiling): the same result in bounded memory. A net with
layers that have no tiled form runs such images whole, with a warning.
"""
import contextlib
import os
import warnings

import numpy as np
import torch
from PIL import Image

from ..images import batch_to_pixels, pixels_to_batch, read_rgb, save_image, to_rgb, to_tensor, to_uint8
from ..models.weights import unwrap
from ..models.speed import resolve, use_fast_norm
from ..nst.transformer import pad_to_multiple
from ..perf import resolve_device
from .arch import module_multiple
from .compiled import CompiledNet, PixelNet, compile_for_inference
from .errors import ImageInputError, NotTileable
from .onnx import OnnxNet
from .lowering import tileable
from .tiling import tiled_forward

DEFAULT_TILE = 512  # tile edge in image pixels: ~70 MB per full-resolution activation of a 64-channel net
PEAK_FACTOR = 4  # untiled peak / largest activation; measured 3.6 for resnet_9blocks at 4000 x 3000 (float32)
DEFAULT_BUDGET_MB = 2048


def available_memory_mb(device):
    """Memory free for a translation now: the GPU's free memory, or the system's MemAvailable."""
    if device.type == "cuda":
        return torch.cuda.mem_get_info(device)[0] / 2 ** 20
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("inf")


@contextlib.contextmanager
def _onednn_bf16():
    """Convolutions in oneDNN's bf16 math mode on float32 tensors (process-wide while inside)."""
    conv = torch.backends.mkldnn.conv
    before = conv.fp32_precision
    conv.fp32_precision = "bf16"
    try:
        yield
    finally:
        conv.fp32_precision = before


class Translator:
    """Translate images with one generator (see the module docstring).

    net: an eval-mode module mapping [-1, 1] to [-1, 1] (or an OnnxNet); info: what it is (kind, architecture,
    direction, files); back: the generator of the other direction, for cycle_l1 (or None).
    amp: None (the device default), 'none' (float32, the official math), 'bf16', 'fp16'.
    tile: None (automatic: tiles when the estimated memory is over the budget), 0 (never), N (tiles of N px).
    memory_budget_mb: None: min(2048, half of the free memory). batch_size: images per forward for lists.
    bf16_math (CPU, amp bf16): None or 'weights' (the nets in bf16, channels_last unless channels_last=False,
    group_norm kernel; tiles still run under autocast), 'autocast' (float32 weights under autocast, as training
    does), 'onednn' (float32 tensors, convolutions in oneDNN's bf16 math mode)."""

    def __init__(self, net, info=None, device="auto", amp=None, channels_last=None, compile=None, tile=None,
                 memory_budget_mb=None, batch_size=4, back=None, bf16_math=None):
        self.info = dict(info or {})
        self.onnx = isinstance(net, OnnxNet)
        self.device = torch.device("cpu") if self.onnx else resolve_device(device)
        if self.onnx and str(device) not in ("auto", "cpu"):
            raise ValueError(f"{net.path}: ONNX files run with ONNX Runtime on the CPU; use device='cpu'")
        self.speed = resolve(self.device.type, amp="none" if self.onnx else amp, channels_last=channels_last,
                             compile=False, cuda_graph=False)
        self.bf16_math = bf16_math or "weights"
        if self.bf16_math not in ("weights", "autocast", "onednn"):
            raise ValueError(f"bf16_math must be weights, autocast or onednn, got {bf16_math!r}")
        if self.bf16_weights:  # measured fastest on a Xeon with AMX (docs/inference.md)
            self.speed = resolve("cpu", amp="bf16", channels_last=channels_last is not False, compile=False,
                                 cuda_graph=False, fast_norm=True)
        self.multiple = int(self.info.get("multiple") or getattr(net, "multiple", 4))
        self.tile, self.batch_size = tile, max(1, int(batch_size))
        self.budget_mb = memory_budget_mb
        # why the net cannot run in tiles (None: it can); automatic tiling then runs such images whole
        self.untileable = None if self.onnx else tileable(unwrap(net))
        self._warned_whole = False
        use_compile = not self.onnx and compile_for_inference(self.device.type, compile)
        self.net, self.back = (self._prepare(n, use_compile) for n in (net, back))
        self._pixel_net = None  # Translator.pixels' compiled uint8-to-uint8 net, built on first use

    @classmethod
    def wrap(cls, net, device="cpu", amp="none"):
        """A Translator around a generator in memory (a training model's), used as it is: not moved to another
        memory format, not compiled, never tiled; float32 by default, as the quality curves have always been."""
        return cls(net, {"multiple": module_multiple(unwrap(net))}, device, amp=amp, channels_last=False,
                   compile=False, tile=0, bf16_math="autocast")

    @property
    def bf16_weights(self):
        """Whether the nets are cast to bf16 (CPU, amp bf16, bf16_math 'weights'; never for ONNX)."""
        return (not self.onnx and self.device.type == "cpu" and self.speed.amp == "bf16"
                and self.bf16_math == "weights")

    def _prepare(self, net, use_compile):
        if net is None or self.onnx:
            return net
        net = net.to(self.device)
        if self.bf16_weights:
            net = use_fast_norm(net, affine=True).to(torch.bfloat16)
        if self.speed.channels_last:
            net = net.to(memory_format=torch.channels_last)
        return CompiledNet(net) if use_compile else net

    # ---- what it is
    @property
    def direction(self):
        return self.info.get("direction")

    def __repr__(self):
        what = self.info.get("description") or self.info.get("kind", "generator")
        return (f"Translator({what}, {self.direction or 'one direction'}, device {self.device}, amp {self.speed.amp}"
                f"{', ONNX Runtime' if self.onnx else ''})")

    @property
    def compiled(self):
        return [n for n in (self.net, self.back, self._pixel_net) if isinstance(n, CompiledNet)]

    @property
    def compile_seconds(self):
        return sum(n.compile_seconds for n in self.compiled)

    def warm(self, images):
        """Compile for this shape now ((N, C, H, W) in [0, 1]), so a timed call does not include it."""
        x = pad_to_multiple(images.to(self.device) * 2 - 1, self.multiple)
        for net in self.compiled:
            with self.precision():
                net.warm(self._input(x))

    def precision(self, tiled=False):
        """The forward's precision context: autocast to the amp dtype (always for tiles); none for bf16 weights
        on whole images; with bf16_math = "onednn" on the CPU, float32 tensors whose convolutions oneDNN computes
        in bf16 instead (no casts between layers)."""
        if tiled or self.device.type != "cpu" or self.speed.amp != "bf16" or self.bf16_math == "autocast":
            return self.speed.autocast()  # tiles: bf16 streams and float32 norm outputs need autocast's casts
        return _onednn_bf16() if self.bf16_math == "onednn" else contextlib.nullcontext()

    def _input(self, x):
        """x as the untiled net takes it: bf16 for bf16 weights, in the net's memory format."""
        x = x.to(torch.bfloat16) if self.bf16_weights else x
        return x.contiguous(memory_format=self.speed.memory_format)

    # ---- memory
    def budget_bytes(self):
        mb = self.budget_mb or min(DEFAULT_BUDGET_MB, available_memory_mb(self.device) / 2)
        return int(mb * 2 ** 20)

    def estimate_bytes(self, n, h, w):
        """Estimated peak memory of one untiled forward: its largest activation (ngf channels at full size,
        float32) times PEAK_FACTOR."""
        return PEAK_FACTOR * 4 * int(self.info.get("ngf") or 64) * n * h * w

    def tile_for(self, n, h, w):
        """The tile edge for a (n, C, h, w) input, or None to run it whole."""
        if self.tile is not None:
            return int(self.tile) or None
        if self.estimate_bytes(n, h, w) <= self.budget_bytes():
            return None
        if self.untileable:
            if not self._warned_whole:
                warnings.warn(f"a {h} x {w} image is over the memory budget, but this generator cannot run in tiles "
                              f"({self.untileable}): it runs whole", stacklevel=3)
                self._warned_whole = True
            return None
        return DEFAULT_TILE

    # ---- the core
    def forward(self, x, net=None):
        """(N, C, H, W) in [-1, 1] on any device -> the generator's output in [-1, 1], float32 on self.device,
        the same H and W (padded to the net's multiple for the call, cropped back)."""
        net = self.net if net is None else net
        h, w = x.shape[-2:]
        xp = pad_to_multiple(x.to(self.device, torch.float32), self.multiple)
        tile = self.tile_for(*xp.shape[:1], *xp.shape[-2:])
        if tile and xp.shape[0] > 1 and self.tile_for(1, *xp.shape[-2:]) is None:  # one at a time fits
            return torch.cat([self.forward(x[i:i + 1], net) for i in range(x.shape[0])])
        if tile and self.onnx:
            raise NotTileable(f"{self.info.get('source', 'this ONNX file')}: ONNX graphs run whole; a "
                              f"{h} x {w} image needs about {self.estimate_bytes(1, h, w) / 2 ** 30:.1f} GB that "
                              f"way. Translate it with the .pth run (tiled, bounded memory) or pass tile=0")
        with torch.no_grad(), self.precision(tiled=bool(tile)):
            if tile:
                plain = unwrap(net)
                why = tileable(plain)
                if why:
                    raise NotTileable(f"cannot translate in tiles: {why}; pass tile=0 to run the image whole")
                # under bf16 the residual streams are stored in bf16 too: half the memory, and measured as close
                # to float32 as the untiled bf16 forward (docs/inference.md)
                bf16 = self.speed.amp_dtype == torch.bfloat16
                y = tiled_forward(plain, xp, tile, int(0.75 * self.budget_bytes()), 2 if self.speed.amp_dtype else 4,
                                  torch.bfloat16 if bf16 else torch.float32)
            else:
                y = net(self._input(xp))
        return y[..., :h, :w].to(self.device).float()

    def translate(self, x):
        """(N, C, H, W) float images in [0, 1] -> translated, in [0, 1], on x's device."""
        y = self.forward(x.mul(2).sub_(1))  # a fresh tensor, mapped back in place: no more buffers than needed
        return y.add_(1).div_(2).clamp_(0, 1).to(x.device)

    def pixels(self, frames):
        """(N, H, W, C) uint8 pixels (a tensor or an array) -> translated, a uint8 tensor of that shape on the CPU.
        A compiled net runs them through PixelNet, its conversions compiled with it, when they need neither padding
        nor tiles; otherwise they go through translate (the same values to within one level)."""
        u8 = torch.as_tensor(frames)
        n, h, w = u8.shape[:3]
        if isinstance(self.net, CompiledNet) and not (h % self.multiple or w % self.multiple) \
                and self.tile_for(n, h, w) is None:
            if self._pixel_net is None:
                dtype = torch.bfloat16 if self.bf16_weights else torch.float32
                self._pixel_net = CompiledNet(PixelNet(unwrap(self.net), dtype, self.speed.memory_format))
            with torch.no_grad(), self.precision():
                return self._pixel_net(u8.to(self.device)).cpu()
        return batch_to_pixels(self.translate(pixels_to_batch(u8))).cpu()

    def with_cycle(self, x):
        """(translated, cycle L1 in [0, 1] units or None) for (N, C, H, W) in [0, 1]: the other direction's
        generator maps the result back (loaded with back=True)."""
        y = self.forward(x * 2 - 1)
        cycle = None
        if self.back is not None:
            cycle = (self.forward(y, self.back) - (x.to(self.device) * 2 - 1)).abs().mean().item() / 2
        return ((y + 1) / 2).clamp(0, 1).cpu(), cycle

    # ---- any input
    def __call__(self, images):
        """Translate PIL images, image file paths, (C, H, W) or (N, C, H, W) tensors in [0, 1] (uint8 0-255
        too), numpy (H, W, 3) uint8 arrays, or a list of any of them; each comes back as it went in (a file
        path as a PIL image), at its own size."""
        if isinstance(images, (list, tuple)):
            return self._many(list(images))
        return self._many([images])[0]

    def _many(self, items):
        out, same_size = [None] * len(items), {}
        for i, item in enumerate(items):
            x, back = self._as_tensor(item)
            if x.dim() == 4:
                out[i] = back(self.translate(x))
            else:  # single images of one size go through together, batch_size at a time
                same_size.setdefault(tuple(x.shape), []).append((i, x, back))
        for group in same_size.values():
            for k in range(0, len(group), self.batch_size):
                chunk = group[k:k + self.batch_size]
                for (i, _, back), y in zip(chunk, self.translate(torch.stack([x for _, x, _ in chunk]))):
                    out[i] = back(y)
        return out

    def _as_tensor(self, item):
        """(float tensor in [0, 1], function turning a translated tensor back into the item's kind)."""
        gray = int(self.info.get("input_nc", 3)) == 1
        if isinstance(item, (str, os.PathLike)):
            item = read_rgb(item)
        if isinstance(item, Image.Image):
            return to_tensor(to_rgb(item), grayscale=gray), lambda y: Image.fromarray(to_uint8(y))
        if isinstance(item, np.ndarray):
            if item.dtype != np.uint8 or item.ndim != 3:
                raise ImageInputError(f"numpy images must be (H, W, C) uint8 arrays, got {item.dtype} {item.shape}")
            return to_tensor(Image.fromarray(item), grayscale=gray), lambda y: to_uint8(y)
        if torch.is_tensor(item):
            if item.dim() not in (3, 4):
                raise ImageInputError(f"tensors must be (C, H, W) or (N, C, H, W), got shape {tuple(item.shape)}")
            if item.dtype == torch.uint8:
                return item.float() / 255, lambda y: (y * 255 + 0.5).clamp(0, 255).to(torch.uint8)
            if not item.is_floating_point():
                raise ImageInputError(f"tensors must be float in [0, 1] or uint8, got {item.dtype}")
            return item, lambda y: y.to(item.dtype)
        raise ImageInputError(f"cannot translate a {type(item).__name__}: give a PIL image, a file path, a tensor "
                              f"or a numpy array")

    def translate_file(self, src, dst):
        """Translate the image file `src` and write `dst` (format from its suffix) atomically; returns dst."""
        return save_image(self(read_rgb(src)), dst)
