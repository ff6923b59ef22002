"""Run the methods (CycleGAN, CUT, fast NST, Gatys) on the same photos, timed and memory-measured, with
per-photo results cached on disk.

Layout of out_dir: images/{key}_{method}.png and records/{key}.json (one per photo: per method the
output file, wall seconds, peak memory, the painting used, or the error). A re-run reuses what is
there unless overwrite=True; a photo that fails is recorded and the others go on.
"""
import json
import os
import random
import re
import time
import traceback

from ..images import load_image, save_image
from ..io import atomic_write_json
from ..perf import current_memory_mb, peak_memory_mb, reset_peak_memory, synchronize

METHODS = ("cyclegan", "cut", "fast_nst", "gatys_per_image", "gatys_domain")


def load_photo(path, size):
    """Image file -> (1,3,H,W) tensor in [0,1], longest side `size`, both sides multiples of 4."""
    return load_image(path, longest=size, multiple=4).unsqueeze(0)


def photo_key(index, path):
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", os.path.splitext(os.path.basename(path))[0])[:60]
    return f"{index:03d}_{stem}"


def pick_painting(paintings, key, seed):
    """The per_image rule: a painting drawn by a RNG seeded with (seed, photo key); recorded per photo."""
    return random.Random(f"{seed}:{key}").choice(paintings)


def measured(fn, device):
    """Run fn(); return (result, wall seconds, peak memory MB above the level before the call)."""
    reset_peak_memory(device)
    base = current_memory_mb(device)
    synchronize(device)
    start = time.perf_counter()
    result = fn()
    synchronize(device)
    seconds = time.perf_counter() - start
    return result, seconds, max(0.0, peak_memory_mb(device) - base)


class Comparison:
    """Holds the methods; `run(photos)` fills out_dir and returns the per-photo records.
    translator: a cyclegan.inference.Translator (loaded with back=True for the cycle L1); cut: one of a CUT run
    (--model cut), or None; fast_nst: one of a fast-NST run, or None."""

    def __init__(self, out_dir, translator, stylizer, paintings, modes, image_size, gatys_kwargs, seed=0,
                 device="cpu", overwrite=False, style_size=None, log=print, fast_nst=None, cut=None):
        self.out_dir, self.translator, self.stylizer = out_dir, translator, stylizer
        self.paintings, self.modes, self.size = list(paintings), list(modes), image_size
        self.gatys_kwargs, self.seed, self.device = dict(gatys_kwargs), seed, device
        self.overwrite, self.style_size, self.log = overwrite, style_size or image_size, log
        self.fast_nst, self.cut = fast_nst, cut
        self._targets = {}
        for sub in ("images", "records"):
            os.makedirs(os.path.join(out_dir, sub), exist_ok=True)

    def targets(self, which, photo=None):
        """Style targets for one painting path, or for 'domain' (all paintings pooled), computed once.
        With preserve_color they are built from luminance against `photo`, so per photo."""
        if self.gatys_kwargs.get("preserve_color") and photo is not None:
            paths = self.paintings if which == "domain" else [which]
            return self.stylizer.style_targets([load_photo(p, self.style_size) for p in paths], luminance_of=photo)
        if which not in self._targets:
            paths = self.paintings if which == "domain" else [which]
            start = time.perf_counter()
            imgs = [load_photo(p, self.style_size) for p in paths]
            self._targets[which] = self.stylizer.style_targets(imgs)
            if which == "domain":
                self.domain_setup_s = time.perf_counter() - start
                self.log(f"domain style targets from {len(paths)} paintings in {self.domain_setup_s:.1f} s")
        return self._targets[which]

    def run(self, photos):
        records = []
        for i, path in enumerate(photos):
            key = photo_key(i, path)
            records.append(self.run_photo(key, path))
        return records

    def run_photo(self, key, path):
        rec_path = os.path.join(self.out_dir, "records", key + ".json")
        record = {"key": key, "photo": str(path), "methods": {}}
        if os.path.isfile(rec_path) and not self.overwrite:
            with open(rec_path) as f:
                record = json.load(f)
        try:
            photo = load_photo(path, self.size)
            save_image(photo, self.image_path(key, "input"))
            record["input"] = os.path.relpath(self.image_path(key, "input"), self.out_dir)
            record.pop("error", None)
        except Exception as e:  # noqa: BLE001 - one bad photo must not stop the others
            record["error"] = f"{type(e).__name__}: {e}"
            self.log(f"{path}: failed to load ({record['error']})")
            self.save_record(rec_path, record)
            return record
        for method in self.methods():
            done = record["methods"].get(method, {})
            if done.get("file") and os.path.isfile(os.path.join(self.out_dir, done["file"])) and not self.overwrite:
                continue
            try:
                record["methods"][method] = self.run_method(method, key, photo)
            except Exception as e:  # noqa: BLE001
                record["methods"][method] = {"error": f"{type(e).__name__}: {e}"}
                self.log(f"{path}: {method} failed: {e}\n{traceback.format_exc(limit=3)}")
            self.save_record(rec_path, record)
        self.save_record(rec_path, record)
        return record

    def methods(self):
        out = ["cyclegan"] if self.translator is not None else []
        out += ["cut"] if self.cut is not None else []
        out += ["fast_nst"] if self.fast_nst is not None else []
        return out + [f"gatys_{m}" for m in self.modes] if self.stylizer is not None else out

    def run_method(self, method, key, photo):
        entry = {}
        if method == "cyclegan":
            self.translator.warm(photo)  # a compiled generator compiles for a new shape outside the timing
            (out, cycle), seconds, mem = measured(lambda: self.translator.with_cycle(photo), self.device)
            entry["cycle_l1"] = cycle
        elif method == "fast_nst":
            out, seconds, mem = measured(lambda: self.fast_nst(photo), self.device)
        elif method == "cut":
            self.cut.warm(photo)
            out, seconds, mem = measured(lambda: self.cut.translate(photo).cpu(), self.device)
        else:
            painting = pick_painting(self.paintings, key, self.seed) if method == "gatys_per_image" else "domain"
            targets = self.targets(painting, photo)  # outside the timing: shared by every photo
            (out, stats), seconds, mem = measured(
                lambda: self.stylizer.stylize(photo, targets, progress=False, **self.gatys_kwargs), self.device)
            entry.update(painting=painting, evaluations=stats.evaluations, final_loss=stats.final.get("total"))
            if painting != "domain":  # a copy at the photo's size, so the page stands on its own
                thumb = self.image_path("painting", os.path.splitext(os.path.basename(painting))[0])
                if not os.path.isfile(thumb):
                    save_image(load_photo(painting, self.size), thumb)
                entry["painting_file"] = os.path.relpath(thumb, self.out_dir)
        if out.shape[-2:] != photo.shape[-2:]:
            raise RuntimeError(f"{method} output is {tuple(out.shape[-2:])}, input {tuple(photo.shape[-2:])}")
        save_image(out, self.image_path(key, method))
        entry.update(file=os.path.relpath(self.image_path(key, method), self.out_dir), time_s=seconds,
                     peak_mem_mb=mem)
        return entry

    def image_path(self, key, what):
        return os.path.join(self.out_dir, "images", f"{key}_{what}.png")

    @staticmethod
    def save_record(path, record):
        atomic_write_json(path, record, indent=1)
