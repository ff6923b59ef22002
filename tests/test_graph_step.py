"""The CUDA-graph training step: its CPU-testable parts (configure alone decides whether it runs and says why not,
off by default, the lr tensors the scheduler drives, the device image pool, the model's CaptureSpec, the flag)
and, where CUDA exists, the captured step itself against eager steps, lr changes, fp16, host syncs, exact resume
and memory (these CUDA tests and the benchmark's cuda_graph row are what would verify it on a GPU)."""
import contextlib
import copy
import random

import pytest
import torch

from cyclegan.models import CycleGANModel
from cyclegan.models.graph_step import CaptureSpec, DeviceImagePool, GraphStep, LRTensors, capturable_adam
from cyclegan.models.image_pool import ImagePool
from cyclegan.models.schedulers import get_scheduler
from cyclegan.models import speed
from test_losses import make_opt

CUDA = torch.cuda.is_available()
needs_cuda = pytest.mark.skipif(not CUDA, reason="CUDA graphs need a CUDA GPU; none on this machine")


def on_cuda(model):
    """The model as configure sees a CUDA model (its device only: nothing here runs on a GPU)."""
    model.device = torch.device("cuda", 0)
    return model


def cuda_config(**kw):
    return speed.SpeedConfig(device_type="cuda", **kw)


def test_configure_alone_decides_and_says_why_in_one_line():
    """Every reason comes from BaseModel.configure; a config that asks for nothing gets no reason."""
    reasons = {}
    model = CycleGANModel(make_opt())
    model.configure(speed.resolve("cpu", cuda_graph=True))
    reasons["cpu"] = model.cuda_graph_off
    for name, cfg, world, preprocess in (("ddp", cuda_config(cuda_graph=True), 2, "resize_and_crop"),
                                         ("compile", cuda_config(cuda_graph=True, compile=True), 1, "crop"),
                                         ("none", cuda_config(cuda_graph=True), 1, "none"),
                                         ("scale_width", cuda_config(cuda_graph=True), 1, "scale_width")):
        m = on_cuda(CycleGANModel(make_opt(preprocess=preprocess)))
        m.configure(cfg, world_size=world)
        assert m.graph_step is None
        reasons[name] = m.cuda_graph_off
    assert reasons["cpu"] == "needs a CUDA device"
    assert "DistributedDataParallel" in reasons["ddp"] and "--compile" in reasons["compile"]
    assert "--preprocess none" in reasons["none"] and "--preprocess scale_width" in reasons["scale_width"]
    assert all("\n" not in why for why in reasons.values())
    for preprocess in ("resize_and_crop", "scale_width_and_crop", "crop"):
        m = on_cuda(CycleGANModel(make_opt(preprocess=preprocess)))
        m.configure(cuda_config(cuda_graph=True))
        assert isinstance(m.graph_step, GraphStep) and m.cuda_graph_off is None


def test_flag_is_off_by_default_on_every_device(tmp_path):
    from options.train_options import TrainOptions
    base = ["--dataroot", str(tmp_path), "--gpu_ids", "-1"]
    assert TrainOptions().parse(base).cuda_graph is False
    assert TrainOptions().parse(base + ["--cuda_graph"]).cuda_graph is True
    assert speed.resolve("cpu").cuda_graph is False
    assert speed.resolve("cuda").cuda_graph is False  # off until a GPU run has verified it
    assert speed.resolve("cuda", cuda_graph=True).cuda_graph is True
    model = on_cuda(CycleGANModel(make_opt()))
    model.configure(cuda_config(cuda_graph=speed.resolve("cuda").cuda_graph))  # CUDA's defaults, as to the graph
    assert model.graph_step is None and model.cuda_graph_off is None  # not asked for: no reason to give


def test_the_model_declares_what_its_step_captures():
    model = CycleGANModel(make_opt(batch_size=2))
    spec = model.capture_spec()
    assert isinstance(spec, CaptureSpec) and spec.batch_size == 2 and spec.step == model.train_step
    assert spec.inputs == ("real_A", "real_B")
    assert spec.pools == (("fake_B_pool", "fake_B"), ("fake_A_pool", "fake_A"))  # the D step's query order
    assert "loss_G" in spec.losses and {"loss_" + n for n in model.loss_names} <= set(spec.losses)
    assert set(spec.visuals) == set(model.visual_names)
    assert spec.optimizers == tuple(model.optimizers)
    assert CycleGANModel(make_opt(isTrain=False)).capture_spec() is None


