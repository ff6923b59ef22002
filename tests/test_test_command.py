"""cyclegan-test --model cycle_gan translates through cyclegan.load (the one inference path): its six pictures are
the official CycleGANModel.test's (G_A, then G_B back, and the other side), within one uint8 level in float32, and
--direction BtoA swaps the sides as officially."""
import json

import numpy as np
import pytest
import torch
from PIL import Image

from conftest import make_tiny_dataset


def save_run(folder):
    from cyclegan.models.generators import define_G
    folder.mkdir(parents=True)
    nets = {}
    for seed, name in enumerate(("G_A", "G_B")):
        torch.manual_seed(seed)
        nets[name] = define_G(3, 3, 8, "resnet_6blocks", "instance", False).eval()
        torch.save(nets[name].state_dict(), folder / f"latest_net_{name}.pth")
    (folder / "train_opt.json").write_text(json.dumps({"netG": "resnet_6blocks", "ngf": 8, "norm": "instance",
                                                       "no_dropout": True, "model": "cycle_gan"}))
    return nets


def png(path):
    return torch.from_numpy(np.asarray(Image.open(path), dtype=np.float32)).permute(2, 0, 1) / 127.5 - 1


@pytest.mark.parametrize("direction", ["AtoB", "BtoA"])
def test_cycle_gan_test_matches_the_official_forward(tmp_path, direction):
    from cyclegan.cli.test import run
    root = make_tiny_dataset(tmp_path / "data")
    nets = save_run(tmp_path / "ck" / "tiny")
    page = run(["--dataroot", str(root), "--name", "tiny", "--checkpoints_dir", str(tmp_path / "ck"),
                "--model", "cycle_gan", "--results_dir", str(tmp_path / "results"), "--amp", "none",
                "--gpu_ids", "-1", "--num_threads", "0", "--load_size", "32", "--crop_size", "32",
                "--direction", direction, "--num_test", "2"])
    images = tmp_path / "results" / "tiny" / "test_latest" / "images"
    assert page.endswith("index.html") and len(list(images.glob("*.png"))) == 12
    checked = 0
    for real_a in sorted(images.glob("*_real_A.png")):
        x = png(real_a)[None]
        with torch.no_grad():
            fake_b = nets["G_A"](x)
            rec_a = nets["G_B"](fake_b)
        stem = real_a.name[:-len("_real_A.png")]
        for name, want in (("fake_B", fake_b), ("rec_A", rec_a)):
            got = png(images / f"{stem}_{name}.png")
            assert (got - want[0].clamp(-1, 1)).abs().mean().item() * 127.5 <= 1.0, (name, direction)
            checked += 1
    for real_b in sorted(images.glob("*_real_B.png")):
        y = png(real_b)[None]
        with torch.no_grad():
            fake_a = nets["G_B"](y)
        stem = real_b.name[:-len("_real_B.png")]
        assert (png(images / f"{stem}_fake_A.png") - fake_a[0].clamp(-1, 1)).abs().mean().item() * 127.5 <= 1.0
        checked += 1
    assert checked == 6
    names = {p.name.rsplit("_", 2)[0] for p in images.glob("*_real_A.png")}
    assert names and all("im é" in n for n in names), names  # named after the input files
