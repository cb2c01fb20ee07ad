"""Catalogues of what a DeepRacer model can be made of: tracks, sensors, networks,
algorithms and their hyperparameters, reward templates, backends. Plain data; no Textual."""
