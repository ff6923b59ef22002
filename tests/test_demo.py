"""cyclegan-demo's logic without a server: model and painting discovery (keys, never paths), the VGG message,
the limits (non-images, decompression bombs, sizes), the upload reader, the queue (positions, limit, cancel,
forgetting, shutdown), request plans, and the engine on tiny models (results, load failures, Gatys, cancel).
The real server in a browser: test_demo_server.py."""
import asyncio
import threading
import time

import numpy as np
import pytest
from PIL import Image

from _demo import bomb_png, make_checkpoints, multipart
from conftest import make_images
from cyclegan.webdemo import Job, JobQueue, Limits, discover_models, discover_styles, lookup_model
from cyclegan.webdemo.catalog import lookup_style, vgg_status
from cyclegan.webdemo.errors import Busy, InputError, TooLarge
from cyclegan.webdemo.limits import int_field, open_image
from cyclegan.webdemo.plan import build_plan, choose
from cyclegan.webdemo.uploads import Upload, read_form


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory):
    root = make_checkpoints(tmp_path_factory.mktemp("ck") / "checkpoints")
    (root / "notes").mkdir()  # not a run: no weights
    (root / "notes" / "readme.txt").write_text("x")
    (root / ".hidden").mkdir()
    return root


def wait_for(predicate, timeout=10.0):
    end = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < end, "timed out"
        time.sleep(0.01)


# ---- discovery
def test_discovery_finds_every_kind_and_looks_names_up_never_as_paths(checkpoints, tmp_path):
    models = discover_models(checkpoints)
    assert list(models) == ["broken", "fast", "official", "tiny:photo2painting", "tiny:painting2photo"]
    assert [(m.kind, m.method) for m in models.values()] == [("pretrained", "cyclegan"), ("fast_nst", "fast_nst"),
                                                             ("pretrained", "cyclegan"), ("cyclegan", "cyclegan"),
                                                             ("cyclegan", "cyclegan")]
    assert lookup_model(models, "tiny").direction == "photo2painting"  # a run's bare name: photo2painting
    assert lookup_model(models, "tiny:painting2photo").direction == "painting2photo"
    outside = tmp_path / "outside"
    make_checkpoints(outside)
    for name in ("../tiny", str(checkpoints / "tiny"), str(outside / "official"), "tiny/..", "notes", ".hidden", ""):
        with pytest.raises(InputError, match="unknown model"):
            lookup_model(models, name)
    assert discover_models(tmp_path / "missing") == {} and discover_models(None) == {}


def test_styles_are_files_and_pooled_folders(tmp_path):
    make_images(tmp_path / "styles", 1, prefix="starry")
    make_images(tmp_path / "styles" / "vangogh", 3)
    (tmp_path / "styles" / "empty").mkdir()
    (tmp_path / "styles" / "notes.txt").write_text("x")
    styles = discover_styles(tmp_path / "styles")
    assert list(styles) == ["starry0.jpg", "vangogh/"] and len(styles["vangogh/"]) == 3
    with pytest.raises(InputError, match="unknown style"):
        lookup_style(styles, "../styles/starry0.jpg")


