"""Compiled inference (default on CUDA): compiled once per input shape, compile time reported apart from
images/s. On this CPU torch.compile runs with the "eager" dynamo backend (same wrapping, no code
generation: inductor takes minutes per net here)."""
import os

import pytest
import torch

from conftest import make_images
from cyclegan.models.weights import unwrap
from cyclegan.models.generators import define_G
from cyclegan.inference.compiled import CompiledNet, compile_for_inference


@pytest.fixture
def eager_compile(monkeypatch):
    real, calls = torch.compile, []

    def compile_eager(model, **kw):
        calls.append(kw.get("dynamic"))
        kw["backend"] = "eager"
        return real(model, **kw)

    monkeypatch.setattr(torch, "compile", compile_eager)
    return calls


def test_default_is_on_for_cuda_only():
    assert compile_for_inference("cuda") is True and compile_for_inference("cpu") is False
    assert compile_for_inference("cuda", False) is False and compile_for_inference("cpu", True) is True


def test_compiled_net_once_per_shape(eager_compile, one_thread):
    torch.manual_seed(0)
    net = define_G(3, 3, 4, "resnet_6blocks", "instance", False).eval()
    wrapped = CompiledNet(net)
    assert unwrap(wrapped) is net and eager_compile == [False]  # static shapes: one graph per shape
    x, x2 = torch.rand(2, 3, 32, 32), torch.rand(1, 3, 40, 32)
    with torch.no_grad():
        ref = net(x)
        wrapped.warm(x)
        assert list(wrapped.first_call_s) == [((2, 3, 32, 32), torch.float32)]
        assert torch.allclose(wrapped(x), ref, atol=1e-6)
        wrapped(x2)
        wrapped(x)
    assert len(wrapped.first_call_s) == 2 and wrapped.compile_seconds > 0


def test_a_failed_compilation_falls_back_to_the_plain_net(monkeypatch, capsys, one_thread):
    """torch.compile fails at the first call when, say, triton finds no C compiler: the plain net runs."""
    from cyclegan.inference.compiled import describe_compile

    def broken_compile(model, **kw):
        def call(x):
            raise RuntimeError("Failed to find C compiler. Please specify via CC environment variable.")
        return call
    monkeypatch.setattr(torch, "compile", broken_compile)
    torch.manual_seed(0)
    net = define_G(3, 3, 4, "resnet_6blocks", "instance", False).eval()
    wrapped = CompiledNet(net)
    x = torch.rand(1, 3, 32, 32)
    with torch.no_grad():
        wrapped.warm(x)
        assert torch.equal(wrapped(x), net(x))
    assert "torch.compile failed (RuntimeError: Failed to find C compiler" in capsys.readouterr().out
    assert wrapped.first_call_s == {} and "ran uncompiled" in describe_compile([wrapped])


def test_only_the_first_shapes_are_compiled(eager_compile, one_thread):
    """Photos of many sizes would each cost a compilation: past max_shapes the plain net runs, same results."""
    from cyclegan.inference.compiled import describe_compile
    torch.manual_seed(0)
    net = define_G(3, 3, 4, "resnet_6blocks", "instance", False).eval()
    wrapped = CompiledNet(net, max_shapes=2)
    sizes = [(32, 32), (36, 32), (40, 32), (32, 32), (44, 32)]
    with torch.no_grad():
        for h, w in sizes:
            x = torch.rand(1, 3, h, w)
            wrapped.warm(x)
            assert torch.allclose(wrapped(x), net(x), atol=1e-6)
    assert [k[0][2:] for k in wrapped.first_call_s] == [(32, 32), (36, 32)]
    assert sorted(k[0][2:] for k in wrapped.uncompiled) == [(40, 32), (44, 32)]
    note = describe_compile([wrapped])
    assert "2 input shape(s) once each" in note and "2 further shape(s) ran uncompiled (past 2 per generator)" in note


