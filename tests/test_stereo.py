"""cyclegan-stereo on generated pairs with a known shift: SGBM finds the shift, the left-right measure is ~0 for a
per-pixel map and large for a strided network, consistent stylisation lowers it; the command writes both views, a
side-by-side image, an anaglyph and stereo.json; a bad pair (different sizes, not an image) fails naming the file
and writes nothing."""
import json

import numpy as np
import pytest
import torch
from PIL import Image

from cyclegan.cli import stereo as stereo_cli
from cyclegan.images import save_image
from cyclegan.io import atomic_save
from cyclegan.media import stereo
from cyclegan.runs.layout import RunFolder
from cyclegan.nst.transformer import TransformerNet, stylize
from test_warp_error import colour_map, textured_canvas

SHIFT = 7  # not a multiple of the networks' stride of 4, so a strided network sees each view differently


def shifted_pair(w=96, h=48, shift=SHIFT):
    """(left, right): views of one flat scene; a point at x in the left view is at x - shift in the right one."""
    scene = torch.from_numpy(np.array(textured_canvas(w + shift, h))).permute(2, 0, 1).float() / 255
    return scene[..., :w], scene[..., shift:]


@pytest.fixture(scope="module")
def net():
    torch.manual_seed(0)
    return TransformerNet(8, 1).eval()


def test_sgbm_finds_the_known_shift():
    left, right = shifted_pair()
    d_left, d_right = stereo.disparities(left, right)
    valid = stereo.lr_check(d_left, d_right, -1)
    assert valid.mean() > 0.5 and np.all(np.abs(d_left[valid] - SHIFT) <= 1)
    assert np.nanmedian(d_left) == SHIFT and np.nanmedian(d_right) == SHIFT


def test_the_measure_is_zero_for_a_per_pixel_map_and_consistency_lowers_it(net):
    left, right = shifted_pair()
    mapped = stereo.stylize_pair(colour_map, left, right)
    assert mapped["independent_lr_error"] < 1e-4
    r = stereo.stylize_pair(lambda x: stylize(net, x), left, right)
    assert r["independent_lr_error"] > 1e-3 and r["lr_error"] < r["independent_lr_error"] / 10, r
    assert torch.allclose(r["independent_right"], stylize(net, right[None])[0], atol=1e-5)
    plain = stereo.stylize_pair(lambda x: stylize(net, x), left, right, consistent=False)
    assert plain["lr_error"] == plain["independent_lr_error"]
    assert torch.equal(plain["right"], plain["independent_right"])


def test_anaglyph_takes_red_from_the_left_eye():
    left, right = torch.zeros(3, 4, 5), torch.ones(3, 4, 5)
    a = stereo.anaglyph(left, right)
    assert a[0].max() == 0 and a[1:].min() == 1 and stereo.side_by_side(left, right).shape == (3, 4, 10)


@pytest.fixture
def run(tmp_path, net):
    """A fast-NST run folder holding an untrained network (the stereo path is under test, not the style)."""
    atomic_save(net.state_dict(), RunFolder(tmp_path / "ck" / "rand").net("latest", "T"))
    return ["--method", "fast_nst", "--name", "rand", "--checkpoints_dir", str(tmp_path / "ck"), "--device", "cpu"]


def test_the_command_writes_four_images_and_a_report(tmp_path, run, capsys):
    left, right = shifted_pair()
    save_image(left, tmp_path / "scene_L.png")
    save_image(right, tmp_path / "scene_R.png")
    out = tmp_path / "out"
    assert stereo_cli.main(["--left", str(tmp_path / "scene_L.png"), "--right", str(tmp_path / "scene_R.png"),
                            "--output", str(out), *run]) == 0
    names = sorted(p.name for p in out.iterdir())
    assert names == ["scene_L_anaglyph.png", "scene_L_left.png", "scene_L_right.png", "scene_L_sbs.png", "stereo.json"]
    assert Image.open(out / "scene_L_sbs.png").size == (192, 48)
    assert Image.open(out / "scene_L_left.png").size == (96, 48)
    report = json.loads((out / "stereo.json").read_text())[0]
    assert report["lr_error"] < report["independent_lr_error"] / 5 and report["disparity_median"] == SHIFT
    assert "left-right error" in capsys.readouterr().out


def test_side_by_side_folders_pair_up(tmp_path, run):
    left, right = shifted_pair()
    save_image(stereo.side_by_side(left, right), tmp_path / "sbs" / "a.png")
    save_image(stereo.side_by_side(right, left), tmp_path / "sbs" / "sub" / "b.png")
    assert stereo_cli.main(["--sbs", str(tmp_path / "sbs"), "--output", str(tmp_path / "out"), "--no-consistency",
                            *run]) == 0
    report = json.loads((tmp_path / "out" / "stereo.json").read_text())
    assert [r["outputs"]["left"] for r in report] == [str(tmp_path / "out" / "a_left.png"),
                                                       str(tmp_path / "out" / "sub" / "b_left.png")]
    assert all(r["lr_error"] == r["independent_lr_error"] for r in report)


@pytest.mark.parametrize("bad", ["sizes", "not_image", "odd_sbs", "unpaired"])
def test_a_bad_pair_names_the_file_and_writes_nothing(tmp_path, run, capsys, bad):
    left, right = shifted_pair()
    folder_l, folder_r = tmp_path / "L", tmp_path / "R"
    for name in ("a.png", "b.png"):  # a good pair first: nothing may be written for it either
        save_image(left, folder_l / name)
        save_image(right, folder_r / name)
    if bad == "sizes":
        culprit = save_image(right[..., :-2], folder_r / "b.png")
    elif bad == "not_image":
        culprit = folder_r / "b.png"
        culprit.write_text("not an image")
    elif bad == "unpaired":
        culprit = save_image(right, folder_r / "c.png")
    else:
        culprit = save_image(torch.rand(3, 8, 9), tmp_path / "odd.png")
    args = ["--sbs", str(culprit)] if bad == "odd_sbs" else ["--left", str(folder_l), "--right", str(folder_r)]
    out = tmp_path / "out"
    assert stereo_cli.main([*args, "--output", str(out), *run]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ") and str(culprit) in err and "Traceback" not in err, err
    assert not out.exists()


def test_the_cyclegan_method_loads_the_photo_to_painting_generator(tmp_path, capsys):
    from cyclegan.io import atomic_write_json
    from cyclegan.models.generators import define_G
    run_dir = tmp_path / "ck" / "gan"
    torch.manual_seed(0)
    for name in ("G_A", "G_B"):
        atomic_save(define_G(3, 3, 4, "resnet_6blocks", "instance", False).state_dict(),
                    run_dir / f"latest_net_{name}.pth")
    atomic_write_json(run_dir / "train_opt.json", {"netG": "resnet_6blocks", "ngf": 4, "norm": "instance"})
    left, right = shifted_pair()
    save_image(stereo.side_by_side(left, right), tmp_path / "pair.png")
    assert stereo_cli.main(["--sbs", str(tmp_path / "pair.png"), "--method", "cyclegan", "--name", "gan",
                            "--checkpoints_dir", str(tmp_path / "ck"), "--output", str(tmp_path / "out"),
                            "--device", "cpu"]) == 0, capsys.readouterr().err
    report = json.loads((tmp_path / "out" / "stereo.json").read_text())[0]
    assert report["lr_error"] < report["independent_lr_error"]
