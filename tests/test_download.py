"""Tests for scripts/download_cyclegan_dataset.sh and scripts/download_cyclegan_model.sh.

Both scripts run for real (bash, curl, python) against a local HTTP server on 127.0.0.1
(tests/http_fixture.py) that serves a valid zip, a truncated zip, a 404, a response that
breaks midway (to test resuming), a valid .pth and an HTML page posing as one. Each case
checks the exit code, the message and exactly what is left on disk.
"""
import io
import os
import socket
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

pytestmark = pytest.mark.slow  # the download scripts run as bash subprocesses against a local HTTP server

try:
    from tests.http_fixture import LocalFileServer
except ImportError:  # tests/ is not a package: pytest put tests/ itself on sys.path
    from http_fixture import LocalFileServer

REPO = Path(__file__).resolve().parents[1]
DATASET_SH = REPO / "scripts" / "download_cyclegan_dataset.sh"
MODEL_SH = REPO / "scripts" / "download_cyclegan_model.sh"
DEFAULT_DATA_URL = "http://efrosgans.eecs.berkeley.edu/cyclegan/datasets"
DEFAULT_MODEL_URL = "http://efrosgans.eecs.berkeley.edu/cyclegan/pretrained_models"
BAD_NAMES = ["../etc", "$(touch pwned)", "a;b", "`touch pwned`", "horse2zebra/../x", "Horse2Zebra"]


def png_bytes(size, color):
    buf = io.BytesIO()
    Image.new("RGB", size, color).save(buf, format="PNG")
    return buf.getvalue()


