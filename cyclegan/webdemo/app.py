"""The demo's web application (Starlette): the page, its static files and the JSON API.

    GET  /                          the page (static/index.html, demo.js, demo.css: nothing from elsewhere)
    GET  /api/info                  models and paintings found now, methods, limits, device, Gatys's VGG status
    POST /api/jobs                  a form (see plan.py) -> 202 {id, position, ...}; the page polls the job
    GET  /api/jobs/ID               status, queue position, progress, results so far
    POST /api/jobs/ID/cancel        cancel it, waiting or running
    GET  /api/jobs/ID/files/NAME    a result (NAME looked up among the job's results)
    GET  /api/jobs/ID/results.zip   every result of the job
    POST /api/stylize               one image and one model or method -> image/png, for scripts

Every error is JSON {"error": message} with a 4xx status for a bad request (413 over a limit, 429 when the
queue is full), 500 for a model that fails to load, 503 for Gatys without VGG weights. Everything uploaded or
computed lives in one temporary folder, removed when the app shuts down.
"""
import asyncio
import contextlib
import io
import os
import shutil
import tempfile
import zipfile
from dataclasses import dataclass, field

from starlette.applications import Starlette
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from ..errors import UserError
from .catalog import METHOD_LABELS, METHODS, discover_models, discover_styles, vgg_status
from .errors import Busy, DemoError, NotFound
from .jobs import Job, JobQueue
from .limits import Limits
from .plan import build_plan
from .uploads import read_form
from .work import Engine

STATIC = os.path.join(os.path.dirname(os.path.abspath(__file__)), "static")
LOOPBACK = ("127.0.0.1", "localhost", "::1")
HEADERS = {  # the page may load only what this server serves
    "Content-Security-Policy": "default-src 'self'; img-src 'self' blob: data:; media-src 'self' blob:; "
                               "style-src 'self'; script-src 'self'; connect-src 'self'; font-src 'self'; "
                               "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer", "Cache-Control": "no-store"}
MEDIA_TYPES = {".png": "image/png", ".webm": "video/webm"}


@dataclass
class DemoConfig:
    checkpoints_dir: str = "./checkpoints"
    styles_dir: str = None
    weights: str = None  # VGG19 weights for Gatys (None: torchvision's cache)
    device: str = "auto"
    host: str = "127.0.0.1"
    workers: int = 1
    max_queue: int = 8
    limits: Limits = field(default_factory=Limits)


class Demo:
    """The state behind the app: the temporary folder, the engine and the queue."""

    def __init__(self, config, log=print):
        self.config, self.log = config, log
        self.root = tempfile.mkdtemp(prefix="cyclegan-demo-")
        self.engine = Engine(config.device, config.weights, log)
        self.queue = JobQueue(config.workers, config.max_queue, on_forget=self._remove, log=log)
        self.closed = False

    def _remove(self, job):
        if job.folder:
            shutil.rmtree(job.folder, ignore_errors=True)

    def models(self):
        return discover_models(self.config.checkpoints_dir)

    def styles(self):
        return discover_styles(self.config.styles_dir)

    def close(self):
        """Cancel every job, stop the workers, remove the temporary folder (safe to call twice)."""
        if self.closed:
            return
        self.closed = True
        stopped = self.queue.close()
        shutil.rmtree(self.root, ignore_errors=True)
        self.log(f"cyclegan-demo: removed the temporary folder {self.root}"
                 + ("" if stopped else " (a job was still stopping)"))

    async def new_job(self, request, single):
        """Read, check and queue a request; InputError (and its kin) for a bad one, with nothing left behind."""
        job = Job()
        job.folder = os.path.join(self.root, job.id)
        try:
            fields, uploads = await read_form(request, job.folder, self.config.limits)
            plan = await run_in_threadpool(build_plan, fields, uploads, self.models(), self.styles(),
                                           self.config.limits, single)
            job.work = self.engine.work(plan)
            job.progress["tasks"] = plan.tasks
            job.meta = {"inputs": [i.public() for i in plan.inputs],
                        "columns": [{"key": c.key, "label": c.label, "method": c.method} for c in plan.choices],
                        "style": plan.style_label or None, "device": self.engine.device_label}
            return self.queue.submit(job)
        except BaseException:
            self._remove(job)
            raise


def json_error(message, status, headers=None):
    return JSONResponse({"error": message, "status": status}, status_code=status, headers=headers)


