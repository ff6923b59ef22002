"""Speed flags: per-device defaults, and that channels_last / compile / amp / fast_norm train like eager float32.

Tiny nets (ngf/ndf 4, 32 px). torch.compile's inductor takes ~100 s per net on this CPU, so the compile
path is tested with the "eager" dynamo backend (same wrapping, no code generation).
"""
import json
import warnings

import pytest
import torch

from cyclegan.models import create_model
from cyclegan.models import speed
from options.train_options import TrainOptions


def make_opt(tmp_path, *extra):
    return TrainOptions().parse(["--dataroot", str(tmp_path), "--name", "s", "--checkpoints_dir", str(tmp_path),
                                 "--ngf", "4", "--ndf", "4", "--netG", "resnet_6blocks", "--gpu_ids", "-1",
                                 "--seed", "1", "--display_id", "0", "--pool_size", "0", *extra])


def batch(seed=0, n=1, size=32):
    g = torch.Generator().manual_seed(seed)
    return {"A": torch.rand(n, 3, size, size, generator=g) * 2 - 1,
            "B": torch.rand(n, 3, size, size, generator=g) * 2 - 1, "A_paths": [], "B_paths": []}


def trained(opt, cfg=None, steps=1):
    torch.manual_seed(0)
    model = create_model(opt)
    if cfg is not None:
        model.configure(cfg)
    for i in range(steps):
        model.set_input(batch(i))
        model.optimize_parameters()
    return model


def params(model):
    return {f"{n}.{k}": v.detach().float() for n, net in model.nets() for k, v in net.state_dict().items()}


def assert_close(a, b, atol, lr=2e-4, steps=1):
    """Weights agree to `atol` except where Adam's first steps (~lr * sign(grad)) flipped on a gradient
    that is ~0: float noise there moves a weight by up to 2 * lr per step, so allow that for 1% of them."""
    pa, pb = params(a), params(b)
    assert pa.keys() == pb.keys()
    diff = torch.cat([(pa[k] - pb[k]).abs().flatten() for k in pa])
    assert diff.max().item() <= 2 * lr * steps * 1.01, diff.max().item()
    assert (diff > atol).float().mean().item() < 0.01, (diff > atol).float().mean().item()
    for name in a.loss_names:  # the step's losses were computed from identical weights
        la, lb = float(getattr(a, "loss_" + name).detach()), float(getattr(b, "loss_" + name).detach())
        assert abs(la - lb) <= 1e-4 * max(1.0, abs(la)), (name, la, lb)


@pytest.fixture
def bf16_cpu(monkeypatch):
    """Set what the CPU probe says: native_bf16(True) or native_bf16(False)."""
    def set_native(native):
        monkeypatch.setattr(speed, "native_bf16", lambda cpuinfo=None: native)
    return set_native


def test_defaults_per_device(bf16_cpu):
    bf16_cpu(False)
    cpu = speed.resolve("cpu")
    assert (cpu.amp, cpu.channels_last, cpu.compile, cpu.cudnn_benchmark, cpu.fast_norm) == \
        ("none", False, False, False, False)
    bf16_cpu(True)  # AMX / AVX512-BF16: bf16 autocast, nothing else changes
    assert speed.resolve("cpu") == speed.SpeedConfig(amp="bf16")
    assert speed.resolve("cpu", amp="none") == speed.SpeedConfig()
    gpu = speed.resolve("cuda")
    assert (gpu.amp, gpu.channels_last, gpu.compile, gpu.cudnn_benchmark) == ("bf16", True, False, True)
    assert speed.resolve("cuda", deterministic=True).cudnn_benchmark is False
    assert speed.resolve("cuda", amp="fp16", channels_last=False).amp_dtype is torch.float16
    with pytest.raises(ValueError, match="--amp"):
        speed.resolve("cpu", amp="fp8")
    with pytest.raises(ValueError, match="--deterministic"):
        speed.resolve("cuda", cudnn_benchmark=True, deterministic=True)


