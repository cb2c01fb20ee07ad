"""The scenarios drtui ships a starter for: an action-space preset and a reward template
each. Plain data, cheap to import (the CLI parser reads it)."""

SCENARIOS: dict[str, str] = {
    "centerline": "Follow the centre line: the classic first model.",
    "speed": "Speed optimisation: fast on straights, controlled in corners.",
    "object_avoidance": "Object avoidance: swerve around boxes with stereo cameras.",
    "head_to_head": "Head to head: race bot cars with camera and sector lidar.",
    "time_trial": "Time trial: continuous actions tuned for lap time.",
}
