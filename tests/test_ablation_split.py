"""cyclegan-ablate's validation and test splits (--eval_dir chooses, --test_dir reports): choices made from
hand-made records where the two splits disagree follow validation and do not move when the test scores change; a
test split that is the validation folder or shares an image with validation or training (through symlinks too) is
refused naming the flags; and a tiny finished sweep given --test_dir afterwards (and --report_only) scores the test
split on its saved checkpoints without training or scoring validation again."""
import json
import os

import pytest

from conftest import make_images
from cyclegan.ablation import report
from cyclegan.ablation.plan import parse_variant, plan
from cyclegan.ablation.splits import by_split
from test_ablation import describe, run_sweep, sweep_cmd

DOMAINS = {"A": "paintings", "B": "photos"}


def records(scores, split=None):
    """{run folder: records} from {run folder: {step: C2ST B -> A}} (A -> B 0.9 throughout), seed 1."""
    out = {}
    for folder, by_step in scores.items():
        out[folder] = [{"epoch": step // 12, "step": step, "weights": "raw", "seed": 1, "c2st_A": v, "c2st_B": 0.9,
                        "train_seconds": step * 10.0, "machine": "m", "share": [],
                        **({"split": split, "split_dir": "/t"} if split else {})} for step, v in by_step.items()]
    return out


def write(tmp_path, runs, weights, val, test):
    protocol = {"name": "sw", "steps": 24, "eval_every": 12, "seeds": [1], "heldout": "val images",
                "eval_size": 32, "c2st_steps": 10, "folds": 5, "c2st_seed": 0, "c2st_repeats": 1, "common": [],
                "eval_dir": "VALDIR", "dataroot": "ROOT", "test_dir": "TESTDIR", "test_heldout": "test images"}
    out = tmp_path / ("with_test" if test is not None else "val_only")
    out.mkdir(exist_ok=True)
    report.write_report(str(out), protocol, ["official", "diffaug_translation"],
                        {"official": [], "diffaug_translation": ["--diffaug", "translation"]}, weights, runs, val,
                        None, ([], {}), DOMAINS, budget_s=200, test_records=test)
    return json.loads((out / "ablation.json").read_text()), (out / "ablation.md").read_text(), \
        (out / "ablation_time.csv").read_text()


def choices(data):
    return (data["best"], {v: {s: p["step"] for s, p in d["per_seed"].items()}
                           for v, d in data["chosen"]["per_variant"].items()},
            data["time"]["budget"]["c2st_A"]["ranking"],
            {v: {s: p["step"] for s, p in d["per_seed"].items()}
             for v, d in data["time"]["budget"]["c2st_A"]["per_variant"].items()})


def test_choices_follow_validation_and_the_test_scores_stand_beside_them(tmp_path):
    runs, weights = plan([parse_variant("official"), parse_variant("diffaug_translation")], [1], 24, 12, 0.5, [],
                         describe)
    off, aug = (r.folder for r in runs)
    # validation: official is better, and its best checkpoint is step 12; test says the opposite of both
    val = records({off: {12: 0.55, 24: 0.60}, aug: {12: 0.85, 24: 0.80}})
    test = records({off: {12: 0.95, 24: 0.90}, aug: {12: 0.40, 24: 0.50}}, split="test")
    data, md, csv = write(tmp_path, runs, weights, val, test)
    assert data["best"] == "official"
    official = data["chosen"]["per_variant"]["official"]
    assert official["per_seed"]["1"] == {"step": 12, "value": 0.55, "test": 0.95} and official["test_mean"] == 0.95
    budget = data["time"]["budget"]["c2st_A"]
    assert budget["ranking"] == ["official", "diffaug_translation"]  # within 200 s: step 12 (120 s) on validation
    assert budget["per_variant"]["official"]["per_seed"]["1"]["test"] == 0.95
    assert data["summary"]["official"]["final"]["c2st_A"]["test"]["mean"] == 0.90
    assert set(data["test_runs"]) == {off, aug} and data["runs"][off][0]["c2st_A"] == 0.55

    assert "Chosen on VALDIR, reported on TESTDIR" in md
    assert "Best variant on validation (mean C2ST photos → paintings at the last step): official 0.600; on the " \
           "test split 0.900." in md
    header = md.splitlines()[0]
    assert "photos → paintings on validation (mean; per seed)" in header and \
        "photos → paintings on test (mean; per seed)" in header
    assert "| official | (official defaults) | 0.600 (0.600) | +0.000 | 0.900 (0.900) |" in md
    assert "official 0.550, test 0.950 (seed 1: step 12 at 120 s)" in md  # the budget line
    assert "| official | 1 | 12 | 0.550 | 0.950 |" in md  # the checkpoint chosen per arm
    assert csv.splitlines()[0].startswith("variant,seed,step,training s,C2ST photos → paintings validation,"
                                          "C2ST photos → paintings test,KID photos → paintings validation,")
    assert csv.splitlines()[1].startswith("official,1,12,120.0,0.550,0.950,")

    # other test scores, or none: not one choice moves
    flipped = records({off: {12: 0.10, 24: 0.99}, aug: {12: 0.99, 24: 0.10}}, split="test")
    assert choices(write(tmp_path, runs, weights, val, flipped)[0]) == choices(data)
    plain, md_plain, _ = write(tmp_path, runs, weights, val, None)
    assert choices(plain) == choices(data) and "test_runs" not in plain
    assert "Chosen and reported on VALDIR" in md_plain and "on test" not in md_plain.splitlines()[0]


