"""`python -m cyclegan.visdom_server`: the same command as cyclegan-visdom; the code is in cyclegan/cli/visdom_server.py."""
import runpy

if __name__ == "__main__":
    runpy.run_module("cyclegan.cli.visdom_server", run_name="__main__", alter_sys=True)