def test_cpu_amp_warns_about_measured_slowdown_only_without_native_bf16(bf16_cpu):
    bf16_cpu(False)
    with pytest.warns(UserWarning, match="35x slower"):
        speed.resolve("cpu", amp="bf16")
    bf16_cpu(True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert speed.resolve("cpu", amp="bf16").amp == "bf16"
    with pytest.warns(UserWarning, match="native fp16"):
        speed.resolve("cpu", amp="fp16")


@pytest.mark.parametrize("flags, native", [("fpu vme avx512f avx512_bf16 avx512_vnni", True),
                                           ("fpu amx_bf16 amx_tile", True), ("fpu avx2 avx512f avx512_vnni", False)])
def test_native_bf16_probe_reads_the_cpu_flags(tmp_path, flags, native):
    info = tmp_path / "cpuinfo"
    info.write_text(f"processor\t: 0\nmodel name\t: Some CPU\nflags\t\t: {flags}\n\nprocessor\t: 1\n")
    assert speed.native_bf16(str(info)) is native
    # no cpuinfo (not Linux): torch's CPU capability query answers
    caps = torch._C._cpu._get_cpu_capability()
    assert speed.native_bf16(str(tmp_path / "missing")) is bool(caps.get("amx_bf16") or caps.get("avx512_bf16"))


def test_flags_parse_and_configure_the_model(tmp_path, monkeypatch):
    opt = make_opt(tmp_path)
    assert (opt.amp, opt.channels_last, opt.compile, opt.cudnn_benchmark) == (None, None, None, None)
    assert create_model(opt).configure().speed == speed.resolve("cpu")
    assert create_model(make_opt(tmp_path, "--amp", "none")).configure().speed == speed.SpeedConfig()
    monkeypatch.setattr(torch, "compile", lambda net, **kw: net)  # the flag's effect is tested below
    opt = make_opt(tmp_path, "--amp", "fp16", "--channels_last", "--compile", "--no-cudnn_benchmark")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cfg = create_model(opt).configure().speed
    assert (cfg.amp, cfg.channels_last, cfg.compile, cfg.cudnn_benchmark) == ("fp16", True, True, False)
    assert create_model(make_opt(tmp_path, "--fast_norm")).configure().speed.fast_norm is True
    with pytest.raises(ValueError, match="'cuda' given to a model on cpu"):
        create_model(opt).configure(speed.resolve("cuda"))


def test_amp_none_is_bit_identical_to_plain_model(tmp_path):
    opt = make_opt(tmp_path, "--amp", "none")  # the official float32 math (the default on CPUs without bf16)
    plain = trained(opt, None, steps=2)
    torch.manual_seed(0)
    applied = create_model(opt).configure()  # from the options
    for i in range(2):
        applied.set_input(batch(i))
        applied.optimize_parameters()
    pa, pb = params(plain), params(applied)
    assert all(torch.equal(pa[k], pb[k]) for k in pa)
    assert float(plain.loss_G.detach()) == float(applied.loss_G.detach())


def test_channels_last_trains_like_eager(tmp_path):
    opt = make_opt(tmp_path)
    eager = trained(opt)
    cl = trained(opt, speed.resolve("cpu", amp="none", channels_last=True))
    assert cl.real_A.is_contiguous(memory_format=torch.channels_last)
    conv = next(m for m in cl.netG_A.modules() if isinstance(m, torch.nn.Conv2d))
    assert conv.weight.is_contiguous(memory_format=torch.channels_last)
    assert_close(eager, cl, atol=2e-5)


def test_instance_norm_probe_matches_a_direct_check(tmp_path):
    x = torch.randn(1, 8, 8, 8, dtype=torch.float64)
    w = torch.randn(1, 8, 8, 8, dtype=torch.float64)
    grads = []
    for fmt in (torch.contiguous_format, torch.channels_last):
        xi = x.clone().requires_grad_()
        torch.nn.functional.instance_norm(xi).backward(w.contiguous(memory_format=fmt))
        grads.append(xi.grad)
    ok = torch.allclose(grads[0], grads[1])
    assert speed.instance_norm_channels_last_ok("cpu") == ok
    cl = trained(make_opt(tmp_path), speed.resolve("cpu", channels_last=True), steps=0)
    swapped = any(isinstance(m, speed.FastInstanceNorm2d) for m in cl.netG_A.modules())
    assert swapped == (not ok)


def test_fast_norm_trains_like_eager(tmp_path):
    opt = make_opt(tmp_path)
    eager = trained(opt)
    fast = trained(opt, speed.resolve("cpu", amp="none", fast_norm=True))
    assert any(isinstance(m, speed.FastInstanceNorm2d) for m in fast.netG_A.modules())
    assert_close(eager, fast, atol=2e-5)


@pytest.mark.slow
def test_compile_path_trains_like_eager(tmp_path, monkeypatch):
    real_compile = torch.compile
    calls = []

    def eager_backend_compile(model, **kw):
        calls.append(type(model).__name__)
        return real_compile(model, backend="eager", **kw)

    monkeypatch.setattr(torch, "compile", eager_backend_compile)
    opt = make_opt(tmp_path)
    eager = trained(opt)
    comp = trained(opt, speed.resolve("cpu", amp="none", compile=True))
    assert len(calls) == 4 and hasattr(comp.netG_A, "_orig_mod")
    assert [n for n, _ in comp.nets()] == ["G_A", "G_B", "D_A", "D_B"]
    assert not any(hasattr(net, "_orig_mod") for _, net in comp.nets())  # nets() unwraps for saving
    assert_close(eager, comp, atol=1e-5)


def test_fp16_grad_scaler_path(tmp_path):
    opt = make_opt(tmp_path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cfg = speed.resolve("cpu", amp="fp16")
    try:
        model = trained(opt, cfg, steps=2)
    except RuntimeError as e:  # an older torch without CPU fp16 autocast or CPU fused Adam
        pytest.skip(f"fp16 autocast / fused Adam not supported on this CPU build: {e}")
    assert len(model.scalers) == 2 and all(isinstance(s, torch.amp.GradScaler) for s in model.scalers)
    assert all(getattr(o, "_step_supports_amp_scaling", False) for o in model.optimizers)  # fused: no host sync
    assert model.optimizer_G is model.optimizers[0] and model.optimizer_D is model.optimizers[1]
    assert all(s.get_scale() > 0 for s in model.scalers)
    eager = trained(opt, None, steps=2)
    p16, p32 = params(model), params(eager)
    assert all(torch.isfinite(v).all() for v in p16.values())
    assert any(not torch.equal(p16[k], p32[k]) for k in p16)  # really a different (half-precision) path
    # fp16 training moves the weights the same way as float32, within half-precision error
    diffs = [(p16[k] - p32[k]).abs().max().item() for k in p16]
    assert max(diffs) < 2e-3


def test_bf16_autocast_runs_on_cpu(tmp_path):
    opt = make_opt(tmp_path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = trained(opt, speed.resolve("cpu", amp="bf16"))
    assert model.fake_B.dtype == torch.bfloat16
    assert model.scalers is None
    assert torch.isfinite(model.loss_G)
    model.test()
    assert model.fake_B.dtype == torch.bfloat16


def test_fusing_survives_an_unfused_resume(tmp_path):
    opt = make_opt(tmp_path)
    plain = trained(opt)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cfg = speed.resolve("cpu", amp="fp16")
    model = trained(opt, cfg, steps=0)
    assert all(g["fused"] for o in model.optimizers for g in o.param_groups)
    saved = plain.state_dict()
    assert not saved["optimizers"]["G"]["param_groups"][0]["fused"]
    model.load_state_dict(saved)  # the model re-applies fusing to the unfused groups it loaded
    assert all(g["fused"] for o in model.optimizers for g in o.param_groups)
    assert all(getattr(o, "_step_supports_amp_scaling", False) for o in model.optimizers)
    model.set_input(batch(5))
    model.optimize_parameters()
    assert torch.isfinite(model.loss_G)


@pytest.mark.parametrize("padding", [1, 3, (2, 0, 1, 3)])
def test_sliced_reflection_pad_is_reflection_pad(padding):
    x = torch.randn(2, 3, 7, 9, dtype=torch.float64, requires_grad=True)
    ref, sliced = torch.nn.ReflectionPad2d(padding), speed.SlicedReflectionPad2d(padding)
    assert torch.equal(ref(x), sliced(x))  # pure copies: the same values, bit for bit
    g = torch.randn_like(ref(x))
    (a,), (b,) = torch.autograd.grad(ref(x), x, g), torch.autograd.grad(sliced(x), x, g)
    assert torch.allclose(a, b, rtol=0, atol=1e-12)


def test_deterministic_swaps_the_pads_and_trains_like_eager(tmp_path):
    """--deterministic: CUDA has no deterministic reflection-pad backward, so the pads become sliced ones
    (no state, so the state dict is the official one) on every device; training is unchanged."""
    opt = make_opt(tmp_path)
    eager = trained(opt)
    det = trained(opt, speed.resolve("cpu", amp="none", deterministic=True))
    pads = [type(m) for m in det.netG_A.modules() if isinstance(m, torch.nn.ReflectionPad2d)]
    assert pads and set(pads) == {speed.SlicedReflectionPad2d}
    assert all(type(m) is torch.nn.ReflectionPad2d for m in eager.netG_A.modules()
               if isinstance(m, torch.nn.ReflectionPad2d))
    assert_close(eager, det, atol=1e-6)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="CUDA's reflection-pad backward: needs a CUDA GPU")
def test_deterministic_gpu_step_runs(tmp_path, monkeypatch):
    """Without the sliced pads this step raises: reflection_pad2d_backward_cuda has no deterministic kernel."""
    monkeypatch.setenv("CUBLAS_WORKSPACE_CONFIG", ":4096:8")  # as the training loop sets it
    opt = TrainOptions().parse(["--dataroot", str(tmp_path), "--ngf", "4", "--ndf", "4", "--gpu_ids", "0",
                                "--netG", "resnet_6blocks", "--seed", "1", "--display_id", "0", "--pool_size", "0",
                                "--deterministic"])
    torch.use_deterministic_algorithms(True)
    try:
        runs = [trained(opt, speed.resolve("cuda", amp="none", deterministic=True, cuda_graph=False), steps=2)
                for _ in range(2)]
    finally:
        torch.use_deterministic_algorithms(False)
    assert params(runs[0]).keys() == params(runs[1]).keys()
    assert all(torch.equal(v, params(runs[1])[k]) for k, v in params(runs[0]).items())  # repeatable, bit for bit


@pytest.mark.skipif(not torch.cuda.is_available(), reason="host-sync check needs CUDA (sync debug mode)")
def test_no_host_sync_in_a_gpu_step(tmp_path):
    opt = TrainOptions().parse(["--dataroot", str(tmp_path), "--ngf", "4", "--ndf", "4", "--gpu_ids", "0",
                                "--netG", "resnet_6blocks", "--seed", "1", "--display_id", "0", "--pool_size", "0"])
    for amp in ("bf16", "fp16"):  # the eager step (the captured one: tests/test_graph_step.py)
        model = trained(opt, speed.resolve("cuda", amp=amp, cuda_graph=False), steps=1)
        data = batch(3)
        torch.cuda.synchronize()
        torch.cuda.set_sync_debug_mode("error")
        try:
            model.set_input({k: v.pin_memory() if torch.is_tensor(v) else v for k, v in data.items()})
            model.optimize_parameters()
        finally:
            torch.cuda.set_sync_debug_mode(0)


@pytest.mark.slow
def test_benchmark_prints_json_lines(capsys, tmp_path):
    from cyclegan.cli.benchmark import main
    assert main(["--size", "32", "--ngf", "4", "--ndf", "4", "--netG", "resnet_6blocks", "--warmup", "1",
                 "--repeats", "2", "--test_batch", "2", "--num_workers", "1", "--device", "cpu",
                 "--configs", "official,channels_last,cuda_graph", "--profile"]) == 0
    out = capsys.readouterr().out
    rows = [json.loads(line) for line in out.splitlines() if line.strip()]  # stdout is JSON only
    assert [r["config"] for r in rows] == ["official", "channels_last", "cuda_graph"]
    for r in rows:
        for key in ("train_step_ms", "test_images_per_s", "test_images_per_s_batch1_eager", "peak_memory_mb",
                    "achieved_gflops", "gemm_gflops", "fraction_of_gemm_bound", "data_fraction", "profile_top"):
            assert key in r, key
        assert r["train_step_ms"] > 0 and len(r["train_step_ms_all"]) == 2
        assert r["test_images_per_s"] > 0 and r["peak_memory_mb"] > 0
        assert r["gemm_gflops"]["float32"] > 0 and r["train_gflop_per_step"] > 0
        assert 0 < r["fraction_of_gemm_bound"] < 1.5
        assert r["achieved_gflops"] == pytest.approx(r["train_gflop_per_step"] / r["train_step_ms"] * 1e3, rel=0.02)
        assert r["profile_top"] and r["profile_top"][0][0].startswith(("aten::", "autograd", "Optimizer"))
    assert rows[1]["channels_last"] is True and rows[0]["channels_last"] is False
    assert rows[0]["batched_passes"] is False and rows[1]["batched_passes"] is True  # official = official order
    assert "speedup_vs_official" not in rows[0]
    assert rows[1]["speedup_vs_official"] == pytest.approx(rows[0]["train_step_ms"] / rows[1]["train_step_ms"], rel=0.01)
    graph = rows[2]  # asked for on the CPU: off, with the reason in the row
    assert graph["cuda_graph"] is True and graph["cuda_graph_active"] is False
    assert graph["cuda_graph_off_reason"] == "needs a CUDA device"


def test_benchmark_rejects_bad_flags(capsys):
    from options.benchmark_options import BenchmarkOptions
    for argv, message in ((["--configs", "eager,warp"], "unknown warp"), (["--size", "30"], "multiple of 4"),
                          (["--dataroot", "/nonexistent"], "needs trainA/ and trainB/")):
        with pytest.raises(SystemExit) as e:
            BenchmarkOptions().parse(argv + ["--device", "cpu"])
        assert e.value.code == 2 and message in capsys.readouterr().err