def test_records_without_a_split_are_validation_and_other_test_folders_are_left_out():
    old = {"step": 12, "weights": "raw", "c2st_A": 0.5}  # scored before --test_dir existed
    mine = {"step": 12, "weights": "raw", "split": "test", "split_dir": "/t", "c2st_A": 0.7}
    other = {"step": 12, "weights": "raw", "split": "test", "split_dir": "/elsewhere", "c2st_A": 0.1}
    assert by_split([old, mine, other], "/t") == ([old], [mine])
    assert by_split([old, mine, other]) == ([old], [])


def dataset(root):
    for i, sub in enumerate(("trainA", "trainB", "testA", "testB")):
        make_images(root / sub, 12, size=(36, 36), seed=i)
    return root


def link_farm(folder, files):
    folder.mkdir(parents=True, exist_ok=True)
    for f in files:
        (folder / f.name).symlink_to(f)


def refused(capsys, *flags):
    from options.ablate_options import AblateOptions
    with pytest.raises(SystemExit) as e:
        AblateOptions().parse(list(flags))
    assert e.value.code == 2
    return capsys.readouterr().err


def test_a_test_split_that_is_or_shares_the_validation_or_training_images_is_refused(tmp_path, capsys):
    from options.ablate_options import AblateOptions
    root = dataset(tmp_path / "data")
    val, test = tmp_path / "split" / "val", tmp_path / "split" / "test"
    for d in ("A", "B"):
        link_farm(val / f"test{d}", sorted((root / f"train{d}").iterdir())[:6])
        link_farm(test / f"test{d}", sorted((root / f"test{d}").iterdir()))
    (tmp_path / "same").symlink_to(val, target_is_directory=True)
    base = ["--dataroot", str(root), "--eval_dir", str(val)]

    err = refused(capsys, *base, "--test_dir", str(tmp_path / "same"))  # the validation folder by another name
    assert f"--test_dir {tmp_path / 'same'} and --eval_dir {val} are the same folder" in err
    err = refused(capsys, "--dataroot", str(root), "--test_dir", str(root))  # no --eval_dir: DATAROOT validates
    assert "--eval_dir (not given" in err and "are the same folder" in err
    # the validation photos come from trainB: a training image, however linked, is refused naming --dataroot
    link_farm(tmp_path / "leak" / "testA", sorted((root / "testA").iterdir()))
    link_farm(tmp_path / "leak" / "testB", [f for f in (root / "testB").iterdir() if f.name != "img9.jpg"] +
              [root / "trainB" / "img9.jpg"])  # not in the validation six
    err = refused(capsys, *base, "--test_dir", str(tmp_path / "leak"))
    assert f"--test_dir {tmp_path / 'leak'}: 1 image file(s) are also in the training --dataroot {root}" in err
    # a validation image (a link to a link) among fresh ones: refused naming --eval_dir
    make_images(tmp_path / "leak2" / "testA", 6, size=(36, 36), seed=7, prefix="t")
    make_images(tmp_path / "leak2" / "testB", 6, size=(36, 36), seed=8, prefix="t")
    link_farm(tmp_path / "leak2" / "testB", [val / "testB" / "img0.jpg"])
    err = refused(capsys, *base, "--test_dir", str(tmp_path / "leak2"))
    assert f"--test_dir {tmp_path / 'leak2'}: 1 image file(s) are also in --eval_dir {val}" in err
    assert "the test split must play no part in any choice" in err

    opt = AblateOptions().parse([*base, "--test_dir", str(test)])  # apart from both: accepted
    assert opt.test_dir == str(test)
    # the paintings are the real side of the choosing C2ST: the validation's may serve the test split too
    val_ref = tmp_path / "val_ref"
    link_farm(val_ref / "testA", sorted((root / "testA").iterdir()))
    link_farm(val_ref / "testB", sorted((val / "testB").iterdir()))
    link_farm(tmp_path / "shared_ref" / "testA", sorted((val_ref / "testA").iterdir()))
    make_images(tmp_path / "shared_ref" / "testB", 6, size=(36, 36), seed=9, prefix="s")
    assert AblateOptions().parse(["--dataroot", str(root), "--eval_dir", str(val_ref),
                                  "--test_dir", str(tmp_path / "shared_ref")]).test_dir
    link_farm(tmp_path / "train_ref" / "testA", sorted((root / "trainA").iterdir())[-2:])  # training paintings: no
    link_farm(tmp_path / "train_ref" / "testB", sorted((root / "testB").iterdir()))
    err = refused(capsys, *base, "--test_dir", str(tmp_path / "train_ref"))
    assert "2 image file(s) are also in the training --dataroot" in err


