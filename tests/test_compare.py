"""cyclegan-compare end to end: the session's tiny CycleGAN run, a tiny fast-NST network trained here, Gatys with
random VGG weights from a file, real vangogh2photo-mini data where present (generated images otherwise); page,
JSON and CSV agree, metrics lie in their ranges, a re-run resumes, a corrupt photo is reported, and the page
renders."""
import csv
import json
import math
import os
import shutil
import subprocess
import sys

import pytest

from _browser import CHROMIUM, SKIP_REASON, dump_dom, probe_page, screenshot
from conftest import REPO, SHARED_DATA, make_images, run_env
from cyclegan.comparison.report import LABELS

RANGES = {"ssim": (-1, 1), "edge_corr": (-1, 1), "color_swd": (0, 200), "p_painting": (0, 1),
          "time_s": (0, 600), "peak_mem_mb": (0, 1e5), "gram_dist": (0, math.inf), "content_dist": (0, math.inf),
          "cycle_l1": (0, 1), "fraction_paintings": (0, 1)}


pytestmark = pytest.mark.slow  # the comparison runs as a subprocess, once per module


@pytest.fixture(scope="module")
def setup(tmp_path_factory, vgg_weights_file, tiny_run):
    tmp = tmp_path_factory.mktemp("compare")
    real = SHARED_DATA / "vangogh2photo-mini"
    if (real / "trainA").is_dir():
        root, source = real, "real vangogh2photo-mini"
    else:
        root, source = tmp / "data", "generated images (../shared/data is absent)"
        for i, sub in enumerate(("trainA", "trainB", "testA", "testB")):
            make_images(root / sub, 6, size=(48, 40), seed=i)
    print(f"comparison test on {source}")
    photos = tmp / "photos"
    photos.mkdir()
    for p in sorted((root / "testB").iterdir())[:3]:
        shutil.copy(p, photos / p.name)
    (photos / "zz_corrupt.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    ck = tmp / "ck"
    tiny_run.copy_to(ck)  # the fast-NST run goes beside it
    weights = vgg_weights_file
    subprocess.run([sys.executable, "-m", "cyclegan.fast_nst", "train", "--photos", str(root / "trainB"),
                    "--style", str(root / "testA"), "--name", "tinyfast", "--checkpoints_dir", str(ck), "--weights",
                    str(weights), "--num_iters", "2", "--batch_size", "1", "--image_size", "32", "--ngf", "4",
                    "--n_res", "1", "--content_layers", "conv1_1", "--style_layers", "conv1_1", "--seed", "0"],
                   cwd=REPO, env=run_env(), check=True, capture_output=True)
    args = [sys.executable, "-m", "cyclegan.compare", "--name", tiny_run.name, "--checkpoints_dir", str(ck),
            "--photos", str(photos), "--style", str(root / "testA"), "--dataroot", str(root), "--num", "4",
            "--image_size", "48", "--weights", str(weights), "--num_iters", "3", "--classifier_epochs", "2",
            "--results_dir", str(tmp / "res"), "--seed", "1", "--fast_nst", "tinyfast"]
    first = subprocess.run(args, cwd=REPO, env=run_env(), capture_output=True, text=True, timeout=900)
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-3000:]
    return {"out": tmp / "res" / f"compare_{tiny_run.name}", "args": args, "first": first}


def test_page_json_and_csv_exist_and_agree(setup):
    out = setup["out"]
    data = json.loads((out / "metrics.json").read_text())
    assert set(data["summary"]) >= {"cyclegan", "fast_nst", "gatys_per_image", "gatys_domain", "photos", "paintings"}
    with open(out / "metrics.csv") as f:
        rows = list(csv.reader(f))
    summary = {r[1]: r for r in rows if r and r[0] == "summary" and r[1] != "method"}
    header = next(r for r in rows if r and r[0] == "summary" and r[1] == "method")
    for method, s in data["summary"].items():
        for col, cell in zip(header[2:], summary[method][2:]):
            value = s.get(col)
            if isinstance(value, float):
                assert float(cell) == pytest.approx(value, rel=1e-5), (method, col)
    per_image = [r for r in rows[1:] if r and r[0] != "summary" and r[0] != ""]
    assert len(per_image) == len(data["per_image"]) == 3 * 4 + 1  # 3 photos x 4 methods + the corrupt one
    html = (out / "index.html").read_text()
    assert html.index("Metrics per method") < html.index("input")  # the table is above the rows
    assert "RANDOM weights" in html and "not computed: no Inception weights" in html


