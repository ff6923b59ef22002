"""Run an ablation sweep: train each run as a `cyclegan.train` subprocess (at most `parallel` jobs at once,
the parent's evaluation counting as one), score the saved generators at the evaluation points, rewrite the
report after every evaluation, and at the end time every variant's step (in turns, alone on the machine).

Resumable: the sweep folder is locked (the training run lock) and records its protocol; a finished run (its
latest_state.pth counts past the last epoch) is never trained again, an interrupted one resumes from its
checkpoint (--continue_train), and evaluations already in a run's ablate_eval.jsonl are kept. SIGINT/SIGTERM
stop the running trainings, which save their state, and the sweep says how to resume.

Every training process it starts is logged in the run's ablate_launches.jsonl with its share of the machine
(--parallel jobs, cores, threads, load at start); every scored point carries the training seconds to reach it and
KID beside the C2ST (timing.py).

With --test_dir every checkpoint scored on the validation split (--eval_dir) is scored on the test split too, in
the same ablate_eval.jsonl ("split": "test"); choices read validation only (splits.py). Given to a sweep that has
finished without it (or with --report_only), it scores the saved checkpoints on the test split: no training, no
validation scoring again.
"""
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass

import torch

from ..data.domains import domain_names
from ..io import atomic_write_json, read_json
from ..metrics.c2st import DEFAULT_FOLDS, DEFAULT_REPEATS, DEFAULT_STEPS
from ..metrics.evaluate import DEFAULT_EVAL_MAX, check_heldout_size, heldout_dirs, load_heldout, read_jsonl
from ..runs import run_folder
from ..runs.layout import RunFolder
from . import measure, report, splits, timing
from .plan import AblationError, plan, steps_per_epoch

PROTOCOL_FILE = "ablate.json"
ADDED_LATER = {"c2st_repeats": DEFAULT_REPEATS}  # protocol keys newer than some sweeps: their value in those
DEFAULT_EVAL_SIZE = 96  # held-out images' longest side: the C2ST's load size


class SweepInterrupted(Exception):
    """SIGINT/SIGTERM stopped the sweep; the runs saved their state."""


@dataclass
class SweepSettings:
    """Everything a sweep needs, as plain values (cyclegan-ablate fills it from its options)."""
    name: str
    out_dir: str
    dataroot: str
    variants: list  # [plan.Variant]
    seeds: list
    steps: int
    eval_every: int
    common: list  # training flags for every run
    decay: float = 0.5
    eval_dir: str | None = None
    eval_size: int = DEFAULT_EVAL_SIZE
    eval_max: int = DEFAULT_EVAL_MAX
    c2st_steps: int = DEFAULT_STEPS
    folds: int = DEFAULT_FOLDS
    c2st_seed: int = 0
    c2st_repeats: int = DEFAULT_REPEATS
    samples: int = 4
    parallel: int = 1
    threads: int = 1
    cost_steps: int = 16
    cost_warmup: int = 2
    device: str = "cpu"  # evaluation device
    report_only: bool = False
    order: str = "seeds"  # training order: 'seeds' (every variant at seed 1 first) or 'variants'
    inception_weights: str | None = None  # KID's Inception weights file (None: torch's hub cache, else no KID)
    budget_s: float | None = None  # the report's "best within T training seconds" line
    test_dir: str | None = None  # the test split: scored beside the validation split, never chosen on
    train: tuple | None = None  # variants whose runs this sweep trains (None: all); the others are only scored


