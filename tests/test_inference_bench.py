"""`cyclegan-benchmark inference` end to end at a tiny size: the official test.py's per-image work against this
suite's configurations, with random weights or a trained generator file (--weights), and its rows' fields.

The figures themselves (speed-ups, differences at 256 px) are in docs/inference.md; here only what must hold on
any machine: float32 differs from the official only by rounding against truncation (at most one level)."""
import io
import json
import subprocess
import sys

import pytest
import torch

from cyclegan.bench.inference import run
from cyclegan.inference.errors import ModelFileError
from cyclegan.models.discriminators import define_D
from cyclegan.models.generators import define_G


def rows_of(text):
    return {r["config"]: r for r in map(json.loads, text.strip().splitlines())}


def test_random_weights_rows_compare_with_the_official():
    out = io.StringIO()
    rows = run(["official", "fp32", "default"], size=32, images=2, rounds=1, netG="resnet_6blocks", ngf=8,
               memory=False, out=out, log=lambda m: None)
    assert [r["config"] for r in rows] == ["official", "fp32", "default"]
    printed = rows_of(out.getvalue())
    assert printed["official"]["speedup_vs_official"] == 1.0
    assert printed["official"]["weights"].startswith("random")
    fp32 = printed["fp32"]
    # the official truncates to uint8 where this suite rounds: the same float32 math differs by at most a level
    assert 0 < fp32["uint8_mean_abs_vs_official"] < 1 and fp32["uint8_max_abs_vs_official"] == 1
    assert "uint8_mean_abs_vs_fp32" in printed["default"] and printed["default"]["images_per_s"] > 0


def test_weights_file_sets_the_architecture(tmp_path):
    torch.manual_seed(3)
    path = tmp_path / "trained_G.pth"
    torch.save(define_G(3, 3, 8, "resnet_6blocks", "instance").state_dict(), path)
    out = io.StringIO()
    # --netG/--ngf say otherwise: the file decides
    run(["official", "fp32"], size=32, images=2, rounds=1, netG="resnet_9blocks", ngf=64, memory=False, out=out,
        log=lambda m: None, weights=str(path))
    r = rows_of(out.getvalue())["fp32"]
    assert (r["netG"], r["ngf"], r["weights"]) == ("resnet_6blocks", 8, str(path))
    assert r["uint8_max_abs_vs_official"] <= 1


def test_weights_file_of_the_wrong_kind_is_refused(tmp_path):
    path = tmp_path / "net_D.pth"
    torch.save(define_D(3, 8, "basic", norm="instance").state_dict(), path)
    with pytest.raises(ModelFileError, match="net_D.pth"):
        run(["official", "default"], size=32, images=1, rounds=1, memory=False, out=io.StringIO(),
            log=lambda m: None, weights=str(path))


def test_command_line_takes_weights(tmp_path):
    path = tmp_path / "g.pth"
    torch.save(define_G(3, 3, 4, "resnet_6blocks", "instance").state_dict(), path)
    p = subprocess.run([sys.executable, "-m", "cyclegan.benchmark", "inference", "--configs", "official,default",
                        "--size", "32", "--images", "1", "--rounds", "1", "--no_memory", "--weights", str(path)],
                       capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    assert rows_of(p.stdout)["default"]["ngf"] == 4


def test_fast_nst_weights_time_this_suites_configurations(tmp_path):
    from cyclegan.nst.transformer import TransformerNet
    torch.manual_seed(0)
    path = tmp_path / "net_T.pth"
    torch.save(TransformerNet(ngf=4, n_res=1).state_dict(), path)
    out = io.StringIO()
    run(["fp32", "default"], size=32, images=2, rounds=1, memory=False, out=out, log=lambda m: None,
        weights=str(path))
    rows = rows_of(out.getvalue())
    assert (rows["default"]["netG"], rows["default"]["ngf"]) == ("fast_nst", 4)
    assert rows["default"]["uint8_mean_abs_vs_fp32"] < 8  # bf16 or float32 by the CPU: near the float32 output
    with pytest.raises(ModelFileError, match="drop official"):  # the official test.py has no fast NST
        run(["official", "default"], size=32, images=1, rounds=1, memory=False, out=io.StringIO(),
            log=lambda m: None, weights=str(path))
