"""CI follows the README: .ci/run makes the quick start's venv, activates it, and runs its install command
and its full test command word for word, in the README's order, with nothing installed into the system Python."""
from conftest import REPO
from test_fresh_clone import readme_quick_start


def ci_commands():
    lines = (REPO / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    return [line.split("#")[0].strip() for line in lines if line.split("#")[0].strip()]


def test_ci_runs_the_readme_quick_start_except_the_demo_training():
    readme = [c for c in readme_quick_start() if "quickstart.sh" not in c]  # the demo trains; CI tests
    ci = ci_commands()
    assert [c for c in ci if c in readme] == readme, ci
    first = ci.index(readme[0])
    assert ci[first:] == readme, "after the venv is made, CI runs exactly the README's commands"
    assert not any("pip install" in c for c in ci[:first]), "nothing installed before the venv exists"
    assert any("apt-get install -y chromium" in c for c in ci[:first])
