"""cyclegan-ablate: the plan (variant groups, whole-epoch steps, reserved flags), the curves, and a sweep end to
end at 32 px with two variants: interrupted and resumed from its checkpoint, extended without redoing finished
runs, and its page checked in headless Chromium (images decoded, curves per variant and seed)."""
import json
import re
import signal
import subprocess
import sys
import time

import pytest

from _browser import CHROMIUM, SKIP_REASON, dump_dom, probe_page
from conftest import REPO, make_images, run_env
from cyclegan.ablation.plan import AblationError, Variant, parse_variant, plan, slug
from cyclegan.display.curves import curves_svg
from cyclegan.runs.checkpoint import read_counters


def describe(flags):
    """A stand-in for the parsed options: 12 images, batch from the flags, every '--key value' a change
    ('--recipe x' stands for '--ema_decay 0.5 --lr 1')."""
    changes, i = {}, 0
    while i < len(flags):
        if flags[i] == "--recipe":
            changes = {"ema_decay": 0.5, "lr": 1.0, **changes}
        else:
            changes[flags[i][2:]] = float(flags[i + 1]) if flags[i] in ("--ema_decay", "--lr") else flags[i + 1]
        i += 2
    batch = int(changes.get("batch_size", 1))
    return batch, -(-12 // batch), "resnet_6blocks", changes


def test_variants_differing_only_by_ema_share_a_run_scored_both_ways():
    variants = [parse_variant(n) for n in ("official", "ema", "diffaug_translation", "nearest")]
    runs, weights = plan(variants, [1, 2], 24, 12, 0.5, [], describe)
    assert weights == {"official": "raw", "ema": "ema", "diffaug_translation": "raw", "nearest": "raw"}
    assert len(runs) == 6 and [r.seed for r in runs] == [1, 1, 1, 2, 2, 2]
    shared = runs[0]
    assert shared.variants == [("official", "raw"), ("ema", "ema")] and shared.flags == ["--ema_decay", "0.999"]
    assert shared.folder == "ema_decay_0.999_s1"
    assert runs[2].flags == ["--netG", "resnet_6blocks_nearest"]  # {netG} filled from the common flags
    assert (shared.epochs, shared.n_epochs_decay, shared.eval_epochs) == (2, 1, [1, 2])
    assert len({r.folder for r in runs}) == 6
    runs, _ = plan(variants, [1, 2], 24, 12, 0.5, [], describe, order="variants")
    assert [(r.folder, r.seed) for r in runs][:3] == [("ema_decay_0.999_s1", 1), ("ema_decay_0.999_s2", 2),
                                                      ("diffaug_translation_s1", 1)]


def test_ema_pairs_share_runs_and_skip_variants_that_average_already():
    from options.ablate_options import with_ema_pairs
    base = [parse_variant("official"), parse_variant("ema"), parse_variant("d_layers2"),
            Variant("own", ["--recipe", "x"])]
    variants = with_ema_pairs(base, 0.99)
    assert [v.name for v in variants] == ["official", "ema", "d_layers2", "d_layers2+ema", "own", "own+ema"]

    runs, weights = plan(variants + [Variant("same", ["--lr", "1", "--ema_decay", "0.5"])], [1], 24, 12, 0.5, [],
                         describe)
    assert "own+ema" not in weights and weights["own"] == "ema"
    by_folder = {r.folder: r.variants for r in runs}
    assert by_folder["ema_decay_0.99_n_layers_D_2_netD_n_layers_s1"] == [("d_layers2", "raw"),
                                                                         ("d_layers2+ema", "ema")]
    # '--recipe x' and the flags it stands for are one run
    assert by_folder["ema_decay_0.5_lr_1.0_s1"] == [("own", "ema"), ("same", "ema")] and len(runs) == 3


def test_steps_must_be_whole_epochs_and_reserved_flags_are_refused():
    plan([Variant("b", ["--batch_size", "4"])], [1], 12, 12, 0.5, [], describe)  # 3 steps per epoch: fine
    with pytest.raises(AblationError, match="batch 4"):
        plan([Variant("b", ["--batch_size", "4"])], [1], 10, 10, 0.5, [], describe)
    with pytest.raises(AblationError, match="--seed"):
        plan([Variant("x", ["--seed", "3"])], [1], 12, 12, 0.5, [], describe)
    with pytest.raises(AblationError, match="--n_epochs"):
        plan([Variant("official", [])], [1], 12, 12, 0.5, ["--n_epochs", "3"], describe)
    with pytest.raises(AblationError, match="not one of"):
        parse_variant("no_such_variant")
    v = parse_variant("late=--lr 0.0001 --decay 0.75")
    assert (v.flags, v.decay) == (["--lr", "0.0001"], 0.75)
    runs, _ = plan([v], [1], 48, 12, 0.5, [], describe)
    assert (runs[0].epochs, runs[0].n_epochs_decay) == (4, 3)
    assert slug({"diffaug": "translation", "lr": 0.1}, 0.5, 0.5) == "diffaug_translation_lr_0.1" == \
        slug({"lr": 0.1, "diffaug": "translation"}, 0.5, 0.5)
    assert slug({}, 0.75, 0.5) == "decay_0.75" and slug({}, 0.5, 0.5) == "official"
    assert len(slug({f"k{i}": "v" * 9 for i in range(20)}, 0.5, 0.5)) <= 60


def test_curves_draw_mean_seed_and_interval_marks_and_escape_names():
    groups = [{"name": "<b>x</b>", "mean": [(10, 0.9), (20, 0.8)],
               "seeds": {1: [(10, 0.95, 0.9, 1.0), (20, 0.85, 0.8, 0.9)],
                         2: [(10, 0.85, 0.8, 0.9), (20, 0.75, 0.7, 0.8)]}}]
    svg = curves_svg(groups, "t", reference=0.5)
    assert svg.count('class="mean"') == 1 and svg.count('class="seed"') == 2 and svg.count('class="ci"') == 4
    assert "<b>" not in svg and "&lt;b&gt;" in svg and 'class="reference"' in svg
    assert "no evaluations yet" in curves_svg([], "t")


# ---- end to end ----

def sweep_cmd(root, ck, *extra):
    return [sys.executable, "-u", "-m", "cyclegan.ablate", "--dataroot", str(root), "--name", "sw",
            "--checkpoints_dir", str(ck), "--seeds", "1", "--steps", "48", "--eval_every", "24", "--eval_size", "32",
            "--c2st_steps", "10", "--samples", "2", "--cost_steps", "2", "--device", "cpu", *extra,
            "--", "--load_size", "36", "--crop_size", "32", "--ngf", "4", "--ndf", "4", "--netG", "resnet_6blocks"]


def run_sweep(args):
    p = subprocess.run(args, cwd=REPO, env=run_env(), capture_output=True, text=True, timeout=900)
    assert p.returncode == 0, p.stdout[-3000:] + p.stderr[-3000:]
    return p.stdout


@pytest.mark.slow
def test_sweep_end_to_end_interrupted_resumed_extended_and_its_page(tmp_path):
    root = tmp_path / "data"
    for i, sub in enumerate(("trainA", "trainB", "testA", "testB")):
        make_images(root / sub, 12, size=(36, 36), seed=i)
    ck = tmp_path / "ck"
    args = sweep_cmd(root, ck, "--variants", "official,diffaug_translation")
    first_run = ck / "sw" / "runs" / "official_s1"

    # interrupted while the first run trains: it saves its state, the sweep says how to resume
    proc = subprocess.Popen(args, cwd=REPO, env=run_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 600
    while not (first_run / "2_net_G_A.pth").exists() and proc.poll() is None and time.time() < deadline:
        time.sleep(0.1)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=600)
    assert proc.returncode == 130, out[-2000:] + err[-2000:]
    assert "run the same command again" in err
    assert 2 <= read_counters(first_run / "latest_state.pth")["epoch"] <= 4  # saved, not finished

    out = run_sweep(args)  # resumed: the interrupted run from its checkpoint
    assert "training official_s1" in out and "(resuming)" in out
    assert "resumed from" in (ck / "sw" / "runs" / "official_s1.log").read_text()
    data = json.loads((ck / "sw" / "ablation.json").read_text())
    for name in ("official", "diffaug_translation"):
        for key in ("c2st_A", "c2st_B"):
            final = data["summary"][name]["final"][key]
            assert final["complete"] and 0 <= final["mean"] <= 1, (name, key)
        steps = [p[0] for p in data["summary"][name]["seeds"]["1"]["c2st_A"]]
        assert steps == [24, 48]
    assert data["summary"]["official"]["cost"]["ratio"] == 1.0
    assert data["summary"]["diffaug_translation"]["cost"]["ratio"] > 0

    stamps = {p: p.stat().st_mtime for p in (ck / "sw" / "runs").glob("*_s1/latest_state.pth")}
    # a sweep recorded before --c2st_repeats existed resumes as one repeat; another count is a changed protocol
    protocol = json.loads((ck / "sw" / "ablate.json").read_text())
    assert protocol.pop("c2st_repeats") == 1
    (ck / "sw" / "ablate.json").write_text(json.dumps(protocol))
    other = subprocess.run(sweep_cmd(root, ck, "--variants", "official", "--c2st_repeats", "2"), cwd=REPO,
                           env=run_env(), capture_output=True, text=True, timeout=900)
    assert other.returncode != 0 and "c2st_repeats: 1, now 2" in other.stderr, other.stderr[-2000:]
    # extended by a variant at two seeds, training only its runs (--train): seed 2 of the others stays untrained
    out = run_sweep(sweep_cmd(root, ck, "--variants", "official,diffaug_translation",
                              "--variant", "hinge=--gan_mode hinge", "--seeds", "1,2", "--train", "hinge"))
    assert "6 runs: 2 trained, 2 to train, 2 left untrained (not in --train)" in out
    assert "training gan_mode_hinge_s1" in out and "training gan_mode_hinge_s2" in out
    assert not re.search(r"training (official|diffaug_translation)_s", out)
    assert not (ck / "sw" / "runs" / "official_s2").exists()
    assert all(p.stat().st_mtime == t for p, t in stamps.items())
    md = (ck / "sw" / "ablation.md").read_text()
    rows = {}  # the final-quality table comes first: each variant's first row
    for line in md.splitlines():
        if line.startswith("| "):
            rows.setdefault(line.split("|")[1].strip(), line)
    assert all(n in rows for n in ("official", "diffaug_translation", "hinge"))
    assert " *" in rows["official"] and " *" not in rows["hinge"]  # a seed missing / both seeds in
    bad = subprocess.run(sweep_cmd(root, ck, "--variants", "official", "--train", "hinge"), cwd=REPO,
                         env=run_env(), capture_output=True, text=True, timeout=300)
    assert bad.returncode == 2 and "--train hinge: hinge is not one of this sweep's variants" in bad.stderr
    # a later command for one seed reports every seed the sweep trained, not only its own
    run_sweep(sweep_cmd(root, ck, "--variants", "official,diffaug_translation", "--variant", "hinge=--gan_mode hinge",
                        "--seeds", "2", "--report_only"))
    data = json.loads((ck / "sw" / "ablation.json").read_text())
    hinge = data["summary"]["hinge"]
    assert sorted(hinge["seeds"]) == ["1", "2"] and hinge["final"]["c2st_A"]["complete"]
    assert json.loads((ck / "sw" / "ablate.json").read_text())["seeds"] == [1, 2]

    if CHROMIUM is None:
        pytest.skip(SKIP_REASON)
    page = ck / "sw" / "index.html"
    info = probe_page(page)
    assert len(info["images"]) == 2 + 3 * 2 and all(w > 0 for _, w in info["images"]), info["images"]
    assert "hinge" in info["text"] and info["scrollWidth"] <= 1200
    table = info["tables"][0]  # the final-quality table first: a header and one row per variant
    assert table[0][0] == "variant" and [row[0] for row in table[1:]] == ["official", "diffaug_translation", "hinge"]
    assert table[1][-1].endswith("ms)") and "1.00x" in table[1][-1]  # official's cost, against itself
    assert any("inputs" in h for h in info["headings"]) and any("hinge" in h for h in info["headings"])
    dom = dump_dom(page.as_uri())
    assert len(re.findall(r'<svg[^>]*role="img"', dom)) == 3  # C2ST against steps both ways, and against seconds
    assert dom.count('class="mean"') == 3 * 3 and dom.count('class="seed"') == 3 * 4 and 'class="ci"' in dom
    assert [row[0] for row in info["tables"][1][1:]] == ["official"] * 2 + ["diffaug_translation"] * 2 + ["hinge"] * 4
