"""What a request asks for, checked against what was found and the limits before anything is queued: the
inputs (images decoded once, videos opened once to count their frames), the columns (a model each, or Gatys)
and the sizes. Fields (the page's form and the API share them):

    image        one or more photos or short videos (files)
    model        a model key (repeat for several); see catalog.discover_models
    method       cyclegan | fast_nst | gatys (repeat for several); cyclegan/fast_nst without a model of that
                 method take the only one there is
    size         longest side of the models' results (default 512, at most --max_side; smaller inputs stay)
    gatys_size   Gatys's longest side (default 256), num_iters its iterations (default 50, --max_gatys_iters)
    style        an offered painting or folder (catalog.discover_styles), or style_image: uploaded paintings,
                 pooled when several (a folder picked on the page arrives as several)
"""
import math
from dataclasses import dataclass, field

from ..media import VideoError, open_video
from .catalog import METHOD_LABELS, METHODS, lookup_model, lookup_style
from .errors import InputError, TooLarge
from .limits import (DEFAULT_GATYS_ITERS, DEFAULT_GATYS_SIZE, DEFAULT_SIZE, int_field, is_video_name, open_image)


@dataclass
class Input:
    shown: str
    path: str
    kind: str = "image"  # or video
    image: object = None  # the decoded PIL image
    frames: int = 0  # a video's frame count (estimated from its duration when the container has none)
    error: str = None
    status: int = 400

    def public(self):
        return {"name": self.shown, "kind": self.kind, "error": self.error,
                **({"width": self.image.size[0], "height": self.image.size[1]} if self.image else {})}


@dataclass
class Choice:
    method: str
    entry: object = None  # the ModelEntry, None for Gatys

    @property
    def key(self):
        return self.entry.key if self.entry else self.method

    @property
    def label(self):
        return f"{METHOD_LABELS[self.method]}: {self.entry.label}" if self.entry else METHOD_LABELS[self.method]


@dataclass
class Plan:
    inputs: list
    choices: list
    size: int = DEFAULT_SIZE
    gatys_size: int = DEFAULT_GATYS_SIZE
    num_iters: int = DEFAULT_GATYS_ITERS
    styles: list = field(default_factory=list)  # Gatys's painting files, pooled
    style_label: str = ""
    max_frames: int = 0  # a video's frames, counted again while it is decoded (containers can lie)

    @property
    def tasks(self):
        return sum(len(self.choices) for i in self.inputs if not i.error) + sum(1 for i in self.inputs if i.error)


def video_frames(path, shown, limits):
    """A video's frame count, checked against the limit; InputError for a file that is not a usable video."""
    try:
        container, video, _, fps = open_video(path)
    except (VideoError, FileNotFoundError) as e:
        raise InputError(str(e).replace(str(path), shown)) from None
    try:
        frames = video.frames or (math.ceil(float(video.duration * video.time_base * fps))
                                  if video.duration and video.time_base else 0)
    finally:
        container.close()
    if frames > limits.max_video_frames:
        raise TooLarge(f"{shown}: {frames} frames, over this demo's limit of {limits.max_video_frames} "
                       f"(--max_video_frames); cut a shorter clip")
    return frames


def read_input(upload, limits):
    """An Input for an uploaded file: decoded (an image) or counted (a video), or carrying the error."""
    inp = Input(upload.shown, upload.path)
    try:
        if is_video_name(upload.shown):
            if not limits.max_video_frames:
                raise InputError(f"{upload.shown}: videos are turned off here (--max_video_frames 0)")
            inp.kind, inp.frames = "video", video_frames(upload.path, upload.shown, limits)
        else:
            inp.image = open_image(upload.path, upload.shown, limits)
    except InputError as e:
        inp.error, inp.status = str(e), e.status
    return inp


def choose(fields, models, single):
    """The columns: each named model, then each named method without one (see the module docstring)."""
    choices = []
    for key in fields.get("model", []):
        if key.strip():
            entry = lookup_model(models, key)
            if all(c.key != entry.key for c in choices):
                choices.append(Choice(entry.method, entry))
    named_methods = [m.strip() for m in fields.get("method", []) if m.strip()]
    for method in dict.fromkeys(named_methods):
        if method not in METHODS:
            raise InputError(f"unknown method {method!r}: choose {', '.join(METHODS)}")
        if method == "gatys":
            choices.append(Choice("gatys"))
        elif not any(c.method == method for c in choices) and not (single and choices):
            offered = [e for e in models.values() if e.method == method]
            if len(offered) != 1:
                raise InputError(f"method={method}: name the model too (model=KEY); the {METHOD_LABELS[method]} "
                                 f"models found are {', '.join(e.key for e in offered) or 'none'}")
            choices.append(Choice(method, offered[0]))
    if single:
        model_methods = [m for m in named_methods if m != "gatys"]
        wrong = [c for c in choices if c.entry and model_methods and c.method not in model_methods]
        if wrong:
            raise InputError(f"model {wrong[0].entry.key!r} is a {METHOD_LABELS[wrong[0].method]} model, not "
                             f"method={model_methods[0]}")
        if len(choices) != 1:
            raise InputError("name one model (model=KEY) or method=gatys: this endpoint answers with one image")
    if not choices:
        raise InputError("pick at least one model or method (fields 'model' and 'method')")
    return choices


def build_plan(fields, uploads, models, styles, limits, single=False):
    """The checked Plan of a request (fields and Uploads from uploads.read_form); InputError or TooLarge for
    a bad request. `single`: the API's one image and one model or method."""
    photos = [u for u in uploads if u.field == "image"]
    if not photos:
        raise InputError("no photo: send one or more images in the form field 'image'")
    if len(photos) > (1 if single else limits.max_files):
        raise InputError(f"{len(photos)} files in one request; the limit is {1 if single else limits.max_files}"
                         + ("" if single else " (--max_files)"))
    choices = choose(fields, models, single)
    plan = Plan([], choices,
                size=int_field(fields, "size", min(DEFAULT_SIZE, limits.max_side), 16, limits.max_side, "--max_side"),
                gatys_size=int_field(fields, "gatys_size", min(DEFAULT_GATYS_SIZE, limits.max_side), 16,
                                     limits.max_side, "--max_side"),
                num_iters=int_field(fields, "num_iters", min(DEFAULT_GATYS_ITERS, limits.max_gatys_iters), 1,
                                    limits.max_gatys_iters, "--max_gatys_iters"),
                max_frames=limits.max_video_frames)
    if any(c.method == "gatys" for c in choices):
        painted = [u for u in uploads if u.field == "style_image"]
        if painted:
            for u in painted:
                open_image(u.path, u.shown, limits)  # raises for a painting that is not an image
            plan.styles = [u.path for u in painted]
            plan.style_label = painted[0].shown + (f" + {len(painted) - 1} more" if len(painted) > 1 else "")
        else:
            key = (fields.get("style") or [""])[-1].strip() or next(iter(styles), "")
            if not key:
                raise InputError("Gatys needs a painting: upload one (style_image) or start the demo with "
                                 "--styles_dir to offer some (style)")
            plan.styles, plan.style_label = lookup_style(styles, key), key
    plan.inputs = [read_input(u, limits) for u in photos]
    if all(i.error for i in plan.inputs):  # nothing to run: the request itself is bad
        first = plan.inputs[0]
        raise (TooLarge if first.status == 413 else InputError)(first.error)
    if single and plan.inputs[0].kind != "image":
        raise InputError(f"{plan.inputs[0].shown}: this endpoint takes one image; send videos through the page")
    return plan
