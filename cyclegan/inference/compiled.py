"""Compiled inference for generators: torch.compile'd once per input shape, with the compile time kept apart
from the images/s (on by default on CUDA for cyclegan-test, the single-direction test and the comparison;
off on the CPU, where inductor takes minutes per net for little gain). Only the first MAX_SHAPES shapes are
compiled: photos of many sizes (`--preprocess none`, the comparison's photos) would each cost a compilation
that takes far longer than translating them, so further shapes run uncompiled."""
import time

import torch

from ..images import batch_to_pixels, pixels_to_batch

MAX_SHAPES = 4  # e.g. full batches and the last, smaller one, in one or two sizes

def compile_for_inference(device_type, requested=None):
    """Whether to compile: `requested` (a --compile value) if given, else on for CUDA only."""
    return device_type == "cuda" if requested is None else bool(requested)


class CompiledNet:
    """Calls a torch.compile'd net; the first call for each input shape (compilation plus one run) is timed
    apart, so callers can report compile time separately. `_orig_mod` lets unwrap() find the plain net."""

    def __init__(self, net, backend="inductor", mode=None, max_shapes=MAX_SHAPES):
        self._orig_mod = net
        self.compiled = torch.compile(net, backend=backend, mode=mode, dynamic=False)
        self.first_call_s = {}  # (shape, dtype) -> seconds of its first call
        self.max_shapes, self.uncompiled = max_shapes, set()  # shapes past max_shapes run the plain net
        self.failed = None  # why compilation failed; the plain net runs from then on

    def __call__(self, x):
        key = (tuple(x.shape), x.dtype)
        if key in self.first_call_s:
            return self.compiled(x)
        if self.failed or len(self.first_call_s) >= self.max_shapes:
            self.uncompiled.add(key)
            return self._orig_mod(x)
        start = time.perf_counter()
        try:
            y = self.compiled(x)
        except Exception as e:  # noqa: BLE001 -- no C compiler for triton, an inductor bug...: same images uncompiled
            self.failed = f"{type(e).__name__}: {(str(e).strip().splitlines() or [''])[0][:160]}"
            print(f"torch.compile failed ({self.failed}); the generator runs uncompiled", flush=True)
            self.uncompiled.add(key)
            return self._orig_mod(x)
        if x.device.type == "cuda":
            torch.cuda.synchronize(x.device)
        self.first_call_s[key] = time.perf_counter() - start
        return y

    def warm(self, x):
        """Compile for x's shape now (no-op when done), outside whatever the caller is timing."""
        if (tuple(x.shape), x.dtype) not in self.first_call_s and len(self.first_call_s) < self.max_shapes \
                and not self.failed:
            with torch.no_grad():
                self(x)

    @property
    def compile_seconds(self):
        return sum(self.first_call_s.values())

    def __getattr__(self, name):  # .eval(), .parameters(), ... of the plain net
        return getattr(self.__dict__["_orig_mod"], name)


class PixelNet(torch.nn.Module):
    """A generator that takes and gives (N, H, W, C) uint8 pixels, for Translator.pixels: compiled, the conversions
    to and from [-1, 1] fuse into the net's first and last kernels instead of a pass each over the frame (a 640x360
    video frame: 27 to 28 against 32 to 33 ms, docs/inference.md). The arithmetic is the float path's, op by op."""

    def __init__(self, net, dtype, memory_format):
        super().__init__()
        self.net, self.dtype, self.memory_format = net, dtype, memory_format

    def forward(self, pixels):
        x = pixels_to_batch(pixels).mul(2).sub_(1)
        y = self.net(x.to(self.dtype).contiguous(memory_format=self.memory_format))
        return batch_to_pixels(y.float().add_(1).div_(2).clamp_(0, 1))


def compile_nets(model, names, backend="inductor"):
    """Wrap model.net<name> for each name in CompiledNet; returns the wrappers."""
    wrapped = []
    for name in names:
        net = CompiledNet(getattr(model, "net" + name), backend)
        setattr(model, "net" + name, net)
        wrapped.append(net)
    return wrapped


def compile_summary(nets):
    """(total compile seconds, compiled shapes, shapes run uncompiled) over CompiledNet wrappers."""
    return (sum(n.compile_seconds for n in nets), sum(len(n.first_call_s) for n in nets),
            sum(len(n.uncompiled) for n in nets))


def describe_compile(nets):
    """One sentence on what was compiled, for logs and pages ('' when nothing was)."""
    seconds, shapes, uncompiled = compile_summary(nets)
    failed = next((n.failed for n in nets if n.failed), None)
    if failed:
        return f"torch.compile failed ({failed}), so the generators ran uncompiled"
    if not shapes:
        return ""
    return (f"torch.compile took {seconds:.1f} s for {len(nets)} generator(s), {shapes} input shape(s) once each, "
            f"not counted in the images/s" + (f"; {uncompiled} further shape(s) ran uncompiled (past "
                                              f"{nets[0].max_shapes} per generator)" if uncompiled else ""))