def make_zip(name, folders=("trainA", "trainB", "testA", "testB"), extra=()):
    """A dataset zip in the official layout: NAME/<folder>/<two tiny PNGs>."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as z:
        for k, folder in enumerate(folders):
            for i in range(2):
                z.writestr(f"{name}/{folder}/{i}_{folder}.png", png_bytes((32, 32), (40 * k, 50 * i, 90)))
        for arcname, data in extra:
            z.writestr(arcname, data)
    return buf.getvalue()


def make_pth(state):
    buf = io.BytesIO()
    torch.save(state, buf)
    return buf.getvalue()


def run(script, args, cwd, **env_overrides):
    """Run a download script the way a user would, with a clean proxy-free environment."""
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower() and not k.startswith("CYCLEGAN_")}
    env["PYTHON"] = sys.executable
    env.update(env_overrides)
    start = time.monotonic()
    proc = subprocess.run(["bash", str(script), *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=120)
    proc.seconds = time.monotonic() - start
    return proc


def leftovers(folder):
    """Every path under `folder`, relative, so a test can assert nothing stray was left."""
    return sorted(str(p.relative_to(folder)) for p in Path(folder).rglob("*"))


def closed_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def server():
    with LocalFileServer() as srv:
        yield srv


# ---------------------------------------------------------------- names and usage

@pytest.mark.parametrize("script,kind", [(DATASET_SH, "dataset"), (MODEL_SH, "model")])
@pytest.mark.parametrize("bad", BAD_NAMES)
def test_unknown_name_exits_2_lists_names_and_creates_nothing(tmp_path, server, script, kind, bad):
    proc = run(script, [bad], tmp_path, CYCLEGAN_DATA_URL=server.url, CYCLEGAN_MODEL_URL=server.url)
    assert proc.returncode == 2, proc.stderr
    assert f"unknown {kind} name" in proc.stderr
    assert f"valid {kind} names:" in proc.stderr
    assert ("horse2zebra" if kind == "dataset" else "style_vangogh") in proc.stderr
    assert leftovers(tmp_path) == []  # no pwned file, no datasets/ or checkpoints/
    assert server.requests == []


@pytest.mark.parametrize("script", [DATASET_SH, MODEL_SH])
@pytest.mark.parametrize("args", [[], ["--frobnicate", "horse2zebra"], ["horse2zebra", "maps"]])
def test_bad_usage_exits_2(tmp_path, script, args):
    proc = run(script, args, tmp_path)
    assert proc.returncode == 2
    assert "usage:" in proc.stderr and "names: " in proc.stderr
    assert leftovers(tmp_path) == []


# ---------------------------------------------------------------- datasets

def test_dataset_valid_zip_is_extracted(tmp_path, server):
    server.add("/horse2zebra.zip", make_zip("horse2zebra"))
    proc = run(DATASET_SH, ["horse2zebra"], tmp_path, CYCLEGAN_DATA_URL=server.url + "/")
    assert proc.returncode == 0, proc.stderr
    assert "datasets/horse2zebra" in proc.stdout
    root = tmp_path / "datasets" / "horse2zebra"
    for folder in ("trainA", "trainB", "testA", "testB"):
        assert sorted(p.name for p in (root / folder).iterdir()) == [f"0_{folder}.png", f"1_{folder}.png"]
    assert Image.open(root / "trainB" / "1_trainB.png").size == (32, 32)
    assert len(leftovers(root)) == 4 + 8
    assert [p.name for p in (tmp_path / "datasets").iterdir()] == ["horse2zebra"]  # no .part, no temp folder


def test_dataset_directory_override(tmp_path, server):
    server.add("/maps.zip", make_zip("maps"))
    proc = run(DATASET_SH, ["maps"], tmp_path, CYCLEGAN_DATA_URL=server.url,
               CYCLEGAN_DATASETS_DIR=str(tmp_path / "elsewhere"))
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "elsewhere" / "maps" / "testB").is_dir()
    assert not (tmp_path / "datasets").exists()


def test_dataset_truncated_zip_is_rejected_and_deleted(tmp_path, server):
    data = make_zip("facades")
    server.add("/facades.zip", data[: len(data) * 2 // 3])
    proc = run(DATASET_SH, ["facades"], tmp_path, CYCLEGAN_DATA_URL=server.url)
    assert proc.returncode == 1
    assert "not a valid zip file" in proc.stderr
    assert "not a usable zip" in proc.stderr and "deleted" in proc.stderr
    assert leftovers(tmp_path) == ["datasets"]  # no folder, no .part, no temp folder


def test_dataset_404_names_url_and_variable(tmp_path, server):
    proc = run(DATASET_SH, ["monet2photo"], tmp_path, CYCLEGAN_DATA_URL=server.url)
    assert proc.returncode == 1
    assert f"{server.url}/monet2photo.zip answered HTTP 404" in proc.stderr
    assert "CYCLEGAN_DATA_URL" in proc.stderr
    assert leftovers(tmp_path) == ["datasets"]


def test_dataset_broken_download_resumes_with_range(tmp_path, server):
    data = make_zip("vangogh2photo")
    half = len(data) // 2
    server.add("/vangogh2photo.zip", data, break_at=half)
    part = tmp_path / "datasets" / "vangogh2photo.zip.part"

    first = run(DATASET_SH, ["vangogh2photo"], tmp_path, CYCLEGAN_DATA_URL=server.url)
    assert first.returncode == 1
    assert "broke off" in first.stderr and "Re-run the same command to resume" in first.stderr
    assert part.stat().st_size == half
    assert not (tmp_path / "datasets" / "vangogh2photo").exists()

    second = run(DATASET_SH, ["vangogh2photo"], tmp_path, CYCLEGAN_DATA_URL=server.url)
    assert second.returncode == 0, second.stderr
    assert server.requests_for("/vangogh2photo.zip") == [None, f"bytes={half}-"]
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        for info in z.infolist():
            assert (tmp_path / "datasets" / info.filename).read_bytes() == z.read(info)
    assert not part.exists()
    assert leftovers(tmp_path / "datasets")[0] == "vangogh2photo"


@pytest.mark.parametrize("evil", ["../evil.txt", "apple2orange/../../evil.txt", "/tmp/evil.txt"])
def test_dataset_zip_slip_is_refused(tmp_path, server, evil):
    server.add("/apple2orange.zip", make_zip("apple2orange", extra=[(evil, b"x")]))
    proc = run(DATASET_SH, ["apple2orange"], tmp_path, CYCLEGAN_DATA_URL=server.url)
    assert proc.returncode == 1
    assert f"unsafe path in the zip: {evil!r}" in proc.stderr
    assert leftovers(tmp_path) == ["datasets"]


def test_dataset_missing_domain_folder_is_refused(tmp_path, server):
    server.add("/cezanne2photo.zip", make_zip("cezanne2photo", folders=("trainA", "trainB", "testA")))
    proc = run(DATASET_SH, ["cezanne2photo"], tmp_path, CYCLEGAN_DATA_URL=server.url)
    assert proc.returncode == 1
    assert "no testB folder(s)" in proc.stderr
    assert leftovers(tmp_path) == ["datasets"]


def test_dataset_layouts_other_than_name_slash_domains(tmp_path, server):
    """A zip with the domain folders at its root is accepted; ae_photos may lack them (with a note)."""
    flat = make_zip("x")
    with zipfile.ZipFile(io.BytesIO(flat)) as src, zipfile.ZipFile(buf := io.BytesIO(), "w") as dst:
        for info in src.infolist():
            dst.writestr(info.filename[len("x/"):], src.read(info))
    server.add("/iphone2dslr_flower.zip", buf.getvalue())
    server.add("/ae_photos.zip", make_zip("ae_photos", folders=("photos",)))
    flat_run = run(DATASET_SH, ["iphone2dslr_flower"], tmp_path, CYCLEGAN_DATA_URL=server.url)
    assert flat_run.returncode == 0, flat_run.stderr
    assert (tmp_path / "datasets" / "iphone2dslr_flower" / "testA" / "1_testA.png").is_file()
    ae = run(DATASET_SH, ["ae_photos"], tmp_path, CYCLEGAN_DATA_URL=server.url)
    assert ae.returncode == 0, ae.stderr
    assert "note: ae_photos has no trainA trainB testA testB folder(s)" in ae.stderr
    assert (tmp_path / "datasets" / "ae_photos" / "photos" / "0_photos.png").is_file()
    assert sorted(p.name for p in (tmp_path / "datasets").iterdir()) == ["ae_photos", "iphone2dslr_flower"]


def test_dataset_existing_is_kept_without_force_and_replaced_with_force(tmp_path, server):
    server.add("/ukiyoe2photo.zip", make_zip("ukiyoe2photo"))
    old = tmp_path / "datasets" / "ukiyoe2photo"
    (old / "trainA").mkdir(parents=True)
    (old / "trainA" / "mine.jpg").write_bytes(b"user data")

    kept = run(DATASET_SH, ["ukiyoe2photo"], tmp_path, CYCLEGAN_DATA_URL=server.url)
    assert kept.returncode == 1
    assert "already exists" in kept.stderr and "--force" in kept.stderr
    assert (old / "trainA" / "mine.jpg").read_bytes() == b"user data"
    assert server.requests == []

    replaced = run(DATASET_SH, ["--force", "ukiyoe2photo"], tmp_path, CYCLEGAN_DATA_URL=server.url)
    assert replaced.returncode == 0, replaced.stderr
    assert not (old / "trainA" / "mine.jpg").exists()
    assert (old / "testB" / "1_testB.png").is_file()
    assert [p for p in leftovers(tmp_path / "datasets") if "/" not in p] == ["ukiyoe2photo"]


def test_dataset_force_keeps_old_dataset_when_new_download_fails(tmp_path, server):
    old = tmp_path / "datasets" / "summer2winter_yosemite"
    old.mkdir(parents=True)
    (old / "keep.txt").write_text("old")
    proc = run(DATASET_SH, ["summer2winter_yosemite", "--force"], tmp_path, CYCLEGAN_DATA_URL=server.url)
    assert proc.returncode == 1 and "HTTP 404" in proc.stderr
    assert leftovers(tmp_path) == ["datasets", "datasets/summer2winter_yosemite",
                                   "datasets/summer2winter_yosemite/keep.txt"]


# ---------------------------------------------------------------- offline

@pytest.mark.parametrize("script,name,var,default,top", [
    (DATASET_SH, "mini", "CYCLEGAN_DATA_URL", DEFAULT_DATA_URL + "/mini.zip", "datasets"),
    (MODEL_SH, "style_vangogh", "CYCLEGAN_MODEL_URL", DEFAULT_MODEL_URL + "/style_vangogh.pth", "checkpoints"),
])
def test_offline_fails_fast_naming_url_and_variable(tmp_path, script, name, var, default, top):
    port = closed_port()
    mirror = run(script, [name], tmp_path, **{var: f"http://127.0.0.1:{port}/mirror"})
    assert mirror.returncode == 1
    assert f"could not download http://127.0.0.1:{port}/mirror/{name}." in mirror.stderr
    assert var in mirror.stderr
    assert mirror.seconds < 15
    # The default host, made unreachable hermetically through a proxy that refuses connections.
    official = run(script, [name], tmp_path, http_proxy=f"http://127.0.0.1:{port}")
    assert official.returncode == 1
    assert f"could not download {default}" in official.stderr and var in official.stderr
    assert official.seconds < 15
    assert leftovers(tmp_path) == [top]  # the empty parent folder only, no .part


# ---------------------------------------------------------------- models

def test_model_valid_pth_is_installed(tmp_path, server):
    state = {"model.1.weight": torch.randn(4, 3, 3, 3), "model.1.bias": torch.randn(4)}
    server.add("/horse2zebra.pth", make_pth(state))
    proc = run(MODEL_SH, ["horse2zebra"], tmp_path, CYCLEGAN_MODEL_URL=server.url)
    assert proc.returncode == 0, proc.stderr
    assert "2 tensors holding 112 values" in proc.stdout
    assert "--name horse2zebra_pretrained --model test --no_dropout" in proc.stdout
    got = torch.load(tmp_path / "checkpoints/horse2zebra_pretrained/latest_net_G.pth", weights_only=True)
    assert got.keys() == state.keys() and all(torch.equal(got[k], state[k]) for k in state)
    assert leftovers(tmp_path) == ["checkpoints", "checkpoints/horse2zebra_pretrained",
                                   "checkpoints/horse2zebra_pretrained/latest_net_G.pth"]


def test_model_html_page_is_rejected_and_deleted(tmp_path, server):
    server.add("/style_monet.pth", b"<!DOCTYPE html><html><body>Service Unavailable</body></html>",
               content_type="text/html")
    proc = run(MODEL_SH, ["style_monet"], tmp_path, CYCLEGAN_MODEL_URL=server.url)
    assert proc.returncode == 1
    assert "an HTML/XML page" in proc.stderr
    assert "no latest_net_G.pth was written" in proc.stderr
    assert leftovers(tmp_path) == ["checkpoints"]


def test_model_non_state_dict_is_rejected(tmp_path, server):
    server.add("/map2sat.pth", make_pth({"epoch": 3, "note": "not weights"}))
    proc = run(MODEL_SH, ["map2sat"], tmp_path, CYCLEGAN_MODEL_URL=server.url)
    assert proc.returncode == 1
    assert "not a state dict" in proc.stderr
    assert leftovers(tmp_path) == ["checkpoints"]


def test_model_404_names_url_and_variable(tmp_path, server):
    proc = run(MODEL_SH, ["sat2map"], tmp_path, CYCLEGAN_MODEL_URL=server.url)
    assert proc.returncode == 1
    assert f"{server.url}/sat2map.pth answered HTTP 404" in proc.stderr
    assert "CYCLEGAN_MODEL_URL" in proc.stderr
    assert leftovers(tmp_path) == ["checkpoints"]


def test_model_broken_download_resumes_with_range(tmp_path, server):
    state = {"w": torch.randn(64, 64)}
    data = make_pth(state)
    cut = len(data) // 3
    server.add("/zebra2horse.pth", data, break_at=cut)
    folder = tmp_path / "checkpoints" / "zebra2horse_pretrained"

    first = run(MODEL_SH, ["zebra2horse"], tmp_path, CYCLEGAN_MODEL_URL=server.url)
    assert first.returncode == 1 and "broke off" in first.stderr
    assert leftovers(folder) == ["latest_net_G.pth.part"]
    assert (folder / "latest_net_G.pth.part").stat().st_size == cut

    second = run(MODEL_SH, ["zebra2horse"], tmp_path, CYCLEGAN_MODEL_URL=server.url)
    assert second.returncode == 0, second.stderr
    assert server.requests_for("/zebra2horse.pth") == [None, f"bytes={cut}-"]
    assert (folder / "latest_net_G.pth").read_bytes() == data
    assert leftovers(folder) == ["latest_net_G.pth"]


def test_model_existing_is_kept_without_force_and_replaced_with_force(tmp_path, server):
    new = {"w": torch.ones(3)}
    server.add("/monet2photo.pth", make_pth(new))
    target = tmp_path / "checkpoints" / "monet2photo_pretrained" / "latest_net_G.pth"
    target.parent.mkdir(parents=True)
    torch.save({"w": torch.zeros(3)}, target)

    kept = run(MODEL_SH, ["monet2photo"], tmp_path, CYCLEGAN_MODEL_URL=server.url)
    assert kept.returncode == 1 and "already exists" in kept.stderr and "--force" in kept.stderr
    assert torch.equal(torch.load(target, weights_only=True)["w"], torch.zeros(3))

    replaced = run(MODEL_SH, ["--force", "monet2photo"], tmp_path, CYCLEGAN_MODEL_URL=server.url)
    assert replaced.returncode == 0, replaced.stderr
    assert torch.equal(torch.load(target, weights_only=True)["w"], torch.ones(3))


def test_model_force_keeps_old_file_when_new_one_is_html(tmp_path, server):
    server.add("/style_ukiyoe.pth", b"<html>moved</html>", content_type="text/html")
    target = tmp_path / "checkpoints" / "style_ukiyoe_pretrained" / "latest_net_G.pth"
    target.parent.mkdir(parents=True)
    torch.save({"w": torch.zeros(2)}, target)
    proc = run(MODEL_SH, ["--force", "style_ukiyoe"], tmp_path, CYCLEGAN_MODEL_URL=server.url)
    assert proc.returncode == 1 and "an HTML/XML page" in proc.stderr
    assert torch.equal(torch.load(target, weights_only=True)["w"], torch.zeros(2))
    assert leftovers(target.parent) == ["latest_net_G.pth"]


def test_verify_weights_module(tmp_path):
    from cyclegan.cli import verify_weights
    good, bad = tmp_path / "good.pth", tmp_path / "bad.pth"
    torch.save({"a": torch.zeros(2, 5), "b": torch.zeros(3)}, good)
    bad.write_text("<html>oops</html>")
    assert verify_weights.summarize(good) == (2, 13)
    assert verify_weights.main([str(good)]) == 0
    assert verify_weights.main([str(good), str(bad)]) == 1


@pytest.mark.parametrize("ranges,stale", [(False, "half"), (True, "full")])
def test_unresumable_part_restarts_from_scratch(tmp_path, server, ranges, stale):
    """A mirror without Range support, or a .part already complete (416), restarts once."""
    data = make_pth({"w": torch.randn(16, 16)})
    server.add("/orange2apple.pth", data, ranges=ranges)
    part = tmp_path / "checkpoints" / "orange2apple_pretrained" / "latest_net_G.pth.part"
    part.parent.mkdir(parents=True)
    kept = len(data) // 2 if stale == "half" else len(data)
    part.write_bytes(data[:kept])
    proc = run(MODEL_SH, ["orange2apple"], tmp_path, CYCLEGAN_MODEL_URL=server.url)
    assert proc.returncode == 0, proc.stderr
    assert "starting the download again from the beginning" in proc.stderr
    assert server.requests_for("/orange2apple.pth") == [f"bytes={kept}-", None]
    assert leftovers(part.parent) == ["latest_net_G.pth"]
    assert (part.parent / "latest_net_G.pth").read_bytes() == data


# ---------------------------------------------------------------- end to end with cyclegan-test

def test_downloaded_model_translates_photos_with_official_test_flags(tmp_path, server):
    """Download a tiny generator under an official name, then run the official single-direction test."""
    from cyclegan.models.generators import define_G
    torch.manual_seed(0)
    net = define_G(3, 3, 8, "resnet_6blocks", "instance")
    server.add("/style_vangogh.pth", make_pth(net.state_dict()))
    got = run(MODEL_SH, ["style_vangogh"], tmp_path, CYCLEGAN_MODEL_URL=server.url)
    assert got.returncode == 0, got.stderr

    photos = tmp_path / "photos"
    photos.mkdir()
    sizes = {"tall": (40, 52), "wide": (48, 36)}  # multiples of 4, as the resnet generator needs
    for stem, size in sizes.items():
        Image.effect_noise(size, 60).convert("RGB").save(photos / f"{stem}.png")
    proc = subprocess.run(
        [sys.executable, "-m", "cyclegan.test", "--dataroot", str(photos), "--name", "style_vangogh_pretrained",
         "--model", "test", "--no_dropout", "--netG", "resnet_6blocks", "--ngf", "8", "--preprocess", "none",
         "--amp", "none",  # official float32 math: bf16, the default on CPUs with native bf16, differs by ~3 levels
         "--checkpoints_dir", "checkpoints", "--results_dir", "results"],
        cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(REPO)}, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = tmp_path / "results" / "style_vangogh_pretrained" / "test_latest"
    assert (out / "index.html").is_file()
    net.eval()
    for stem, size in sizes.items():
        fake = Image.open(out / "images" / f"{stem}_fake.png")
        assert fake.size == size
        # The page must show what the downloaded generator makes of this photo, not random weights.
        real = torch.from_numpy(np.asarray(Image.open(photos / f"{stem}.png"), dtype=np.float32) / 127.5 - 1)
        with torch.no_grad():
            want = net(real.permute(2, 0, 1)[None])[0].permute(1, 2, 0)
        want = ((want.numpy() + 1) * 127.5).clip(0, 255)
        assert np.abs(np.asarray(fake, dtype=np.float32) - want).max() <= 2.0
