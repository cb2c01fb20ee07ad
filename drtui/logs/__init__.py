"""DeepRacer log lines -> events (parser.py)."""
