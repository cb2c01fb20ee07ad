"""Neural network catalogue: the three networks DeepRacer builds, and the research
architectures only drtui's embedded trainer can train.

DeepRacer layer specs are deepracer-simapp's (bundle/markov/sensors/utils.py,
architecture/custom_architectures.py): conv = (filters, kernel, stride).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Network:
    name: str
    title: str
    deepracer: bool  # built by the real simulator (DRfC, DeepRacer on AWS) too
    description: str
    conv: tuple[tuple[int, int, int], ...] = ()
    dense: tuple[int, ...] = ()
    middleware: tuple[int, ...] = ()


DEEPRACER_NETWORKS = (
    Network("DEEP_CONVOLUTIONAL_NETWORK_SHALLOW", "3-layer CNN", True,
            "DeepRacer's default: three conv layers and a 512 dense layer. Fast and robust.",
            conv=((32, 8, 4), (64, 4, 2), (64, 3, 1)), middleware=(512,)),
    Network("DEEP_CONVOLUTIONAL_NETWORK", "4-layer CNN", True,
            "Four narrower conv layers, a 64 dense layer at each position of the last conv map, "
            "then the 512 middleware.",
            conv=((32, 5, 2), (32, 3, 1), (64, 3, 2), (64, 3, 1)), dense=(64,),
            middleware=(512,)),
    Network("DEEP_CONVOLUTIONAL_NETWORK_DEEP", "5-layer CNN", True,
            "Four conv layers, two 512 dense layers at each position of the last conv map, "
            "middleware 256-128.",
            conv=((32, 8, 4), (32, 4, 2), (64, 4, 2), (64, 3, 1)), dense=(512, 512),
            middleware=(256, 128)),
)

RESEARCH_NETWORKS = (
    Network("ATTENTION_CNN", "Attention CNN", False,
            "CNN with a spatial attention map that weights where on the road the policy looks."),
    Network("MULTI_SCALE_CNN", "Multi-scale CNN", False,
            "Parallel conv branches at several kernel sizes: near and far road features."),
    Network("RESNET", "ResNet", False,
            "Residual blocks (torchvision ResNet basic blocks) sized for 160x120 input."),
    Network("EFFICIENTNET", "EfficientNet", False,
            "torchvision EfficientNet-B0 blocks, width and depth scaled down for CPU training."),
    Network("VISION_TRANSFORMER", "Vision transformer", False,
            "torchvision VisionTransformer on image patches: global context, slower on CPU."),
    Network("TEMPORAL_CNN", "Temporal CNN", False,
            "Stacked recent frames through a CNN: sees motion, not just position."),
    Network("MULTIMODAL_FUSION", "Multi-modal fusion", False,
            "Camera CNN and lidar MLP embeddings fused before the policy head."),
    Network("SAC_POLICY", "SAC policy network", False,
            "Separate actor and twin-critic trunks tuned for soft actor-critic."),
)

NETWORKS: dict[str, Network] = {n.name: n for n in DEEPRACER_NETWORKS + RESEARCH_NETWORKS}

# Trainable parameters of each network for the reference input: one FRONT_FACING_CAMERA at
# 160x120 and 10 discrete actions (SAC_POLICY: its actor, 2 continuous actions). Measured by
# drtui.train.networks.describe_all, kept here so listing them needs no torch; a test in
# tests/train checks they still match the built networks. For the DeepRacer three, less drtui's
# value head, they are what Coach's TensorFlow graph holds in its policy network, network_1
# (tests/train/test_networks.py; DEEP_CONVOLUTIONAL_NETWORK with 5 actions: 28,744,741).
REFERENCE_PARAMETERS: dict[str, int] = {
    "DEEP_CONVOLUTIONAL_NETWORK_SHALLOW": 5_845_163,
    "DEEP_CONVOLUTIONAL_NETWORK": 28_747_819,
    "DEEP_CONVOLUTIONAL_NETWORK_DEEP": 2_778_059,
    "ATTENTION_CNN": 210_807,
    "MULTI_SCALE_CNN": 379_387,
    "RESNET": 769_387,
    "EFFICIENTNET": 612_653,
    "VISION_TRANSFORMER": 625_803,
    "TEMPORAL_CNN": 294_651,
    "MULTIMODAL_FUSION": 468_907,
    "SAC_POLICY": 401_828,
}


def parameter_count(name: str) -> int:
    """Parameters of a network for the reference input (front camera 160x120, 10 actions)."""
    return REFERENCE_PARAMETERS[name]
