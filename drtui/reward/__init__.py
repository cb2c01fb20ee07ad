"""Reward functions: simulator-faithful `params` samples (params), scenario templates rendered
to reward_function.py (templates), and a guarded runner that checks user reward code (check).

Submodules are imported on use; this package imports nothing heavy.
"""
