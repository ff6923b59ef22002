"""cyclegan.load and the Translator: runs (both directions, EMA weights first), official latest_net_G.pth files
with the architecture read from the weights (the *_nearest generators too), fast-NST runs, ONNX exports;
PIL/tensor/batch round trips at odd sizes; tiles against the whole image; the CPU precision default; bad inputs.
Tiny nets (ngf 4-8), 32-64 px."""
import json
import subprocess
import sys

import numpy as np
import pytest
import torch
from PIL import Image

import cyclegan
from conftest import REPO, make_images, run_env, smooth_image
from cyclegan.errors import UserError
from cyclegan.images import ImageFileError
from cyclegan.inference import ModelFileError, NotTileable
from cyclegan.inference.tiling import tiled_forward
from cyclegan.models import speed
from cyclegan.models.discriminators import define_D
from cyclegan.models.generators import define_G
from cyclegan.nst.transformer import TransformerNet


def generator(netG="resnet_6blocks", norm="instance", ngf=4, dropout=False, seed=0):
    torch.manual_seed(seed)
    return define_G(3, 3, ngf, netG, norm, dropout).eval()


def eager(net, x):
    """What the official test does with an image in [0, 1] whose sides fit the net: float32, one call."""
    with torch.no_grad():
        return ((net(x * 2 - 1) + 1) / 2).clamp(0, 1)


@pytest.fixture
def run(tmp_path):
    """A CycleGAN run folder: G_A and G_B (different weights) and its train_opt.json."""
    folder = tmp_path / "run"
    folder.mkdir()
    nets = {}
    for seed, side in enumerate("AB"):
        nets[side] = generator(seed=seed)
        torch.save(nets[side].state_dict(), folder / f"latest_net_G_{side}.pth")
    (folder / "train_opt.json").write_text(json.dumps({"netG": "resnet_6blocks", "ngf": 4, "norm": "instance",
                                                       "no_dropout": True, "direction": "AtoB"}))
    return folder, nets


def test_api_round_trips_pil_tensors_and_batches_at_odd_sizes(run, tmp_path, one_thread):
    folder, nets = run
    t = cyclegan.load(str(folder), device="cpu", amp="none")
    x = smooth_image(1, 32, 48)
    assert torch.allclose(t(x), eager(nets["B"], x), atol=1e-5)  # photo2painting is G_B
    img = Image.fromarray((np.random.default_rng(0).random((37, 51, 3)) * 255).astype(np.uint8))
    out = t(img)
    assert isinstance(out, Image.Image) and out.size == (51, 37) and out.mode == "RGB"
    odd = torch.rand(2, 3, 33, 45)
    assert t(odd).shape == (2, 3, 33, 45) and t(odd[0]).shape == (3, 33, 45)
    assert torch.allclose(t(odd)[1], t(odd[1]), atol=1e-5)  # a batch is the same as one at a time
    as_uint8 = t((odd * 255).to(torch.uint8))
    assert as_uint8.dtype == torch.uint8 and as_uint8.shape == odd.shape
    arr = t(np.asarray(img))
    assert isinstance(arr, np.ndarray) and arr.shape == (37, 51, 3) and arr.dtype == np.uint8
    path = make_images(tmp_path / "in", 1, size=(30, 22))[0]
    mixed = t([img, odd[0], str(path), img])
    assert [type(m) for m in mixed] == [Image.Image, torch.Tensor, Image.Image, Image.Image]
    assert mixed[2].size == (30, 22) and np.array_equal(np.asarray(mixed[0]), np.asarray(mixed[3]))
    written = t.translate_file(path, tmp_path / "out" / "x.png")
    assert Image.open(written).size == (30, 22)


def test_runs_load_either_direction_and_prefer_ema_weights(run):
    folder, nets = run
    x = smooth_image(2, 32, 32)
    fwd = cyclegan.load(folder, "photo2painting", device="cpu", amp="none")
    back = cyclegan.load(folder, "painting2photo", device="cpu", amp="none")
    assert fwd.info["files"][0].endswith("latest_net_G_B.pth") and back.info["files"][0].endswith("latest_net_G_A.pth")
    assert torch.allclose(back(x), eager(nets["A"], x), atol=1e-5)
    ema = generator(seed=7)
    torch.save(ema.state_dict(), folder / "latest_net_G_B_ema.pth")
    with_ema = cyclegan.load(folder, device="cpu", amp="none")
    assert with_ema.info["files"][0].endswith("latest_net_G_B_ema.pth") and with_ema.info["ema"]
    assert torch.allclose(with_ema(x), eager(ema, x), atol=1e-5)
    raw = cyclegan.load(folder, device="cpu", amp="none", raw_weights=True)
    assert raw.info["files"][0].endswith("latest_net_G_B.pth") and torch.allclose(raw(x), eager(nets["B"], x), atol=1e-5)
    # a run trained with --direction BtoA has its photo->painting generator in G_A
    (folder / "train_opt.json").write_text(json.dumps({"direction": "BtoA"}))
    assert cyclegan.load(folder, device="cpu").info["files"][0].endswith("latest_net_G_A.pth")
    cyc = cyclegan.load(folder, device="cpu", amp="none", back=True, raw_weights=True)
    y, l1 = cyc.with_cycle(x)
    assert y.shape == x.shape and 0 < l1 < 1


