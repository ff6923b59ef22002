"""cyclegan-demo for real: `python -m cyclegan.demo` on a free port over a checkpoints folder of tiny models
(a CycleGAN run, a fast-NST run, an official-layout generator, a broken one) and random VGG weights from a file;
the page driven in headless Chromium (photos in, three methods side by side, the queue position, cancelling
Gatys, clear messages) with every request checked to stay on 127.0.0.1; POST /api/stylize with a good image
and bad ones through the documented curl command; a video job; loopback only; without VGG weights, the page and
the API say where the file goes; and stops by SIGINT and by SIGTERM (while a job runs) that remove the
temporary folder."""
import io
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
import zipfile

import pytest
from PIL import Image

from _browser import CHROMIUM, CHROMIUM_ARGS, SKIP_REASON
from _demo import Server, bomb_png, get_json, make_checkpoints, post
from conftest import REPO, make_images, run_env

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("demo_files")
    photo = make_images(tmp, 1, size=(80, 50), seed=5, prefix="photo")[0]
    (tmp / "notes.txt").write_text("not an image")
    return {"photo": photo, "notes": tmp / "notes.txt", "bomb": bomb_png(tmp / "bomb.png", 3000, 3000),
            "big": make_images(tmp, 1, size=(1200, 1200), seed=6, prefix="big", ext=".png")[0], "tmp": tmp}


@pytest.fixture(scope="module")
def server(tmp_path_factory, vgg_weights_file):
    tmp = tmp_path_factory.mktemp("demo")
    checkpoints = make_checkpoints(tmp / "checkpoints")
    make_images(tmp / "styles", 1, size=(48, 48), seed=3, prefix="starry")
    srv = Server(tmp, checkpoints, "--weights", vgg_weights_file, "--styles_dir", tmp / "styles", "--device", "cpu",
                 "--max_upload_mb", "1", "--max_pixels", "1000000", "--max_gatys_iters", "400")
    yield srv
    temp = srv.temp_folder()
    assert srv.stop(signal.SIGINT) == 0, srv.output()
    out = srv.output()
    assert f"removed the temporary folder {temp}" in out and "stopped by SIGINT" in out, out
    assert not (srv.tmpdir / temp.rsplit("/", 1)[1]).exists() and list(srv.tmpdir.iterdir()) == [], out


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM:
        pytest.skip(SKIP_REASON)
    from playwright.sync_api import sync_playwright
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser, server):
    """A fresh page on the demo whose every request is recorded; after the test none may have left the host."""
    context = browser.new_context(viewport={"width": 1200, "height": 900})
    p = context.new_page()
    p.requests = []
    p.on("request", lambda r: p.requests.append(r.url))
    p.goto(server.url + "/")
    p.wait_for_selector("input[name=model]")
    yield p
    context.close()
    assert p.requests, "no request was recorded"
    assert not off_host(p.requests, server.port), off_host(p.requests, server.port)


def off_host(urls, port):
    """The recorded URLs that went anywhere but this server (blob: URLs of its own origin stay in the page)."""
    bad = []
    for url in urls:
        inner = url[len("blob:"):] if url.startswith("blob:") else url
        parts = urllib.parse.urlsplit(inner)
        if parts.scheme == "data":
            continue
        if parts.scheme != "http" or parts.hostname != "127.0.0.1" or parts.port != port:
            bad.append(url)
    return bad


def choose(page, models=(), gatys=None):
    """Tick exactly `models` (keys) and, when gatys is a dict, Gatys with its size and iterations."""
    for box in page.query_selector_all("input[name=model]"):
        box.set_checked(box.get_attribute("value") in models)
    page.set_checked("#gatys-on", gatys is not None)
    if gatys:
        page.fill("#gatys-size", str(gatys["size"]))
        page.fill("#num-iters", str(gatys["iters"]))


def status_is(page, pattern, timeout_s=240):
    from playwright.sync_api import expect
    expect(page.locator("#status")).to_have_text(re.compile(pattern), timeout=timeout_s * 1000)


