"""Headless Chromium for page tests: what a page is once loaded (images decoded, tables, headings, width),
its DOM after scripts ran, and a screenshot for a person to look at. Tests assert what the page is, never
how many pixels it colours: that depends on fonts, text length and the Chromium build."""
import shutil
import subprocess
import tempfile
from pathlib import Path

from PIL import Image

CHROMIUM = shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)

SKIP_REASON = "Chromium not installed (Debian: apt-get install chromium); CI installs it"


# no background connections: this machine's closed network refuses them (Playwright adds --headless itself)
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
_FLAGS = [CHROMIUM, "--headless", *CHROMIUM_ARGS]


def screenshot(url, out, budget_ms=8000):
    """A PNG of the page at 1280 x 900, kept for a person to look at; returns it as a PIL image."""
    with tempfile.TemporaryDirectory() as profile:
        cmd = [*_FLAGS, f"--user-data-dir={profile}", "--window-size=1280,900",
               f"--virtual-time-budget={budget_ms}", f"--screenshot={out}", url]
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert out.is_file(), f"chromium wrote no screenshot: {r.stderr[-2000:]}"
    return Image.open(out).convert("RGB")


_PROBE = """<!DOCTYPE html><html><body style="margin:0">
<iframe id="f" src="%s" style="width:%dpx;height:900px;border:0"></iframe><pre id="out">pending</pre>
<script>
document.getElementById("f").addEventListener("load", function () {
  var d = this.contentDocument, out = document.getElementById("out");
  if (!d) { out.textContent = JSON.stringify({error: "page not readable"}); return; }
  out.textContent = JSON.stringify({
    images: Array.from(d.images).map(function (i) { return [i.getAttribute("src"), i.naturalWidth]; }),
    links: Array.from(d.links).map(function (a) { return a.href; }),
    headings: Array.from(d.querySelectorAll("h1, h2, h3")).map(function (h) { return h.textContent.trim(); }),
    tables: Array.from(d.querySelectorAll("table")).map(function (t) {
      return Array.from(t.rows).map(function (r) {
        return Array.from(r.cells).map(function (c) { return c.textContent.trim(); }); }); }),
    scrollWidth: d.documentElement.scrollWidth, text: d.body.innerText});
});
</script></body></html>"""


def probe_page(page, width=1200, budget_ms=5000):
    """Open a local page (file://) in a `width`-px frame in headless Chromium, after every image has
    loaded or failed. Returns {"images": [[src, naturalWidth]], "links": [...], "headings": [...],
    "tables": [[[cell text, ...] per row] per table], "scrollWidth", "text"}."""
    import json
    import re

    with tempfile.TemporaryDirectory() as tmp:
        probe = Path(tmp) / "probe.html"
        probe.write_text(_PROBE % (Path(page).resolve().as_uri(), width), encoding="utf-8")
        cmd = [*_FLAGS, "--allow-file-access-from-files", f"--user-data-dir={Path(tmp) / 'profile'}",
               f"--virtual-time-budget={budget_ms}", "--dump-dom", probe.as_uri()]
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    m = re.search(r'<pre id="out">(.*?)</pre>', r.stdout, re.S)
    assert m and m.group(1) != "pending", f"chromium did not report on {page}: {r.stdout[-500:]} {r.stderr[-1500:]}"
    import html
    return json.loads(html.unescape(m.group(1)))


def dump_dom(url, budget_ms=4000):
    """The page's DOM after Chromium has loaded it and run its scripts (SVG parsed, data: images inline)."""
    with tempfile.TemporaryDirectory() as profile:
        cmd = [*_FLAGS, f"--user-data-dir={profile}", "--allow-file-access-from-files",
               f"--virtual-time-budget={budget_ms}", "--dump-dom", url]
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert "<body" in r.stdout, f"chromium dumped no DOM of {url}: {r.stderr[-2000:]}"
    return r.stdout
