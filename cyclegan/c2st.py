"""`python -m cyclegan.c2st`: the same command as cyclegan/cli/c2st.py; the code is in cyclegan/cli/c2st.py."""
import runpy

if __name__ == "__main__":
    runpy.run_module("cyclegan.cli.c2st", run_name="__main__", alter_sys=True)