def test_train_prints_one_line_reason_on_cpu(tmp_path, capsys, one_thread):
    from conftest import make_images
    from cyclegan.training.loop import train
    from options.train_options import TrainOptions
    for side in ("trainA", "trainB"):
        make_images(tmp_path / "data" / side, 2, size=(32, 32))
    opt = TrainOptions().parse(["--dataroot", str(tmp_path / "data"), "--checkpoints_dir", str(tmp_path / "ck"),
                                "--name", "g", "--gpu_ids", "-1", "--ngf", "4", "--ndf", "4", "--netG",
                                "resnet_6blocks", "--load_size", "32", "--crop_size", "32", "--n_epochs", "1",
                                "--n_epochs_decay", "0", "--display_id", "0", "--no_html", "--num_threads", "0",
                                "--cuda_graph", "--seed", "1"])
    model = train(opt)
    out = capsys.readouterr().out
    assert "CUDA graph step: off (needs a CUDA device)" in out
    assert model.graph_step is None
    assert model.runtime()["cuda_graph_off_reason"] == "needs a CUDA device"


def test_lr_tensors_follow_the_scheduler():
    p = torch.nn.Parameter(torch.zeros(2))
    opts = [torch.optim.Adam([p], lr=0.0002), torch.optim.Adam([torch.nn.Parameter(torch.zeros(1))], lr=0.0002)]
    scheds = [get_scheduler(o, "linear", 1, n_epochs=2, n_epochs_decay=3) for o in opts]
    lr = LRTensors(opts, "cpu")
    restore = lr.install()
    assert all(torch.is_tensor(g["lr"]) for o in opts for g in o.param_groups)
    restore()
    expected = []
    for epoch in range(5):
        for s in scheds:
            s.step()
        lr.sync()
        expected.append(opts[0].param_groups[0]["lr"])
        assert [float(t) for t in lr.tensors] == pytest.approx([g["lr"] for o in opts for g in o.param_groups])
    assert expected[1] < expected[0] and isinstance(opts[0].param_groups[0]["lr"], float)
    assert expected[-1] == pytest.approx(0.0, abs=1e-12)  # the official linear rule ends at zero


def test_capturable_adam_flags_are_restored():
    p = torch.nn.Parameter(torch.zeros(3))
    o = speed.make_adam([p], lr=0.1)
    p.grad = torch.ones(3)
    o.step()
    restore = capturable_adam([o])
    g = o.param_groups[0]
    assert (g["fused"], g["foreach"], g["capturable"]) == (True, False, True)
    assert o.state[p]["step"].dtype == torch.float32
    restore()
    assert not g["capturable"] and not g["fused"]
    o.step()  # plain Adam again
    assert float(o.state[p]["step"]) == 2


def test_optimizers_are_plain_adam_until_fused_and_no_private_field_is_written():
    """make_adam: built fused (the public way to a sync-free GradScaler step), stepping exactly as plain Adam
    until fuse(); the graph step and fusing write no private field of torch's classes."""
    import inspect
    import cyclegan.models.graph_step as gs
    a, b = torch.nn.Parameter(torch.randn(4)), None
    b = torch.nn.Parameter(a.detach().clone())
    made, plain = speed.make_adam([a], lr=0.1, betas=(0.5, 0.999)), torch.optim.Adam([b], lr=0.1, betas=(0.5, 0.999))
    for _ in range(3):
        for p, o in ((a, made), (b, plain)):
            o.zero_grad()
            (p ** 2).sum().backward()
            o.step()
    assert torch.equal(a, b) and made.state_dict()["param_groups"] == plain.state_dict()["param_groups"]
    for source in (inspect.getsource(gs), inspect.getsource(speed)):
        assert "._per_optimizer_states" not in source and "._step_supports_amp_scaling" not in source