def test_missing_vgg_weights_say_where_the_file_goes(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    path, message = vgg_status(None)
    assert path is None and "vgg19-dcbb9e9d.pth" in message and str(tmp_path / "torch") in message
    path, message = vgg_status(str(tmp_path / "nope.pth"))
    assert path is None and "nope.pth: no such file" in message and "--weights" in message
    (tmp_path / "v.pth").write_bytes(b"x")
    assert vgg_status(str(tmp_path / "v.pth"))[0] == str(tmp_path / "v.pth")


# ---- limits and uploads
def test_non_images_and_decompression_bombs_are_refused_before_decoding(tmp_path):
    limits = Limits(max_pixels=1_000_000)
    (tmp_path / "a.txt").write_text("hello")
    with pytest.raises(InputError, match="notes.txt: not an image") as e:
        open_image(tmp_path / "a.txt", "notes.txt", limits)
    assert e.value.status == 400 and str(tmp_path) not in str(e.value)
    with pytest.raises(TooLarge, match="4000 x 3000 = 12.0 megapixels.*--max_pixels") as e:
        open_image(bomb_png(tmp_path / "b.png", 4000, 3000), "b.png", limits)
    assert e.value.status == 413
    with pytest.raises(TooLarge, match="decompression bomb"):  # past PIL's own limit too
        open_image(bomb_png(tmp_path / "c.png", 30000, 30000), "c.png", limits)
    good = make_images(tmp_path / "ok", 1, size=(50, 30))[0]
    assert open_image(good, "ok.jpg", limits).size == (50, 30)
    good.write_bytes(good.read_bytes()[:200])  # truncated
    with pytest.raises(InputError, match="ok.jpg"):
        open_image(good, "ok.jpg", limits)


def test_number_fields_are_checked_against_their_limits():
    assert int_field({}, "num_iters", 50, 1, 300, "--max_gatys_iters") == 50
    assert int_field({"num_iters": ["20"]}, "num_iters", 50, 1, 300, "--max_gatys_iters") == 20
    with pytest.raises(InputError, match="num_iters=301 is over this demo's limit of 300 \\(--max_gatys_iters\\)"):
        int_field({"num_iters": ["301"]}, "num_iters", 50, 1, 300, "--max_gatys_iters")
    for bad in ("0", "x"):
        with pytest.raises(InputError, match="num_iters"):
            int_field({"num_iters": [bad]}, "num_iters", 50, 1, 300, "--max_gatys_iters")


class FakeRequest:
    """What read_form reads of a Starlette request: headers and the body in chunks."""

    def __init__(self, body, content_type, length=True, chunk=1000):
        from starlette.datastructures import Headers
        raw = {"content-type": content_type}
        if length:
            raw["content-length"] = str(len(body))
        self.headers, self.body, self.chunk = Headers(raw), body, chunk

    async def stream(self):
        for i in range(0, len(self.body), self.chunk):
            yield self.body[i:i + self.chunk]


def test_uploads_are_written_under_our_names_in_the_job_folder_only(tmp_path):
    body, ctype = multipart([("image", "../../evil.PNG", b"png bytes"), ("model", None, b"tiny"),
                             ("style_image", "C:\\x\\starry.jpg", b"jpg bytes")])
    fields, uploads = asyncio.run(read_form(FakeRequest(body, ctype), str(tmp_path / "job"), Limits()))
    assert fields == {"model": ["tiny"]}
    assert [(u.field, u.shown, u.size) for u in uploads] == [("image", "evil.PNG", 9), ("style_image", "starry.jpg", 9)]
    assert sorted(p.name for p in (tmp_path / "job").iterdir()) == ["in0.png", "style0.jpg"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["job"]


@pytest.mark.parametrize("length", [True, False])
def test_an_upload_over_the_limit_is_refused_while_it_streams(tmp_path, length):
    body, ctype = multipart([("image", "big.png", b"x" * 3 * 2 ** 20)])
    with pytest.raises(TooLarge, match="--max_upload_mb"):
        asyncio.run(read_form(FakeRequest(body, ctype, length, chunk=2 ** 16), str(tmp_path / "j"),
                              Limits(max_upload_mb=1)))
    with pytest.raises(InputError, match="multipart/form-data"):
        asyncio.run(read_form(FakeRequest(b"{}", "application/json"), str(tmp_path / "j"), Limits()))


def test_options_take_the_library_limits_and_refuse_bad_values(capsys):
    from options.demo_options import DemoOptions
    opt = DemoOptions().parse([])
    assert (opt.host, opt.port, opt.checkpoints_dir, opt.device.type) == ("127.0.0.1", 7860, "./checkpoints", "cpu")
    assert opt.limits == Limits()
    opt = DemoOptions().parse(["--max_gatys_iters", "20", "--max_upload_mb", "2.5", "--max_video_frames", "0"])
    assert (opt.limits.max_gatys_iters, opt.limits.max_upload_bytes, opt.limits.max_video_frames) == (20, 2621440, 0)
    for argv, message in ((["--device", "gpu"], "give auto, cpu, cuda or cuda:N"),
                          (["--max_side", "8"], "--max_side must be at least 16"), (["--port", "0"], "--port 0")):
        with pytest.raises(SystemExit) as e:
            DemoOptions().parse(argv)
        assert e.value.code == 2 and message in capsys.readouterr().err


# ---- the queue
def blocking_work(release, steps=None):
    def work(job):
        while not release.is_set():
            job.step() if steps is None else None
            time.sleep(0.005)
    return work


def test_queue_positions_limit_and_cancel():
    release = threading.Event()
    queue = JobQueue(workers=1, max_queue=2).start()
    try:
        first = queue.submit(Job(blocking_work(release), tasks=1))
        first.begin("x", steps=10 ** 6)
        wait_for(lambda: first.status == "running")
        second, third = queue.submit(Job(blocking_work(release))), queue.submit(Job(blocking_work(release)))
        assert [queue.position(j) for j in (first, second, third)] == [0, 1, 2]
        with pytest.raises(Busy, match="queue is full") as e:
            queue.submit(Job(blocking_work(release)))
        assert e.value.status == 429 and e.value.retry_after == 5  # no job has finished yet: 5 s
        queue.cancel(second)  # waiting: taken out at once
        assert second.status == "cancelled" and queue.position(third) == 1
        queue.cancel(first)  # running: its next step raises Cancelled
        wait_for(lambda: first.status == "cancelled")
        wait_for(lambda: third.status == "running")
        assert third.snapshot(queue.position(third))["position"] == 0
        release.set()
        wait_for(lambda: third.status == "done")
        assert third.snapshot()["progress"]["fraction"] == 1.0
    finally:
        release.set()
        queue.close()


def test_a_queue_of_zero_runs_one_job_and_refuses_the_next():
    release = threading.Event()
    queue = JobQueue(workers=1, max_queue=0).start()
    try:
        running = queue.submit(Job(blocking_work(release)))
        wait_for(lambda: running.status == "running")
        with pytest.raises(Busy):
            queue.submit(Job(blocking_work(release)))
    finally:
        release.set()
        queue.close()


def test_failures_are_one_line_and_old_jobs_are_forgotten():
    forgotten, logged = [], []
    queue = JobQueue(workers=1, max_queue=8, keep=2, on_forget=forgotten.append, log=logged.append).start()
    try:
        def boom(job):
            raise RuntimeError("boom")

        def refused(job):
            raise InputError("gatys_size=5: give at least 16")
        jobs = [queue.submit(Job(w)) for w in (boom, refused, lambda job: None, lambda job: None)]
        wait_for(lambda: all(j.done.is_set() for j in jobs))
        assert jobs[0].status == "failed" and jobs[0].error.startswith("internal error (RuntimeError: boom)")
        assert "Traceback" not in jobs[0].error and "Traceback" in logged[0]
        assert jobs[1].error == "gatys_size=5: give at least 16"
        assert forgotten == jobs[:2] and queue.get(jobs[0].id) is None and queue.get(jobs[3].id) is jobs[3]
    finally:
        queue.close()


def test_close_cancels_running_and_waiting_jobs():
    release = threading.Event()
    queue = JobQueue(workers=1, max_queue=4).start()
    running = queue.submit(Job(blocking_work(release)))
    running.begin("x", 10 ** 6)
    waiting = queue.submit(Job(blocking_work(release)))
    wait_for(lambda: running.status == "running")
    assert queue.close(timeout=5) is True
    assert (running.status, waiting.status) == ("cancelled", "cancelled")
    with pytest.raises(Busy, match="shutting down"):
        queue.submit(Job(blocking_work(release)))


# ---- plans
def test_choices_take_models_by_key_and_methods_by_name(checkpoints):
    models = discover_models(checkpoints)
    only_fast = {k: v for k, v in models.items() if k != "broken" and k != "official"}
    picked = choose({"model": ["tiny", "fast", "tiny"], "method": ["gatys"]}, models, single=False)
    assert [c.key for c in picked] == ["tiny:photo2painting", "fast", "gatys"]
    assert [c.key for c in choose({"method": ["fast_nst"]}, models, False)] == ["fast"]  # the only one there is
    with pytest.raises(InputError, match="name the model too"):
        choose({"method": ["cyclegan"]}, only_fast, False)  # two CycleGAN directions: ambiguous
    with pytest.raises(InputError, match="unknown method"):
        choose({"method": ["dream"]}, models, False)
    with pytest.raises(InputError, match="is a Fast NST model, not method=cyclegan"):
        choose({"model": ["fast"], "method": ["cyclegan"]}, models, single=True)
    with pytest.raises(InputError, match="one image"):
        choose({"model": ["fast"], "method": ["gatys"]}, models, single=True)
    with pytest.raises(InputError, match="at least one model"):
        choose({}, models, False)


def test_plans_check_every_file_and_limit(checkpoints, tmp_path):
    models = discover_models(checkpoints)
    photo = make_images(tmp_path, 1, size=(60, 40))[0]
    (tmp_path / "x.txt").write_text("not an image")
    uploads = [Upload("image", "photo.jpg", str(photo), 1), Upload("image", "x.txt", str(tmp_path / "x.txt"), 1)]
    plan = build_plan({"model": ["fast"]}, uploads, models, {}, Limits())
    assert plan.inputs[0].image.size == (60, 40) and "x.txt: not an image" in plan.inputs[1].error
    assert plan.tasks == 2
    with pytest.raises(InputError, match="x.txt: not an image"):  # nothing left to run: the request is refused
        build_plan({"model": ["fast"]}, uploads[1:], models, {}, Limits())
    with pytest.raises(InputError, match="needs a painting"):
        build_plan({"method": ["gatys"]}, uploads[:1], models, {}, Limits())
    with pytest.raises(InputError, match="--max_gatys_iters"):
        build_plan({"method": ["gatys"], "num_iters": ["999"]}, uploads[:1], models, {"s.jpg": [str(photo)]}, Limits())
    plan = build_plan({"method": ["gatys"]}, uploads[:1], models, {"s.jpg": [str(photo)]}, Limits())
    assert plan.styles == [str(photo)] and plan.num_iters == 50 and plan.gatys_size == 256
    with pytest.raises(InputError, match="limit is 1"):
        build_plan({"model": ["fast"]}, uploads[:1] * 2, models, {}, Limits(), single=True)


# ---- the engine on tiny models
def run_plan(engine, plan, folder):
    job = Job(engine.work(plan), tasks=plan.tasks, folder=str(folder))
    folder.mkdir(exist_ok=True)
    job.work(job)
    return job


def test_engine_runs_models_through_the_api_and_reports_load_failures(checkpoints, tmp_path, one_thread):
    from cyclegan.webdemo.work import Engine
    models = discover_models(checkpoints)
    photo = make_images(tmp_path, 1, size=(50, 34))[0]
    plan = build_plan({"model": ["tiny:painting2photo", "fast", "official", "broken"]},
                      [Upload("image", "me.jpg", str(photo), 1)], models, {}, Limits())
    engine = Engine("cpu")
    job = run_plan(engine, plan, tmp_path / "job")
    ok, broken = job.results[:3], job.results[3]
    for r in ok:
        assert "error" not in r
        assert Image.open(job.files[r["file"]]).size == (50, 34) and r["seconds"] > 0 and r["device"].startswith("cpu")
    assert broken["status"] == 500 and broken["error"].startswith("CycleGAN: broken (official generator) failed to "
                                                                  "load") and "PyTorch file" in broken["error"]
    again = run_plan(engine, plan, tmp_path / "job2")  # the models stay loaded
    assert [r["load_seconds"] for r in again.results[:3]] == [0.0, 0.0, 0.0]
    assert np.asarray(Image.open(again.files[again.results[1]["file"]])).tolist() == \
        np.asarray(Image.open(job.files[ok[1]["file"]])).tolist()


def test_gatys_without_vgg_weights_says_where_to_put_them(tmp_path, monkeypatch):
    from cyclegan.webdemo.work import Engine
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    photo = make_images(tmp_path, 1, size=(32, 32))[0]
    plan = build_plan({"method": ["gatys"]}, [Upload("image", "me.jpg", str(photo), 1)], {}, {"s.jpg": [str(photo)]},
                      Limits())
    r = run_plan(Engine("cpu"), plan, tmp_path / "job").results[0]
    assert r["status"] == 503 and r["error"].startswith("Gatys cannot run: No ImageNet weights for vgg19")
    assert f"copy the file to {tmp_path / 'torch'}" in r["error"]


def test_gatys_runs_through_the_optimiser_and_cancels_mid_run(vgg_weights_file, tmp_path, one_thread):
    from cyclegan.webdemo.work import Engine
    photo = make_images(tmp_path, 1, size=(40, 32))[0]
    engine = Engine("cpu", weights=str(vgg_weights_file))
    fields = {"method": ["gatys"], "num_iters": ["2"], "gatys_size": ["32"]}
    plan = build_plan(fields, [Upload("image", "me.jpg", str(photo), 1)], {}, {"s.jpg": [str(photo)]}, Limits())
    r = run_plan(engine, plan, tmp_path / "job").results[0]
    assert r["iterations"] == 2 and Image.open(tmp_path / "job" / r["file"]).size == (32, 26)
    long = build_plan({**fields, "num_iters": ["300"]}, [Upload("image", "me.jpg", str(photo), 1)], {},
                      {"s.jpg": [str(photo)]}, Limits())
    queue = JobQueue(workers=1).start()
    try:
        (tmp_path / "long").mkdir()
        job = queue.submit(Job(engine.work(long), tasks=long.tasks, folder=str(tmp_path / "long")))
        wait_for(lambda: job.progress["step"] >= 2, timeout=60)
        queue.cancel(job)
        wait_for(lambda: job.done.is_set(), timeout=30)
        assert job.status == "cancelled" and job.progress["step"] < 300 and job.results == []
    finally:
        queue.close()


def test_busy_says_when_to_retry_from_recent_job_times():
    release = threading.Event()
    queue = JobQueue(workers=1, max_queue=0).start()
    try:
        quick = queue.submit(Job(lambda job: time.sleep(0.3)))
        wait_for(lambda: quick.status == "done")
        running = queue.submit(Job(blocking_work(release)))
        wait_for(lambda: running.status == "running")
        running.started -= 20  # as if it had run 20 s, longer than the 0.3 s jobs take: retry at once
        with pytest.raises(Busy) as e:
            queue.submit(Job(blocking_work(release)))
        assert e.value.retry_after == 1 and "try again in about 1 s" in str(e.value)
        queue._durations.extend([30.0] * 3)  # recent jobs took 30 s; this one has run 20
        with pytest.raises(Busy) as e:
            queue.submit(Job(blocking_work(release)))
        assert 9 <= e.value.retry_after <= 11
    finally:
        release.set()
        queue.close()
