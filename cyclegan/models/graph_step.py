"""CUDA-graph training step: the whole CycleGAN step (forwards, backwards, both Adam steps, image pools,
GradScaler) captured once and replayed, so the GPU runs it without thousands of Python-issued launches.

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
  and pools. A capture that fails turns the graph off with a one-line reason; training goes on eagerly.
"""
import random

import torch

from .image_pool import ImagePool
from .speed import steps_on_device

FIXED_SIZE_PREPROCESS = ("resize_and_crop", "crop", "scale_width_and_crop")


def unsupported_reason(device_type, world_size=1, compile=False, preprocess="resize_and_crop"):
    """Why a captured step cannot be used for this run (a short phrase), or None when it can."""
    if device_type != "cuda":
        return "needs a CUDA device"
    if world_size > 1:
        return "DistributedDataParallel's gradient all-reduce is not captured; each rank steps eagerly"
    if compile:
        return "--compile: torch.compile manages its own kernels; use --compile or --cuda_graph, not both"
    if preprocess not in FIXED_SIZE_PREPROCESS:
        return f"--preprocess {preprocess} gives images of varying size; a graph replays fixed shapes"
    return None


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
    restores the groups' flags (the moved counters stay where they are, which eager Adam accepts)."""
    saved = []
    for o in optimizers:
        for g in o.param_groups:
            saved.append((g, {k: g.get(k) for k in ("fused", "foreach", "capturable")}))
            g.update(fused=True, foreach=False, capturable=True)
        steps_on_device(o)
        o._step_supports_amp_scaling = True  # fused: GradScaler hands it grad_scale/found_inf (no sync)

    def restore():
        for g, flags in saved:
            g.update(flags)
        for o in optimizers:
            o._step_supports_amp_scaling = any(g.get("fused") for g in o.param_groups)
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
    """Runs model.train_step() through a captured CUDA graph; see the module docstring."""

    def __init__(self, model, warmup=3):
        self.model, self.warmup = model, warmup
        self.steps, self.shape, self.graph, self.failed = 0, None, None, None
        self.lr, self.restore_adam = None, None
        self.outputs = {}  # model attribute -> the tensor the graph rewrites (losses, visuals)

    def step(self):
        with torch.cuda.device(self.model.device):  # streams, capture and replays on the model's GPU
            return self._step(self.model)

    def _step(self, m):
        shape = (tuple(m.real_A.shape), tuple(m.real_B.shape))
        if self.shape is None and shape[0][0] == getattr(m.opt, "batch_size", shape[0][0]):
            self.shape = shape  # a full batch: a smaller last batch (say, first after a resume) is not captured
        if self.failed or shape != self.shape:
            return m.train_step()
        if self.restore_adam is None:
            self.restore_adam = capturable_adam(m.optimizers)
            self.lr = LRTensors(m.optimizers, m.device)
        if self.steps < self.warmup:
            self.steps += 1
            restore_lr = self.lr.install()  # the replays' kernels exactly, lr tensor included
            try:
                return self._on_side_stream(m.train_step)
            finally:
                restore_lr()
        if self.graph is None:
            try:
                return self._capture()
            except Exception as e:  # noqa: BLE001 -- any capture error: say why, go on eagerly
                self.failed = f"capture failed ({type(e).__name__}: {(str(e).splitlines() or [''])[0][:160]})"
                print(f"CUDA graph step: off, {self.failed}; training goes on with eager steps", flush=True)
                for s in m.scalers or []:
                    s._per_optimizer_states.clear()
                m.set_requires_grad([m.netD_A, m.netD_B], True)
                return m.train_step()
        self._load_inputs()
        self.graph.replay()
        self._after_replay()

    def _after_replay(self):
        """The replay used the prepared pool choices and rewrote the graph's outputs: the next eager step
        must draw its own choices, and the model's attributes point at those outputs again."""
        m = self.model
        m.fake_A_pool.ready = m.fake_B_pool.ready = False
        for name, tensor in self.outputs.items():
            setattr(m, name, tensor)

    @staticmethod
    def _on_side_stream(fn):
        s = torch.cuda.Stream()
        s.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(s):
            fn()
        torch.cuda.current_stream().wait_stream(s)

    def _load_inputs(self):
        """Batch into the static buffers, pool choices and lr to the device (all asynchronous)."""
        m = self.model
        self.static_A.copy_(m.real_A, non_blocking=True)
        self.static_B.copy_(m.real_B, non_blocking=True)
        m.real_A, m.real_B = self.static_A, self.static_B
        n = self.static_A.shape[0]
        m.fake_B_pool.prepare(n)  # the D step queries fake_B_pool first, then fake_A_pool
        m.fake_A_pool.prepare(n)
        self.lr.sync()

    def _capture(self):
        m = self.model
        self.static_A, self.static_B = m.real_A.clone(), m.real_B.clone()
        n = m.real_A.shape[0]
        for name, fake in (("fake_A_pool", m.fake_A), ("fake_B_pool", m.fake_B)):
            pool = getattr(m, name)
            if not isinstance(pool, DeviceImagePool):
                setattr(m, name, DeviceImagePool(pool, tuple(fake.shape[1:]), fake.dtype, m.device, n))
        pools = (m.fake_A_pool, m.fake_B_pool)
        host = random.getstate(), [p.stored for p in pools]  # a capture runs nothing: a failed one is undone
        self._load_inputs()
        restore_lr = self.lr.install()
        graph = torch.cuda.CUDAGraph()
        try:
            for o in m.optimizers:
                o.zero_grad(set_to_none=True)  # grads are then allocated inside the graph's pool
            with torch.cuda.graph(graph, capture_error_mode="thread_local"):
                m.train_step()
        except Exception:
            random.setstate(host[0])
            for p, stored in zip(pools, host[1]):
                p.stored, p.ready = stored, False
            raise
        finally:
            restore_lr()
            self.restore_adam()
        self.graph = graph
        names = ["loss_" + n for n in m.loss_names] + ["loss_G"] + list(m.visual_names)
        self.outputs = {n: getattr(m, n) for n in names if torch.is_tensor(getattr(m, n, None))}
        graph.replay()  # capture records without running: this replay is the step for this batch
        self._after_replay()