@pytest.mark.parametrize("pool_size", [0, 3])
def test_device_pool_matches_the_official_pool(pool_size):
    """Same Python random draws, same returned images and the same stored images, step after step."""
    ref = ImagePool(pool_size)
    dev = DeviceImagePool(ImagePool(pool_size), (1, 2, 2), torch.float32, "cpu", batch=2)
    random.seed(0)
    outs_ref = [ref.query(torch.full((2, 1, 2, 2), float(k)) + torch.arange(2.0).view(2, 1, 1, 1) / 10)
                for k in range(8)]
    random.seed(0)
    outs_dev = []
    for k in range(8):
        images = torch.full((2, 1, 2, 2), float(k)) + torch.arange(2.0).view(2, 1, 1, 1) / 10
        if k % 2:
            dev.prepare(2)  # a graph step prepares first; an eager one lets query draw
        outs_dev.append(dev.query(images))
    for a, b in zip(outs_ref, outs_dev):
        assert torch.equal(a, b)
    if pool_size:
        assert any(not torch.equal(a, torch.full_like(a, k) + torch.arange(2.0).view(2, 1, 1, 1) / 10)
                   for k, a in enumerate(outs_ref))  # the pool really swapped some images
    sd = dev.state_dict()
    assert [t.shape for t in sd["images"]] == [t.shape for t in ref.state_dict()["images"]]
    assert all(torch.equal(a, b) for a, b in zip(sd["images"], ref.state_dict()["images"]))
    back = DeviceImagePool(ImagePool(pool_size), (1, 2, 2), torch.float32, "cpu", batch=2)
    back.load_state_dict(sd)
    assert back.stored == len(ref.images)


def test_configure_owns_the_switch():
    """BaseModel.configure turns the captured step on where the run allows it, keeps it when called again with
    the same settings, drops it when the settings turn it off, and records the reason when it stays off."""
    model = on_cuda(CycleGANModel(make_opt()))
    model.configure(cuda_config(cuda_graph=True))
    first = model.graph_step
    assert isinstance(first, GraphStep) and model.cuda_graph_off is None
    model.configure(model.speed)  # the same settings again: the same step, not a fresh warm-up
    assert model.graph_step is first
    model.configure(model.speed, world_size=2)
    assert model.graph_step is None and "DistributedDataParallel" in model.cuda_graph_off
    model.configure(cuda_config(cuda_graph=True))
    assert model.graph_step is not None
    model.configure(cuda_config(cuda_graph=False))
    assert model.graph_step is None and model.cuda_graph_off is None
    tester = on_cuda(CycleGANModel(make_opt(isTrain=False)))  # a test-time model never gets a training step
    tester.configure(cuda_config(cuda_graph=True))
    assert tester.graph_step is None and tester.cuda_graph_off is None


class FakeStream:
    def wait_stream(self, other):
        pass


class FakeGraph:
    """torch.cuda.CUDAGraph's stand-in on the CPU: the capture block runs eagerly (a real capture only
    records) and replay() does nothing, which is enough to see what the model's attributes point at."""

    def replay(self):
        pass


def fake_cuda(monkeypatch, capture):
    """Stand-ins for torch.cuda's streams, device guard and graphs on the CPU; `capture` replaces
    torch.cuda.graph (the capture context)."""
    monkeypatch.setattr(torch.cuda, "CUDAGraph", FakeGraph)
    monkeypatch.setattr(torch.cuda, "graph", capture)
    monkeypatch.setattr(torch.cuda, "Stream", FakeStream)
    monkeypatch.setattr(torch.cuda, "current_stream", FakeStream)
    monkeypatch.setattr(torch.cuda, "stream", lambda s: contextlib.nullcontext())
    monkeypatch.setattr(torch.cuda, "device", lambda d: contextlib.nullcontext())


def test_after_an_eager_step_the_model_points_at_the_graph_outputs_again(monkeypatch):
    """An epoch's smaller last batch runs eagerly and replaces the model's loss and visual tensors; the next
    replay must point them back at the tensors the graph rewrites, or every later loss would be stale."""
    fake_cuda(monkeypatch, lambda graph, **kw: contextlib.nullcontext())
    torch.manual_seed(0)
    model = CycleGANModel(make_opt(pool_size=2, batch_size=2))
    model.graph_step = GraphStep(model, model.capture_spec(), warmup=1)  # on the CPU: configure would refuse
    gen = torch.Generator().manual_seed(1)

    def step(n):
        model.set_input({k: torch.rand(n, 3, 32, 32, generator=gen) * 2 - 1 for k in "AB"})
        model.optimize_parameters()
    step(1)  # a smaller batch first (a resume at an epoch's end): eager, and not the shape to capture
    assert model.graph_step.shape is None and model.graph_step.steps == 0
    step(2)  # warm-up
    step(2)  # capture (and its replay)
    assert model.graph_step.shape[0][0] == 2 and model.graph_step.graph is not None
    names = ["loss_" + n for n in model.loss_names] + ["loss_G"] + model.visual_names
    captured = {k: getattr(model, k) for k in names}  # what the captured step wrote into
    # a replay uses the choices prepared for it; the next eager step must draw its own from `random`
    assert not model.fake_A_pool.ready and not model.fake_B_pool.ready
    before = random.getstate()
    step(1)  # the smaller last batch: eager
    assert random.getstate() != before  # the pools are full (2 images): each query draws
    assert model.loss_G_A is not captured["loss_G_A"] and model.fake_B.shape[0] == 1
    step(2)  # replay
    assert [k for k, v in captured.items() if getattr(model, k) is not v] == []
    assert model.real_A is model.graph_step.static["real_A"]


