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


def dump_dom(url, budget_ms=8000):
    """The page's DOM after Chromium loaded it and ran its scripts (for checks a screenshot cannot make)."""
    with tempfile.TemporaryDirectory() as profile:
        cmd = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
               "--disable-background-networking", f"--user-data-dir={profile}", "--allow-file-access-from-files",
               f"--virtual-time-budget={budget_ms}", "--dump-dom", url]
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert "<body" in r.stdout, f"chromium dumped no DOM: {r.stderr[-2000:]}"
    return r.stdout


def content_fraction(img):
    """Fraction of pixels that differ from the most common colour (the background)."""
    px = np.asarray(img).reshape(-1, 3)
    _, counts = np.unique(px, axis=0, return_counts=True)
    return 1.0 - counts.max() / len(px)



_PROBE = """<!DOCTYPE html><html><body style="margin:0">
<iframe id="f" src="%s" style="width:%dpx;height:900px;border:0"></iframe><pre id="out">pending</pre>
<script>
document.getElementById("f").addEventListener("load", function () {
  var d = this.contentDocument, out = document.getElementById("out");
  if (!d) { out.textContent = JSON.stringify({error: "page not readable"}); return; }
  out.textContent = JSON.stringify({
    images: Array.from(d.images).map(function (i) { return [i.getAttribute("src"), i.naturalWidth]; }),
    links: Array.from(d.links).map(function (a) { return a.href; }),
    scrollWidth: d.documentElement.scrollWidth, text: d.body.innerText});
});
</script></body></html>"""


def probe_page(page, width=1200, budget_ms=5000):
    """Open a local page (file://) in a `width`-px frame in headless Chromium, after every image has
    loaded or failed. Returns {"images": [[src, naturalWidth]], "links": [...], "scrollWidth", "text"}."""
    import json
    import re

    with tempfile.TemporaryDirectory() as tmp:
        probe = Path(tmp) / "probe.html"
        probe.write_text(_PROBE % (Path(page).resolve().as_uri(), width), encoding="utf-8")
        cmd = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
               "--allow-file-access-from-files", "--disable-background-networking", "--disable-component-update",
               f"--user-data-dir={Path(tmp) / 'profile'}", f"--virtual-time-budget={budget_ms}", "--dump-dom",
               probe.as_uri()]
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    m = re.search(r'<pre id="out">(.*?)</pre>', r.stdout, re.S)
    assert m and m.group(1) != "pending", f"chromium did not report on {page}: {r.stdout[-500:]} {r.stderr[-1500:]}"
    import html
    return json.loads(html.unescape(m.group(1)))


def dump_dom(url, budget_ms=2000):
    """The page's DOM after Chromium has loaded and rendered it (scripts run, SVG parsed)."""
    with tempfile.TemporaryDirectory() as profile:
        cmd = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
               "--disable-background-networking", "--disable-component-update", "--disable-sync",
               f"--user-data-dir={profile}", f"--virtual-time-budget={budget_ms}", "--dump-dom", url]
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert r.stdout.strip(), f"chromium printed no DOM: {r.stderr[-2000:]}"
    return r.stdout
