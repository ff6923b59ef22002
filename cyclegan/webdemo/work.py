"""Running a Plan: every input through every chosen column, each result a PNG (or a WebM for a video) in the
job's folder with the time it took and the device.

No model code lives here: CycleGAN runs, official generators and fast-NST runs go through the public inference
API (cyclegan.load, one Translator per model, kept for the next request), Gatys through the optimiser's own
entry point (cyclegan.nst.Stylizer.stylize, its progress hook driving the page's bar and cancelling), videos
through the video command's code (cyclegan.media.stylize_video, gatys_frames).
"""
import collections
import os
import threading
import time

from ..errors import UserError
from ..images import save_image, to_tensor
from ..inference import ModelFileError, load
from ..media import VideoError, gatys_frames, stylize_video
from ..nst import Stylizer, WeightsError, load_image
from ..perf import device_name, resolve_device
from .catalog import vgg_status
from .jobs import Cancelled
from .errors import TooLarge
from .limits import fit

CACHED_MODELS = 4  # Translators kept loaded (least recently used dropped first)
VIDEO_SUFFIX = ".webm"  # VP9: every browser plays it inline
VIDEO_BATCH = 4


class JobBar:
    """The progress object Stylizer.stylize asks for: each iteration steps the job (which raises Cancelled
    once the job was cancelled, ending the optimisation at that iteration)."""

    def __init__(self, job):
        self.job = job

    def update(self, n=1, **values):
        self.job.step(n)

    def close(self):
        pass


class Engine:
    """The device, the loaded models and the Gatys network, shared by every job."""

    def __init__(self, device="auto", weights=None, log=print):
        self.device = resolve_device(device)
        self.device_label = f"{self.device}: {device_name(self.device)}"
        self.weights, self.log = weights, log
        self._models = collections.OrderedDict()
        self._stylizer = None
        self._lock = threading.Lock()  # one load at a time

    # ---- what is loaded
    def translator(self, entry):
        """(Translator, seconds spent loading it now: 0 when it was loaded before)."""
        key = (entry.key, entry.files())
        with self._lock:
            if key in self._models:
                self._models.move_to_end(key)
                return self._models[key], 0.0
            t0 = time.perf_counter()
            translator = load(entry.path, direction=entry.direction or "photo2painting", device=self.device)
            self._models[key] = translator
            while len(self._models) > CACHED_MODELS:
                self._models.popitem(last=False)
            return translator, time.perf_counter() - t0

    def stylizer(self):
        """(the Gatys Stylizer on VGG19, seconds spent building it now); WeightsError saying where the file goes."""
        with self._lock:
            if self._stylizer is not None:
                return self._stylizer, 0.0
            path, message = vgg_status(self.weights)
            if path is None:
                raise WeightsError(message)
            t0 = time.perf_counter()
            self._stylizer = Stylizer("vgg19", weights=path, device=self.device)
            return self._stylizer, time.perf_counter() - t0

    # ---- a job
    def work(self, plan):
        """The function the queue runs for `plan` (see jobs.Job)."""
        return lambda job: self._run(job, plan)

    def _run(self, job, plan):
        state = {}  # style targets, computed once per job
        for i, inp in enumerate(plan.inputs):
            if inp.error:
                job.begin(f"checking {inp.shown}")
                job.add({"input": i, "column": None, "label": inp.shown, "error": inp.error, "status": inp.status})
                continue
            for c, choice in enumerate(plan.choices):
                steps = plan.num_iters if choice.method == "gatys" and inp.kind == "image" else (inp.frames or 1)
                job.begin(f"{choice.label} on {inp.shown}", steps)
                base = {"input": i, "column": c, "key": choice.key, "method": choice.method, "label": choice.label,
                        "device": self.device_label}
                try:
                    result, path = self._one(job, plan, inp, choice, state, f"{i}_{c}")
                except Cancelled:
                    raise
                except WeightsError as e:
                    result, path = {"error": f"Gatys cannot run: {e}", "status": 503}, None
                except ModelFileError as e:
                    result, path = {"error": f"{choice.label} failed to load: {e}", "status": 500}, None
                except (UserError, VideoError) as e:
                    message = str(e).replace(inp.path, inp.shown)
                    result, path = {"error": message, "status": getattr(e, "status", 400)}, None
                except Exception as e:  # a bug: one line for the page, the traceback for the log
                    import traceback
                    self.log(f"job {job.id}: {choice.label} on {inp.shown} failed:\n{traceback.format_exc()}")
                    result, path = {"error": f"internal error ({type(e).__name__}: {e}); the server log has the "
                                             f"details", "status": 500}, None
                if path is not None:
                    result["url"] = f"/api/jobs/{job.id}/files/{result['file']}"
                job.add({**base, **result}, path)

    def _one(self, job, plan, inp, choice, state, stem):
        """(result fields, file path) of one input through one column."""
        gatys = choice.method == "gatys"
        if gatys:
            net, load_s = self.stylizer()
            if "targets" not in state:
                state["targets"] = net.style_targets([load_image(p, plan.gatys_size) for p in plan.styles])
            extra = {"style": plan.style_label, "num_iters": plan.num_iters}
        else:
            net, load_s = self.translator(choice.entry)
            extra = {"precision": "float32" if net.speed.amp == "none" else net.speed.amp}
        name = f"{stem}_{choice.method}"
        if inp.kind == "video":
            path = os.path.join(job.folder, name + VIDEO_SUFFIX)
            t0 = time.perf_counter()
            info = self._video(job, plan, inp, net, gatys, state, path)
            seconds = time.perf_counter() - t0
            extra.update(frames=info["frames"], fps=info["fps"], width=info["size"][0], height=info["size"][1],
                         notes=info.get("notes", []))
            kind = "video"
        else:
            image = fit(inp.image, plan.gatys_size if gatys else plan.size)
            t0 = time.perf_counter()
            if gatys:
                out, stats = net.stylize(to_tensor(image)[None], state["targets"], num_iters=plan.num_iters,
                                         progress=lambda total, desc: JobBar(job))
                extra["iterations"] = stats.iterations
            else:
                out = net(image)
            seconds = time.perf_counter() - t0
            path = os.path.join(job.folder, name + ".png")
            save_image(out, path)
            w, h = image.size
            extra.update(width=w, height=h)
            kind = "image"
            job.step()
        return {"kind": kind, "file": os.path.basename(path), "seconds": round(seconds, 3),
                "load_seconds": round(load_s, 3), **extra}, path

    def _video(self, job, plan, inp, net, gatys, state, path):
        if gatys:
            process = gatys_frames(net, state["targets"], temporal_init=True, num_iters=plan.num_iters)
        else:
            process = net  # a Translator takes and gives (B, 3, H, W) batches in [0, 1]
        notes, seen = [], [0]

        def counted(x):
            seen[0] += len(x)
            if seen[0] > plan.max_frames:
                raise TooLarge(f"{inp.shown}: more than {plan.max_frames} frames, this demo's limit "
                               f"(--max_video_frames); cut a shorter clip")
            job.check()
            y = process(x)
            job.step(len(x))
            return y
        info = stylize_video(inp.path, path, counted, batch_size=1 if gatys else VIDEO_BATCH,  # Gatys: cancel per frame
                             max_size=plan.gatys_size if gatys else plan.size, log=notes.append, progress=False)
        info["notes"] = notes
        return info
