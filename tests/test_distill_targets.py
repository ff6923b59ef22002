"""The distillation's training pairs (cyclegan/distillation/targets.py): with --reuse_targets R the teacher
translates one pool of POOL_BATCHES x batch_size fresh crops per chunk of POOL_BATCHES x R iterations, each crop
trains exactly R times in its chunk, a fresh sampler inside a chunk (a resume) gives the same pairs, and R = 1 is
the teacher on each iteration's own crops; end to end, a run with R = 2 stopped inside a chunk resumes bitwise
and keeps its R. The rate under --n_iters_decay follows the official linear rule and resumes bitwise inside the
decay."""
import contextlib
import importlib
import io
import json

import pytest
import torch

from conftest import make_images
from cyclegan.cli import distill as distill_cli
from cyclegan.distillation.targets import POOL_BATCHES, CropSampler, TargetBatches
from cyclegan.io import atomic_save, load_checked
from cyclegan.models.generators import define_G
from cyclegan.models.schedulers import get_scheduler, linear_factor

distill_train = importlib.import_module("cyclegan.distillation.train")  # the package exports its train() by that name


class CountingTeacher:
    """A stand-in teacher: a fixed function of its input, counting the crops it translated."""

    def __init__(self):
        self.crops = 0

    def __call__(self, x):
        self.crops += len(x)
        return x.flip(-1) * 0.5


@pytest.fixture
def sampler(tmp_path):
    paths = make_images(tmp_path / "photos", 5, size=(40, 36), seed=3)
    return CropSampler([str(p) for p in paths], load_size=36, crop_size=32, batch_size=3, seed=4)


def test_each_pool_crop_trains_exactly_r_times_and_the_teacher_sees_a_pool_per_chunk(sampler):
    teacher, reuse = CountingTeacher(), 3
    pairs = TargetBatches(sampler, teacher, "cpu", reuse)
    chunk = POOL_BATCHES * reuse
    seen = [pairs.pair(it) for it in range(1, chunk + 1)]
    assert teacher.crops == POOL_BATCHES * sampler.batch_size  # one pool for the whole chunk
    xs = torch.cat([x for x, _ in seen])
    ys = torch.cat([y for _, y in seen])
    assert torch.equal(ys, xs.flip(-1) * 0.5)  # every target is the teacher's translation of its own crop
    distinct, counts = torch.unique(xs.flatten(1), dim=0, return_counts=True)
    assert len(distinct) == POOL_BATCHES * sampler.batch_size and set(counts.tolist()) == {reuse}
    pairs.pair(chunk + 1)  # the next chunk translates a new pool, of other crops
    assert teacher.crops == 2 * POOL_BATCHES * sampler.batch_size


def test_a_fresh_sampler_inside_a_chunk_gives_the_same_pairs(sampler):
    whole = TargetBatches(sampler, CountingTeacher(), "cpu", 2)
    expected = [whole.pair(it) for it in range(1, 12)]
    resumed = TargetBatches(sampler, CountingTeacher(), "cpu", 2)
    for it in range(6, 12):  # 6 is inside the first chunk (iterations 1 to 8)
        x, y = resumed.pair(it)
        assert torch.equal(x, expected[it - 1][0]) and torch.equal(y, expected[it - 1][1])


def test_reuse_one_is_the_teacher_on_each_iterations_own_crops(sampler):
    teacher = CountingTeacher()
    x, y = TargetBatches(sampler, teacher, "cpu", 1).pair(7)
    assert torch.equal(x, sampler.batch(7) * 2 - 1) and torch.equal(y, x.flip(-1) * 0.5)
    assert teacher.crops == sampler.batch_size
    with pytest.raises(ValueError, match="at least 1"):
        TargetBatches(sampler, teacher, "cpu", 0)


def run_distill(*argv):
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = distill_cli.main([str(a) for a in argv])
    return code, out.getvalue(), err.getvalue()


def tiny_run(tmp_path):
    """cyclegan-distill's flags for a tiny run: 5 photos, a random resnet_6blocks teacher saved here, an ngf 4
    student on 32 px crops, in tmp_path/ck."""
    make_images(tmp_path / "data" / "trainB", 5, seed=1)
    torch.manual_seed(0)
    teacher = tmp_path / "teacher.pth"
    atomic_save(define_G(3, 3, 8, "resnet_6blocks", "instance").state_dict(), teacher)
    return ["--teacher", teacher, "--dataroot", tmp_path / "data", "--checkpoints_dir", tmp_path / "ck",
            "--load_size", "36", "--crop_size", "32", "--ngf", "4", "--batch_size", "2", "--print_freq", "4",
            "--save_freq", "100", "--amp", "none", "--device", "cpu"]


