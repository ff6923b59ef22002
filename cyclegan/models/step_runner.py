"""StepRunner: how a model's training step runs, apart from what it computes. It owns the speed settings
(cudnn autotuning, fast instance norm, channels_last, torch.compile, autocast, fused Adam), the fp16
GradScalers and the captured (CUDA-graph) step, which is decided here and nowhere else. BaseModel holds one
and forwards the official surface to it (configure, autocast, backward, step)."""
import torch

from .graph_step import FIXED_SIZE_PREPROCESS, GraphStep
from .speed import (SpeedConfig, fuse, instance_norm_channels_last_ok, make_scalers, renew_scaler,
                    use_deterministic_pads, use_fast_norm)


class StepRunner:
    def __init__(self, device_type):
        # the official float32 math until configure() says otherwise
        self.speed = SpeedConfig(device_type=device_type)
        self.memory_format = torch.contiguous_format
        self.scalers = None  # one fp16 GradScaler per optimizer, else None
        self.graph_step, self.cuda_graph_off = None, None  # the captured step (configure decides); why it is off

    def configure(self, model, speed, world_size=1):
        """Apply `speed` (a SpeedConfig) to `model`'s nets and optimizers and decide the captured step: on when
        speed.cuda_graph asks for it and this run allows it, else off with `cuda_graph_off` saying why in one
        line (world_size: ranks under torchrun). Calling it again with the same config changes nothing."""
        previous = self.speed
        if speed.device_type != model.device.type:
            raise ValueError(f"speed settings for {speed.device_type!r} given to a model on {model.device}")
        if speed.device_type == "cuda":
            torch.backends.cudnn.benchmark = speed.cudnn_benchmark
        self.speed, self.memory_format = speed, speed.memory_format
        for name in model.model_names:
            net = getattr(model, "net" + name)
            if speed.fast_norm or (speed.channels_last and not instance_norm_channels_last_ok(speed.device_type)):
                use_fast_norm(net)
            if speed.deterministic:
                use_deterministic_pads(net)
            if speed.channels_last:
                net.to(memory_format=torch.channels_last)  # in place: optimizers keep the same parameters
            if speed.compile and not hasattr(net, "_orig_mod"):
                net = torch.compile(net)
            setattr(model, "net" + name, net)
        self.fuse_optimizers(model.optimizers)
        if speed.amp != "fp16" or self.scalers is None:  # kept otherwise: they may hold a loaded scale
            self.scalers = make_scalers(speed, len(model.optimizers))
        asked = speed.cuda_graph and model.isTrain
        self.cuda_graph_off = self.capture_refusal(model, speed, world_size) if asked else None
        if not asked or self.cuda_graph_off:
            self.graph_step = None
        elif self.graph_step is None or speed != previous:  # it captures lazily, after its warm-up steps
            self.graph_step = GraphStep(model, model.capture_spec())

    @staticmethod
    def capture_refusal(model, speed, world_size):
        """Why this run cannot replay a captured step (one line), or None when it can."""
        preprocess = model.opt.preprocess
        technique = model.recipe.capture_conflict() if model.recipe is not None else None  # models/recipe.py
        return next((why for failed, why in (
            (speed.device_type != "cuda", "needs a CUDA device"),
            (world_size > 1, "DistributedDataParallel's gradient all-reduce is not captured; each rank steps eagerly"),
            (speed.compile, "--compile: torch.compile manages its own kernels; use --compile or --cuda_graph, "
                            "not both"),
            (preprocess not in FIXED_SIZE_PREPROCESS,
             f"--preprocess {preprocess} gives images of varying size; a graph replays fixed shapes"),
            (model.capture_spec() is None, model.no_capture_reason),
            (technique is not None, technique),
        ) if failed), None)

    def recapture(self, model):
        """After a load swapped the optimizers' state tensors: warm up and capture again."""
        if self.graph_step is not None:
            self.graph_step = GraphStep(model, model.capture_spec(), self.graph_step.warmup)

    def fuse_optimizers(self, optimizers):
        if self.speed.amp != "none":
            for o in optimizers:
                fuse(o)

    def abandon(self):
        """Fresh fp16 GradScalers (same scale) after a step that stopped midway."""
        if self.scalers:
            self.scalers = [renew_scaler(s, self.speed.device_type) for s in self.scalers]

    def autocast(self):
        """Autocast to the configured amp dtype; a no-op context without amp."""
        if self.graph_step is not None and self.speed.amp_dtype is not None:
            # torch's CUDA-graph notes: no autocast weight-cast cache in a captured step
            return torch.autocast(self.speed.device_type, dtype=self.speed.amp_dtype, cache_enabled=False)
        return self.speed.autocast()

    def backward(self, loss, index):
        """loss.backward(), through optimizer `index`'s GradScaler under fp16."""
        scaler = self.scalers[index] if self.scalers else None
        (scaler.scale(loss) if scaler is not None else loss).backward()

    def step(self, optimizer, index):
        """optimizer.step(), through its GradScaler under fp16 (fused Adam: no host sync)."""
        scaler = self.scalers[index] if self.scalers else None
        if scaler is None:
            optimizer.step()
        else:
            scaler.step(optimizer)
            scaler.update()

    def describe(self):
        """How the model steps, for reports: its speed settings and whether the captured step runs (or why not)."""
        return {**{k: v for k, v in self.speed.as_dict().items() if k != "device_type"},
                "cuda_graph_active": self.graph_step is not None, "cuda_graph_off_reason": self.cuda_graph_off}
