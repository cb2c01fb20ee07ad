"""Observations: cameras rendered from a top-down texture of the track, lidar ray-cast against
objects (and optionally the track borders as walls)."""
