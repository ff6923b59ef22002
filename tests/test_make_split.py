"""scripts/make_split.py: the validation/test split of the 128 px measurements, as symlinks, apart where the
ablation's --test_dir check wants it apart; an existing output folder is refused and left as it was."""
import os
import subprocess
import sys
from pathlib import Path

from conftest import make_images

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "make_split.py"


def split(*args):
    return subprocess.run([sys.executable, str(SCRIPT), *map(str, args)], capture_output=True, text=True)


def test_split_links_every_image_once_and_keeps_validation_apart(tmp_path):
    data = tmp_path / "data"
    for sub, n, seed in (("trainA", 5, 1), ("trainB", 9, 2), ("testA", 3, 3), ("testB", 4, 4)):
        make_images(data / sub, n, seed=seed)
    out = tmp_path / "split"
    r = split(data, out, "--val", 3, "--seed", 33)
    assert r.returncode == 0, r.stderr
    names = {p: sorted(os.listdir(out / p)) for p in ("trainA", "trainB", "val/testA", "val/testB", "test/testA",
                                                        "test/testB")}
    assert [len(names[p]) for p in names] == [5, 6, 3, 3, 3, 4]
    assert not set(names["trainB"]) & set(names["val/testB"])  # the held-out photos never train
    assert sorted(names["trainB"] + names["val/testB"]) == sorted(os.listdir(data / "trainB"))
    assert all((out / "val/testB" / n).is_symlink() for n in names["val/testB"])
    assert split(data, tmp_path / "again", "--val", 3, "--seed", 33).returncode == 0  # the same seed, the same draw
    assert sorted(os.listdir(tmp_path / "again" / "val" / "testB")) == names["val/testB"]
    r = split(data, out)
    assert r.returncode != 0 and "exists" in r.stderr and sorted(os.listdir(out / "trainB")) == names["trainB"]
    r = split(data, tmp_path / "bad", "--val", 9)
    assert r.returncode != 0 and "--val 9 must be between 1 and 8" in r.stderr