@pytest.mark.parametrize("netG, norm, ngf, dropout", [
    ("resnet_9blocks", "instance", 8, False), ("resnet_6blocks", "batch", 4, False),
    ("resnet_6blocks", "none", 4, True), ("unet_128", "instance", 4, False), ("unet_256", "batch", 4, True),
    ("resnet_6blocks_nearest", "instance", 4, True), ("unet_128_nearest", "batch", 4, False)])
def test_official_files_load_with_the_architecture_read_from_the_weights(tmp_path, netG, norm, ngf, dropout,
                                                                          one_thread):
    net = generator(netG, norm, ngf, dropout)
    folder = tmp_path / "style_pretrained"
    folder.mkdir()
    sd = net.state_dict()
    if norm == "instance" and netG.startswith("resnet"):  # pre-0.4 files carry instance-norm running stats
        sd["model.2.running_mean"] = torch.zeros(ngf)
    torch.save(sd, folder / "latest_net_G.pth")
    for source in (folder, folder / "latest_net_G.pth"):
        t = cyclegan.load(source, device="cpu", amp="none")
        expect = dict(netG=netG, norm=norm, ngf=ngf, input_nc=3, output_nc=3)
        assert {k: t.info[k] for k in expect} == expect and t.direction is None
        if netG.startswith("resnet"):
            assert t.info["no_dropout"] is (not dropout)  # dropout shifts the ResNet block's layer indices
    assert t.multiple == {"unet_128": 128, "unet_256": 256}.get(netG.replace("_nearest", ""), 4)
    x = smooth_image(3, 40, 34)
    y = t(x)
    assert y.shape == x.shape  # padded to the multiple (bottom and right) and cropped back
    ph, pw = -40 % t.multiple, -34 % t.multiple
    padded = torch.nn.functional.pad(x, (0, pw, 0, ph), mode="reflect" if ph < 40 and pw < 34 else "replicate")
    assert torch.allclose(y, eager(net, padded)[..., :40, :34], atol=1e-5)


def test_given_architecture_that_does_not_fit_is_an_error(tmp_path):
    torch.save(generator().state_dict(), tmp_path / "g.pth")
    with pytest.raises(ModelFileError, match=r"g\.pth: holds a resnet_6blocks, ngf 4, instance norm generator, "
                                             r"but netG=unet_256 was given"):
        cyclegan.load(tmp_path / "g.pth", arch={"netG": "unet_256"})


def test_fast_nst_runs_load_and_stylise(tmp_path, one_thread):
    torch.manual_seed(0)
    net = TransformerNet(8, 2).eval()
    folder = tmp_path / "starry"
    folder.mkdir()
    torch.save(net.state_dict(), folder / "latest_net_T.pth")
    t = cyclegan.load(folder, device="cpu", amp="none")
    assert t.info["kind"] == "fast_nst" and (t.info["ngf"], t.info["n_res"]) == (8, 2)
    x = torch.rand(2, 3, 30, 42)
    with torch.no_grad():
        assert torch.allclose(t(x), net(x).clamp(0, 1), atol=1e-5)
    assert torch.allclose(cyclegan.load(folder, device="cpu", amp="none", tile=16)(x), t(x), atol=1e-5)


