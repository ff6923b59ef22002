"""What every trainer shares: the run folder and its lock, atomic checksummed full-state checkpoints, and the guards
(NaN/Inf watch, graceful stop on SIGINT/SIGTERM). Used by the CycleGAN loop (training/) and fast NST's (nst/)."""
