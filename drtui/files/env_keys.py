"""The DRfC env keys drtui models, and how it reads each one's text: the importer reads a folder
with them, and generate uses them to tell whether an imported file's text still means the
session's value. Kept apart from the importer so that both use it without importing each other.
"""

from __future__ import annotations

from drtui.files import envfile

read_bool = envfile.read_bool


def number(text: str) -> float:
    return float(text)


def whole(text: str) -> int:
    value = float(text)
    if value != int(value):
        raise ValueError(f"{text!r} is not a whole number")
    return int(value)


EVALUATION = {
    "number_of_trials": ("DR_EVAL_NUMBER_OF_TRIALS", whole),
    "is_continuous": ("DR_EVAL_IS_CONTINUOUS", read_bool),
    "max_resets": ("DR_EVAL_MAX_RESETS", whole),
    "off_track_penalty": ("DR_EVAL_OFF_TRACK_PENALTY", number),
    "collision_penalty": ("DR_EVAL_COLLISION_PENALTY", number),
    "checkpoint": ("DR_EVAL_CHECKPOINT", str),
    "reverse_direction": ("DR_EVAL_REVERSE_DIRECTION", read_bool),
    "save_mp4": ("DR_EVAL_SAVE_MP4", read_bool),
    "reset_behind_dist": ("DR_EVAL_RESET_BEHIND_DIST", number),
    "debug_reward": ("DR_EVAL_DEBUG_REWARD", read_bool),
    "opponent_model_prefix": ("DR_EVAL_OPP_S3_MODEL_PREFIX", str),
    "opponent_car_name": ("DR_EVAL_OPP_CAR_NAME", str),
    "opponent_body_shell": ("DR_EVAL_OPP_CAR_BODY_SHELL_TYPE", str),
}
TRAINING = {
    "change_start_position": ("DR_TRAIN_CHANGE_START_POSITION", read_bool),
    "alternate_direction": ("DR_TRAIN_ALTERNATE_DRIVING_DIRECTION", read_bool),
    "start_position_offset": ("DR_TRAIN_START_POSITION_OFFSET", number),
    "round_robin_advance_dist": ("DR_TRAIN_ROUND_ROBIN_ADVANCE_DIST", number),
    "domain_randomization": ("DR_ENABLE_DOMAIN_RANDOMIZATION", read_bool),
    "min_eval_trials": ("DR_TRAIN_MIN_EVAL_TRIALS", whole),
    "best_model_metric": ("DR_TRAIN_BEST_MODEL_METRIC", str),
    "max_steps_per_iteration": ("DR_TRAIN_MAX_STEPS_PER_ITERATION", whole),
}
OBJECT_AVOIDANCE = {
    "number_of_obstacles": ("DR_OA_NUMBER_OF_OBSTACLES", whole),
    "min_distance_between_obstacles": ("DR_OA_MIN_DISTANCE_BETWEEN_OBSTACLES", number),
    "randomize_obstacle_locations": ("DR_OA_RANDOMIZE_OBSTACLE_LOCATIONS", read_bool),
    "is_obstacle_bot_car": ("DR_OA_IS_OBSTACLE_BOT_CAR", read_bool),
    "obstacle_type": ("DR_OA_OBSTACLE_TYPE", str),
}
HEAD_TO_BOT = {
    "is_lane_change": ("DR_H2B_IS_LANE_CHANGE", read_bool),
    "lower_lane_change_time": ("DR_H2B_LOWER_LANE_CHANGE_TIME", number),
    "upper_lane_change_time": ("DR_H2B_UPPER_LANE_CHANGE_TIME", number),
    "lane_change_distance": ("DR_H2B_LANE_CHANGE_DISTANCE", number),
    "number_of_bot_cars": ("DR_H2B_NUMBER_OF_BOT_CARS", whole),
    "min_distance_between_bot_cars": ("DR_H2B_MIN_DISTANCE_BETWEEN_BOT_CARS", number),
    "randomize_bot_car_locations": ("DR_H2B_RANDOMIZE_BOT_CAR_LOCATIONS", read_bool),
    "bot_car_speed": ("DR_H2B_BOT_CAR_SPEED", number),
    "penalty_seconds": ("DR_H2B_BOT_CAR_PENALTY", number),
}
SYSTEM = {
    "cloud": ("DR_CLOUD", str), "region": ("DR_AWS_APP_REGION", str),
    "local_s3_bucket": ("DR_LOCAL_S3_BUCKET", str),
    "local_s3_profile": ("DR_LOCAL_S3_PROFILE", str),
    "upload_s3_bucket": ("DR_UPLOAD_S3_BUCKET", str),
    "upload_s3_profile": ("DR_UPLOAD_S3_PROFILE", str),
    "docker_style": ("DR_DOCKER_STYLE", str),
    "pretrained": ("DR_LOCAL_S3_PRETRAINED", read_bool),
    "pretrained_prefix": ("DR_LOCAL_S3_PRETRAINED_PREFIX", str),
    "pretrained_checkpoint": ("DR_LOCAL_S3_PRETRAINED_CHECKPOINT", str),
    "run_id": ("DR_RUN_ID", whole),
}
def spot_switch(text: str) -> bool:
    return text != "False"  # deepracer-on-the-spot tests `[[ $KEY == False ]]`


ON_THE_SPOT = {
    "regular_upload_minutes": ("DR_REGULAR_UPLOAD", whole),
    "regular_physical_model_upload_minutes": ("DR_REGULAR_PHYSICAL_MODEL_UPLOAD", whole),
    "continue_on_spot_interruption": ("DR_CONTINUE_ON_SPOT_INTERRUPTION", spot_switch),
    "import_model_on_completion": ("DR_IMPORT_MODEL_ON_COMPLETION", spot_switch),
}
IMAGES = {"simapp_version": "DR_SIMAPP_VERSION", "sagemaker_image": "DR_SAGEMAKER_IMAGE",
           "robomaker_image": "DR_ROBOMAKER_IMAGE", "coach_image": "DR_COACH_IMAGE"}


def reader(key: str):
    """How drtui reads a key it models (None for one it does not), so that generate can tell
    whether the session still means what the file's text says."""
    return READERS.get(key)


READERS = {key: convert for table in (EVALUATION, TRAINING, OBJECT_AVOIDANCE, HEAD_TO_BOT,
                                       SYSTEM, ON_THE_SPOT)
            for key, convert in table.values()}
