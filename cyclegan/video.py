"""`python -m cyclegan.video`: the same command as cyclegan-video; the code is in cyclegan/cli/video.py."""
import runpy

if __name__ == "__main__":
    runpy.run_module("cyclegan.cli.video", run_name="__main__", alter_sys=True)
