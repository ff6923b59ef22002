"""Headless Chromium for page tests: a screenshot of a URL and how much of it is not background."""
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image

CHROMIUM = shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)

SKIP_REASON = "Chromium not installed (Debian: apt-get install chromium); CI installs it"


def screenshot(url, out, budget_ms=8000):
    with tempfile.TemporaryDirectory() as profile:
        cmd = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
               "--no-first-run", "--disable-background-networking", "--disable-component-update",
               "--disable-sync", f"--user-data-dir={profile}", "--window-size=1280,900",
               f"--virtual-time-budget={budget_ms}", f"--screenshot={out}", url]
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert out.is_file(), f"chromium wrote no screenshot: {r.stderr[-2000:]}"
    return Image.open(out).convert("RGB")


def content_fraction(img):
    """Fraction of pixels that differ from the most common colour (the background)."""
    px = np.asarray(img).reshape(-1, 3)
    _, counts = np.unique(px, axis=0, return_counts=True)
    return 1.0 - counts.max() / len(px)




def dump_dom(url, budget_ms=2000):
    """The page's DOM after Chromium has loaded and rendered it (scripts run, SVG parsed)."""
    with tempfile.TemporaryDirectory() as profile:
        cmd = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
               "--disable-background-networking", "--disable-component-update", "--disable-sync",
               f"--user-data-dir={profile}", f"--virtual-time-budget={budget_ms}", "--dump-dom", url]
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert r.stdout.strip(), f"chromium printed no DOM: {r.stderr[-2000:]}"
    return r.stdout