def create_app(config=None, log=print):
    """The Starlette app; app.state.demo is its Demo (closed when the app shuts down)."""
    config = config or DemoConfig()
    demo = Demo(config, log)

    def job_of(request):
        job = demo.queue.get(request.path_params["job_id"])
        if job is None:
            raise NotFound("no such job (finished jobs are kept for a while, then forgotten)")
        return job

    async def index(request):
        return FileResponse(os.path.join(STATIC, "index.html"), media_type="text/html")

    async def info(request):
        models, styles = await run_in_threadpool(lambda: (demo.models(), demo.styles()))
        path, message = vgg_status(config.weights)
        return JSONResponse({
            "device": demo.engine.device_label, "checkpoints_dir": os.path.abspath(config.checkpoints_dir),
            "models": [e.public() for e in models.values()],
            "styles": [{"key": k, "count": len(v)} for k, v in styles.items()],
            "methods": [{"key": m, "label": METHOD_LABELS[m]} for m in METHODS],
            "gatys": {"ready": path is not None, "message": message},
            "limits": config.limits.public(), "queue": demo.queue.counts()})

    async def submit(request):
        job = await demo.new_job(request, single=False)
        return JSONResponse(job.snapshot(demo.queue.position(job)), status_code=202)

    async def status(request):
        job = job_of(request)
        return JSONResponse(job.snapshot(demo.queue.position(job)))

    async def cancel(request):
        job = job_of(request)
        demo.queue.cancel(job)
        return JSONResponse(job.snapshot(demo.queue.position(job)))

    async def result_file(request):
        job = job_of(request)
        path = job.files.get(request.path_params["name"])
        if path is None or not os.path.isfile(path):
            raise NotFound("no such result")
        return FileResponse(path, media_type=MEDIA_TYPES.get(os.path.splitext(path)[1], "application/octet-stream"))

    async def results_zip(request):
        job = job_of(request)
        names = {r["file"]: r for r in list(job.results) if r.get("file") in job.files}
        if not names:
            raise NotFound("this job has no results yet")

        def pack():
            buf = io.BytesIO()
            with zipfile.ZipFile(buf, "w") as z:
                for name, r in names.items():
                    inp = job.meta["inputs"][r["input"]]["name"]
                    z.write(job.files[name], f"{os.path.splitext(inp)[0]}__{r['key']}{os.path.splitext(name)[1]}"
                            .replace("/", "_").replace(":", "_"))
            return buf.getvalue()
        return Response(await run_in_threadpool(pack), media_type="application/zip",
                        headers={"Content-Disposition": f'attachment; filename="cyclegan-demo-{job.id[:8]}.zip"'})

    async def stylize(request):
        job = await demo.new_job(request, single=True)
        while not job.done.is_set():
            await asyncio.sleep(0.05)
        if job.status != "done" or not job.results:
            demo.queue.forget(job)
            return json_error(job.error or "the job was cancelled (the demo is shutting down)",
                              500 if job.status == "failed" else 503)
        r = job.results[0]
        if r.get("error"):
            demo.queue.forget(job)
            return json_error(r["error"], r.get("status", 500))
        return FileResponse(job.files[r["file"]], media_type="image/png",
                            headers={"X-Seconds": str(r["seconds"]), "X-Device": r["device"], "X-Model": r["key"]},
                            background=BackgroundTask(demo.queue.forget, job))

    async def on_error(request, exc):  # a bug's traceback goes to the server log (uvicorn), not to the client
        if isinstance(exc, Busy):  # RFC 9110: a 429 may say when to come back
            return json_error(str(exc), exc.status, {"Retry-After": str(exc.retry_after)})
        if isinstance(exc, DemoError):
            return json_error(str(exc), exc.status)
        if isinstance(exc, UserError):
            return json_error(str(exc), 400)
        if isinstance(exc, HTTPException):
            return json_error(exc.detail, exc.status_code)
        return json_error(f"internal error ({type(exc).__name__}); the server log has the details", 500)

    @contextlib.asynccontextmanager
    async def lifespan(app):
        demo.queue.start()
        try:
            yield
        finally:
            demo.close()

    hosts = ["*"] if config.host not in LOOPBACK else ["127.0.0.1", "localhost", "[::1]", "::1"]
    app = Starlette(
        routes=[Route("/", index), Route("/api/info", info), Route("/api/jobs", submit, methods=["POST"]),
                Route("/api/jobs/{job_id}", status), Route("/api/jobs/{job_id}/cancel", cancel, methods=["POST"]),
                Route("/api/jobs/{job_id}/files/{name}", result_file),
                Route("/api/jobs/{job_id}/results.zip", results_zip),
                Route("/api/stylize", stylize, methods=["POST"]),
                Mount("/static", app=StaticFiles(directory=STATIC), name="static")],
        middleware=[Middleware(SecurityHeaders), Middleware(TrustedHostMiddleware, allowed_hosts=hosts)],
        exception_handlers={Exception: on_error, HTTPException: on_error, UserError: on_error},
        lifespan=lifespan)
    app.state.demo = demo
    return app


class SecurityHeaders:
    """ASGI middleware: every response gets HEADERS (its own values win)."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)

        async def send_with_headers(message):
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for k, v in HEADERS.items():
                    headers.setdefault(k, v)
            await send(message)
        await self.app(scope, receive, send_with_headers)
