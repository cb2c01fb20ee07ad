"""drtui: a terminal studio for AWS DeepRacer racers and researchers."""

__version__ = "0.1.0"
