"""Racing lines: K1999 from a track's centre line, kept inside its borders less a margin, a
speed profile and lap time from drtui's car model, an action space and reward functions
built on the line. Core code: numpy only (no Textual, no torch).

    geometry.py   cross sections of a route, lane bounds for a margin, curvature
    k1999.py      Coulom's K1999 line, vectorised, coarse to fine
    speed.py      cornering and acceleration limits of the car model; speed profile, lap time
    line.py       racing_line(waypoints) -> RacingLine
    actions.py    a discrete action space from the line (k-means, Capstone's method)
    picture.py    the line coloured by speed: braille text, PNG
    rewards.py    racing-line reward functions with the line embedded
    cli.py        `drtui raceline TRACK`
"""
