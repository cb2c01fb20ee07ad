"""Session -> files: render the DRfC file set (render.py), env-file rules (envfile.py),
and the way back, a DRfC folder -> Session (importer.py)."""
