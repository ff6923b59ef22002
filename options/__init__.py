"""Options: the base, train and test option sets (official flag names and defaults), plus the
gatys, compare and benchmark sets. Every run saves its options beside its checkpoints."""
