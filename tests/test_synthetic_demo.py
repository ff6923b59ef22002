"""The built-in demo data and what a short training on it must already show: a translation that follows
the input (fake_B differs between inputs about as much as the inputs do) and a working cycle (rec_A is
closer to its own real_A than to any other test painting), neither of which an untrained model shows."""
import numpy as np
import pytest
import torch
from PIL import Image

from cyclegan.data.synthetic import draw_pair, make_synthetic_dataset


def test_same_scene_drawn_two_ways_and_written_in_the_official_layout(tmp_path):
    def horizon(img):  # the row where the mean colour jumps most
        return int(np.abs(np.diff(img.mean(axis=1), axis=0)).sum(axis=1).argmax())

    same_horizon = 0
    for seed in range(10):
        painting, photo = draw_pair(np.random.default_rng(seed), 64)
        a, b = (np.asarray(x, dtype=np.float32) for x in (painting, photo))
        # paintings: strokes and outlines (high-frequency detail); photos: smooth
        assert np.abs(np.diff(a, axis=1)).mean() > 1.8 * np.abs(np.diff(b, axis=1)).mean()
        same_horizon += abs(horizon(a) - horizon(b)) <= 3
    assert same_horizon >= 8, f"the two drawings of a scene share the horizon in only {same_horizon}/10"
    root = make_synthetic_dataset(tmp_path / "syn", n_train=3, n_test=2, size=40, seed=1)
    for sub, n in (("trainA", 3), ("trainB", 3), ("testA", 2), ("testB", 2)):
        files = sorted((tmp_path / "syn" / sub).iterdir())
        assert len(files) == n and Image.open(files[0]).size == (40, 40)
    again = make_synthetic_dataset(tmp_path / "again", n_train=3, n_test=2, size=40, seed=1)
    assert (root / "trainA" / "0002.png").read_bytes() == (again / "trainA" / "0002.png").read_bytes()
    assert (root / "domains.json").is_file()


def translation_figures(model, paths):
    """(how much fake_B varies over inputs / how much the inputs vary, rec_A error / input variation,
    share of rec_A whose nearest test painting is its own real_A)."""
    real = torch.cat([torch.from_numpy(np.asarray(Image.open(p).convert("RGB"), dtype=np.float32) / 127.5 - 1)
                      .permute(2, 0, 1)[None] for p in paths])
    with torch.no_grad():
        fake = model.netG_A(real)
        rec = model.netG_B(fake)

    def spread(t):
        d = (t[:, None] - t[None]).abs().mean(dim=(2, 3, 4))
        return d.sum() / (len(t) * (len(t) - 1))

    nearest = (rec[:, None] - real[None]).abs().mean(dim=(2, 3, 4)).argmin(dim=1)
    return (float(spread(fake) / spread(real)), float((rec - real).abs().mean() / spread(real)),
            float((nearest == torch.arange(len(real))).float().mean()))


@pytest.mark.slow
def test_short_training_on_the_demo_data_follows_the_input(tmp_path, one_thread):
    """80 iterations at 48 px (about 20 CPU-seconds on one core)."""
    from cyclegan.models import create_model
    from cyclegan.training import train
    from options.train_options import TrainOptions

    root = make_synthetic_dataset(tmp_path / "syn", n_train=40, n_test=8, size=48, seed=0)
    opt = TrainOptions().parse_values(dataroot=root, name="demo", checkpoints_dir=tmp_path / "ck", ngf=8, ndf=8,
                                      netG="resnet_6blocks", preprocess="none", display_id=0, num_threads=0,
                                      n_epochs=2, n_epochs_decay=0, print_freq=1000, no_html=True, seed=0,
                                      amp="none")  # float32: the same figures on CPUs with and without bf16
    tests = sorted((root / "testA").iterdir())
    untrained = create_model(opt)
    untrained.setup(opt)
    untrained.eval()
    before = translation_figures(untrained, tests)
    model = train(opt)
    model.eval()
    spread, rec_error, own = translation_figures(model, tests)
    assert spread > 0.5, f"fake_B hardly depends on the input: it varies {spread:.2f}x as much as the inputs"
    assert own >= 0.75, f"only {own:.0%} of rec_A are nearest to their own real_A"
    assert rec_error < 0.5 * before[1], f"rec_A error {rec_error:.2f} vs {before[1]:.2f} untrained"
    assert before[2] <= 0.5, "an untrained model already passes: the check would not tell"
