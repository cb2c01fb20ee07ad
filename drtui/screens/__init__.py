"""Textual screens. They call drtui's core and backends; the core never imports them."""