def test_page_runs_three_methods_side_by_side_with_their_times(page, server, files):
    assert page.title().startswith("CycleGAN demo") and "cpu" in page.inner_text("#device")
    page.set_input_files("#files", [str(files["photo"])])
    choose(page, ["tiny:photo2painting", "fast"], gatys={"size": 32, "iters": 3})
    assert page.input_value("#style-select") == "starry0.jpg"  # the offered painting
    page.click("#run")
    status_is(page, r"^Done in")
    shown = page.eval_on_selector_all("img.result", "els => els.map(e => [e.complete, e.naturalWidth, e.alt])")
    assert [s[:2] for s in shown] == [[True, 80], [True, 80], [True, 32]], shown
    assert [s[2].split(":")[0] for s in shown] == ["CycleGAN", "Fast NST", "Gatys"]
    times = page.eval_on_selector_all(".card .time", "els => els.map(e => [e.textContent, e.title])")
    assert len(times) == 3, times
    assert all(re.match(r"\d+\.\d\d s on cpu\b", t) and d.startswith("cpu: ") for t, d in times), times
    links = page.eval_on_selector_all("a[download]", "els => els.map(e => [e.href, e.getAttribute('download')])")
    assert [name for _, name in links] == ["photo0__tiny_photo2painting.png", "photo0__fast.png", "photo0__gatys.png"]
    with urllib.request.urlopen(links[0][0]) as r:
        assert r.headers["Content-Type"] == "image/png" and Image.open(io.BytesIO(r.read())).size == (80, 50)
    with urllib.request.urlopen(page.eval_on_selector("#zip", "e => e.href")) as r:
        assert sorted(zipfile.ZipFile(io.BytesIO(r.read())).namelist()) == \
            ["photo0__fast.png", "photo0__gatys.png", "photo0__tiny_photo2painting.png"]
    assert page.is_hidden("#progress") and page.is_hidden("#message")
    for width in (1200, 480):  # nothing wider than the window, on a desktop or a phone
        page.set_viewport_size({"width": width, "height": 900})
        assert page.evaluate("document.documentElement.scrollWidth") <= width
    if os.environ.get("DEMO_SCREENSHOT"):  # docs/demo.png is taken this way
        page.screenshot(path=os.environ["DEMO_SCREENSHOT"], full_page=True)


def test_page_shows_the_queue_position_and_cancels_gatys_mid_run(page, server, files):
    status, _, body = post(server.url + "/api/jobs", [("image", "p.jpg", files["photo"].read_bytes()),
                                                      ("method", None, b"gatys"), ("num_iters", None, b"400"),
                                                      ("gatys_size", None, b"64")])
    assert status == 202, body
    ahead = json.loads(body)["id"]
    page.set_input_files("#files", [str(files["photo"])])
    choose(page, ["fast"])
    page.click("#run")
    status_is(page, r"^Waiting in the queue: position 1$", 60)
    page.click("#cancel")
    status_is(page, r"^Cancelled$", 30)
    assert get_json(f"{server.url}/api/jobs/{ahead}/cancel", "POST")[0] == 200
    choose(page, [], gatys={"size": 64, "iters": 400})
    page.click("#run")
    status_is(page, r"^Running Gatys on photo0.jpg \(task 1 of 1, \d+/400\)$", 120)
    deadline = time.monotonic() + 120
    while page.eval_on_selector("#progress", "e => e.value") <= 0:
        assert time.monotonic() < deadline, page.inner_text("#status")
        time.sleep(0.2)
    page.click("#cancel")
    status_is(page, r"^Cancelled$", 60)
    assert page.inner_text(".card .placeholder") == "cancelled"
    assert get_json(f"{server.url}/api/jobs/{ahead}")[1]["status"] == "cancelled"


def test_page_explains_bad_files_and_models_that_fail_to_load(page, server, files):
    page.set_input_files("#files", [str(files["photo"])])
    dropped = page.evaluate_handle("""() => {
        const dt = new DataTransfer();
        dt.items.add(new File(["not an image"], "notes.txt", { type: "text/plain" }));
        return dt; }""")
    page.dispatch_event("#drop", "drop", {"dataTransfer": dropped})  # the second file arrives by drag and drop
    picked = page.eval_on_selector_all("#picked li span:not(.noimg)", "els => els.map(e => e.textContent)")
    assert [re.sub(r" \(\d+ KB\)$", "", p) for p in picked] == ["photo0.jpg", "notes.txt"], picked
    choose(page, ["broken"])
    page.click("#run")
    status_is(page, r"^Done in")
    errors = page.eval_on_selector_all("pre.error", "els => els.map(e => e.textContent)")
    assert errors[0].startswith("CycleGAN: broken (official generator) failed to load:"), errors
    assert "Delete it and save or download it again" in errors[0]
    assert errors[1].startswith("notes.txt: not an image this demo can read"), errors
    assert "Traceback" not in page.inner_text("body")


