"""Package data: templates, styles, reward templates and track waypoints."""