def test_a_run_reusing_targets_resumes_inside_a_chunk_bitwise_and_keeps_its_reuse(tmp_path):
    common = tiny_run(tmp_path)
    code, out, err = run_distill(*common, "--name", "whole", "--n_iters", 12, "--reuse_targets", 2)
    assert code == 0, out + err
    assert "each teacher translation used 2x" in out
    assert run_distill(*common, "--name", "split", "--n_iters", 5, "--reuse_targets", 2)[0] == 0
    code, out, err = run_distill(*common, "--name", "split", "--n_iters", 12, "--continue_train")  # R from the run
    assert code == 0, out + err
    assert "at iteration 5" in out and "each teacher translation used 2x" in out
    a = torch.load(tmp_path / "ck" / "whole" / "latest_net_G.pth", weights_only=True)
    b = torch.load(tmp_path / "ck" / "split" / "latest_net_G.pth", weights_only=True)
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    assert json.loads((tmp_path / "ck" / "split" / "distill_opt.json").read_text())["reuse_targets"] == 2
    with pytest.raises(SystemExit) as e, contextlib.redirect_stderr(io.StringIO()) as err:
        distill_cli.main([str(a) for a in (*common, "--name", "other", "--reuse_targets", "0")])
    assert e.value.code == 2 and "--reuse_targets must be at least 1" in err.getvalue()


def test_the_feature_term_takes_fresh_targets_and_refuses_reused_ones(tmp_path):
    from options.distill_options import DEFAULT_REUSE, DistillOptions
    make_images(tmp_path / "data" / "trainB", 2, seed=1)
    base = ["--teacher", "t.pth", "--dataroot", str(tmp_path / "data"), "--name", "n",
            "--checkpoints_dir", str(tmp_path / "ck")]
    assert DistillOptions().parse(base).reuse_targets == DEFAULT_REUSE
    assert DistillOptions().parse([*base, "--lambda_feat", "0.1"]).reuse_targets == 1
    with pytest.raises(SystemExit) as e, contextlib.redirect_stderr(io.StringIO()) as err:
        DistillOptions().parse([*base, "--lambda_feat", "0.1", "--reuse_targets", "2"])
    assert e.value.code == 2 and "--lambda_feat needs the teacher's activations" in err.getvalue()


def test_linear_factor_is_the_official_epoch_rule():
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
    sched = get_scheduler(opt, "linear", epoch_count=1, n_epochs=3, n_epochs_decay=4)
    for epoch in range(1, 8):  # the rate in force during each epoch, as the official loop reads it
        assert opt.param_groups[0]["lr"] == pytest.approx(linear_factor(epoch, 3, 4))
        opt.step()
        sched.step()
    assert [linear_factor(k, 3, 4) for k in (3, 4, 7)] == [1.0, 0.8, pytest.approx(0.2)]


class StopAt:
    """A stand-in for runs.guards.StopSignal: asks the loop to stop at iteration `at`, as SIGINT would."""

    def __init__(self, at):
        self.at, self.seen = at, 0

    def __call__(self):
        return self

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    @property
    def requested(self):  # read after each iteration's step, and again to log the stop
        self.seen += 1
        return "a test" if self.seen >= self.at else None


@pytest.mark.slow  # two small distillations end to end
def test_a_decaying_rate_ends_near_zero_and_resumes_inside_the_decay_bitwise(tmp_path, monkeypatch):
    common = tiny_run(tmp_path) + ["--lr", "1e-3", "--n_iters", 6, "--n_iters_decay", 9]
    code, out, err = run_distill(*common, "--name", "whole")
    assert code == 0, out + err
    assert "iteration 15/15" in out
    state = load_checked(tmp_path / "ck" / "whole" / "latest_state.pth")
    assert state["optimizers"]["G"]["param_groups"][0]["lr"] == pytest.approx(1e-3 / 10)  # the last of the 9
    monkeypatch.setattr(distill_train, "StopSignal", StopAt(10))  # stopped 4 iterations into the decay
    code, out, err = run_distill(*common, "--name", "split")
    assert code == 0 and "stopped by a test at iteration 10" in out, out + err
    monkeypatch.undo()
    code, out, err = run_distill(*common, "--name", "split", "--continue_train")
    assert code == 0 and "at iteration 10" in out, out + err
    a = torch.load(tmp_path / "ck" / "whole" / "latest_net_G.pth", weights_only=True)
    b = torch.load(tmp_path / "ck" / "split" / "latest_net_G.pth", weights_only=True)
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    with pytest.raises(SystemExit) as e, contextlib.redirect_stderr(io.StringIO()) as err:
        distill_cli.main([str(a) for a in (*common, "--name", "other", "--n_iters_decay", "-1")])
    assert e.value.code == 2 and "--n_iters_decay must be at least 0" in err.getvalue()
