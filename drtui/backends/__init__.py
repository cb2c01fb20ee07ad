"""Compute backends: a Provider (where) gives a Host (run commands, move files), and a
Runner (what: embedded trainer, deepracer-for-cloud, DeepRacer on AWS) trains on it."""
