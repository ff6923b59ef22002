"""Headless Chromium screenshots of the visdom page and of web/index.html: both must show content
(not a blank page). Needs /usr/bin/chromium and staged visdom assets; CI installs both."""
import argparse

import numpy as np
import pytest
import torch

from _browser import CHROMIUM, SKIP_REASON, content_fraction, screenshot
from _visdom_server import VisdomServer
from cyclegan.display.visualizer import Visualizer

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason=SKIP_REASON)
NAMES = ["real_A", "fake_B", "rec_A", "idt_B", "real_B", "fake_A", "rec_B", "idt_A"]


def fill(vis):
    for epoch in (1, 2):
        for it in range(3):
            vis.display_current_results({k: torch.rand(1, 3, 32, 32) * 2 - 1 for k in NAMES}, epoch,
                                        save_result=True)
            vis.plot_current_losses(epoch, it / 3, {"G_A": 1.0 / (it + epoch), "D_A": 0.4 + 0.1 * it})
            vis.show_status(epoch, it, 2e-4, 0.05)


def test_visdom_page_and_training_page_are_not_blank(tmp_path):
    from cyclegan.visdom_server import missing_assets

    missing = missing_assets()
    if missing:
        pytest.skip(f"visdom page assets not staged ({missing[0]} ...): run "
                    "`bash scripts/stage_visdom_assets.sh` (CI does)")
    with VisdomServer(tmp_path) as srv:
        opt = argparse.Namespace(name="shot", checkpoints_dir=str(tmp_path / "ck"), display_id=1,
                                 display_server="http://localhost", display_port=srv.port,
                                 display_env="", display_ncols=4, display_winsize=64, no_html=False,
                                 display_start_server=False, isTrain=True)
        vis = Visualizer(opt)
        fill(vis)
        vis.close(timeout=20)
        page = screenshot(f"http://127.0.0.1:{srv.port}/env/shot", tmp_path / "visdom.png")
    frac = content_fraction(page)
    # the blue visdom background with an empty env (or a blank page) is well under this
    assert frac > 0.25, f"visdom page looks blank: {frac:.3f} of pixels differ from the background"
    colours = len(np.unique(np.asarray(page.resize((320, 225))).reshape(-1, 3), axis=0))
    assert colours > 500, f"visdom page shows too few colours ({colours}) for an image grid"

    index = tmp_path / "ck" / "shot" / "web" / "index.html"
    html = screenshot(index.resolve().as_uri(), tmp_path / "index.png", budget_ms=2000)
    frac = content_fraction(html)  # a page with only its title scores about 0.005
    assert frac > 0.04, f"web/index.html looks blank: {frac:.3f} of pixels differ from the background"
