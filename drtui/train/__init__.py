"""drtui's embedded trainer: network architectures (drtui.train.networks), and the PPO / SAC
agents that train them on the embedded simulator.

torch and torchvision are imported by the submodules that need them, never here, so that
importing drtui (the CLI, the TUI) does not load torch.
"""
