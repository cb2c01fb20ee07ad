"""drtui's embedded trainer: network architectures (drtui.train.networks), and the PPO / SAC
agents that train them on the embedded simulator.

torch and torchvision are imported by the submodules that need them, never here, so that
importing drtui (the CLI, the TUI) does not load torch.
"""

import sys

# torch's optimisers import triton (for torch.compile, which drtui never uses) the first time
# one is built; in a process that already loaded TensorFlow or OpenVINO (an export, an
# evaluation of a car file) libtriton then crashes the interpreter (a segfault at import).
# Marked absent, triton is never imported: torch treats it as not installed.
sys.modules.setdefault("triton", None)

# The environment variables the trainer reads (trainer.py's docstring says what each does). A
# remote trainer is launched with exactly these from the launching machine: not every DRTUI_*
# variable, since some are the launching machine's own policy (DRTUI_REQUIRE_SANDBOX,
# DRTUI_WORKSPACE_ONLY) or paths that mean nothing on another host.
TRAINER_SETTINGS = ("DRTUI_CARS", "DRTUI_CAMERA_SIZE", "DRTUI_DEVICE", "DRTUI_THREADS",
                    "DRTUI_TEACHER", "DRTUI_LOG_MAX_MB", "DRTUI_LIMIT_GRACE_S")

# Where evaluation trials start (drtui.train.evaluate's module doc): here, so that the CLI can
# offer them without importing torch.
START_RULES = ("spread", "line")
