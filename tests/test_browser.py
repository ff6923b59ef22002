"""Headless Chromium on the live visdom page and on web/index.html: each shows what training sent (the image
grid, the loss plot with its curves, the status table; the pictures of every epoch, decoded). Needs
/usr/bin/chromium and staged visdom assets; CI installs both."""
import argparse
import base64
import io
import re

import pytest
import torch
from PIL import Image

from _browser import CHROMIUM, SKIP_REASON, dump_dom, probe_page, screenshot
from _visdom_server import VisdomServer
from cyclegan.display.visualizer import Visualizer

pytestmark = [pytest.mark.skipif(CHROMIUM is None, reason=SKIP_REASON), pytest.mark.slow]
NAMES = ["real_A", "fake_B", "rec_A", "idt_B", "real_B", "fake_A", "rec_B", "idt_A"]


def fill(vis):
    for epoch in (1, 2):
        for it in range(3):
            vis.display_current_results({k: torch.rand(1, 3, 32, 32) * 2 - 1 for k in NAMES}, epoch,
                                        save_result=True)
            vis.plot_current_losses(epoch, it / 3, {"G_A": 1.0 / (it + epoch), "D_A": 0.4 + 0.1 * it})
            vis.show_status(epoch, it, 2e-4, 0.05)


def text_of(html):
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).strip()


def test_visdom_page_shows_the_grid_the_losses_and_the_status(tmp_path):
    from cyclegan.cli.visdom_server import missing_assets

    missing = missing_assets()
    if missing:
        pytest.skip(f"visdom page assets not staged ({missing[0]} ...): run "
                    "`bash scripts/stage_visdom_assets.sh` (CI does)")
    with VisdomServer(tmp_path) as srv:
        opt = argparse.Namespace(name="shot", checkpoints_dir=str(tmp_path / "ck"), display_id=1,
                                 display_server="http://localhost", display_port=srv.port,
                                 display_env="", display_ncols=4, display_winsize=64, no_html=False,
                                 display_start_server=False, isTrain=True, use_wandb=False, use_tensorboard=False)
        vis = Visualizer(opt)
        fill(vis)
        vis.close(timeout=20)
        url = f"http://127.0.0.1:{srv.port}/env/shot"
        dom = dump_dom(url, budget_ms=8000)
        screenshot(url, tmp_path / "visdom.png")  # for a person to look at; not asserted on

    # three panes, rendered by visdom's own scripts: the image grid, the loss plot, the status table
    bars = [text_of(b) for b in re.findall(r'<div class="bar">(.*?)</div></div>', dom, re.S)]
    assert len(re.findall(r'class="window"', dom)) == 3, bars
    assert any(f"shot epoch 2: {' '.join(NAMES)}" in b for b in bars), bars
    # the grid is one decoded picture: 2 rows x 4 columns of 64 px cells, 4 px apart, each with a 16 px label
    src = re.search(r'<img class="content-image[^"]*" src="data:image/\w+;base64,([^"]+)"', dom)
    assert src, "the image pane has no picture"
    grid = Image.open(io.BytesIO(base64.b64decode(src.group(1))))
    assert grid.size == (4 * (64 + 4) + 4, 2 * (64 + 16 + 4) + 4), grid.size
    # the loss plot: plotly drew one curve per loss, with the legend naming them
    assert re.findall(r'class="legendtext"[^>]*>([^<]*)<', dom) == ["G_A", "D_A"]
    assert dom.count('class="trace scatter') == 2 and "shot loss over time" in dom
    # the status table
    status = text_of(dom[dom.index("<table"):dom.index("</table>")])
    for cell in ("experiment shot", "epoch 2", "learning rate 0.0002", "time per iteration 0.0500 s"):
        assert cell in status, status


def test_training_page_shows_every_epoch_and_its_pictures(tmp_path):
    opt = argparse.Namespace(name="shot", checkpoints_dir=str(tmp_path / "ck"), display_id=0, display_ncols=4,
                             display_winsize=64, no_html=False, isTrain=True, use_wandb=False, use_tensorboard=False)
    vis = Visualizer(opt)
    fill(vis)
    vis.close(timeout=20)
    page = probe_page(tmp_path / "ck" / "shot" / "web" / "index.html", width=1200)
    assert page["headings"][:4] == ["Experiment name = shot", "Loss curves", "epoch [2]", "epoch [1]"]
    assert len(page["images"]) == 2 * len(NAMES) and all(width == 32 for _, width in page["images"]), \
        page["images"]
    assert page["tables"][0] == [NAMES[:4], NAMES[4:]]  # captions: the A row, then the B row
    assert page["scrollWidth"] <= 1200
