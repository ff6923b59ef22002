"""`python -m cyclegan.evaluate`: the same command as cyclegan-eval; the code is in cyclegan/cli/evaluate.py."""
import runpy

if __name__ == "__main__":
    runpy.run_module("cyclegan.cli.evaluate", run_name="__main__", alter_sys=True)
