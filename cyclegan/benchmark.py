"""Benchmarks entry point: `cyclegan-benchmark gatys ...` / `python -m cyclegan.benchmark gatys ...`.

The first argument picks the benchmark; everything after it goes to that benchmark's parser.
"""
import sys

BENCHMARKS = ("gatys",)


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    if not argv or argv[0] in ("-h", "--help"):
        print(f"usage: cyclegan-benchmark {{{','.join(BENCHMARKS)}}} [options]  (add -h after the name for its options)",
              file=sys.stderr if not argv else sys.stdout)
        return 2 if not argv else 0
    if argv[0] == "gatys":
        from cyclegan.nst.benchmark import main as gatys_main
        return gatys_main(argv[1:])
    print(f"cyclegan-benchmark: error: benchmark {argv[0]!r} is not implemented yet (available: "
          f"{', '.join(BENCHMARKS)})", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