def curl(server, *fields, out=None):
    """The documented command: curl -F image=@photo.jpg -F model=NAME http://127.0.0.1:7860/api/stylize -o out.png."""
    cmd = ["curl", "-sS", "-o", str(out), "-w", "%{http_code} %{content_type}"]
    for f in fields:
        cmd += ["-F", f]
    r = subprocess.run(cmd + [server.url + "/api/stylize"], capture_output=True, text=True, timeout=300)
    code, ctype = r.stdout.split(" ", 1)
    return int(code), ctype


def test_api_answers_png_for_a_good_image_and_json_errors_for_bad_ones(server, files, tmp_path):
    out = tmp_path / "out.png"
    photo = f"image=@{files['photo']}"
    for fields in (["model=tiny"], ["model=tiny:painting2photo", "method=cyclegan"], ["method=fast_nst"],
                   ["method=gatys", "num_iters=2", "gatys_size=40"]):
        assert curl(server, photo, *fields, out=out) == (200, "image/png"), out.read_text(errors="replace")
        w, h = Image.open(out).size
        assert w / h == 80 / 50, fields  # the input's aspect
    bad = [([f"image=@{files['notes']}", "model=tiny"], 400, "notes.txt: not an image"),
           ([f"image=@{files['bomb']}", "model=tiny"], 413, "bomb.png: 3000 x 3000 = 9.0 megapixels"),
           ([f"image=@{files['big']}", "model=tiny"], 413, "over this demo's limit of 1 MB (--max_upload_mb)"),
           ([photo, "model=nosuchmodel"], 400, "unknown model 'nosuchmodel'"),
           ([photo, "model=../checkpoints/tiny"], 400, "unknown model"),
           ([photo, "method=gatys", "num_iters=401"], 400, "--max_gatys_iters"),
           ([photo], 400, "name one model (model=KEY) or method=gatys")]
    for fields, status, message in bad:
        code, ctype = curl(server, *fields, out=out)
        error = json.loads(out.read_text())
        assert (code, ctype) == (status, "application/json") and message in error["error"], (fields, code, error)
    assert get_json(server.url + "/api/jobs/0123abc")[0] == 404
    time.sleep(0.5)  # the last answer's cleanup runs after it is sent
    left = os.listdir(server.temp_folder())  # the API's jobs are gone; the page's stay while they can be read
    assert all(get_json(f"{server.url}/api/jobs/{name}")[0] == 200 for name in left), left


def test_a_video_goes_through_the_video_code(server, files, tmp_path):
    from test_video import describe, make_clip
    clip = make_clip(tmp_path / "clip.mp4", frames=8)
    status, _, body = post(server.url + "/api/jobs", [("image", "clip.mp4", clip.read_bytes()),
                                                      ("model", None, b"fast")])
    assert status == 202, body
    job_id = json.loads(body)["id"]
    deadline = time.monotonic() + 240
    while (job := get_json(f"{server.url}/api/jobs/{job_id}")[1])["status"] not in ("done", "failed", "cancelled"):
        assert time.monotonic() < deadline, job
        time.sleep(0.3)
    r = job["results"][0]
    assert job["status"] == "done" and r["kind"] == "video" and r["frames"] == 8, job
    with urllib.request.urlopen(server.url + r["url"]) as resp:
        assert resp.headers["Content-Type"] == "video/webm"
        (tmp_path / "out.webm").write_bytes(resp.read())
    assert describe(tmp_path / "out.webm")[0] == 8


def test_it_listens_on_127_0_0_1_only_and_checks_the_host_header(server):
    assert f"http://127.0.0.1:{server.port}/" in server.output()
    request = urllib.request.Request(server.url + "/api/info", headers={"Host": "attacker.example"})
    with pytest.raises(urllib.error.HTTPError) as e:  # a DNS-rebinding page cannot drive it
        urllib.request.urlopen(request, timeout=10)
    assert e.value.code == 400
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.connect(("10.255.255.255", 1))  # no packet is sent: this only picks the outward address
            outward = s.getsockname()[0]
        except OSError:
            outward = "127.0.0.1"
    if not outward.startswith("127."):
        with pytest.raises(OSError):
            socket.create_connection((outward, server.port), timeout=5).close()


