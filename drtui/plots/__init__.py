"""Terminal plots in pure Python + numpy: a braille canvas, track maps, action-space pictures and
line charts. No Textual here: the TUI widgets and the headless CLI both render through these."""
