"""`python -m cyclegan.train`: the same command as cyclegan-train; the code is in cyclegan/cli/train.py."""
import runpy

if __name__ == "__main__":
    runpy.run_module("cyclegan.cli.train", run_name="__main__", alter_sys=True)
