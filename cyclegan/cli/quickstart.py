"""The main job, in one command (`bash scripts/quickstart.sh`): get vangogh2photo, train, test.

1. datasets/vangogh2photo present, or downloadable with scripts/download_cyclegan_dataset.sh:
   train photo<->Van Gogh with the official settings (days on a CPU; pass --small for a short run).
2. Otherwise: generate a small built-in two-domain dataset (random scenes drawn as paintings and as
   photos, cyclegan/data/synthetic.py) and train a small preset (2,400 iterations at 64 px).
Then test on the held-out images and print the paths of the training page and the results page.
It says which one it did. Flags it does not know go to cyclegan-train.
"""
import argparse
import os
import subprocess
import sys

from cyclegan.cli import main_guard
from cyclegan.runs.layout import RunFolder

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SMALL = ["--load_size", "72", "--crop_size", "64", "--ngf", "16", "--ndf", "16", "--netG", "resnet_6blocks",
         "--n_epochs", "6", "--n_epochs_decay", "6", "--print_freq", "100", "--save_epoch_freq", "4",
         "--display_freq", "100", "--update_html_freq", "400", "--pool_size", "50"]


def get_vangogh(datasets_dir):
    root = os.path.join(datasets_dir, "vangogh2photo")
    if os.path.isdir(os.path.join(root, "trainA")):
        return root, "found"
    env = dict(os.environ, CYCLEGAN_DATASETS_DIR=datasets_dir)
    p = subprocess.run(["bash", os.path.join(REPO, "scripts", "download_cyclegan_dataset.sh"), "vangogh2photo"],
                       env=env)
    return (root, "downloaded") if p.returncode == 0 and os.path.isdir(os.path.join(root, "trainA")) else (None, None)


@main_guard
def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--datasets_dir", default=os.path.join(REPO, "datasets"),
                    help="where vangogh2photo is looked for (and the built-in dataset written)")
    ap.add_argument("--checkpoints_dir", default="./checkpoints", help="checkpoints and the training page go here")
    ap.add_argument("--results_dir", default="./results/", help="the results page goes here")
    ap.add_argument("--small", action="store_true", help="the short preset even when the real dataset is there")
    ap.add_argument("--display_id", default="0", help="1 to watch in visdom (start it with scripts/start_visdom.sh)")
    ap.add_argument("--offline", action="store_true", help="do not try to download; use the built-in dataset")
    ap.add_argument("--synthetic_images", type=int, default=200, help="training images per domain when generating")
    args, extra = ap.parse_known_args(argv)  # anything else goes to cyclegan-train (e.g. --n_epochs 1)

    from cyclegan.cli import test as test_cmd, train as train_cmd
    root, how = (None, None) if args.offline else get_vangogh(args.datasets_dir)
    common = ["--checkpoints_dir", args.checkpoints_dir]
    if root and not args.small:
        name, train_flags = "vangogh2photo_cyclegan", []
        print(f"== MAIN JOB: the real vangogh2photo dataset ({how}) at {root}, official settings ==")
    elif root:
        name, train_flags = "vangogh2photo_small", SMALL + ["--max_dataset_size", "200"]
        print(f"== MAIN JOB: the real vangogh2photo dataset ({how}) at {root}, small preset (--small) ==")
    else:
        root = os.path.join(args.datasets_dir, "synthetic_vangogh")
        if not os.path.isdir(os.path.join(root, "trainA")):
            from cyclegan.data.synthetic import make_synthetic_dataset
            make_synthetic_dataset(root, n_train=args.synthetic_images, n_test=max(4, args.synthetic_images // 6), size=72)
        name, train_flags = "synthetic_vangogh_small", SMALL
        print("== MAIN JOB: vangogh2photo could not be reached, so this run uses the BUILT-IN SYNTHETIC "
              f"two-domain dataset at {root} (random scenes; A: 'paintings' with strokes and outlines, B: smooth "
              "'photos') and the small preset (2,400 iterations at 64 px; docs/quickstart.md gives timings). It "
              "shows the workflow; it is not a Van Gogh model. ==")
    run_dir = os.path.join(args.checkpoints_dir, name)
    if not {"--continue_train", "--overwrite"} & set(extra) and RunFolder(run_dir).states():
        # a second quickstart picks up where the first stopped (or just tests a finished run), never replaces it
        print(f"== {os.path.abspath(run_dir)} holds an earlier quickstart run: continuing it "
              f"(pass --overwrite to move it aside and start afresh) ==")
        extra = ["--continue_train", *extra]
    rc = train_cmd.main(["--dataroot", root, "--name", name, "--display_id", args.display_id, *common, *train_flags,
                         *extra])
    if rc:
        return rc
    test_flags = ["--load_size", "64", "--crop_size", "64"] if train_flags else []
    page = test_cmd.run(["--dataroot", root, "--name", name, "--results_dir", args.results_dir, *common,
                         *test_flags])
    train_page = os.path.abspath(os.path.join(args.checkpoints_dir, name, "web", "index.html"))
    print(f"== done: {'synthetic' if 'synthetic' in name else 'vangogh2photo'} run '{name}'; checkpoints in "
          f"{os.path.abspath(os.path.join(args.checkpoints_dir, name))} ==")
    if os.path.isfile(train_page):
        print(f"training page: {train_page}")
    print(f"results page:  {page}")
    return 0

if __name__ == "__main__":
    sys.exit(main())
