"""The 1/18 DeepRacer car's numbers, without torch: its geometry (simapp's URDF and
footprint), simapp's command limits, and the fitted constants of drtui's kinematic model.

drtui.sim.car drives the model on torch tensors; drtui.raceline plans speeds with the same
numbers in numpy, so a racing line's lap time comes from the car the simulator drives.
"""

from __future__ import annotations

STEP_HZ = 15  # one step = one camera frame at 15 Hz
STEP_S = 1.0 / STEP_HZ
MIN_SPEED, MAX_SPEED = 0.1, 4.0  # simapp clips commanded speed (m/s) ...
MAX_STEERING_DEG = 30.0  # ... and steering (degrees)

FRONT_OFFSET_M = 0.14
# Wheel links in the car frame (x forward, y left) in simapp's LINK_NAMES order:
# left_rear, left_front, right_rear, right_front.
WHEEL_OFFSETS = ((-0.081663, 0.08105), (0.082311, 0.079601),
                 (-0.081663, -0.08105), (0.082311, -0.079601))
WHEELBASE_M = 0.082311 + 0.081663
REAR_AXLE_M = 0.081663  # origin to rear axle: the origin sits midway between the axles
# Footprint simapp registers for the car and bot cars: (width, length); see objects.py.
CAR_FOOTPRINT_M = (0.1961, 0.32352)

# Fitted to shared/samples simtrace (see drtui.sim.car's docstring).
SPEED_TAU_S = 0.3  # speed follows the command with this time constant
STEER_TAU_S = 0.4  # steering angle likewise
UNDERSTEER = 0.25  # s^2/m^2: yaw rate = v tan(delta) / (L (1 + K v^2))
