"""`python -m cyclegan.fast_nst`: the same command as cyclegan-fast-nst; the code is in cyclegan/cli/fast_nst.py."""
import runpy

if __name__ == "__main__":
    runpy.run_module("cyclegan.cli.fast_nst", run_name="__main__", alter_sys=True)
