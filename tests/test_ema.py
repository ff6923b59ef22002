"""The generator average (--ema_decay, cyclegan/models/ema.py): it follows its formula, never changes training,
is saved beside the raw weights and survives an exact resume; and every loader (test, translator, inference API,
eval, compare, video, stereo, export) takes the average unless --raw_weights."""
import copy

import pytest
import torch

from cyclegan.io import atomic_save, safe_load
from cyclegan.models import create_model
from cyclegan.models.generators import define_G
from cyclegan.runs.layout import RunFolder
from options.train_options import TrainOptions
from test_recipes import build, raw_weights, step, train_opt


def test_ema_equals_its_formula_after_a_few_steps(tmp_path):
    model = build(train_opt(tmp_path, "--ema_decay", "0.9"))
    expected = {k: v.clone() for k, v in model.netG_A.state_dict().items()}
    for t in range(4):
        step(model, t)
        d = min(0.9, (1 + t) / (10 + t))
        for k, v in model.netG_A.state_dict().items():
            expected[k] = d * expected[k] + (1 - d) * v
    got = model.recipe.ema.nets["G_A"].state_dict()
    assert model.recipe.ema.updates == 4
    for k in expected:
        assert torch.allclose(got[k], expected[k], rtol=1e-5, atol=1e-7), k
    assert not torch.allclose(got["model.1.weight"], model.netG_A.state_dict()["model.1.weight"])


def test_ema_never_changes_training(tmp_path):
    """The ablation scores one run with raw and with averaged generators: the average must not touch training."""
    runs = []
    for extra in ([], ["--ema_decay", "0.9"]):
        m = build(train_opt(tmp_path, *extra))
        for i in range(3):
            step(m, i)
        runs.append((raw_weights(m), torch.get_rng_state()))
    assert torch.equal(runs[0][1], runs[1][1])
    assert all(torch.equal(v, runs[1][0][k]) for k, v in runs[0][0].items())


def test_ema_files_beside_the_raw_ones_and_the_state_resumes_exactly(tmp_path):
    opt = train_opt(tmp_path, "--ema_decay", "0.95", "--lambda_r1", "0.1", "--r1_every", "2")
    a = build(opt)
    for i in range(3):
        step(a, i)
    a.save_networks("3")
    for name in ("G_A", "G_B"):
        raw = torch.load(tmp_path / "r" / f"3_net_{name}.pth")
        ema = torch.load(tmp_path / "r" / f"3_net_{name}_ema.pth")
        assert raw.keys() == ema.keys() and all(v.device.type == "cpu" for v in ema.values())
        assert all(torch.equal(raw[k], v) for k, v in getattr(a, "net" + name).state_dict().items())
        assert all(torch.equal(ema[k], v) for k, v in a.recipe.ema.nets[name].state_dict().items())
        define_G(3, 3, 4, "resnet_6blocks", "instance").load_state_dict(ema)  # a plain generator file
    atomic_save(a.state_dict(), tmp_path / "state.pth")
    state = safe_load(tmp_path / "state.pth")
    assert state["recipe"]["steps"] == 3 and state["recipe"]["ema"]["updates"] == 3
    b = build(opt, seed=99)
    b.load_state_dict(state)
    for i in (3, 4):  # step 4 is an R1 step: the clock came back too
        step(a, i)
        step(b, i)
    for x, y in ((a.recipe.ema.nets, b.recipe.ema.nets), (dict(a.nets()), dict(b.nets()))):
        for name in x:
            assert all(torch.equal(v, y[name].state_dict()[k]) for k, v in x[name].state_dict().items()), name


def test_net_file_prefers_the_average_unless_raw(tmp_path):
    (tmp_path / "5_net_G_A.pth").write_bytes(b"x")
    assert RunFolder(tmp_path).net_for_use(5, "G_A") == str(tmp_path / "5_net_G_A.pth")
    (tmp_path / "5_net_G_A_ema.pth").write_bytes(b"x")
    assert RunFolder(tmp_path).net_for_use(5, "G_A") == str(tmp_path / "5_net_G_A_ema.pth")
    assert RunFolder(tmp_path).net_for_use(5, "G_A", raw=True) == str(tmp_path / "5_net_G_A.pth")
    assert RunFolder(tmp_path).net_for_use("latest", "G_B") == str(tmp_path / "latest_net_G_B.pth")


