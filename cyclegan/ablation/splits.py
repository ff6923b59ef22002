"""Validation chooses, test reports: the ablation scores every checkpoint on two held-out splits, --eval_dir
(validation: every choice is made on it: the best variant, each arm's checkpoint, the budget line) and --test_dir
(test: its scores are shown beside the chosen ones and never used to choose).

This module checks that the test split is apart from the validation split and from the training images (resolved
real paths: splits are often folders of symlinks), tells a run's records apart by split (a record without a
"split" field was scored before --test_dir existed: a validation one), picks each arm's checkpoint on validation,
and looks up the test score of whatever a validation choice picked."""
import os
import statistics

from ..errors import MissingFileError
from ..images import list_images
from ..metrics.evaluate import heldout_dirs
from .plan import AblationError

VAL, TEST = "val", "test"
TRAIN_FOLDERS = ("trainA", "trainB")  # what cyclegan.train reads under --dataroot


def split_of(rec):
    return rec.get("split", VAL)


def belongs(rec, split, split_dir=None):
    """Whether a record is a score on `split` (for the test split: on the folder `split_dir`, so a sweep given
    another --test_dir later scores that one afresh instead of showing the old folder's numbers)."""
    return split_of(rec) == split and (split == VAL or rec.get("split_dir") == split_dir)


def by_split(records, test_dir=None):
    """(validation records, test records of `test_dir`, [] without one) of one run."""
    return ([r for r in records if belongs(r, VAL)],
            [r for r in records if test_dir and belongs(r, TEST, test_dir)])


def _real_files(folders):
    """{resolved real path: the path as listed} of the image files below `folders` (missing folders: none)."""
    out = {}
    for folder in folders:
        if os.path.isdir(folder):
            out.update({os.path.realpath(p): str(p) for p in list_images(folder, recursive=True)})
    return out


def check_apart(test_dir, eval_dir, dataroot):
    """Raise AblationError (naming --test_dir and the flag it collides with) when the test split is the
    validation folder, or its photos (B: the images every choice translates and scores, photo -> painting C2ST)
    are also validation photos or training images, or its paintings (A) are training images. The paintings may
    be the validation's too: they are the real side of the photo -> painting C2ST, which sees them for every arm
    alike, and the paintings -> photos scores choose nothing. Returns the test split's (dir_A, dir_B)."""
    try:
        test_dirs = heldout_dirs(None, test_dir)
    except MissingFileError:
        raise AblationError(f"--test_dir {test_dir}: no testA/ and testB/ (or A/ and B/) folders of images there "
                            f"(the same layout as --eval_dir)") from None
    eval_dirs = heldout_dirs(dataroot, eval_dir)
    eval_flag = f"--eval_dir {eval_dir}" if eval_dir else f"--eval_dir (not given: --dataroot {dataroot}'s testA/testB)"
    why = ("the test split must play no part in any choice; give a test split apart from the validation split and "
           "the training images (docs/recipes.md, Protocol)")
    if os.path.realpath(test_dir) == os.path.realpath(eval_dir or dataroot):
        raise AblationError(f"--test_dir {test_dir} and {eval_flag} are the same folder: {why}")
    train_flag = f"the training --dataroot {dataroot}"
    for side, (test_side, eval_side) in zip("AB", zip(test_dirs, eval_dirs)):
        test = _real_files([test_side])
        others = ([(eval_flag, [eval_side])] if side == "B" else []) + [(train_flag,
                                                                         [os.path.join(dataroot, f"train{side}")])]
        for flag, folders in others:
            shared = sorted(test.keys() & _real_files(folders).keys())
            if shared:
                raise AblationError(f"--test_dir {test_dir}: {len(shared)} image file(s) are also in {flag} (e.g. "
                                    f"{test[shared[0]]} is {shared[0]}): {why}")
    return test_dirs


class ScoresOnTest:  # not "TestScores": pytest would take it for a test class
    """The test split's scores of a sweep, looked up by the checkpoint (variant, seed, step) a validation choice
    picked. records: {run folder: test records}; None: no test split (every lookup gives None)."""

    def __init__(self, runs, weights, records=None):
        self.given = records is not None
        self.index = {folder: {(r["step"], r["weights"]): r for r in recs} for folder, recs in (records or {}).items()}
        self.folder = {(name, run.seed): run.folder for run in runs for name, _ in run.variants}
        self.weights = weights

    def record(self, variant, seed, step):
        """The test record of a variant's checkpoint, or None."""
        return self.index.get(self.folder.get((variant, int(seed))), {}).get((step, self.weights.get(variant)))

    def value(self, variant, seed, step, key):
        rec = self.record(variant, seed, step)
        return None if rec is None else rec.get(key)

    def attach(self, result, key):
        """Add the test score of each per-seed choice of a best_within() / chosen_checkpoints() result
        (per_seed[seed]["test"]) and their mean over seeds (["test_mean"]); returns the result."""
        if not self.given:
            return result
        for variant, d in result["per_variant"].items():
            for seed, p in d["per_seed"].items():
                p["test"] = self.value(variant, seed, p["step"], key)
            vals = [p["test"] for p in d["per_seed"].values() if p["test"] is not None]
            d["test_mean"] = statistics.fmean(vals) if vals else None
        return result


def chosen_checkpoints(series):
    """Each arm's checkpoint chosen on validation: the step of its lowest validation score. series: {variant:
    {seed: [(step, value, ...)]}} (validation only, report.summarise's series). Returns {"per_variant": {variant:
    {"mean", "per_seed": {seed: {"step", "value"}}}}, "ranking": [variants by the mean of their chosen scores, best
    first]}."""
    out = {}
    for variant, seeds in series.items():
        per_seed = {}
        for seed, pts in seeds.items():
            scored = [p for p in pts if p[1] is not None]
            if scored:
                best = min(scored, key=lambda p: (p[1], p[0]))  # a tie: the earlier step
                per_seed[seed] = {"step": best[0], "value": best[1]}
        vals = [p["value"] for p in per_seed.values()]
        out[variant] = {"mean": statistics.fmean(vals) if vals else None, "per_seed": per_seed}
    ranking = sorted((v for v in out if out[v]["mean"] is not None), key=lambda v: out[v]["mean"])
    return {"per_variant": out, "ranking": ranking}
