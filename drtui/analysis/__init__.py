"""Analysis of any DeepRacer run: load (detect.py, load.py), tables as racers use them
(tables.py), re-scoring with another reward function (rescore.py), matplotlib figures (figures.py),
TensorBoard export (tensorboard.py) and the `drtui analyze` / `drtui logs tensorboard` commands
(cli.py). Core code: no Textual; pandas and numpy are imported inside functions."""
