"""Translating an image of any size in bounded memory, with the result of one pass over the whole image.

Instance norm normalises each channel by its mean and variance over the WHOLE image, and each norm layer's
statistics depend on the layers before it, normalised with their own whole-image statistics. Translating
tiles independently changes those statistics from tile to tile (visible seams and colour shifts); a
low-resolution estimate of them is only an approximation. Here the network is run layer by layer instead:

- the generator is lowered to a short list of operations (pad, conv, transposed conv, nearest upsampling,
  instance norm, pointwise layers, residual and skip blocks); every padding becomes an explicit operation;
- each operation can compute any rectangle (tile) of its full-image output exactly, from the rectangle of
  its input that it needs (its halo), with reflection padding applied where the whole image has its border;
- a norm layer, before its first tile, gathers its input's per-channel mean and variance over the whole
  image, tile by tile (exact: per-tile moments merged in float64), and then normalises every tile with them;
- activations that several later steps read (residual streams, the convolution outputs before a norm) are
  stored whole when they fit the memory budget (at a quarter of the resolution, with 4x the channels, they
  are the small ones); the others are recomputed tile by tile from the last stored one.

The result equals the untiled forward up to float rounding order (no blending is needed: there are no
seams to hide). Peak memory is the stored activations plus one tile's work; see docs/inference.md.
"""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..perf import release_free_memory
from .errors import NotTileable
from .lowering import Concat, Residual, lower


# ---------------------------------------------------------------- nodes: any rectangle of a full-image tensor

class Node:
    """shape: (C, H, W) of the full-image output (batch 1); box(y0, y1, x0, x1) -> (1, C, y1-y0, x1-x0)."""
    inputs = ()
    pointwise = False  # box depends only on the same box of the inputs

    def box(self, y0, y1, x0, x1):
        raise NotImplementedError


class Source(Node):
    def __init__(self, tensor):
        self.t, self.shape = tensor, tuple(tensor.shape[1:])

    def box(self, y0, y1, x0, x1):
        return self.t[..., y0:y1, x0:x1]


def _reflect(i, n, mode):
    if 0 <= i < n:
        return i
    if mode == "replicate":
        return min(max(i, 0), n - 1)
    if mode == "reflect":
        return -i if i < 0 else 2 * (n - 1) - i
    return None  # zero padding


class Pad(Node):
    def __init__(self, inp, amounts, mode):
        self.inputs, self.amounts, self.mode = (inp,), amounts, mode
        top, bottom, left, right = amounts
        c, h, w = inp.shape
        if mode == "reflect" and (max(top, bottom) >= h or max(left, right) >= w):
            raise ValueError(f"reflection padding of {max(amounts)} needs more than {min(h, w)} pixels")
        self.shape = (c, h + top + bottom, w + left + right)

    def box(self, y0, y1, x0, x1):
        top, _, left, _ = self.amounts
        _, h, w = self.inputs[0].shape
        rows = [_reflect(j - top, h, self.mode) for j in range(y0, y1)]
        cols = [_reflect(j - left, w, self.mode) for j in range(x0, x1)]
        valid_r, valid_c = [r for r in rows if r is not None], [c for c in cols if c is not None]
        if not valid_r or not valid_c:
            c = self.shape[0]
            ref = self.inputs[0].box(0, 1, 0, 1)
            return ref.new_zeros((1, c, y1 - y0, x1 - x0))
        a, b, c0, c1 = min(valid_r), max(valid_r) + 1, min(valid_c), max(valid_c) + 1
        t = self.inputs[0].box(a, b, c0, c1)
        t = _gather(t, rows, a, -2)
        return _gather(t, cols, c0, -1)


def _gather(t, index, base, dim):
    """t's slices at `index` (minus base) along dim, None entries zeros: as runs of ascending indices (slices),
    descending ones (flipped slices, the reflected border) and zeros, concatenated; a plain view when the whole
    index is one ascending run. (index_select along the last dimensions is ~50x slower on the CPU.)"""
    runs, start = [], 0
    for k in range(1, len(index) + 1):
        if k == len(index) or not _continues(index[k - 1], index[k], index[start], index[start + 1] if
                                             k - start > 1 else None):
            runs.append(index[start:k])
            start = k
    parts = []
    for run in runs:
        if run[0] is None:
            shape = list(t.shape)
            shape[dim] = len(run)
            parts.append(t.new_zeros(shape))
        elif len(run) == 1 or run[1] > run[0]:
            parts.append(t.narrow(dim, run[0] - base, len(run)))
        else:
            parts.append(t.narrow(dim, run[-1] - base, len(run)).flip(dim))
    return parts[0] if len(parts) == 1 else torch.cat(parts, dim)


