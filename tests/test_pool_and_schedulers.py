"""Image pool (official behaviour) and learning-rate schedules (official linear rule, plateau metric)."""
import random

import pytest
import torch

from cyclegan.models.image_pool import ImagePool
from cyclegan.models.schedulers import get_scheduler


def test_pool_fills_then_swaps_with_probability_half():
    random.seed(0)
    pool = ImagePool(3)
    first = torch.arange(3.0).view(3, 1, 1, 1)
    assert torch.equal(pool.query(first), first)  # filling: returned as given
    assert len(pool.images) == 3
    returned_old = 0
    for i in range(200):
        new = torch.full((1, 1, 1, 1), 100.0 + i)
        out = pool.query(new)
        returned_old += int(out.item() != 100.0 + i)
    assert 70 < returned_old < 130  # about half the queries return a stored image
    assert len(pool.images) == 3


def test_pool_size_zero_is_passthrough_and_state_round_trips():
    x = torch.randn(2, 3, 4, 4)
    assert ImagePool(0).query(x) is x
    pool = ImagePool(2)
    pool.query(x)
    clone = ImagePool(0)
    clone.load_state_dict(pool.state_dict())
    assert clone.pool_size == 2 and all(torch.equal(a, b) for a, b in zip(clone.images, pool.images))


def lrs(policy, epochs, **kw):
    opt = torch.optim.Adam([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
    sched = get_scheduler(opt, policy, **kw)
    out = []
    for e in range(epochs):
        out.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step(1.0) if policy == "plateau" else sched.step()
    return out


def test_linear_matches_official_rule():
    out = lrs("linear", 200, epoch_count=1, n_epochs=100, n_epochs_decay=100)
    assert out[:100] == [1.0] * 100
    assert out[100] == pytest.approx(1 - 1 / 101)
    assert out[199] == pytest.approx(1 - 100 / 101)


def test_linear_counts_from_epoch_count():
    out = lrs("linear", 3, epoch_count=101, n_epochs=100, n_epochs_decay=100)
    assert out[0] == pytest.approx(1 - 1 / 101)


def test_step_plateau_cosine():
    assert lrs("step", 3, lr_decay_iters=2) == pytest.approx([1.0, 1.0, 0.1])
    plateau = lrs("plateau", 9)  # constant metric: reduced by 0.2 after patience 5
    assert plateau[0] == 1.0 and plateau[-1] == pytest.approx(0.2)
    cos = lrs("cosine", 3, n_epochs=2)
    assert cos[1] == pytest.approx(0.5) and cos[2] == pytest.approx(0.0, abs=1e-9)


def test_unknown_policy():
    with pytest.raises(ValueError, match="--lr_policy"):
        get_scheduler(torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1), "exp")
