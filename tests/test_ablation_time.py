"""cyclegan-ablate's quality against wall-clock time: the "best within T seconds" choice on hand-made points, KID
from random Inception weights saved to a file (and the 'not computed' note without weights), and a tiny sweep
interrupted and resumed whose training seconds keep growing across the resume, with KID and the budget line, and
KID added to points scored before weights were given."""
import json
import signal
import subprocess
import time

import pytest
import torch

from conftest import REPO, make_images, run_env
from cyclegan.ablation.timing import KidScorer, best_within, budget_line, describe_share, kid_cell
from cyclegan.runs.checkpoint import read_counters
from test_ablation import run_sweep, sweep_cmd


def test_best_within_takes_each_seeds_last_point_at_or_before_the_budget_and_averages_seeds():
    points = {  # (seconds, step, C2ST)
        "official": {1: [(100, 10, 0.90), (200, 20, 0.80), (300, 30, 0.70)],
                     2: [(120, 10, 0.86), (199.5, 20, 0.78), (310, 30, 0.60)]},
        "fast": {1: [(50, 10, 0.85), (90, 20, 0.75), (140, 30, 0.74), (210, 40, 0.50)],
                 2: [(60, 10, 0.84), (100, 20, 0.72), (150, 30, 0.70)]},
        "slow": {1: [(250, 10, 0.40)], 2: [(260, 10, 0.40)]},  # nothing in time: no mean, not ranked
    }
    r = best_within(points, 200)
    off = r["per_variant"]["official"]
    assert off["per_seed"][1] == {"seconds": 200, "step": 20, "value": 0.80}  # at the budget counts
    assert off["per_seed"][2]["step"] == 20 and off["mean"] == pytest.approx(0.79)
    fast = r["per_variant"]["fast"]
    assert (fast["per_seed"][1]["step"], fast["per_seed"][2]["step"]) == (30, 30)  # the last, not the best
    assert fast["mean"] == pytest.approx(0.72)
    assert r["per_variant"]["slow"] == {"mean": None, "per_seed": {}, "seeds_without": [1, 2]}
    assert r["ranking"] == ["fast", "official"]
    # one seed in time only: its value alone, and the line names the missing seed
    r = best_within({"x": {1: [(10, 1, 0.6)], 2: [(99, 1, 0.2)]}}, 50)
    assert r["per_variant"]["x"]["mean"] == 0.6 and r["per_variant"]["x"]["seeds_without"] == [2]
    line = budget_line(r, 50, "C2ST", "a CPU (2 logical cores)")
    assert line.startswith("Best C2ST within 50 training seconds per arm on a CPU (2 logical cores): x 0.600")
    assert "seed 1: step 1 at 10 s" in line and "no point in time for seed(s) 2" in line
    assert "none" in budget_line(best_within({"x": {1: [(99, 1, 0.2)]}}, 50), 50, "C2ST", "m")


def test_share_and_kid_cells_say_what_they_are():
    share = [{"parallel": 2, "cores": 2, "threads": 1, "load_1m": 1.25}]
    assert describe_share(share) == "2 sweep job(s) at once on 2 cores, 1 thread(s) each, load 1.2 at start"
    assert describe_share([]) == "unknown"
    assert kid_cell({"kid_A": 0.01234}) == "0.01234"
    assert kid_cell({"kid_A": None, "kid_A_note": "not computed: no Inception weights (x)"}) == \
        "not computed (no Inception weights)"


def test_kid_from_a_weights_file_and_the_note_without_one(random_inception_file, tmp_path, monkeypatch):
    g = torch.Generator().manual_seed(0)
    real = [torch.rand(3, 32, 32, generator=g) for _ in range(4)]
    fakes = [torch.rand(3, 32, 32, generator=g) * 0.2 for _ in range(4)]
    scored = KidScorer(str(random_inception_file), real).score(fakes)
    assert isinstance(scored["kid_A"], float) and scored["kid_weights"].startswith("random_inception_v3.pth")
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "empty_hub"))  # no weights in the hub cache either
    none = KidScorer(None, real)
    assert none.score(fakes)["kid_A"] is None
    assert none.score(fakes)["kid_A_note"].startswith("not computed: no Inception weights (neither")


