"""`python -m cyclegan.test`: the same command as cyclegan-test; the code is in cyclegan/cli/test.py."""
import runpy

if __name__ == "__main__":
    runpy.run_module("cyclegan.cli.test", run_name="__main__", alter_sys=True)
