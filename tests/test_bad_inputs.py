"""The dataset scan: a generated corpus of bad and odd images; training skips the unusable ones with one
warning, --strict makes them an error, and a file that goes bad during training is skipped and logged."""
import io
import logging
import os
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from cyclegan.data import UnalignedDataset
from cyclegan.data.scan import BadDatasetError, check_image, scan_images
from conftest import REPO, TINY, make_images, run_env


def write_bad_corpus(folder):
    """Every kind of bad or odd file the scan must handle; returns {file name: expected verdict}."""
    folder.mkdir(parents=True, exist_ok=True)
    rgb = Image.fromarray(np.random.default_rng(0).integers(0, 255, (48, 48, 3), dtype=np.uint8))
    buf = io.BytesIO()
    rgb.save(buf, "JPEG")
    jpeg = buf.getvalue()
    buf = io.BytesIO()
    rgb.save(buf, "PNG")
    png = buf.getvalue()
    (folder / "empty.jpg").write_bytes(b"")
    (folder / "truncated.jpg").write_bytes(jpeg[: len(jpeg) // 2])
    (folder / "truncated.png").write_bytes(png[: len(png) // 2])
    (folder / "text.jpg").write_text("this is not a picture\n")
    Image.new("RGB", (1, 1), "red").save(folder / "one_pixel.png")
    Image.new("1", (20000, 20000)).save(folder / "bomb.png")  # 400 Mpx: over PIL's 2x pixel limit
    os.symlink("loop_b.jpg", folder / "loop_a.jpg")
    os.symlink("loop_a.jpg", folder / "loop_b.jpg")
    rgb.resize((10, 12)).save(folder / "small.png")
    rgb.convert("CMYK").save(folder / "cmyk.jpg")
    Image.fromarray(np.asarray(rgb.convert("L"), dtype=np.uint16) * 257).save(folder / "sixteen_bit.png")
    rgb.convert("P").save(folder / "palette.png")
    rgb.convert("RGBA").save(folder / "rgba.png")
    rgb.convert("L").save(folder / "gray.jpg")
    rgb.save(folder / "name with 'quotes' \"and\" spaces é\nnewline.png")
    return {"empty.jpg": "empty", "truncated.jpg": "unreadable", "truncated.png": "unreadable",
            "text.jpg": "not an image", "one_pixel.png": "degenerate", "bomb.png": "decompression bomb",
            "loop_a.jpg": "unreadable", "loop_b.jpg": "unreadable",
            "small.png": "ok", "cmyk.jpg": "ok", "sixteen_bit.png": "ok", "palette.png": "ok", "rgba.png": "ok",
            "gray.jpg": "ok", "name with 'quotes' \"and\" spaces é\nnewline.png": "ok"}


def test_each_bad_input_gets_its_verdict(tmp_path):
    expected = write_bad_corpus(tmp_path / "corpus")
    for name, verdict in expected.items():
        problem, note = check_image(str(tmp_path / "corpus" / name), crop_size=32)
        print(f"{name!r:>50}: {problem or 'usable' + (' (' + note + ')' if note else '')}")
        if verdict == "ok":
            assert problem is None, (name, problem)
        else:
            assert problem is not None and verdict in problem, (name, problem)
    assert "smaller than crop_size" in check_image(str(tmp_path / "corpus" / "small.png"), 32)[1]
    assert "CMYK" in check_image(str(tmp_path / "corpus" / "cmyk.jpg"), 32)[1]


def test_scan_warns_once_and_strict_raises(tmp_path):
    expected = write_bad_corpus(tmp_path / "c")
    paths = sorted(str(p) for p in (tmp_path / "c").iterdir())
    with pytest.warns(UserWarning) as rec:
        good = scan_images(paths, crop_size=32, label="c")
    assert len(rec) == 1 and "skipping 8 unusable" in str(rec[0].message)
    assert len(good) == sum(v == "ok" for v in expected.values())
    with pytest.raises(BadDatasetError, match="truncated.jpg"):
        scan_images(paths, crop_size=32, strict=True, label="c")


@pytest.mark.slow
def test_training_runs_through_a_bad_corpus_and_strict_stops_it(tmp_path):
    root = tmp_path / "data"
    write_bad_corpus(root / "trainA")
    make_images(root / "trainB", 3)
    args = [sys.executable, "-m", "cyclegan.train", "--dataroot", str(root), "--name", "bad",
            "--checkpoints_dir", str(tmp_path / "ck"), *TINY, "--n_epochs", "1", "--n_epochs_decay", "0"]
    p = subprocess.run(args, cwd=REPO, env=run_env(), capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, p.stderr[-3000:]
    assert p.stderr.count("unusable file(s)") == 1 and "bomb.png" in p.stderr and "loop_a.jpg" in p.stderr
    assert "The number of training images = 7" in p.stdout  # the 7 usable paintings
    args[args.index("bad")] = "bad_strict"  # "bad" holds a run now: reusing its name would be refused
    strict = subprocess.run(args + ["--strict"], cwd=REPO, env=run_env(), capture_output=True, text=True,
                            timeout=600)
    assert strict.returncode == 1 and "--strict" in strict.stderr and "truncated.png" in strict.stderr


def test_a_file_that_goes_bad_during_training_is_skipped_and_logged(tiny_dataset, caplog):
    ds = UnalignedDataset(str(tiny_dataset), "train", serial_batches=True, load_size=36, crop_size=32)
    victim = ds.A_paths[1]
    with open(victim, "wb") as f:
        f.write(b"\xff\xd8\xff garbage")
    with caplog.at_level(logging.WARNING):
        item = ds[(1, 0)]
    assert item["A_paths"] != victim and item["A"].shape == (3, 32, 32)
    assert ds.skipped == [victim] and victim in caplog.text