def _continues(prev, cur, first, second):
    """Whether `cur` extends the run that started with first (, second) and reached prev."""
    if prev is None or cur is None:
        return prev is None and cur is None
    step = 1 if second is None else second - first
    return cur - prev == step and step in (1, -1)


class Conv(Node):
    fresh = True  # box returns a tensor no one else holds
    """A Conv2d whose padding is a separate Pad node."""

    def __init__(self, inp, m):
        self.inputs, self.m = (inp,), m
        c, h, w = inp.shape
        (kh, kw), (sh, sw) = m.kernel_size, m.stride
        self.shape = (m.out_channels, (h - kh) // sh + 1, (w - kw) // sw + 1)

    def box(self, y0, y1, x0, x1):
        m = self.m
        (kh, kw), (sh, sw) = m.kernel_size, m.stride
        t = self.inputs[0].box(y0 * sh, (y1 - 1) * sh + kh, x0 * sw, (x1 - 1) * sw + kw)
        return F.conv2d(t, m.weight, m.bias, m.stride, 0, 1, m.groups)


class ConvT(Node):
    fresh = True  # box returns a tensor no one else holds
    def __init__(self, inp, m):
        self.inputs, self.m = (inp,), m
        c, h, w = inp.shape
        (kh, kw), (sh, sw), (ph, pw), (oh, ow) = m.kernel_size, m.stride, m.padding, m.output_padding
        if sh > kh or sw > kw or oh > ph or ow > pw:
            raise NotTileable("a transposed convolution with stride > kernel or output_padding > padding")
        self.shape = (m.out_channels, (h - 1) * sh - 2 * ph + kh + oh, (w - 1) * sw - 2 * pw + kw + ow)

    @staticmethod
    def _span(lo, hi, k, s, p, n):
        """Input range [a, b) that output range [lo, hi) depends on, and the output offset of input a."""
        a = max(0, math.ceil((lo + p - k + 1) / s))
        b = min(n, (hi - 1 + p) // s + 1)
        return a, b, a * s - p

    def box(self, y0, y1, x0, x1):
        m = self.m
        _, h, w = self.inputs[0].shape
        (kh, kw), (sh, sw), (ph, pw) = m.kernel_size, m.stride, m.padding
        a, b, oy = self._span(y0, y1, kh, sh, ph, h)
        c0, c1, ox = self._span(x0, x1, kw, sw, pw, w)
        t = self.inputs[0].box(a, b, c0, c1)
        y = F.conv_transpose2d(t, m.weight, m.bias, m.stride, 0, 0, m.groups)
        return y[..., y0 - oy:y1 - oy, x0 - ox:x1 - ox]


class Up(Node):
    fresh = True  # box returns a tensor no one else holds
    def __init__(self, inp, factor):
        self.inputs, self.f = (inp,), factor
        c, h, w = inp.shape
        self.shape = (c, h * factor, w * factor)

    def box(self, y0, y1, x0, x1):
        f = self.f
        a, c0 = y0 // f, x0 // f
        t = self.inputs[0].box(a, (y1 - 1) // f + 1, c0, (x1 - 1) // f + 1)
        t = F.interpolate(t, scale_factor=f, mode="nearest")
        return t[..., y0 - a * f:y1 - a * f, x0 - c0 * f:x1 - c0 * f]


class Point(Node):
    """A pointwise layer; in place (its in-place form, e.g. ReLU(True)) on tiles no one else holds."""
    pointwise = True

    def __init__(self, inp, fn, fn_inplace=None):
        self.inputs, self.shape = (inp,), inp.shape
        fresh_in = getattr(inp, "fresh", False)
        self.fn = fn_inplace if fn_inplace is not None and fresh_in else fn
        self.fresh = fresh_in or not isinstance(fn, (nn.Identity, nn.Dropout))  # those two return their input

    def box(self, *b):
        return self.fn(self.inputs[0].box(*b))


class Norm(Node):
    """Instance norm with whole-image statistics, gathered (by `tiles`) before the first box."""
    pointwise = True  # once the statistics are known
    fresh = True

    def __init__(self, inp, m, tiles):
        self.inputs, self.m, self.shape, self.tiles = (inp,), m, inp.shape, tiles
        self.scale = self.shift = None

    def gather(self):
        if self.scale is not None:
            return
        n, mean, m2 = 0, 0.0, 0.0  # Chan et al.'s pairwise merge of per-tile moments, in float64
        for b in self.tiles(self.inputs[0].shape):
            t = self.inputs[0].box(*b).float()
            k = t.shape[-1] * t.shape[-2]
            # per channel over one contiguous row: far faster than reducing over dims (0, 2, 3)
            tv, tm = (v.double() for v in torch.var_mean(t.reshape(t.shape[1], -1), dim=1, correction=0))
            delta = tm - mean
            total = n + k
            mean = mean + delta * (k / total)
            m2 = m2 + tv * k + delta * delta * (n * k / total)
            n = total
        release_free_memory(collect=False)  # freed tiles back to the OS; no gc pass: ~0.3 s each with torch loaded
        rstd = torch.rsqrt(m2 / n + self.m.eps)
        scale, shift = rstd, -mean * rstd
        if self.m.affine:
            scale, shift = scale * self.m.weight.double(), shift * self.m.weight.double() + self.m.bias.double()
        self.scale, self.shift = scale.float().view(1, -1, 1, 1), shift.float().view(1, -1, 1, 1)

    def box(self, *b):
        self.gather()
        y = self.inputs[0].box(*b).to(torch.float32, copy=True)  # a copy: the input may be a stored tensor's view
        return y.mul_(self.scale).add_(self.shift)


class Add(Node):
    fresh = True  # box returns a tensor no one else holds
    pointwise = True

    def __init__(self, a, b):
        self.inputs, self.shape = (a, b), a.shape

    def box(self, *b):
        x, y = (i.box(*b) for i in self.inputs)
        return x + y


class Cat(Node):
    fresh = True  # box returns a tensor no one else holds
    pointwise = True

    def __init__(self, a, b):
        self.inputs = (a, b)
        self.shape = (a.shape[0] + b.shape[0],) + a.shape[1:]

    def box(self, *b):
        x, y = (i.box(*b) for i in self.inputs)
        dtype = torch.promote_types(x.dtype, y.dtype)
        return torch.cat([x.to(dtype), y.to(dtype)], 1)


# ---------------------------------------------------------------- the runner

def _sources(node, seen=None):
    """The stored tensors `node` reads (walking down to Sources)."""
    seen = {} if seen is None else seen
    if isinstance(node, Source):
        seen[id(node)] = node
    else:
        for i in node.inputs:
            _sources(i, seen)
    return seen


def _only_pointwise_on(node, source):
    """Whether every path from node to `source` keeps to the same box (so writing over it in place is safe)."""
    if node is source:
        return True
    if isinstance(node, Source):
        return True
    if node.pointwise:
        return all(_only_pointwise_on(i, source) for i in node.inputs)
    return id(source) not in _sources(node)


class TiledRunner:
    """Runs lowered operations on one (1, C, H, W) image; `tile`: the tile edge in image pixels; `budget`: bytes
    the stored activations may take (those that do not fit are recomputed); `act_bytes`: bytes per value of a
    convolution's output (2 under bf16/fp16 autocast)."""

    def __init__(self, tile=512, budget=2 << 30, act_bytes=4, stream_dtype=torch.float32):
        self.tile, self.budget, self.act_bytes = max(16, int(tile)), budget, act_bytes
        self.peak_stored, self.reserved = 0, 0  # reserved: bytes an enclosing block will still store
        self.stream_dtype = stream_dtype

    def tiles(self, shape):
        """Rectangles covering a (C, H, W) tensor, their edge `tile` scaled to its resolution."""
        _, h, w = shape
        ty = max(8, math.ceil(self.tile * h / self.image_hw[0]))
        tx = max(8, math.ceil(self.tile * w / self.image_hw[1]))
        return [(y, min(y + ty, h), x, min(x + tx, w)) for y in range(0, h, ty) for x in range(0, w, tx)]

    def live_bytes(self, roots):
        seen = {}
        for r in roots:
            _sources(r, seen)
        return sum(s.t.numel() * s.t.element_size() for s in seen.values())

    def store(self, node, roots, into=None, dtype=None):
        """Compute node over the whole image into a tensor (of `dtype`, default the node's): over `into`'s tensor
        when only the same boxes of it are read (and the dtype agrees), else a new one."""
        for n in _norms(node):
            n.gather()  # every statistic before any write: writing in place must not change them
        target = into.t if into is not None and into.shape == node.shape and _only_pointwise_on(node, into) else None
        out = None
        for b in self.tiles(node.shape):
            y = node.box(*b)
            y = y if dtype is None else y.to(dtype)
            if out is None:
                out = target if target is not None and target.dtype == y.dtype else y.new_empty((1,) + node.shape)
            out[..., b[0]:b[1], b[2]:b[3]] = y
        release_free_memory(collect=False)
        added = 0 if out is target else out.numel() * out.element_size()
        self.peak_stored = max(self.peak_stored, self.live_bytes(roots) + added)
        return Source(out)

    def worth_storing(self, node, roots):
        """Store a convolution's output when it is not one of the big ones (full-resolution activations are
        recomputed instead) and it fits beside what is stored and what an enclosing block must still store."""
        size = math.prod(node.shape) * self.act_bytes
        return size <= 0.4 * self.budget and self.live_bytes(roots) + size + self.reserved <= self.budget

    def chain(self, ops, node, pinned):
        for op in ops:
            node = self.apply(op, node, pinned)
        return node

    def apply(self, op, node, pinned):
        if isinstance(op, (Residual, Concat)):
            return self.block(op, node, pinned)
        kind = op[0]
        if kind == "pad":
            return Pad(node, op[1], op[2])
        if kind == "norm":
            return Norm(node, op[1], self.tiles)
        if kind == "point":
            return Point(node, op[1], op[2])
        new = {"conv": Conv, "convT": ConvT, "up": Up}[kind](node, op[1])
        if kind != "up" and self.worth_storing(new, pinned + [node]):
            return self.store(new, pinned + [new])
        return new

    def block(self, op, node, pinned):
        """A residual (x + body(x)) or skip (cat(x, body(x))) block. Its output is read again by the next layers
        with their halos, so it is stored; a residual stream is stored in float32 and then updated in place
        (the body reads only its own stored tensors by then), so one block needs one stream tensor."""
        stream = self.stream_dtype
        if isinstance(op, Residual) and not isinstance(node, Source):
            node = self.store(node, pinned + [node], _single_source(node, pinned), stream)
        into = _single_source(node, pinned, stream) if isinstance(op, Residual) else None
        size = math.prod(node.shape) * torch.finfo(stream).bits // 8
        reserve = 0 if into is not None else size * (1 if isinstance(op, Residual) else 2)
        self.reserved += reserve
        body = self.chain(op.body, node, pinned + [node])
        self.reserved -= reserve
        if isinstance(op, Residual):
            out = Add(node, body)
        else:  # the official U-Net's in-place LeakyReLU also changes the tensor it concatenates: the same here
            first = op.body[0] if op.body else None
            inplace = isinstance(first, tuple) and first[0] == "point" and first[2] is not first[1]
            out = Cat(Point(node, first[1], first[1]) if inplace else node, body)
        return self.store(out, pinned + [out], into, stream if isinstance(op, Residual) else None)

    @torch.no_grad()
    def run(self, ops, x):
        """x: (1, C, H, W) -> the network's output for the whole image, computed tile by tile."""
        self.image_hw = x.shape[-2:]
        end = self.chain(ops, Source(x), [])
        return end.t if isinstance(end, Source) else self.store(end, [end]).t


def _single_source(node, pinned, dtype=None):
    """The one stored tensor `node` reads, when nothing in `pinned` reads it too (and it has `dtype`), else None."""
    srcs = list(_sources(node).values())
    if len(srcs) != 1 or any(id(srcs[0]) in _sources(p) for p in pinned):
        return None
    return srcs[0] if dtype is None or srcs[0].t.dtype == dtype else None


def _norms(node, found=None):
    """Norm nodes below `node` (down to Sources), deepest first: gathering in this order reads each one's
    input with the earlier statistics already known."""
    found = [] if found is None else found
    if isinstance(node, Source):
        return found
    for i in node.inputs:
        _norms(i, found)
    if isinstance(node, Norm) and node not in found:
        found.append(node)
    return found


def tiled_forward(net, x, tile=512, budget_bytes=2 << 30, act_bytes=4, stream_dtype=torch.float32):
    """net(x) for a batch, one image at a time, in tiles (see the module docstring); x on net's device.
    stream_dtype: how residual streams are stored (bfloat16 halves their memory; float32 as eager autocast)."""
    ops = lower(net)
    outs = []
    for i in range(x.shape[0]):
        runner = TiledRunner(tile, budget_bytes, act_bytes, stream_dtype)
        outs.append(runner.run(ops, x[i:i + 1]))
    return torch.cat(outs) if len(outs) > 1 else outs[0]
