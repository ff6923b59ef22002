"""Build the validation/test split the 128 px recipe measurements use (docs/recipes.md), as symlinks.

From a dataset with trainA/trainB/testA/testB it makes OUT/ with
  trainA          every trainA image
  trainB          trainB minus N photos drawn with --seed (sorted names, random.Random(seed).shuffle)
  val/testA       the testA paintings        val/testB   the N drawn trainB photos
  test/testA      the same testA paintings   test/testB  the testB photos
so validation chooses (cyclegan-ablate --eval_dir OUT/val) and test reports (--test_dir OUT/test) on photos
that play no other part.  Nothing is copied.

  python scripts/make_split.py ../shared/data/vangogh2photo-mini /tmp/v2p_split --val 40 --seed 33
"""
import argparse
import os
import random
import sys

IMAGE_EXT = (".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff")


def images(folder):
    if not os.path.isdir(folder):
        sys.exit(f"make_split: {folder} is not a folder; the dataset needs trainA, trainB, testA and testB")
    return sorted(f for f in os.listdir(folder) if f.lower().endswith(IMAGE_EXT))


def link_all(src_dir, names, dst_dir):
    os.makedirs(dst_dir, exist_ok=True)
    for n in names:
        os.symlink(os.path.realpath(os.path.join(src_dir, n)), os.path.join(dst_dir, n))


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("dataroot")
    p.add_argument("out")
    p.add_argument("--val", type=int, default=40, help="trainB photos held out for validation")
    p.add_argument("--seed", type=int, default=33)
    a = p.parse_args(argv)
    if os.path.exists(a.out):
        sys.exit(f"make_split: {a.out} exists; pass a new folder (nothing was changed)")
    train_b = images(os.path.join(a.dataroot, "trainB"))
    if not 0 < a.val < len(train_b):
        sys.exit(f"make_split: --val {a.val} must be between 1 and {len(train_b) - 1} (trainB has {len(train_b)})")
    drawn = list(train_b)
    random.Random(a.seed).shuffle(drawn)
    val_b, keep_b = sorted(drawn[:a.val]), sorted(drawn[a.val:])
    src = {s: os.path.join(a.dataroot, s) for s in ("trainA", "trainB", "testA", "testB")}
    link_all(src["trainA"], images(src["trainA"]), os.path.join(a.out, "trainA"))
    link_all(src["trainB"], keep_b, os.path.join(a.out, "trainB"))
    link_all(src["trainB"], val_b, os.path.join(a.out, "val", "testB"))
    for part in ("val", "test"):
        link_all(src["testA"], images(src["testA"]), os.path.join(a.out, part, "testA"))
    link_all(src["testB"], images(src["testB"]), os.path.join(a.out, "test", "testB"))
    print(f"{a.out}: train {len(images(src['trainA']))} A / {len(keep_b)} B; val {a.val} B (seed {a.seed}); "
          f"test {len(images(src['testB']))} B; both held-out splits share the {len(images(src['testA']))} testA")


if __name__ == "__main__":
    main()
