"""Research methods measured against their baselines: meta-learning (Reptile) and continual
learning (EWC, replay), run in-process on the embedded trainer (lab.py). Transfer, curriculum,
domain randomisation, multi-task and compression live with the trainer and simulator
(drtui/train, drtui/sim); bench/research.py compares every one of them."""
