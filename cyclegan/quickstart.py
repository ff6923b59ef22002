"""`python -m cyclegan.quickstart`: runs cyclegan/cli/quickstart.py, where its code is."""
import runpy

if __name__ == "__main__":
    runpy.run_module("cyclegan.cli.quickstart", run_name="__main__", alter_sys=True)
