"""Benchmarks entry point (`cyclegan-benchmark` / `python -m cyclegan.benchmark`).

    python -m cyclegan.benchmark [options]          CycleGAN training step and test throughput
    python -m cyclegan.benchmark gatys [options]    the Gatys optimizer: ms per L-BFGS evaluation per loss

Add -h for each benchmark's options. Each prints one JSON line per configuration on stdout.
"""
import sys


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv and argv[0] == "gatys":
        from cyclegan.nst.benchmark import main as gatys_main
        return gatys_main(argv[1:])
    if argv and argv[0] == "cyclegan":
        argv = argv[1:]
    from cyclegan.training.benchmark import main as cyclegan_main
    return cyclegan_main(argv)


if __name__ == "__main__":
    sys.exit(main())
