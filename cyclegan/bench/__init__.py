"""Every benchmark: the CycleGAN training step and inference (cyclegan.py), the Gatys optimiser (gatys.py),
fast-NST stylisation beside Gatys (fast_nst.py), the C2ST's time and spread (c2st.py) and translation against the
official test.py (inference.py); their command is cyclegan/cli/benchmark.py."""