@pytest.mark.slow
def test_sweep_records_seconds_across_a_resume_kid_and_the_budget_line(tmp_path, random_inception_file):
    root = tmp_path / "data"
    for i, sub in enumerate(("trainA", "trainB", "testA", "testB")):
        make_images(root / sub, 12, size=(36, 36), seed=i)
    ck = tmp_path / "ck"
    args = sweep_cmd(root, ck, "--variants", "official", "--inception_weights", str(random_inception_file),
                     "--budget_s", "100000")
    run_dir = ck / "sw" / "runs" / "official_s1"

    proc = subprocess.Popen(args, cwd=REPO, env=run_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 600
    while not (run_dir / "2_net_G_A.pth").exists() and proc.poll() is None and time.time() < deadline:
        time.sleep(0.1)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=600)
    assert proc.returncode == 130, out[-2000:] + err[-2000:]
    saved = read_counters(run_dir / "latest_state.pth")
    assert saved["epoch"] <= 4 and saved["train_seconds"] > 0
    time.sleep(2)  # the pause between the runs must not count

    run_sweep(args)
    times = [json.loads(line) for line in (run_dir / "train_time.jsonl").read_text().splitlines()]
    assert [t["epoch"] for t in times] == [2, 4]
    assert 0 < times[0]["train_seconds"] <= saved["train_seconds"] < times[1]["train_seconds"]
    assert read_counters(run_dir / "latest_state.pth")["train_seconds"] == times[1]["train_seconds"]
    launches = [json.loads(line) for line in (run_dir / "ablate_launches.jsonl").read_text().splitlines()]
    assert [ln["resumed"] for ln in launches] == [False, True] and launches[0]["parallel"] == 1
    assert launches[0]["cores"] >= 1 and launches[0]["machine"] == times[0]["machine"]

    data = json.loads((ck / "sw" / "ablation.json").read_text())
    recs = sorted(data["runs"]["official_s1"], key=lambda r: r["step"])
    assert [(r["step"], r["train_seconds"]) for r in recs] == [(24, times[0]["train_seconds"]),
                                                              (48, times[1]["train_seconds"])]
    assert all(isinstance(r["kid_A"], float) and len(r["share"]) == 2 for r in recs)
    assert data["time"]["budget"]["c2st_A"]["per_variant"]["official"]["per_seed"]["1"]["step"] == 48
    md = (ck / "sw" / "ablation.md").read_text()
    assert "## Quality against time" in md and "within 100000 training seconds per arm" in md
    csv_rows = (ck / "sw" / "ablation_time.csv").read_text().splitlines()
    assert len(csv_rows) == 3 and csv_rows[2].startswith("official,1,48,")

    # without weights (none in the hub cache): the KID column says why, no number
    env = dict(run_env(), TORCH_HOME=str(tmp_path / "empty_hub"))
    p = subprocess.run(sweep_cmd(root, ck / "nokid", "--variants", "official", "--steps", "24"), cwd=REPO, env=env,
                       capture_output=True, text=True, timeout=900)
    assert p.returncode == 0, p.stdout[-3000:] + p.stderr[-3000:]
    md = (ck / "nokid" / "sw" / "ablation.md").read_text()
    assert "not computed (no Inception weights)" in md and "KID not computed: no Inception weights (neither" in md
    before = json.loads((ck / "nokid" / "sw" / "ablation.json").read_text())["runs"]["official_s1"]

    # the same sweep again with weights: the scored point gets its KID, its C2ST and seconds are kept
    p = subprocess.run(sweep_cmd(root, ck / "nokid", "--variants", "official", "--steps", "24", "--inception_weights",
                                 str(random_inception_file)), cwd=REPO, env=env, capture_output=True, text=True,
                       timeout=900)
    assert p.returncode == 0 and "KID A" in p.stdout and "added" in p.stdout, p.stdout[-3000:] + p.stderr[-3000:]
    after = json.loads((ck / "nokid" / "sw" / "ablation.json").read_text())["runs"]["official_s1"]
    assert len(after) == len(before) == 1 and isinstance(after[0]["kid_A"], float) and "kid_A_note" not in after[0]
    assert {k: after[0][k] for k in ("c2st_A", "train_seconds")} == {k: before[0][k] for k in ("c2st_A",
                                                                                               "train_seconds")}


def test_the_flags_refuse_a_missing_weights_file_and_a_budget_that_is_not_positive(tmp_path, capsys):
    from options.ablate_options import AblateOptions
    opt = AblateOptions().parse(["--dataroot", str(tmp_path), "--budget_s", "3600"])
    assert (opt.budget_s, opt.inception_weights) == (3600.0, None)
    for flags, says in ((["--inception_weights", str(tmp_path / "none.pth")], "none.pth: no such file"),
                        (["--budget_s", "0"], "--budget_s 0: give a positive number")):
        with pytest.raises(SystemExit):
            AblateOptions().parse(["--dataroot", str(tmp_path), *flags])
        assert says in capsys.readouterr().err