def test_tiled_and_untiled_agree_on_a_generated_image(tmp_path, one_thread):
    """Whole-image instance-norm statistics: tiles give the untiled result (float32: to rounding; bf16: within
    the 0.01 target), for the ResNet, U-Net and fast-NST layer kinds."""
    from cyclegan.inference.arch import SignedTransformer
    for net, (h, w) in ((generator("resnet_6blocks", ngf=8), (64, 88)), (generator("unet_128", ngf=4), (128, 256)),
                        (SignedTransformer(TransformerNet(8, 2).eval()), (60, 44)),
                        (generator("resnet_6blocks_nearest", ngf=8), (64, 88)),  # nearest x2 + pad + conv
                        (generator("unet_128_nearest", ngf=4), (128, 128))):
        x = smooth_image(4, h, w) * 2 - 1
        with torch.no_grad():
            whole = net(x)
            tiles = tiled_forward(net, x, tile=24, budget_bytes=1 << 20)  # a small budget: recomputes too
        assert (tiles - whole).abs().max() < 1e-4, type(net).__name__
    torch.save(generator(ngf=8).state_dict(), tmp_path / "g.pth")
    whole, tiled = (cyclegan.load(tmp_path / "g.pth", device="cpu", amp="bf16", tile=t) for t in (0, 20))
    photo = smooth_image(5, 64, 80)
    assert (tiled(photo) - whole(photo)).abs().mean() <= 0.01  # [0, 1] units


def test_tiles_are_chosen_when_the_image_would_not_fit(tmp_path, monkeypatch):
    torch.save(generator().state_dict(), tmp_path / "g.pth")
    t = cyclegan.load(tmp_path / "g.pth", device="cpu", memory_budget_mb=1)
    assert t.tile_for(1, 32, 32) is None  # 4 * 4 B * ngf 4 * 1024 px: far under 1 MB
    assert t.tile_for(1, 512, 512) == 512
    assert cyclegan.load(tmp_path / "g.pth", device="cpu", tile=0, memory_budget_mb=1).tile_for(1, 512, 512) is None
    calls = []
    monkeypatch.setattr("cyclegan.inference.translator.tiled_forward",
                        lambda *a, **k: calls.append(a[2]) or tiled_forward(*a, **k))
    assert t(torch.rand(3, 260, 200)).shape == (3, 260, 200) and calls == [512]


def test_the_cpu_precision_follows_the_bf16_probe(tmp_path, monkeypatch):
    torch.save(generator().state_dict(), tmp_path / "g.pth")
    for native, amp in ((True, "bf16"), (False, "none")):
        monkeypatch.setattr(speed, "native_bf16", lambda cpuinfo=None, n=native: n)
        assert cyclegan.load(tmp_path / "g.pth", device="cpu").speed.amp == amp
    assert cyclegan.load(tmp_path / "g.pth", device="cpu", amp="none").speed.amp == "none"


def test_cpu_bf16_casts_loaded_nets_once_and_stays_close_to_float32(run, tmp_path, one_thread):
    """bf16 on the CPU: the loaded nets become bf16 (channels_last, group_norm kernel) and run without autocast;
    a training model's net given to Translator.wrap is left as it is."""
    from cyclegan.inference.translator import Translator
    folder, nets = run
    x = smooth_image(6, 40, 52)
    ref = cyclegan.load(folder, device="cpu", amp="none")(x)
    fast = cyclegan.load(folder, device="cpu", amp="bf16")
    assert fast.bf16_weights and fast.speed.channels_last
    assert {p.dtype for p in fast.net.parameters()} == {torch.bfloat16}
    y = fast(x)
    assert y.dtype == torch.float32 and y.shape == x.shape
    assert (y - ref).abs().mean() < 0.01  # [0, 1] units
    autocast = cyclegan.load(folder, device="cpu", amp="bf16", bf16_math="autocast")
    assert {p.dtype for p in autocast.net.parameters()} == {torch.float32}
    assert (autocast(x) - y).abs().mean() < 0.01
    wrapped = Translator.wrap(nets["A"], amp="bf16")
    assert not wrapped.bf16_weights and {p.dtype for p in nets["A"].parameters()} == {torch.float32}
    assert wrapped(x).shape == x.shape
    torch.manual_seed(0)
    torch.save(TransformerNet(8, 2).state_dict(), tmp_path / "latest_net_T.pth")  # affine norms: group_norm too
    nst, nst32 = (cyclegan.load(tmp_path, device="cpu", amp=amp) for amp in ("bf16", "none"))
    assert any(isinstance(m, speed.FastInstanceNorm2d) and m.affine for m in nst.net.modules())
    assert (nst(x) - nst32(x)).abs().mean() < 0.01