def start_long_video_job(srv, tmp_path):
    """POST a 240-frame clip as a job for the tiny model and wait until it has translated a frame; its id."""
    from test_video import make_clip
    clip = make_clip(tmp_path / "long.mp4", frames=240, audio=False)
    status, _, body = post(srv.url + "/api/jobs", [("image", "long.mp4", clip.read_bytes()), ("model", None, b"tiny")])
    assert status == 202, body
    job_id = json.loads(body)["id"]
    deadline = time.monotonic() + 120
    while (job := get_json(f"{srv.url}/api/jobs/{job_id}")[1])["progress"]["step"] < 1:
        assert time.monotonic() < deadline and job["status"] in ("queued", "running"), (job, srv.output())
        time.sleep(0.1)
    assert job["status"] == "running", job
    return job_id


def test_without_vgg_weights_it_says_where_they_go_and_sigterm_mid_job_cleans_up(tmp_path, files, request):
    home = tmp_path / "torch_home"  # an empty torch cache: no VGG weights
    target = home / "hub" / "checkpoints" / "vgg19-dcbb9e9d.pth"
    srv = Server(tmp_path, make_checkpoints(tmp_path / "ck"), "--device", "cpu", env={"TORCH_HOME": str(home)})
    try:
        info = get_json(srv.url + "/api/info")[1]["gatys"]
        assert not info["ready"] and f"copy the file to {target}" in info["message"]
        if CHROMIUM:  # the page says it before anything runs
            context = request.getfixturevalue("browser").new_context()
            page = context.new_page()
            urls = []
            page.on("request", lambda r: urls.append(r.url))
            page.goto(srv.url + "/")
            page.wait_for_selector("#vgg-message:not([hidden])")
            assert f"copy the file to {target}" in page.inner_text("#vgg-message") and not off_host(urls, srv.port)
            context.close()
        status, ctype, body = post(srv.url + "/api/stylize", [("image", "p.jpg", files["photo"].read_bytes()),
                                                              ("method", None, b"gatys"),
                                                              ("style_image", "s.jpg", files["photo"].read_bytes())])
        error = json.loads(body)["error"]
        assert (status, ctype) == (503, "application/json"), error
        assert error.startswith("Gatys cannot run: No ImageNet weights for vgg19") and str(target) in error
        job_id = start_long_video_job(srv, tmp_path)
        temp = srv.temp_folder()
        assert job_id in os.listdir(temp)  # its upload is there, and only there
        started = time.monotonic()
    finally:
        code = srv.stop(signal.SIGTERM)
    out = srv.output()
    assert code == 0 and time.monotonic() - started < 30, out
    assert "stopped by SIGTERM" in out and f"removed the temporary folder {temp}" in out, out
    assert list(srv.tmpdir.iterdir()) == [], out


def test_under_load_busy_answers_carry_retry_after_and_nothing_is_5xx(tmp_path, files):
    """`cyclegan-benchmark demo_load`: 40 requests from 16 clients, every 5th a text file, while a long video job
    holds the one worker (so the queue of 2 fills), cancelled after 3 s so the waiting requests are translated."""
    srv = Server(tmp_path, make_checkpoints(tmp_path / "ck"), "--device", "cpu", "--max_queue", "2")
    try:
        job_id = start_long_video_job(srv, tmp_path)
        load = subprocess.Popen([sys.executable, "-m", "cyclegan.benchmark", "demo_load", "--url", srv.url,
                                 "--image", str(files["photo"]), "--model", "tiny", "--requests", "40",
                                 "--clients", "16", "--bad_every", "5", "--pid", str(srv.proc.pid)],
                                cwd=REPO, env=run_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        time.sleep(3)
        assert get_json(f"{srv.url}/api/jobs/{job_id}/cancel", method="POST")[0] == 200
        out, err = load.communicate(timeout=300)
        assert load.returncode == 0, err
        counts = json.loads(out.strip().splitlines()[-1])
    finally:
        srv.stop(signal.SIGINT)
    assert counts["server_5xx"] == 0 and counts["other"] == 0, counts
    assert counts["bad_sent"] == 8 and counts["bad_400_with_reason"] == 8, counts
    assert counts["busy_429"] >= 1 and counts["busy_without_retry_after"] == 0, counts
    assert counts["translated"] >= 1 and counts["translated"] + counts["busy_429"] == 32, counts
    assert counts["retry_after_range_s"][0] >= 1 and counts["server_peak_rss_mb"] > 0, counts
