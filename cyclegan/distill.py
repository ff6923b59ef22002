"""`python -m cyclegan.distill`: the same command as cyclegan-distill; the code is in cyclegan/cli/distill.py."""
import runpy

if __name__ == "__main__":
    runpy.run_module("cyclegan.cli.distill", run_name="__main__", alter_sys=True)