def test_a_failed_capture_is_undone_and_training_goes_on(monkeypatch, capsys):
    """A capture records without running, so a failed one leaves no trace: the pools' random draws and
    counts are as before it, and the step runs eagerly with a one-line reason."""
    @contextlib.contextmanager
    def failing_graph(graph, **kw):
        yield  # the step's Python runs (here its kernels too), the pools' queries included
        raise RuntimeError("operation not permitted when stream is capturing")
    fake_cuda(monkeypatch, failing_graph)
    torch.manual_seed(0)
    model = CycleGANModel(make_opt(pool_size=4, batch_size=1))
    model.graph_step = GraphStep(model, model.capture_spec(), warmup=1)  # on the CPU: configure would refuse
    gen = torch.Generator().manual_seed(1)
    random.seed(5)
    for _ in range(2):  # warm-up, then the failed capture and its eager step
        model.set_input({k: torch.rand(1, 3, 32, 32, generator=gen) * 2 - 1 for k in "AB"})
        model.optimize_parameters()
    assert "CUDA graph step: off, capture failed (RuntimeError: operation not permitted" in capsys.readouterr().out
    assert model.fake_A_pool.stored == 2 and model.fake_B_pool.stored == 2  # one image per step, not three
    assert isinstance(model.optimizers[0].param_groups[0]["lr"], float)
    assert all(p.requires_grad for _, net in model.nets() for p in net.parameters())  # the Ds are unfrozen


def test_a_failed_capture_under_fp16_leaves_scalers_that_step_again():
    """abandon_step: a step that stopped midway leaves the GradScalers' per-step bookkeeping behind (a second
    scaler.step would raise); the model swaps in fresh scalers with the same scale, through public calls."""
    import warnings
    model = CycleGANModel(make_opt(pool_size=0))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.configure(speed.resolve("cpu", amp="fp16"))
    model.set_input({k: torch.rand(1, 3, 32, 32) * 2 - 1 for k in "AB"})
    model.train_step()
    model.scalers[0].update(new_scale=512.0)
    scaler, opt = model.scalers[0], model.optimizers[0]
    with model.autocast():  # a half step: the G step stepped, its scaler never updated
        model.forward_train()
        model.compute_G_loss(model.opt)
    opt.zero_grad()
    model.backward(model.loss_G, opt)
    scaler.step(opt)
    with pytest.raises(RuntimeError, match="step\\(\\) has already been called"):
        scaler.step(opt)
    model.abandon_step()
    assert model.scalers[0] is not scaler and model.scalers[0].get_scale() == 512.0
    model.train_step()  # steps again


def test_model_step_without_graph_is_unchanged():
    torch.manual_seed(0)
    model = CycleGANModel(make_opt(pool_size=0))
    assert model.graph_step is None
    A, B = torch.rand(1, 3, 32, 32), torch.rand(1, 3, 32, 32)
    twin = copy.deepcopy(model)
    for m in (model, twin):
        m.set_input({"A": A, "B": B})
    model.optimize_parameters()
    twin.train_step()
    assert model.get_current_losses() == twin.get_current_losses()
    assert float(model.epoch_metric()) == pytest.approx(float(twin.loss_G))  # one step's G loss
    assert model.epoch_metric() is None  # reset by reading


# -- CUDA only ---------------------------------------------------------------------------------------------

def cuda_models(n=2, cfg=None, **kw):
    """An eager model and its twin with the captured step turned on through configure (warm-up 2)."""
    torch.manual_seed(0)
    opt = make_opt(device="cuda", **kw)
    eager = CycleGANModel(opt)
    graph = copy.deepcopy(eager)
    cfg = cfg or speed.resolve("cuda", amp="none", channels_last=False, cudnn_benchmark=False)
    eager.configure(cfg)
    graph.configure(speed.SpeedConfig(**{**cfg.as_dict(), "cuda_graph": True}))
    assert graph.graph_step is not None, graph.cuda_graph_off
    graph.graph_step.warmup = 2
    return eager, graph


