"""The command-line wing: one file per command (cyclegan-train is train.py, cyclegan-test test.py, ...), each
parsing its options and calling the library; `python -m cyclegan.NAME` runs the same file through the three-line
cyclegan/NAME.py. What every entry point shares, here: `main_guard` catches a UserError once, prints
`error: <message>` to stderr and returns exit status 1 (flag errors never get here: options call parser.error,
exit 2)."""
import functools
import sys

from ..errors import UserError


def main_guard(main):
    """Wrap an entry point's main(argv=None): a UserError becomes `error: <message>` on stderr and exit status 1."""
    @functools.wraps(main)
    def guarded(argv=None):
        try:
            return main(argv)
        except UserError as e:
            print(f"error: {e}", file=sys.stderr, flush=True)
            return 1
    return guarded
