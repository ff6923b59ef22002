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
from dataclasses import dataclass

from ..display.worker import LatestJobWorker
from ..errors import SettingError
from ..metrics.c2st import DEFAULT_STEPS as C2ST_STEPS
from ..metrics.evaluate import DEFAULT_EVAL_MAX, append_jsonl, check_heldout_size, heldout_dirs, load_heldout, \
    read_jsonl, score, translate
from ..models.ema import eval_generators  # the plain nets (no DDP collective on one rank); EMA ones if kept
from ..models.recipe import RecipeSettings
from ..settings import Settings, flag


@dataclass(frozen=True)
class QualitySettings(Settings):
    """The quality curves' flags, declared once (training options generate them from here)."""
    eval_freq: int = flag(None, "every N epochs evaluate on held-out images (C2ST both ways, colour distance, cycle "
                                "L1) into eval_log.jsonl and the quality plot; 0 = off (None: 5 on a GPU, off on the "
                                "CPU, where the scoring shares the training's cores; off with a warning when there is "
                                "no held-out set unless given explicitly)", type=int)
    eval_dir: str = flag(None, "held-out set for --eval_freq: a folder with testA/testB or A/B (None: DATAROOT)")
    eval_max: int = flag(DEFAULT_EVAL_MAX, "at most this many held-out images per domain", type=int)
    eval_c2st_steps: int = flag(C2ST_STEPS, "C2ST training steps per fold (speed vs power)", type=int)


class QualityEval:
    """Evaluate every `eval_freq` epochs; a no-op when eval_freq is 0."""

    def __init__(self, opt, model, vis, warn=None):
        q = self.settings = QualitySettings.from_opt(opt)
        self.freq = q.eval_freq or 0
        self.model, self.vis, self.seed = model, vis, opt.seed
        self.raw = RecipeSettings.from_opt(opt).raw_weights
        self.direction = opt.direction
        self.c2st_settings = {"steps": q.eval_c2st_steps}
        self.path = os.path.join(model.save_dir, "eval_log.jsonl")
        self._warn = warn or (lambda msg: print(msg, file=sys.stderr, flush=True))
        self.worker = None
        if not self.freq:
            return
        try:
            self._load(opt, model)
        except (ValueError, FileNotFoundError) as e:  # C2STError is a ValueError
            if "eval_freq" in opt.explicit:
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
        dir_A, dir_B = heldout_dirs(opt.dataroot, self.settings.eval_dir)
        self.heldout = load_heldout(dir_A, dir_B, size=opt.crop_size, max_images=self.settings.eval_max)
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
