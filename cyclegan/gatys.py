"""`python -m cyclegan.gatys`: the same command as cyclegan-gatys; the code is in cyclegan/cli/gatys.py."""
import runpy

if __name__ == "__main__":
    runpy.run_module("cyclegan.cli.gatys", run_name="__main__", alter_sys=True)
