"""`python -m cyclegan.export`: the same command as cyclegan-export; the code is in cyclegan/cli/export.py."""
import runpy

if __name__ == "__main__":
    runpy.run_module("cyclegan.cli.export", run_name="__main__", alter_sys=True)