def test_every_metric_lies_in_its_range(setup):
    data = json.loads((setup["out"] / "metrics.json").read_text())
    good = [r for r in data["per_image"] if "error" not in r]
    assert len(good) == 12
    for row in good:
        for k, (lo, hi) in RANGES.items():
            if row.get(k) is not None:
                assert lo <= row[k] <= hi, (row["method"], k, row[k])
    for m in ("cyclegan", "fast_nst", "gatys_per_image", "gatys_domain", "photos", "paintings"):
        frac = data["summary"][m]["fraction_paintings"]
        assert 0 <= frac <= 1
    assert data["summary"]["cyclegan"]["cycle_l1"] is not None
    assert data["summary"]["cyclegan"]["fid"] == "not computed: no Inception weights"
    painting = {r["painting"] for r in good if r["method"] == "gatys_per_image"}
    assert painting and all(p.endswith((".jpg", ".png")) for p in painting)  # recorded per photo


def test_a_corrupt_photo_is_reported_and_the_rest_done(setup):
    data = json.loads((setup["out"] / "metrics.json").read_text())
    bad = [r for r in data["per_image"] if "zz_corrupt" in r["photo"]]
    assert len(bad) == 1 and "error" in bad[0]
    assert "zz_corrupt.jpg: FAILED" in (setup["out"] / "index.html").read_text()


def test_rerun_reuses_finished_photos_and_overwrite_recomputes(setup):
    outputs = sorted((setup["out"] / "images").glob("*_gatys_domain.png"))
    before = {p: p.stat().st_mtime_ns for p in outputs}
    again = subprocess.run(setup["args"], cwd=REPO, env=run_env(), capture_output=True, text=True, timeout=900)
    assert again.returncode == 0, again.stderr[-2000:]
    assert {p: p.stat().st_mtime_ns for p in outputs} == before
    fresh = subprocess.run(setup["args"] + ["--overwrite", "--num", "1"], cwd=REPO, env=run_env(),
                           capture_output=True, text=True, timeout=900)
    assert fresh.returncode == 0, fresh.stderr[-2000:]
    assert outputs[0].stat().st_mtime_ns != before[outputs[0]]


@pytest.mark.skipif(CHROMIUM is None, reason=SKIP_REASON)
def test_page_shows_the_metric_table_and_the_image_grid_in_chromium(setup, tmp_path):
    """What the page is, once Chromium has loaded it: the metric table (a header and one row per method in
    metrics.json), a section per photo (the corrupt one says FAILED), every picture decoded, no horizontal
    overflow at 1280 px. The screenshot is kept for a person to look at."""
    page = probe_page(setup["out"] / "index.html", width=1280)
    screenshot((setup["out"] / "index.html").as_uri(), tmp_path / "compare.png")
    metrics = json.loads((setup["out"] / "metrics.json").read_text())
    summary = metrics["summary"]
    assert "Metrics per method" in page["headings"]
    table = next(t for t in page["tables"] if t and t[0] and t[0][0] == "method")
    assert len(table) == 1 + len(summary) and all(len(row) == len(table[0]) == 15 for row in table), table
    assert [row[0] for row in table[1:]] == [LABELS.get(m, m) for m in summary]
    # one section per photo of this run (the last run in this module may have been --num 1)
    names = {os.path.basename(r["photo"]) for r in metrics["per_image"]}
    photos = [h for h in page["headings"] if h.split(":")[0].split(" — ")[0] in names]
    assert len(photos) == len(names) >= 1, (page["headings"], names)
    assert page["images"] and all(width > 0 for _, width in page["images"]), page["images"]
    assert page["scrollWidth"] <= 1280, f"the page is {page['scrollWidth']} px wide in a 1280 px window"


@pytest.mark.skipif(CHROMIUM is None, reason=SKIP_REASON)
def test_page_shows_three_methods_per_photo_in_chromium(setup, tmp_path):
    """Chromium loads the page; a script added to a copy lists the images that really decoded."""
    out = setup["out"]
    probe = out / "probe_loaded.html"
    probe.write_text((out / "index.html").read_text().replace("</body>", """<script>
window.addEventListener("load", () => { const p = document.createElement("pre"); p.id = "loaded";
  p.textContent = JSON.stringify([...document.images].filter(i => i.complete && i.naturalWidth > 0)
                                 .map(i => i.alt)); document.body.appendChild(p); });
</script></body>"""))
    try:
        dom = dump_dom(probe.as_uri())
    finally:
        probe.unlink()
    loaded = json.loads(html_unescape(dom.split('<pre id="loaded">')[1].split("</pre>")[0]))
    photos = loaded.count("input")  # the last run in this module may have been --num 1
    assert photos >= 1
    for label in ("CycleGAN (", "Fast NST (Johnson et al.) (", "Gatys (one painting per photo) (",
                  "Gatys (domain: all paintings) ("):
        assert sum(a.startswith(label) for a in loaded) == photos, (label, loaded)
    summary = json.loads((out / "metrics.json").read_text())["summary"]["fast_nst"]
    assert summary["images"] == photos and summary["time_s"] > 0 and summary["ssim"] is not None


def html_unescape(text):
    import html
    return html.unescape(text)
