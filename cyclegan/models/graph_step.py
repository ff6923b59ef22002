"""CUDA-graph training step: a model's whole training step (CycleGAN: forwards, backwards, both Adam steps, image
pools, GradScaler) captured once and replayed, so the GPU runs it without thousands of Python-issued launches.

Off by default (--cuda_graph turns it on) until a GPU run has verified it: BaseModel.configure alone decides
whether it runs. The model declares what its step reads and writes in a CaptureSpec (capture_spec()); GraphStep
names none of the model's attributes itself and touches no private field of torch's classes.

- Static inputs: each step copies the batch into fixed device buffers, then replays the graph.
- Warm-up: the first `warmup` full-size steps run eagerly on a side stream (real steps on real batches), so
  lazy set-up (optimizer state, cudnn autotuning, AccumulateGrad) happens before capture, as torch requires.
  Everything runs on the model's GPU (torch.cuda.device), whichever device is current.
- Optimizers: from the first warm-up step to the end of capture every Adam group is fused + capturable,
  with its lr in a device tensor (a float lr would be baked into the captured kernels, and it rounds
  differently from the tensor's float32): the warm-up runs exactly the kernels the graph replays, so a
  resumed run repeats an unbroken one. Afterwards the groups get their flags and float lr back, so
  schedulers, checkpoints and eager steps see plain Adam. Before each replay the lr the scheduler set is
  copied into the tensor when it changed (a fill kernel, no host sync).
- Image pools: the random choices are drawn on the host from Python's `random`, in the official order,
  and copied to the device before each replay; the graph does the swaps in a static buffer.
- Losses and visuals are device tensors that each replay rewrites; they are read only at print_freq.
  After every replay the model's loss and visual attributes point at them again (an eager step in
  between replaced them).
- A batch of another shape (an epoch's last, smaller batch) runs eagerly with the same nets, optimizers
  and pools (runtime behaviour, not a decision whether the graph is on). A capture that fails is undone and
  turns the graph off with a one-line reason; training goes on eagerly.
"""
import random
from dataclasses import dataclass
from typing import Callable, Optional

import torch

from .image_pool import ImagePool
from .speed import steps_on_device

FIXED_SIZE_PREPROCESS = ("resize_and_crop", "crop", "scale_width_and_crop")  # --preprocess modes of one image size


@dataclass(frozen=True)
class CaptureSpec:
    """A model's training step as GraphStep sees it: attribute names and callables that the model declares."""
    step: Callable[[], None]  # one eager training step on the inputs the model holds
    inputs: tuple  # attributes holding the batch (set_input writes them); copied into static buffers
    pools: tuple  # (image-pool attribute, attribute of the images it is queried with), in query order
    losses: tuple  # attributes of the loss tensors the step writes (read at print_freq)
    visuals: tuple  # attributes of the image tensors the step writes
    optimizers: tuple  # the optimizers the step steps (fused + capturable from warm-up to the end of capture)
    device: torch.device
    abandon: Callable[[], None]  # undo what a step that stopped midway left behind (after a failed capture)
    batch_size: Optional[int] = None  # a full batch: the only shape captured (None: the first one seen)


class LRTensors:
    """One device tensor per optimizer param group holding its lr, kept equal to the float lr that the
    scheduler writes into the group (sync() before each replay: a fill only when the value changed)."""

    def __init__(self, optimizers, device):
        self.groups = [g for o in optimizers for g in o.param_groups]
        self.tensors = [torch.tensor(float(g["lr"]), dtype=torch.float32, device=device) for g in self.groups]
        self.values = [float(g["lr"]) for g in self.groups]

    def sync(self):
        for i, g in enumerate(self.groups):
            lr = float(g["lr"])
            if lr != self.values[i]:
                self.tensors[i].fill_(lr)
                self.values[i] = lr

    def install(self):
        """Put the tensors into the groups (for capture); returns a function that puts the floats back."""
        self.sync()
        for g, t in zip(self.groups, self.tensors):
            g["lr"] = t

        def restore():
            for g, v in zip(self.groups, self.values):
                g["lr"] = v
        return restore


def capturable_adam(optimizers):
    """Make every group fused + capturable with its step counters on the device; returns a function that
    restores the groups' flags (the moved counters stay where they are, which eager Adam accepts). Under fp16
    the GradScaler steps them without a host sync because they were built fused (speed.make_adam)."""
    saved = []
    for o in optimizers:
        for g in o.param_groups:
            saved.append((g, {k: g.get(k) for k in ("fused", "foreach", "capturable")}))
            g.update(fused=True, foreach=False, capturable=True)
        steps_on_device(o)

    def restore():
        for g, flags in saved:
            g.update(flags)
    return restore


