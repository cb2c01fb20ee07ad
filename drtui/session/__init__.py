"""The session: one human-editable file that describes a DeepRacer model, and its rules.

Session (model.py) -> problems (validate.py) -> files (drtui.files). Loading and atomic
saving live in store.py.
"""