@pytest.mark.slow  # the exporter takes ~15 s
def test_onnx_export_matches_pytorch_on_several_shapes_and_runs_through_the_api(run, tmp_path, one_thread):
    from cyclegan.inference.onnx import ExportMismatch, export
    folder, nets = run
    t = cyclegan.load(folder, "painting2photo", device="cpu", amp="none")
    shapes = [(1, 3, 32, 32), (2, 3, 24, 40), (1, 3, 44, 20)]
    checks = [torch.rand(s) * 2 - 1 for s in shapes]
    path = tmp_path / "g.onnx"
    with pytest.raises(ExportMismatch):
        export(t.net, t.info, path, checks, tolerance=0.0, log=lambda m: None)  # impossible tolerance
    assert not path.exists()  # nothing written
    worst = export(t.net, t.info, path, checks, log=lambda m: None)
    assert worst <= 1e-4
    o = cyclegan.load(path)
    assert o.onnx and o.direction == "painting2photo" and o.info["netG"] == "resnet_6blocks"
    x = torch.rand(2, 3, 29, 35)  # not a multiple of 4: padded and cropped around the graph
    assert torch.allclose(o(x), t(x), atol=1e-4)
    with pytest.raises(NotTileable, match="ONNX graphs run whole"):
        cyclegan.load(path, tile=16)(x)


@pytest.mark.slow  # the exporter
def test_onnx_export_of_a_nearest_upsampling_generator(tmp_path, one_thread):
    """The *_nearest generators (nearest x2 + conv instead of transposed convs) export with dynamic sizes."""
    from cyclegan.inference.onnx import export
    torch.save(generator("resnet_6blocks_nearest").state_dict(), tmp_path / "g.pth")
    t = cyclegan.load(tmp_path / "g.pth", device="cpu", amp="none")
    checks = [torch.rand(s) * 2 - 1 for s in ((1, 3, 32, 32), (1, 3, 24, 40))]
    assert export(t.net, t.info, tmp_path / "g.onnx", checks, log=lambda m: None) <= 1e-4
    o = cyclegan.load(tmp_path / "g.onnx")
    assert o.info["netG"] == "resnet_6blocks_nearest"
    x = torch.rand(1, 3, 28, 44)
    assert torch.allclose(o(x), t(x), atol=1e-4)


def test_bad_inputs_are_user_errors_naming_the_file(run, tmp_path, monkeypatch):
    folder, _ = run
    t = cyclegan.load(folder, device="cpu")
    with pytest.raises(ImageFileError, match="nope.jpg: no such image file"):
        t(str(tmp_path / "nope.jpg"))
    fake = tmp_path / "notes.jpg"
    fake.write_text("not an image")
    with pytest.raises(ImageFileError, match="notes.jpg: not a readable image"):
        t(str(fake))
    bomb = make_images(tmp_path / "bomb", 1, size=(64, 64), ext=".png")[0]
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)
    with pytest.raises(ImageFileError, match="bomb/img0.png: refused as a possible decompression bomb"):
        t(str(bomb))
    assert issubclass(ImageFileError, UserError) and issubclass(ModelFileError, UserError)
    torch.save(define_D(3, 4, "basic").state_dict(), tmp_path / "latest_net_D_A.pth")
    with pytest.raises(ModelFileError, match="latest_net_D_A.pth: not a generator"):
        cyclegan.load(tmp_path / "latest_net_D_A.pth")
    (tmp_path / "page.pth").write_text("<html>404</html>")
    with pytest.raises(ModelFileError, match="page.pth: not a PyTorch file"):
        cyclegan.load(tmp_path / "page.pth")
    with pytest.raises(ModelFileError, match="absent: no such run folder"):
        cyclegan.load(tmp_path / "absent")


def test_onnx_files_of_another_kind_are_refused(tmp_path):
    import onnx
    from onnx import TensorProto, helper

    def model(path, in_shape, out_shape, meta=None):
        graph = helper.make_graph([helper.make_node("Identity", ["x"], ["y"])], "g",
                                  [helper.make_tensor_value_info("x", TensorProto.FLOAT, in_shape)],
                                  [helper.make_tensor_value_info("y", TensorProto.FLOAT, out_shape)])
        m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
        for k, v in (meta or {}).items():
            p = m.metadata_props.add()
            p.key, p.value = k, v
        onnx.save(m, str(path))
        return path

    classifier = model(tmp_path / "resnet50.onnx", ["N", 1000], ["N", 1000])
    with pytest.raises(ModelFileError, match="resnet50.onnx: an ONNX model not exported by cyclegan-export"):
        cyclegan.load(classifier)
    gray = model(tmp_path / "gray.onnx", ["N", 1, "H", "W"], ["N", 1, "H", "W"], {"cyclegan.kind": "cyclegan"})
    with pytest.raises(ModelFileError, match="gray.onnx: its graph does not take and return float images of 3"):
        cyclegan.load(gray)
    (tmp_path / "junk.onnx").write_bytes(b"\x00\x01junk")
    with pytest.raises(ModelFileError, match="junk.onnx: not a readable ONNX model"):
        cyclegan.load(tmp_path / "junk.onnx")