def cuda_batches(k, n=1, size=32):
    g = torch.Generator().manual_seed(k)
    return {"A": torch.rand(n, 3, size, size, generator=g) * 2 - 1, "B": torch.rand(n, 3, size, size, generator=g) * 2 - 1}


def run_steps(model, steps, seed=0, start=0):
    random.seed(seed)
    for k in range(start, start + steps):
        model.set_input(cuda_batches(k))
        model.optimize_parameters()
    torch.cuda.synchronize()


def close(a, b, tol=2e-3):
    wa = {k: v for n, net in a.nets() for k, v in net.state_dict().items()}
    wb = {k: v for n, net in b.nets() for k, v in net.state_dict().items()}
    return max((wa[k].float() - wb[k].float()).abs().max().item() for k in wa) <= tol


@needs_cuda
@pytest.mark.parametrize("mode", ["lsgan", "vanilla"])
def test_graph_step_trains_like_eager(mode):
    eager, graph = cuda_models(gan_mode=mode, pool_size=2)
    run_steps(eager, 8)
    run_steps(graph, 8)
    assert graph.graph_step.graph is not None and graph.graph_step.failed is None
    le, lg = eager.get_current_losses(), graph.get_current_losses()
    assert all(abs(le[k] - lg[k]) <= 1e-3 * max(1, abs(le[k])) for k in le), (le, lg)
    assert close(eager, graph)
    assert isinstance(graph.optimizers[0].param_groups[0]["lr"], float)


@needs_cuda
def test_graph_step_follows_lr_changes():
    eager, graph = cuda_models(pool_size=0)
    for m in (eager, graph):
        m.setup(make_opt(device="cuda", lr_policy="linear", epoch_count=1, n_epochs=1, n_epochs_decay=1,
                         lr_decay_iters=1, isTrain=True))
        run_steps(m, 4)
        m.update_learning_rate()
        run_steps(m, 4, start=4)
    assert close(eager, graph)


@needs_cuda
def test_graph_replay_has_no_host_sync():
    _, graph = cuda_models(pool_size=2)
    run_steps(graph, 4)
    data = {k: v.pin_memory() for k, v in cuda_batches(9).items()}
    torch.cuda.synchronize()
    torch.cuda.set_sync_debug_mode("error")
    try:
        graph.set_input(data)
        graph.optimize_parameters()
    finally:
        torch.cuda.set_sync_debug_mode(0)


@needs_cuda
def test_graph_step_with_fp16_grad_scaler():
    eager, graph = cuda_models(pool_size=0, cfg=speed.resolve("cuda", amp="fp16"))
    assert eager.graph_step is None and graph.graph_step is not None
    run_steps(eager, 6)
    run_steps(graph, 6)
    assert graph.graph_step.failed is None
    assert close(eager, graph, tol=5e-3)


@needs_cuda
def test_graph_checkpoint_resume_is_exact(tmp_path, monkeypatch):
    """Bit for bit needs --deterministic's settings: deterministic kernels, sliced reflection pads (CUDA's
    reflection-pad backward adds with atomics), no cudnn autotuning."""
    from cyclegan.runs import checkpoint
    monkeypatch.setenv("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    cfg = speed.resolve("cuda", amp="none", channels_last=False, deterministic=True)

    def model():
        return cuda_models(pool_size=2, cfg=cfg)[1]
    torch.use_deterministic_algorithms(True)
    try:
        first = model()
        first.save_dir = str(tmp_path)
        run_steps(first, 5)
        checkpoint.save_state(first, ["latest"], {"epoch": 1, "batches_done": 5, "total_iters": 5}, {})
        second = model()
        checkpoint.load_state(str(tmp_path / "latest_state.pth"), second)
        run_steps(second, 5, seed=1, start=5)  # two warm-up steps, the capture, two replays
        run_steps(first, 5, seed=1, start=5)  # five replays
    finally:
        torch.use_deterministic_algorithms(False)
    assert first.graph_step.failed is None and second.graph_step.graph is not None
    assert close(first, second, tol=0)  # the same kernels in the same order after the resume


@needs_cuda
def test_graph_peak_memory_within_1_5x_of_eager():
    peaks = []
    for graph in (False, True):
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()
        eager, g = cuda_models(pool_size=2)
        model = g if graph else eager
        run_steps(model, 6)
        peaks.append(torch.cuda.max_memory_allocated())
        del eager, g, model
    assert peaks[1] <= 1.5 * peaks[0], peaks
