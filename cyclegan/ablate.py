"""`python -m cyclegan.ablate`: the same command as cyclegan-ablate; the code is in cyclegan/cli/ablate.py."""
import runpy

if __name__ == "__main__":
    runpy.run_module("cyclegan.cli.ablate", run_name="__main__", alter_sys=True)