def test_cyclegan_test_model_test_translates_through_the_api(run, tmp_path, one_thread):
    """--model test on a run's G_B with tiles forced: the page's fakes are the API's outputs (one uint8 level)."""
    from cyclegan.testing import run_test
    from options.test_options import TestOptions
    folder, nets = run
    photos = make_images(tmp_path / "photos", 2, size=(40, 28))
    opt = TestOptions().parse(["--dataroot", str(tmp_path / "photos"), "--name", "run", "--model", "test",
                               "--model_suffix", "_B", "--checkpoints_dir", str(folder.parent), "--results_dir",
                               str(tmp_path / "res"), "--preprocess", "none", "--gpu_ids", "-1", "--tile", "16",
                               "--amp", "none"])
    run_test(opt)
    images = tmp_path / "res" / "run" / "test_latest" / "images"
    api = cyclegan.load(folder, device="cpu", amp="none")
    for p in photos:
        page = np.asarray(Image.open(images / f"{p.stem}_fake.png"), dtype=np.int16)
        assert page.shape == (28, 40, 3)
        assert np.abs(page - np.asarray(api(Image.open(p)), dtype=np.int16)).max() <= 1


def test_cyclegan_test_model_test_takes_the_ema_file_unless_raw_weights(run, tmp_path):
    from cyclegan.testing import TranslatorModel
    from options.test_options import TestOptions
    folder, _ = run
    torch.save(generator(seed=7).state_dict(), folder / "latest_net_G_B_ema.pth")
    base = ["--dataroot", str(tmp_path), "--name", "run", "--model", "test", "--model_suffix", "_B",
            "--checkpoints_dir", str(folder.parent), "--gpu_ids", "-1", "--amp", "none"]
    for extra, want in (([], "latest_net_G_B_ema.pth"), (["--raw_weights"], "latest_net_G_B.pth")):
        opt = TestOptions().parse(base + extra)
        assert TranslatorModel(opt).translator.info["files"][0].endswith(want)


@pytest.mark.slow  # subprocesses and the exporter
def test_export_command_and_cyclegan_test_with_the_onnx_file(run, tmp_path):
    folder, _ = run
    make_images(tmp_path / "data" / "testB", 2, size=(48, 40))
    out = tmp_path / "g.onnx"
    cmd = [sys.executable, "-m", "cyclegan.export", "--name", "run", "--checkpoints_dir", str(folder.parent),
           "--output", str(out), "--check_images", str(tmp_path / "data" / "testB")]
    r = subprocess.run(cmd, cwd=REPO, env=run_env(), capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]
    assert "max |onnxruntime - pytorch|" in r.stdout and out.is_file()
    worst = float(r.stdout.split("max |onnxruntime - pytorch| = ")[-1].split()[0])
    assert worst <= 1e-3
    again = subprocess.run(cmd, cwd=REPO, env=run_env(), capture_output=True, text=True, timeout=600)
    assert again.returncode == 2 and "exists; pass --overwrite" in again.stderr
    one = subprocess.run(cmd[:-4] + ["--output", str(tmp_path / "x.onnx"), "--direction", "photo2painting",
                                     "--name", "style"], cwd=REPO, env=run_env(), capture_output=True, text=True)
    assert one.returncode == 2 and "no run folder" in one.stderr
    r = subprocess.run([sys.executable, "-m", "cyclegan.test", "--dataroot", str(tmp_path / "data" / "testB"),
                        "--name", "onnx", "--onnx", str(out), "--results_dir", str(tmp_path / "res"),
                        "--checkpoints_dir", str(tmp_path / "ck"), "--gpu_ids", "-1", "--load_size", "32",
                        "--crop_size", "32"], cwd=REPO, env=run_env(), capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]
    assert len(list((tmp_path / "res" / "onnx" / "test_latest" / "images").glob("*_fake.png"))) == 2


def test_the_readme_example_runs(run, tmp_path, monkeypatch, one_thread):
    """The README's API example, on a generated run and photo at the paths it names (the quick start's)."""
    folder, _ = run
    text = (REPO / "README.md").read_text(encoding="utf-8")
    example = text.split("**Use a trained model**")[1].split("```python\n")[1].split("```")[0]
    ck = tmp_path / "work" / "checkpoints"
    ck.mkdir(parents=True)
    folder.rename(ck / "synthetic_vangogh_small")
    make_images(tmp_path / "work" / "datasets" / "synthetic_vangogh" / "testB", 1, size=(50, 38), prefix="000",
                ext=".png")
    monkeypatch.chdir(tmp_path / "work")
    exec(compile(example, "README.md", "exec"), {})
    assert Image.open(tmp_path / "work" / "painting.png").size == (50, 38)
