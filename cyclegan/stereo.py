"""`python -m cyclegan.stereo`: the same command as cyclegan-stereo; the code is in cyclegan/cli/stereo.py."""
import runpy

if __name__ == "__main__":
    runpy.run_module("cyclegan.cli.stereo", run_name="__main__", alter_sys=True)
