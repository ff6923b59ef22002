"""A local web demo: drop photos (or a short video) on a page, run the models found under a checkpoints folder
(CycleGAN runs in either direction, official generators, fast-NST runs) and Gatys side by side, see each
result's time and device, download them; and POST /api/stylize for scripts. `cyclegan-demo` serves it.

catalog.py finds models and paintings by scanning folders; limits.py and uploads.py check what arrives;
plan.py turns a request into checked work; jobs.py queues it; work.py runs it through cyclegan.load, the Gatys
optimiser and the video code; app.py is the Starlette app; server.py runs it with uvicorn; static/ is the page.
"""
from .app import DemoConfig, create_app
from .catalog import ModelEntry, discover_models, discover_styles, lookup_model
from .jobs import Cancelled, Job, JobQueue
from .limits import Limits
from .server import serve

__all__ = ["Cancelled", "DemoConfig", "Job", "JobQueue", "Limits", "ModelEntry", "create_app", "discover_models",
           "discover_styles", "lookup_model", "serve"]