def stamps(run_dir):
    return {p.name: p.stat().st_mtime_ns for p in run_dir.glob("*.pth")}


@pytest.mark.slow
def test_test_dir_added_to_a_finished_sweep_scores_its_checkpoints_without_training(tmp_path):
    root = dataset(tmp_path / "data")
    test, test2 = tmp_path / "test", tmp_path / "test2"
    for i, d in enumerate(("testA", "testB")):
        make_images(test / d, 12, size=(36, 36), seed=10 + i)
        make_images(test2 / d, 12, size=(36, 36), seed=20 + i)
    ck = tmp_path / "ck"
    def args(*extra):  # before the training flags' "--"
        return sweep_cmd(root, ck, "--variants", "official", "--steps", "24", "--eval_every", "12", *extra)
    run_dir = ck / "sw" / "runs" / "official_s1"
    log = run_dir / "ablate_eval.jsonl"
    run_sweep(args())
    before, val_lines = stamps(run_dir), log.read_text().splitlines()
    assert len(val_lines) == 2 and len(before) >= 3

    out = run_sweep(args("--test_dir", str(test)))
    assert "1 runs: 1 trained, 0 to train" in out and "training official_s1" not in out
    assert stamps(run_dir) == before  # no checkpoint written again
    lines = log.read_text().splitlines()
    assert lines[:2] == val_lines  # validation kept as it was, not scored again
    added = [json.loads(line) for line in lines[2:]]
    assert [(r["split"], r["step"]) for r in added] == [("test", 12), ("test", 24)]
    assert {r["split_dir"] for r in added} == {os.path.realpath(test)} and out.count("raw, test") == 2
    assert all(0 <= r["c2st_A"] <= 1 for r in added)
    data = json.loads((ck / "sw" / "ablation.json").read_text())
    assert [r["step"] for r in data["test_runs"]["official_s1"]] == [12, 24]
    assert all("split" not in r or r["split"] == "val" for r in data["runs"]["official_s1"])
    assert data["summary"]["official"]["final"]["c2st_A"]["test"]["mean"] == added[1]["c2st_A"]
    md = (ck / "sw" / "ablation.md").read_text()
    assert f"Chosen on {root}, reported on {test}" in md and "on test (mean; per seed)" in md

    # --report_only with another test split: scored on the same checkpoints, nothing trained; once only
    report_args = args("--report_only", "--test_dir", str(test2))
    out = run_sweep(report_args)
    assert "training official_s1" not in out and out.count("raw, test") == 2 and stamps(run_dir) == before
    assert len(log.read_text().splitlines()) == 6
    out = run_sweep(report_args)
    assert "raw, test" not in out and len(log.read_text().splitlines()) == 6
    data = json.loads((ck / "sw" / "ablation.json").read_text())
    assert {r["split_dir"] for r in data["test_runs"]["official_s1"]} == {os.path.realpath(test2)}
