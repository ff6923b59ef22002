"""Shared test fixtures: the real data in ../shared/data (skipped with a reason when absent), small
generated two-domain datasets, so every test also runs on a fresh clone without ../shared, and one tiny
trained run shared by the tests that only read a run.

Two tiers (docs/testing.md): `python -m pytest -q -m "not slow" tests` before each commit, `python -m pytest
-q tests` in CI. A heavy test (a subprocess, a training run end to end, a browser, the real data, more than
about 10 s) carries `@pytest.mark.slow`, or a module-level `pytestmark` where the whole file is heavy. Tests
that use the `shared_data` or `tiny_run` fixture are marked slow here (pytest_collection_modifyitems), so a
new real-data or trained-run test lands in the full tier without anyone remembering the marker."""
import hashlib
import os
import platform
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"


def make_images(folder, n, size=(40, 40), seed=0, prefix="img", ext=".jpg"):
    """Write n random-ish RGB images (smooth gradients plus noise) and return their paths."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    w, h = size
    paths = []
    for i in range(n):
        yy, xx = np.mgrid[0:h, 0:w]
        base = np.stack([xx * 255 / w, yy * 255 / h, np.full_like(xx, rng.integers(0, 255))], -1)
        img = np.clip(base + rng.normal(0, 20, base.shape), 0, 255).astype(np.uint8)
        p = folder / f"{prefix}{i}{ext}"
        Image.fromarray(img).save(p)
        paths.append(p)
    return paths


def make_tiny_dataset(root):
    """trainA/trainB/testA/testB of 4 images of 40x40 each (names with spaces and upper-case ext)."""
    for i, sub in enumerate(("trainA", "trainB", "testA", "testB")):
        make_images(root / sub, 4, seed=i, prefix="im é ", ext=".JPG" if "A" in sub else ".png")
    return root


@pytest.fixture
def tiny_dataset(tmp_path):
    """DATAROOT with trainA/trainB/testA/testB of 40x40 images (names with spaces and upper-case ext)."""
    return make_tiny_dataset(tmp_path / "data")


@pytest.fixture
def shared_data():
    if not (SHARED_DATA / "vangogh2photo-mini" / "trainA").is_dir():
        pytest.skip(f"real data not present at {SHARED_DATA} (it is beside the repository in CI)")
    return SHARED_DATA


@pytest.fixture(scope="session")
def vgg_weights_file(tmp_path_factory):
    """Random VGG19 weights (the part up to conv5_1, torchvision key names) saved once per session:
    no pretrained weights exist on these machines, and the code never falls back to random ones itself."""
    import warnings

    import torch
    from cyclegan.io import atomic_save
    from cyclegan.nst import load_extractor

    path = tmp_path_factory.getbasetemp() / "gatys_vgg19_random.pth"
    if not path.exists():
        torch.manual_seed(0)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            body = load_extractor("vgg19", ["conv5_1"], weights="random").body
        atomic_save(body.state_dict(), path)
    return path


@pytest.fixture
def one_thread():
    """Small convolutions on a shared 2-core machine run several times faster on one thread."""
    import torch
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def smooth_image(seed, h=64, w=64):
    """A smooth random (1, 3, h, w) image in [0, 1]: upsampled 8x8 noise."""
    import torch
    g = torch.Generator().manual_seed(seed)
    return torch.nn.functional.interpolate(torch.rand(1, 3, 8, 8, generator=g), size=(h, w), mode="bilinear",
                                           align_corners=False)


TINY = ["--load_size", "36", "--crop_size", "32", "--ngf", "4", "--ndf", "4", "--netG", "resnet_6blocks",
        "--display_id", "0", "--num_threads", "0"]


def run_env():
    """Environment for subprocesses: the repository importable, one thread (two cores are shared), and the
    interpreter running the tests first on PATH and in $PYTHON, so scripts that call `python` or a console
    command use it even when its venv is not activated."""
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
    env["PYTHON"] = sys.executable
    env.setdefault("OMP_NUM_THREADS", "1")
    return env


@dataclass(frozen=True)
class TinyRun:
    """A finished tiny CycleGAN run: DATAROOT (a folder named vangogh2photo, so domains get their names),
    --checkpoints_dir, --name, and what training printed (stdout + stderr)."""
    dataroot: Path
    checkpoints_dir: Path
    name: str
    output: str

    @property
    def run_dir(self):
        return self.checkpoints_dir / self.name

    def copy_to(self, checkpoints_dir):
        """Copy the run folder into another --checkpoints_dir (for a test that puts other runs beside it)."""
        return Path(shutil.copytree(self.run_dir, Path(checkpoints_dir) / self.name))


TINY_RUN_FLAGS = [*TINY, "--n_epochs", "2", "--n_epochs_decay", "1", "--save_epoch_freq", "2", "--print_freq", "2",
                  "--display_freq", "1", "--seed", "1"]


def snapshot(folder):
    """{relative path: sha256} of every file below folder."""
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(Path(folder).rglob("*")) if p.is_file()}


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory):
    """One tiny run trained once per session through the real command (4 images per folder, 32 px crops,
    ngf/ndf 4, 2 + 1 epochs: epochs 2, 3 and latest saved, a loss line every 2 images, the training page),
    shared by the tests that only read a run. A test that changes it would change the others' input, so
    the run folder is checked unchanged at the end of the session, apart from test_opt.{txt,json}, which
    cyclegan-test writes there (as the official code does) and nothing reads."""
    base = tmp_path_factory.mktemp("tiny_run")
    root = make_tiny_dataset(base / "vangogh2photo")
    ck = base / "checkpoints"
    p = subprocess.run([sys.executable, "-m", "cyclegan.train", "--dataroot", str(root), "--name", "tiny",
                        "--checkpoints_dir", str(ck), *TINY_RUN_FLAGS], cwd=REPO, env=run_env(),
                       capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, f"training the shared tiny run failed:\n{p.stdout[-3000:]}\n{p.stderr[-3000:]}"
    run = TinyRun(root, ck, "tiny", p.stdout + p.stderr)
    def trained_files():
        return {f: h for f, h in snapshot(run.run_dir).items() if not f.startswith("test_opt.")}
    before = trained_files()
    yield run
    assert trained_files() == before, "a test changed the shared tiny run: copy it (tiny_run.copy_to) first"


SLOW_FIXTURES = {"shared_data", "tiny_run"}  # using one of them makes a test heavy (real data, a trained run)


def pytest_configure(config):
    # torch in the test process on one thread unless OMP_NUM_THREADS says otherwise, as run_env() does for
    # subprocesses: on a shared 2-core machine two threads wait on each other (tiny models run 3-6x slower)
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    if "torch" in sys.modules:  # imported before this hook (a plugin): the variable came too late for it
        sys.modules["torch"].set_num_threads(int(os.environ["OMP_NUM_THREADS"]))
    config.addinivalue_line("markers", "slow: end-to-end, browser, subprocess, distributed or real-data test; "
                                       "the full tier runs it, the quick tier (-m 'not slow') leaves it out")


def pytest_collection_modifyitems(config, items):
    for item in items:
        if SLOW_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)


def cpu_description():
    """'<model name>, native bf16: yes/no' from /proc/cpuinfo (AMX or AVX512-BF16 count as native)."""
    try:
        info = Path("/proc/cpuinfo").read_text()
    except OSError:
        return f"{platform.processor() or platform.machine()}, native bf16: unknown"
    model = next((line.split(":", 1)[1].strip() for line in info.splitlines() if line.startswith("model name")),
                 platform.machine())
    flags = next((line.split(":", 1)[1].split() for line in info.splitlines() if line.startswith("flags")), [])
    native = any(f in flags for f in ("amx_bf16", "avx512_bf16"))
    return f"{model} ({os.cpu_count()} cores), native bf16: {'yes' if native else 'no'}"


def pytest_report_header(config):
    """Where a failure report comes from: the CPU, the torch build, Chromium and ../shared (also printed
    at the end, since `-q` hides the header)."""
    try:
        import torch
        build = f"torch {torch.__version__}" + (f", CUDA {torch.version.cuda}" if torch.version.cuda else ", CPU build")
        build += f", GPU: {torch.cuda.get_device_name(0)}" if torch.cuda.is_available() else ", no GPU"
    except ImportError:
        build = "torch not importable"
    chromium = shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)
    shared = (SHARED_DATA / "vangogh2photo-mini" / "trainA").is_dir()
    return [f"machine: {cpu_description()}; Python {platform.python_version()} at {sys.executable}",
            f"{build}; Chromium: {chromium or 'not found'}; "
            f"../shared/data: {'found' if shared else 'not found'} ({SHARED_DATA})"]


def pytest_terminal_summary(terminalreporter):
    if terminalreporter.config.get_verbosity() < 0:  # -q: the header was not shown
        for line in pytest_report_header(terminalreporter.config):
            terminalreporter.write_line(line)


@pytest.fixture(scope="session")
def random_inception_file(tmp_path_factory):
    """Inception-v3 with random weights saved to a file: the KID/FID code reads weights from a file, and none can
    be downloaded here."""
    import torch
    import torchvision
    path = tmp_path_factory.mktemp("inception") / "random_inception_v3.pth"
    with torch.random.fork_rng():
        torch.manual_seed(0)
        net = torchvision.models.inception_v3(weights=None, aux_logits=True, init_weights=False)
    torch.save(net.state_dict(), path)
    return path
