"""Training runs: the run folder and its state (store.py)."""