def test_testing_and_the_translator_load_the_average_unless_raw_weights(tmp_path):
    import cyclegan
    from options.test_options import TestOptions
    model = build(train_opt(tmp_path, "--ema_decay", "0.5"))
    for i in range(2):
        step(model, i)
    model.save_networks("latest")
    ema = model.recipe.ema.nets
    for raw, want in ((False, ema["G_A"]), (True, model.netG_A)):
        topt = TestOptions().parse(["--dataroot", str(tmp_path), "--name", "r", "--checkpoints_dir", str(tmp_path),
                                    "--model", "cycle_gan", "--ngf", "4", "--netG", "resnet_6blocks",
                                    "--gpu_ids", "-1"] + (["--raw_weights"] if raw else []))
        tm = create_model(topt)
        tm.setup(topt)
        assert all(torch.equal(v, want.state_dict()[k]) for k, v in tm.netG_A.state_dict().items())
        tr = cyclegan.load(tmp_path / "r", device="cpu", amp="none", arch={"ngf": 4, "netG": "resnet_6blocks"},
                           raw_weights=raw)  # photo2painting: G_B
        assert tr.info["files"][0].endswith("latest_net_G_B.pth" if raw else "latest_net_G_B_ema.pth")


def test_the_inference_api_reads_a_nearest_run_with_ema_and_spectral_norm(tmp_path):
    """cyclegan.load reads a *_nearest generator from its weights alone (no train_opt.json), takes its averaged
    file, runs it whole and in tiles alike, and refuses the spectral-norm discriminator's file, naming it."""
    import cyclegan
    from cyclegan.inference import ModelFileError
    model = build(train_opt(tmp_path, "--netG", "resnet_6blocks_nearest", "--spectral_norm", "--ema_decay", "0.5"))
    step(model, 0)
    model.save_networks("latest")
    run = tmp_path / "r"
    t = cyclegan.load(run, device="cpu", amp="none")  # photo2painting: G_B
    assert t.info["netG"] == "resnet_6blocks_nearest" and t.info["files"][0].endswith("latest_net_G_B_ema.pth")
    x = torch.rand(1, 3, 36, 52)
    with torch.no_grad():
        want = ((copy.deepcopy(model.recipe.ema.nets["G_B"]).eval()(x * 2 - 1) + 1) / 2).clamp(0, 1)
    assert torch.allclose(t(x), want, atol=1e-5)
    assert torch.allclose(cyclegan.load(run, device="cpu", amp="none", tile=16)(x), want, atol=1e-4)
    with pytest.raises(ModelFileError, match="latest_net_D_A.pth"):
        cyclegan.load(run / "latest_net_D_A.pth", device="cpu")


def test_every_loader_takes_raw_weights_off_by_default_and_stereo_loads_the_average(tmp_path, monkeypatch):
    """test, eval, compare, video, stereo, export (and training's quality curves) offer --raw_weights, off by default;
    cyclegan-stereo's loader goes through the same Translator rule."""
    from cyclegan.media.stereo import load_stylizer
    from options.compare_options import CompareOptions
    from options.eval_options import EvalOptions
    from options.stereo_options import StereoOptions
    from options.test_options import TestOptions
    from options.video_options import VideoOptions
    from options.export_options import ExportOptions
    for cls in (TrainOptions, TestOptions, EvalOptions, CompareOptions, VideoOptions, StereoOptions, ExportOptions):
        actions = {a.dest: a for a in cls().build_parser([])._actions}
        assert actions["raw_weights"].default is False and "raw" in actions["raw_weights"].help, cls.__name__
    from options.base_options import save_options
    opt = train_opt(tmp_path, "--ema_decay", "0.5")
    model = build(opt)
    step(model, 0)
    with torch.no_grad():  # after one step the average is close to the weights: make the two files differ clearly
        for p in model.recipe.ema.nets["G_B"].parameters():
            p.add_(torch.randn_like(p) * 0.1)
    model.save_networks("latest")
    save_options(opt, tmp_path / "r", "train", echo=False)  # the loader reads the architecture from it
    photo = torch.rand(1, 3, 32, 32)
    with torch.no_grad():
        want = {False: model.recipe.ema.nets["G_B"](photo * 2 - 1), True: model.netG_B(photo * 2 - 1)}
    assert (want[False] - want[True]).abs().max() > 0.1
    monkeypatch.setattr("cyclegan.models.speed.native_bf16", lambda cpuinfo=None: False)  # float32: compare weights
    for raw in (False, True):  # AtoB: photo -> painting is G_B
        got = load_stylizer("cyclegan", tmp_path / "r", raw=raw)(photo) * 2 - 1
        assert torch.allclose(got, want[raw].clamp(-1, 1), atol=1e-2), raw