def test_cyclegan_test_reports_compile_time_apart(tmp_path, eager_compile, capsys, one_thread):
    from cyclegan.testing import run_test
    from options.test_options import TestOptions
    torch.manual_seed(0)
    run = tmp_path / "ck" / "style"
    run.mkdir(parents=True)
    torch.save(define_G(3, 3, 4, "resnet_6blocks", "instance", False).state_dict(), run / "latest_net_G.pth")
    make_images(tmp_path / "photos", 3, size=(32, 32))
    opt = TestOptions().parse(["--dataroot", str(tmp_path / "photos"), "--name", "style", "--model", "test",
                               "--checkpoints_dir", str(tmp_path / "ck"), "--results_dir", str(tmp_path / "res"),
                               "--netG", "resnet_6blocks", "--ngf", "4", "--no_dropout", "--gpu_ids", "-1",
                               "--load_size", "32", "--crop_size", "32", "--batch_size", "2", "--compile"])
    page = run_test(opt)
    out = capsys.readouterr().out
    assert "for 1 generator(s), 2 input shape(s) once each" in out  # batches of 2 then 1
    html = open(page).read()
    assert "torch.compile took" in html and "images/s" in html
    assert len(os.listdir(tmp_path / "res" / "style" / "test_latest" / "images")) == 6


def test_translator_compiles_outside_the_timing(tmp_path, eager_compile, one_thread):
    from cyclegan.inference import load
    torch.manual_seed(0)
    for side in ("A", "B"):
        torch.save(define_G(3, 3, 4, "resnet_6blocks", "instance", False).state_dict(),
                   tmp_path / f"latest_net_G_{side}.pth")
    plain = load(tmp_path, device="cpu", compile=False, back=True)
    comp = load(tmp_path, device="cpu", compile=True, back=True)
    photo = torch.rand(1, 3, 32, 32)
    comp.warm(photo)
    first = comp.compile_seconds
    assert first > 0
    (y1, c1), (y2, c2) = plain.with_cycle(photo), comp.with_cycle(photo)
    assert torch.allclose(y1, y2, atol=1e-6) and c1 == pytest.approx(c2, rel=1e-5)
    assert comp.compile_seconds == first  # no second compilation for the same shape


@pytest.mark.parametrize("amp", ["none", "bf16"])
def test_pixels_compile_the_conversions_with_the_net(tmp_path, eager_compile, one_thread, amp):
    """Translator.pixels (video's path): uint8 frames in and out. Compiled, frames that need no padding run through
    one PixelNet with the conversions inside (the same values as the float path: eager here, op by op the same);
    frames that need padding, and uncompiled translators, take the float path. The pixel net's compile time
    counts in compile_seconds."""
    from cyclegan.inference import load
    from cyclegan.inference.compiled import PixelNet
    torch.manual_seed(0)
    torch.save(define_G(3, 3, 4, "resnet_6blocks", "instance", False).state_dict(), tmp_path / "latest_net_G.pth")
    plain = load(tmp_path, device="cpu", compile=False, amp=amp)
    comp = load(tmp_path, device="cpu", compile=True, amp=amp)
    frames = (torch.rand(2, 32, 48, 3) * 255).to(torch.uint8)
    floats = plain.translate(frames.permute(0, 3, 1, 2).float() / 255)
    expected = (floats * 255 + 0.5).clamp(0, 255).to(torch.uint8).permute(0, 2, 3, 1)
    got, uncompiled = comp.pixels(frames.numpy()), plain.pixels(frames)
    assert isinstance(unwrap(comp._pixel_net), PixelNet) and comp.compile_seconds > 0 and plain._pixel_net is None
    assert got.dtype == torch.uint8 and got.shape == frames.shape
    assert torch.equal(got, expected) and torch.equal(uncompiled, expected)
    odd = (torch.rand(1, 30, 42, 3) * 255).to(torch.uint8)  # 30 x 42: padded to the net's multiple of 4
    out = comp.pixels(odd)
    assert out.shape == odd.shape and len(comp._pixel_net.first_call_s) == 1  # the float path, no new pixel graph
    assert torch.equal(out, plain.pixels(odd))
