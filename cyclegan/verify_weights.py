"""`python -m cyclegan.verify_weights`: runs cyclegan/cli/verify_weights.py, where its code is."""
import runpy

if __name__ == "__main__":
    runpy.run_module("cyclegan.cli.verify_weights", run_name="__main__", alter_sys=True)