class DeviceImagePool(ImagePool):
    """ImagePool with its images in one static device buffer, so a captured step can query it: the
    choices come from ImagePool.plan (host RNG, official order) through a small device tensor."""

    def __init__(self, pool, image_shape, dtype, device, batch):
        super().__init__(pool.pool_size)
        self.device, self.batch = torch.device(device), batch
        self.buf = torch.zeros((max(1, self.pool_size), *image_shape), dtype=dtype, device=self.device)
        self.stored, self.ready = 0, False
        self.plan_dev = torch.zeros((batch, 3), dtype=torch.long, device=self.device)
        self.current = self.plan_dev
        self.load_state_dict(pool.state_dict())

    def prepare(self, n):
        """Draw the choices for the next n images and send them to the device (before a replay)."""
        if self.pool_size == 0:
            return
        choices = self.plan(n, self.stored)
        self.stored += sum(1 for use_old, write, _ in choices if write and not use_old)
        host = torch.tensor(choices, dtype=torch.long)
        if self.device.type == "cuda":
            host = host.pin_memory()  # a fresh pinned block: the caching allocator keeps it until copied
        if n == self.batch:
            self.plan_dev.copy_(host, non_blocking=True)
            self.current = self.plan_dev
        else:
            self.current = host.to(self.device, non_blocking=True)
        self.ready = True

    def query(self, images):
        if self.pool_size == 0:
            return images
        n = images.shape[0]
        if not self.ready:
            self.prepare(n)
        self.ready = False
        plan, images, out = self.current, images.detach(), []
        for j in range(n):
            idx = plan[j, 2:3]
            old = self.buf.index_select(0, idx)
            new = images[j:j + 1].to(self.buf.dtype)
            out.append(torch.where(plan[j, 0].bool(), old, new))
            self.buf.index_copy_(0, idx, torch.where(plan[j, 1].bool(), new, old))
        return torch.cat(out).to(images.dtype)

    def state_dict(self):
        return {"pool_size": self.pool_size, "images": [self.buf[i:i + 1].cpu() for i in range(self.stored)]}

    def load_state_dict(self, state, device=None):
        if state["pool_size"] != self.pool_size:
            raise ValueError(f"pool of {state['pool_size']} images loaded into a pool of {self.pool_size}")
        self.stored = len(state["images"])
        for i, image in enumerate(state["images"]):
            self.buf[i:i + 1].copy_(image)


class GraphStep:
    """Runs the model's training step (spec.step) through a captured CUDA graph; see the module docstring."""

    def __init__(self, model, spec, warmup=3):
        self.model, self.spec, self.warmup = model, spec, warmup
        self.steps, self.shape, self.graph, self.failed = 0, None, None, None
        self.lr, self.restore_adam = None, None
        self.static = {}  # input attribute -> its static buffer
        self.outputs = {}  # loss or visual attribute -> the tensor the graph rewrites

    def step(self):
        with torch.cuda.device(self.spec.device):  # streams, capture and replays on the model's GPU
            return self._step()

    def _step(self):
        spec, m = self.spec, self.model
        shape = tuple(tuple(getattr(m, name).shape) for name in spec.inputs)
        if self.shape is None and spec.batch_size in (None, shape[0][0]):
            self.shape = shape  # a full batch: a smaller last batch (say, first after a resume) is not captured
        if self.failed or shape != self.shape:
            return spec.step()
        if self.restore_adam is None:
            self.restore_adam = capturable_adam(spec.optimizers)
            self.lr = LRTensors(spec.optimizers, spec.device)
        if self.steps < self.warmup:
            self.steps += 1
            restore_lr = self.lr.install()  # the replays' kernels exactly, lr tensor included
            try:
                return self._on_side_stream(spec.step)
            finally:
                restore_lr()
        if self.graph is None:
            try:
                return self._capture()
            except Exception as e:  # noqa: BLE001 -- any capture error: say why, go on eagerly
                self.failed = f"capture failed ({type(e).__name__}: {(str(e).splitlines() or [''])[0][:160]})"
                print(f"CUDA graph step: off, {self.failed}; training goes on with eager steps", flush=True)
                spec.abandon()
                return spec.step()
        self._load_inputs()
        self.graph.replay()
        self._after_replay()

    def _after_replay(self):
        """The replay used the prepared pool choices and rewrote the graph's outputs: the next eager step
        must draw its own choices, and the model's attributes point at those outputs again."""
        for pool in self._pools():
            pool.ready = False
        for name, tensor in self.outputs.items():
            setattr(self.model, name, tensor)

    def _pools(self):
        return [getattr(self.model, name) for name, _ in self.spec.pools]

    @staticmethod
    def _on_side_stream(fn):
        s = torch.cuda.Stream()
        s.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(s):
            fn()
        torch.cuda.current_stream().wait_stream(s)

    def _load_inputs(self):
        """Batch into the static buffers, pool choices (in query order) and lr to the device (all asynchronous)."""
        for name, buffer in self.static.items():
            buffer.copy_(getattr(self.model, name), non_blocking=True)
            setattr(self.model, name, buffer)
        n = self.shape[0][0]
        for pool in self._pools():
            pool.prepare(n)
        self.lr.sync()

    def _capture(self):
        spec, m = self.spec, self.model
        self.static = {name: getattr(m, name).clone() for name in spec.inputs}
        n = self.shape[0][0]
        for name, images in spec.pools:
            pool, fake = getattr(m, name), getattr(m, images)
            if not isinstance(pool, DeviceImagePool):
                setattr(m, name, DeviceImagePool(pool, tuple(fake.shape[1:]), fake.dtype, spec.device, n))
        pools = self._pools()
        host = random.getstate(), [p.stored for p in pools]  # a capture runs nothing: a failed one is undone
        self._load_inputs()
        restore_lr = self.lr.install()
        graph = torch.cuda.CUDAGraph()
        try:
            for o in spec.optimizers:
                o.zero_grad(set_to_none=True)  # grads are then allocated inside the graph's pool
            with torch.cuda.graph(graph, capture_error_mode="thread_local"):
                spec.step()
        except Exception:
            random.setstate(host[0])
            for p, stored in zip(pools, host[1]):
                p.stored, p.ready = stored, False
            raise
        finally:
            restore_lr()
            self.restore_adam()
        self.graph = graph
        self.outputs = {name: getattr(m, name) for name in spec.losses + spec.visuals
                        if torch.is_tensor(getattr(m, name, None))}
        graph.replay()  # capture records without running: this replay is the step for this batch
        self._after_replay()
