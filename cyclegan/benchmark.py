"""`python -m cyclegan.benchmark`: the same command as cyclegan-benchmark; the code is in cyclegan/cli/benchmark.py."""
import runpy

if __name__ == "__main__":
    runpy.run_module("cyclegan.cli.benchmark", run_name="__main__", alter_sys=True)