class Sweep:
    def __init__(self, s, parse, log=print):
        """parse(argv) -> training options (options.train_options.TrainOptions().parse)."""
        self.s, self.parse, self.log = s, parse, log
        self.runs_dir = os.path.join(s.out_dir, "runs")
        self.base = ["--dataroot", s.dataroot, "--checkpoints_dir", self.runs_dir, "--display_id", "0", "--no_html",
                     "--eval_freq", "0", "--num_threads", "0"]
        self._described = {}
        if s.eval_every is None:  # one epoch of the common flags
            s.eval_every = self.describe([])[1]
        self.runs, self.weights = plan(s.variants, s.seeds, s.steps, s.eval_every, s.decay, s.common, self.describe,
                                       s.order)
        self.seeds, self.report_runs = list(s.seeds), self.runs  # check_protocol adds the sweep's earlier seeds
        s.variants = [v for v in s.variants if v.name in self.weights]
        netG = self.describe([])[2]
        self.flags = {v.name: [f.replace("{netG}", netG) for f in v.flags] for v in s.variants}
        self.records, self.test_records = {}, {}  # {run folder: records} of the validation and the test split
        self.kid = None  # timing.KidScorer, built when the sweep starts (not for --report_only)
        self.test, self.test_kid = None, None  # the test split's images and KID scorer, given --test_dir
        # records name their test folder resolved: the same split through a symlink is the same split
        self.test_dir = os.path.realpath(s.test_dir) if s.test_dir else None

    def describe(self, flags):
        """(batch size, steps per epoch, netG, {option: value} changed from the common flags) of the common
        training flags plus `flags`."""
        key = tuple(flags)
        if key not in self._described:
            opt = self.options(flags, "probe", 0)
            common = vars(self.options([], "probe", 0)) if flags else vars(opt)
            changes = {k: v for k, v in vars(opt).items() if k not in ("recipe", "explicit") and common.get(k) != v}
            from ..data import create_dataset
            size = len(create_dataset(opt))
            self._described[key] = (opt.batch_size, steps_per_epoch(size, opt.batch_size), opt.netG, changes)
        return self._described[key]

    def options(self, flags, name, seed, *extra):
        argv = self.base + ["--name", name, "--seed", str(seed), *map(str, extra)] + self.s.common + flags
        try:
            return self.parse(argv)
        except SystemExit:  # argparse has printed why
            raise AblationError(f"training flags {' '.join(self.s.common + flags)!r}: not valid for cyclegan-train "
                                f"(see the message above)") from None

    def train_argv(self, run):
        folder = os.path.join(self.runs_dir, run.folder)
        resume = ["--continue_train"] if run_folder.saved_files(folder) else []
        return [sys.executable, "-u", "-m", "cyclegan.train", *self.base, "--name", run.folder,
                "--seed", str(run.seed), "--n_epochs", str(run.epochs - run.n_epochs_decay),
                "--n_epochs_decay", str(run.n_epochs_decay), "--save_epoch_freq", str(run.save_freq),
                "--print_freq", str(run.steps_per_epoch * self.describe(run.flags)[0]),
                *self.s.common, *run.flags, *resume]

    def to_train(self, run):
        return self.s.train is None or any(n in self.s.train for n, _ in run.variants)

    def trained(self, run):
        path = RunFolder(os.path.join(self.runs_dir, run.folder)).state("latest")
        counters = run_folder.read_counters(path) if os.path.isfile(path) else None
        return bool(counters) and counters["epoch"] > run.epochs

    # ---- protocol ----
    def protocol(self):
        s = self.s
        return {"name": s.name, "dataroot": os.path.abspath(s.dataroot), "steps": s.steps, "eval_every": s.eval_every,
                "decay": s.decay, "common": list(s.common), "eval_size": s.eval_size, "eval_max": s.eval_max,
                "eval_dir": s.eval_dir, "c2st_steps": s.c2st_steps, "folds": s.folds, "c2st_seed": s.c2st_seed,
                "c2st_repeats": s.c2st_repeats, "seeds": list(self.seeds), "samples": s.samples, "test_dir": s.test_dir}

    def check_protocol(self):
        """Refuse a sweep folder of other settings; seeds add up: the report covers every seed any command of
        this sweep trained (self.report_runs), the schedule only this command's."""
        path = os.path.join(self.s.out_dir, PROTOCOL_FILE)
        saved = read_json(path)
        if saved and set(saved.get("seeds", ())) - set(self.seeds):
            self.seeds = sorted(set(saved["seeds"]) | set(self.seeds))
            s = self.s
            self.report_runs = plan(s.variants, self.seeds, s.steps, s.eval_every, s.decay, s.common, self.describe,
                                    s.order)[0]
        mine = self.protocol()
        if saved:
            # a test split may be added or changed later: it is scored on the saved checkpoints, never chosen on
            saved = {**ADDED_LATER, **saved}
            fixed = [k for k in mine if k not in ("seeds", "samples", "test_dir") and saved.get(k) != mine[k]]
            if fixed:
                changes = ", ".join(f"{k}: {saved.get(k)!r}, now {mine[k]!r}" for k in fixed)
                raise AblationError(
                    f"{self.s.out_dir} holds a sweep run with other settings ({changes}); its runs would not be "
                    f"comparable. Use the same settings to resume it (variants and seeds may be added), or another "
                    f"--name.")
        atomic_write_json(path, mine, indent=1)

    # ---- the work ----
    def run(self):
        s = self.s
        os.makedirs(s.out_dir, exist_ok=True)
        lock = run_folder.RunLock(s.out_dir).acquire()
        try:
            self.check_protocol()
            torch.set_num_threads(s.threads)
            self.heldout = self.load_heldout()
            self.cost = self.saved_cost()
            if s.test_dir:
                self.test = self.load_test()
            if not s.report_only:
                self.kid = timing.KidScorer(s.inception_weights, self.heldout.A, s.device)  # a bad file stops here
                self.log(f"KID: {self.kid.label}")
                if self.test is not None:
                    self.test_kid = self.kid.with_reference(self.test.A)
                self.schedule()
                self.cost = self.timing()  # after training: nothing else of the sweep runs meanwhile
            elif self.test is not None:  # the test split of what was scored, with no training
                self.test_kid = timing.KidScorer(s.inception_weights, self.test.A, s.device)
                for run in self.report_runs:
                    self.score_test(run)
            for run in self.report_runs:
                self.records[run.folder], self.test_records[run.folder] = self.read_records(run)
            return self.write_report()
        finally:
            lock.release()

    def load_heldout(self):
        dir_A, dir_B = heldout_dirs(self.s.dataroot, self.s.eval_dir)
        heldout = load_heldout(dir_A, dir_B, self.s.eval_size, self.s.eval_max)
        check_heldout_size(heldout, self.s.folds)
        self.heldout_desc = f"{len(heldout.B)} images of {dir_B} and {len(heldout.A)} of {dir_A}"
        return heldout

    def load_test(self):
        """The test split, loaded as the validation split is, once checked apart from it and from training."""
        dir_A, dir_B = splits.check_apart(self.s.test_dir, self.s.eval_dir, self.s.dataroot)
        test = load_heldout(dir_A, dir_B, self.s.eval_size, self.s.eval_max)
        check_heldout_size(test, self.s.folds)
        self.test_desc = f"{len(test.B)} images of {dir_B} and {len(test.A)} of {dir_A}"
        return test

    def read_records(self, run):
        """(validation records, test records of this --test_dir) in the run's ablate_eval.jsonl."""
        return splits.by_split(read_jsonl(self.eval_log(run)), self.test_dir)

    def saved_cost(self):
        """The cost measured for exactly these variants, else None."""
        saved = read_json(os.path.join(self.s.out_dir, "cost.json"))
        return saved if saved and sorted(saved["variants"]) == sorted(v.name for v in self.s.variants) else None

    def timing(self):
        saved = self.saved_cost()
        if saved:
            return saved
        path = os.path.join(self.s.out_dir, "cost.json")
        names = [v.name for v in self.s.variants]
        self.log(f"timing {len(names)} variants, {self.s.cost_steps} steps each in turns")
        opts = {v.name: self.options(self.flags[v.name], f"timing_{v.name}", 0) for v in self.s.variants}
        cost = measure.measure_cost(opts, self.s.cost_steps, self.s.cost_warmup, log=self.log)
        atomic_write_json(path, cost, indent=1)
        return cost

    def schedule(self):
        unscored = [r for r in self.runs if self.trained(r)]
        todo = [r for r in self.runs if r not in unscored and self.to_train(r)]
        left = len(self.runs) - len(unscored) - len(todo)
        self.log(f"{len(self.runs)} runs: {len(unscored)} trained, {len(todo)} to train"
                 f"{f', {left} left untrained (not in --train)' if left else ''}; logs in {self.runs_dir}/<run>.log")
        running = {}
        stop = {"signal": None}

        def handle(signum, frame):
            stop["signal"] = signum
        old = {sig: signal.signal(sig, handle) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            while (todo or running or unscored) and stop["signal"] is None:
                cap = self.s.parallel - (1 if unscored else 0)
                while todo and len(running) < max(cap, 0) and stop["signal"] is None:
                    run = todo.pop(0)
                    running[self.launch(run)] = run
                if unscored:
                    self.score(unscored.pop(0), stopped=lambda: stop["signal"] is not None)
                    continue
                finished = self.wait_any(running, stop)
                for proc, run in finished:
                    del running[proc]
                    if self.trained(run):
                        unscored.append(run)
                    elif stop["signal"] is None:
                        raise AblationError(f"training {run.folder} failed (exit {proc.returncode}); see "
                                            f"{self.log_path(run)}:\n{tail(self.log_path(run))}")
        finally:
            for proc in running:
                proc.send_signal(signal.SIGTERM)  # they save their state and exit
            for proc in running:
                proc.wait()
            for sig, handler in old.items():
                signal.signal(sig, handler)
        if stop["signal"] is not None:
            raise SweepInterrupted(f"stopped by {signal.Signals(stop['signal']).name}; the runs saved their state: "
                                    f"run the same command again to resume the sweep")

    def eval_log(self, run):
        return RunFolder(os.path.join(self.runs_dir, run.folder)).ablate_eval_log()

    def log_path(self, run):
        return os.path.join(self.runs_dir, f"{run.folder}.log")

    def launch(self, run):
        argv = self.train_argv(run)
        os.makedirs(self.runs_dir, exist_ok=True)
        self.log(f"training {run.folder} ({', '.join(n for n, _ in run.variants)}): {run.epochs} epochs of "
                 f"{run.steps_per_epoch} steps{' (resuming)' if '--continue_train' in argv else ''}")
        env = dict(os.environ, OMP_NUM_THREADS=str(self.s.threads))
        timing.record_launch(os.path.join(self.runs_dir, run.folder), self.s.parallel, self.s.threads,
                             self.options(run.flags, run.folder, run.seed).device, "--continue_train" in argv)
        with open(self.log_path(run), "a") as log:
            # its own session: a terminal's Ctrl-C reaches the sweep only, which stops each run once
            return subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)

    @staticmethod
    def wait_any(running, stop):
        while stop["signal"] is None:
            done = [(p, r) for p, r in running.items() if p.poll() is not None]
            if done or not running:
                return done
            time.sleep(1.0)
        return []

    def score(self, run, stopped=lambda: False):
        run_dir = os.path.join(self.runs_dir, run.folder)
        arch = measure.arch_of(self.options(run.flags, run.folder, run.seed))
        self.log(f"evaluating {run.folder}")
        self.records[run.folder] = measure.evaluate_run(run, run_dir, arch, self.heldout, self.c2st_settings(),
                                                        self.s.device, self.log, stopped, self.kid)
        self.score_test(run, stopped, arch)
        if run.seed == self.s.seeds[0] and self.s.samples and not stopped():
            measure.write_samples(run, run_dir, arch, self.heldout.B[:self.s.samples],
                                  os.path.join(self.s.out_dir, "samples"), self.s.device)
        self.write_report()

    def score_test(self, run, stopped=lambda: False, arch=None):
        """Score on the test split exactly the checkpoints the validation split has scored (none without
        --test_dir); what the run's log holds for this test folder already is kept."""
        if self.test is None:
            return
        val = self.read_records(run)[0]
        if not val:
            return
        run_dir = os.path.join(self.runs_dir, run.folder)
        arch = arch or measure.arch_of(self.options(run.flags, run.folder, run.seed))
        self.test_records[run.folder] = measure.evaluate_run(
            run, run_dir, arch, self.test, self.c2st_settings(), self.s.device, self.log, stopped, self.test_kid,
            split=splits.TEST, split_dir=self.test_dir, only={(r["epoch"], r["weights"]) for r in val})

    def c2st_settings(self):
        return {"c2st_seed": self.s.c2st_seed, "folds": self.s.folds, "c2st_steps": self.s.c2st_steps,
                "c2st_repeats": self.s.c2st_repeats}

    def write_report(self):
        for run in self.report_runs:
            if run.folder not in self.records:
                self.records[run.folder], self.test_records[run.folder] = self.read_records(run)
        samples_dir = os.path.join(self.s.out_dir, "samples")
        n = self.s.samples
        inputs = [os.path.join(samples_dir, "input", f"{i}.png") for i in range(n)]
        written = {v.name: [os.path.join(samples_dir, v.name, f"{i}.png") for i in range(n)] for v in self.s.variants}
        protocol = {**self.protocol(), "heldout": self.heldout_desc,
                    **({"test_heldout": self.test_desc} if self.test is not None else {})}
        return report.write_report(self.s.out_dir, protocol, [v.name for v in self.s.variants], self.flags,
                                   self.weights, self.report_runs, self.records, self.cost,
                                   ([p for p in inputs if os.path.isfile(p)], written),
                                   domain_names(self.s.dataroot),
                                   {v.name: v.decay for v in self.s.variants if v.decay is not None},
                                   self.s.budget_s, self.test_records if self.test is not None else None)


def tail(path, lines=15):
    try:
        with open(path, errors="replace") as f:
            return "".join(f.readlines()[-lines:])
    except OSError:
        return "(no log)"
