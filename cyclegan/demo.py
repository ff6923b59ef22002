"""`python -m cyclegan.demo`: the same command as cyclegan-demo; the code is in cyclegan/cli/demo.py."""
import runpy

if __name__ == "__main__":
    runpy.run_module("cyclegan.cli.demo", run_name="__main__", alter_sys=True)
