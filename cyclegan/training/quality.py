"""Quality curves during training (--eval_freq N epochs): the held-out evaluation of
cyclegan.metrics.evaluate (of the averaged generators under --ema_decay, unless --raw_weights), appended to
CHECKPOINTS/NAME/eval_log.jsonl and drawn on the training page and in visdom.

Off the hot path: at the end of an evaluated epoch the generators translate the small held-out set in
the training thread (a few forward passes); the C2ST, colour and cycle numbers are computed by a
background worker from CPU copies, never touching torch's global RNG, so training goes on meanwhile and
its random stream is the same with or without evaluation. close() waits for the last evaluation.
"""
import os
import sys
import time

from ..display.worker import LatestJobWorker
from ..errors import SettingError
from ..metrics.c2st import DEFAULT_STEPS as C2ST_STEPS
from ..metrics.evaluate import append_jsonl, check_heldout_size, heldout_dirs, load_heldout, read_jsonl, score, \
    translate
from ..models.ema import eval_generators  # the plain nets (no DDP collective on one rank); EMA ones if kept


class QualityEval:
    """Evaluate every `eval_freq` epochs; a no-op when eval_freq is 0."""

    def __init__(self, opt, model, vis, warn=None):
        self.freq = int(getattr(opt, "eval_freq", 0) or 0)
        self.model, self.vis, self.seed = model, vis, int(getattr(opt, "seed", 0) or 0)
        self.raw = bool(getattr(opt, "raw_weights", False))
        self.direction = opt.direction
        self.c2st_settings = {"steps": int(getattr(opt, "eval_c2st_steps", C2ST_STEPS))}
        self.path = os.path.join(model.save_dir, "eval_log.jsonl")
        self._warn = warn or (lambda msg: print(msg, file=sys.stderr, flush=True))
        self.worker = None
        if not self.freq:
            return
        try:
            self._load(opt, model)
        except (ValueError, FileNotFoundError) as e:  # C2STError is a ValueError
            if "eval_freq" in (getattr(opt, "explicit", None) or ()):
                raise
            self._warn(f"warning: quality curves off ({e})")
            self.freq = 0
            return
        print(f"quality evaluation every {self.freq} epoch(s) on {len(self.heldout.A)} images of "
              f"{self.heldout.dir_A} and {len(self.heldout.B)} of {self.heldout.dir_B}; appended to {self.path}",
              flush=True)
        self.worker = LatestJobWorker("quality-eval", on_error=self._failed)
        self.records = read_jsonl(self.path)  # a resumed run shows its earlier curve
        vis.plot_quality(self.records)

    def _load(self, opt, model):
        if len(model.generators()) not in (1, 2):
            raise SettingError("--eval_freq needs a model with one generator (A -> B: cut) or two (cycle_gan); "
                               "pass --eval_freq 0")
        dir_A, dir_B = heldout_dirs(opt.dataroot, getattr(opt, "eval_dir", None))
        self.heldout = load_heldout(dir_A, dir_B, size=opt.crop_size, max_images=getattr(opt, "eval_max", None))
        for path, why in self.heldout.skipped:
            self._warn(f"warning: quality evaluation skips unreadable image {path} ({why})")
        check_heldout_size(self.heldout)

    def end_of_epoch(self, epoch, total_iters):
        if self.worker is None or epoch % self.freq:
            return
        start = time.perf_counter()
        gens = eval_generators(self.model, self.raw)  # A -> B, B -> A
        if len(gens) == 1:  # one generator (cut): from the dataset's B to A under --direction BtoA
            gens = (None, gens[0]) if self.direction == "BtoA" else (gens[0], None)
        forward, backward = gens
        outputs = translate(forward, backward, self.heldout, self.model.device)
        translate_s = time.perf_counter() - start
        self.worker.submit(("epoch", epoch), lambda: self._score(outputs, epoch, total_iters, translate_s))

    def _score(self, outputs, epoch, total_iters, translate_s):
        start = time.perf_counter()
        rec = {"epoch": epoch, "total_iters": total_iters, "time": time.time()}
        # num_threads None: a background thread must never change torch's process-wide thread count
        rec.update(score(outputs, self.heldout, seed=self.seed, c2st_settings=self.c2st_settings))
        rec["translate_s"], rec["score_s"] = translate_s, time.perf_counter() - start
        self.records.append(append_jsonl(self.path, rec))
        self.vis.plot_quality(self.records)

    def _failed(self, key, exc):
        self._warn(f"warning: quality evaluation at {key} failed ({type(exc).__name__}: {exc}); training goes on")

    def close(self, timeout=600.0):
        """Wait (up to `timeout` s) for pending evaluations, so the last epoch's point is in the log."""
        if self.worker is not None:
            self.worker.stop(timeout)
