"""The README's quick start on a clean `git clone`, the way a new user runs it.

What runs: a clean clone of this repository's committed state, a new virtualenv in it, then the README's
commands in order. Two steps are cut down, and the test says so: the venv sees the packages of the
interpreter running the tests (a `.pth` file listing its site-packages, so this works from a venv, the
README's way, and from a system Python alike) and gets the project with `pip install --no-deps -e .` instead
of `bash scripts/install.sh`, which would install torch again (gigabytes); and the quickstart gets a smoke-sized
`--n_epochs 1 --synthetic_images 4` (pictures on the training page at every image) with the dataset host unreachable. The pages it prints must exist and, in
Chromium, show every picture. The last command (the test suite) is the one running this test.
"""
import os
import re
import shlex
import shutil
import site
import subprocess
import sys
from pathlib import Path

import pytest

from _browser import CHROMIUM, probe_page
from conftest import REPO

QUICK_START = ["python -m venv .venv", ". .venv/bin/activate", "bash scripts/install.sh",
               "bash scripts/quickstart.sh", "python -m pytest -q tests"]


def readme_quick_start():
    text = (REPO / "README.md").read_text(encoding="utf-8")
    section = text.split("## Quick start", 1)[1]
    block = re.search(r"```bash\n(.*?)```", section, re.S).group(1)
    return [line.split("#")[0].strip() for line in block.splitlines() if line.split("#")[0].strip()]


def test_readme_quick_start_is_the_fresh_machine_sequence():
    assert readme_quick_start() == QUICK_START


@pytest.mark.skipif(shutil.which("git") is None or not (REPO / ".git").exists(),
                    reason="needs git and a git checkout of the repository to clone")
@pytest.mark.slow
def test_fresh_clone_walk_through_prints_pages_that_exist(tmp_path):
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "--quiet", str(REPO), str(clone)], check=True, timeout=300)
    assert not (clone / "checkpoints").exists() and not (clone / "datasets" / "synthetic_vangogh").exists()
    # the README's commands, with install.sh replaced as the docstring says. `venv --system-site-packages`
    # would see the *base* interpreter's packages, not those of the venv running this test
    parent = [p for p in site.getsitepackages() + [site.getusersitepackages()] if os.path.isdir(p)]
    script = f"""set -e
{sys.executable} -m venv .venv
. .venv/bin/activate
printf '%s\\n' {' '.join(shlex.quote(p) for p in parent)} > "$(python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')/parent_packages.pth"
python -m pip install --quiet --no-deps --no-build-isolation --no-index -e .
python -c "import cyclegan, torch; assert cyclegan.__file__.startswith('$PWD'), cyclegan.__file__"
export CYCLEGAN_DATA_URL=http://127.0.0.1:9/unreachable OMP_NUM_THREADS=1
bash scripts/quickstart.sh --synthetic_images 4 --n_epochs 1 --n_epochs_decay 0 --num_threads 0 \
    --display_freq 1
"""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    p = subprocess.run(["bash", "-c", script], cwd=clone, env=env, capture_output=True, text=True, timeout=900)
    assert p.returncode == 0, p.stdout[-3000:] + p.stderr[-3000:]
    assert "could not be reached" in p.stdout
    pages = dict(re.findall(r"^(training page|results page):\s+(\S.*)$", p.stdout, re.M))
    assert set(pages) == {"training page", "results page"}, p.stdout[-2000:]
    for kind, page in pages.items():
        assert page.startswith(str(clone)) and Path(page).is_file(), (kind, page)
    if CHROMIUM is not None:  # the pictures load too (the browser tests check the layout)
        for page in pages.values():
            images = probe_page(page)["images"]
            assert images and all(width > 0 for _, width in images), (page, images)
