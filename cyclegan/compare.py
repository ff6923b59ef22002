"""`python -m cyclegan.compare`: the same command as cyclegan-compare; the code is in cyclegan/cli/compare.py."""
import runpy

if __name__ == "__main__":
    runpy.run_module("cyclegan.cli.compare", run_name="__main__", alter_sys=True)
