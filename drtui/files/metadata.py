"""model_metadata.json as simapp reads it (deepracer-simapp bundle/markov/boto/s3/files/
model_metadata.py parse_model_metadata, multi_agent_coach/action_space_configs.py and
agent_ctrl/utils.py), so that an imported file keeps its meaning and is refused only for
what would stop simapp.

simapp's reading: "version" is float()-ed; without it the file is version 2 when it lists
"sensor" and version 1 (the front camera, whatever "sensor" says) when it does not; below 2
"sensor" is ignored. neural_network defaults to DEEP_CONVOLUTIONAL_NETWORK_SHALLOW,
training_algorithm to clipped_ppo and action_space_type to discrete (both lower-cased and
stripped). lidar_config is read whatever the sensors (defaults 8 sectors, 8 values, 2.0 m).
Discrete actions are looked up by index, any number of them; continuous bounds need low <
high. Speed and steering are clipped at run time, not checked.
"""

from __future__ import annotations

from typing import Any

OBSERVATION = "observation"  # simapp's name for the front camera of version-1 files
CAMERAS = ("FRONT_FACING_CAMERA", "LEFT_CAMERA", "STEREO_CAMERAS", OBSERVATION)
LIDARS = ("LIDAR", "SECTOR_LIDAR", "DISCRETIZED_SECTOR_LIDAR")
NETWORK = "DEEP_CONVOLUTIONAL_NETWORK_SHALLOW"
LIDAR_DEFAULTS = {"num_sectors": 8, "num_values_per_sector": 8, "clipping_dist": 2.0}


def _number(value: Any, where: str, problems: list[str]) -> float | None:
    if isinstance(value, bool) or value is None:
        problems.append(f"{where} must be a number (got {value!r})")
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        problems.append(f"{where} must be a number (got {value!r})")
        return None


def version_number(meta: dict[str, Any]) -> float | None:
    """The version simapp uses: float(version), or 2/1 for a file without one."""
    if "version" in meta:
        try:
            return float(meta["version"])
        except (TypeError, ValueError):
            return None
    return 2.0 if "sensor" in meta else 1.0


def sensors(meta: dict[str, Any]) -> list[str]:
    """The sensor list simapp uses, with version 1's "observation" named as drtui names it."""
    version = version_number(meta)
    listed = meta.get("sensor") if version is not None and version >= 2 else None
    if listed is None:
        listed = [OBSERVATION]
    if not isinstance(listed, list):
        return listed  # problems() names it
    return ["FRONT_FACING_CAMERA" if s == OBSERVATION else s for s in listed]


def network(meta: dict[str, Any]) -> str:
    return meta.get("neural_network", NETWORK)


def algorithm(meta: dict[str, Any]) -> str:
    value = meta.get("training_algorithm", "clipped_ppo")
    return value.lower().strip() if isinstance(value, str) else value


def space_type(meta: dict[str, Any]) -> str:
    value = meta.get("action_space_type", "discrete")
    return value.lower().strip() if isinstance(value, str) else value


def lidar_config(meta: dict[str, Any]) -> dict[str, Any] | None:
    """lidar_config with simapp's defaults for missing keys; None when the file has none."""
    given = meta.get("lidar_config")
    if not isinstance(given, dict):
        return None
    out = dict(LIDAR_DEFAULTS)
    for key in ("num_sectors", "num_values_per_sector"):
        if key in given:
            out[key] = int(given[key])
    if "clipping_dist" in given:
        out["clipping_dist"] = given["clipping_dist"]
    return out


def actions(meta: dict[str, Any]) -> list[tuple[float, float]] | dict[str, tuple[float, float]]:
    """Discrete: [(steering, speed)]; continuous: {"steering_angle": (low, high), "speed": ...}."""
    space = meta["action_space"]
    if space_type(meta) == "continuous":
        return {k: (float(space[k]["low"]), float(space[k]["high"]))
                for k in ("steering_angle", "speed")}
    return [(float(a["steering_angle"]), float(a["speed"])) for a in space]


def problems(meta: Any) -> list[str]:
    """What simapp would stop on, one message each (empty when it trains the file)."""
    if not isinstance(meta, dict):
        return ["must be a JSON object"]
    out: list[str] = []
    if "action_space" not in meta:
        return ["no action_space: simapp needs one (\"no action space defined\")"]
    version = version_number(meta)
    if version is None:
        out.append(f"version {meta['version']!r}: simapp reads version as a number")
    elif version < 3 and version not in (1.0, 2.0):
        out.append(f"version {meta['version']!r}: simapp knows versions 1, 2 and 3 or later")
    listed = sensors(meta) if version is not None else []
    if not isinstance(listed, list) or not all(isinstance(s, str) for s in listed):
        out.append(f"sensor must be a list of sensor names (got {meta.get('sensor')!r})")
        listed = []
    cameras = [s for s in listed if s in CAMERAS]
    if listed and len(cameras) != 1:
        out.append(f"sensor {meta.get('sensor')!r}: simapp needs exactly one camera")
    if sum(s in LIDARS for s in listed) > 1:
        out.append(f"sensor {meta.get('sensor')!r}: simapp allows at most one lidar")
    config = meta.get("lidar_config")
    if config is not None:
        if not isinstance(config, dict):
            out.append("lidar_config must be an object")
        else:
            try:
                sectors = int(config.get("num_sectors", 8))
                values = int(config.get("num_values_per_sector", 8))
            except (TypeError, ValueError):
                out.append("lidar_config num_sectors and num_values_per_sector are whole numbers")
            else:
                if sectors <= 0 or 64 % sectors:
                    out.append(f"lidar_config num_sectors {sectors}: must divide the lidar's "
                               "64 beams")
                if values < 1:
                    out.append(f"lidar_config num_values_per_sector {values}: must be 1 or more")
    algo, kind = algorithm(meta), space_type(meta)
    if algo not in ("clipped_ppo", "sac"):
        out.append(f"training_algorithm {meta['training_algorithm']!r}: simapp knows "
                   "clipped_ppo and sac")
    if kind not in ("discrete", "continuous"):
        out.append(f"action_space_type {meta['action_space_type']!r}: simapp knows discrete "
                   "and continuous")
        return out
    if algo == "sac" and kind != "continuous":
        out.append("sac needs a continuous action space")
    space = meta["action_space"]
    if kind == "continuous":
        if not isinstance(space, dict):
            return out + ["a continuous action_space is an object with steering_angle and "
                          "speed ranges"]
        for key in ("steering_angle", "speed"):
            bounds = space.get(key)
            if not isinstance(bounds, dict) or "low" not in bounds or "high" not in bounds:
                out.append(f"action_space.{key} needs low and high")
                continue
            low = _number(bounds["low"], f"action_space.{key}.low", out)
            high = _number(bounds["high"], f"action_space.{key}.high", out)
            if low is not None and high is not None and low >= high:
                out.append(f"action_space.{key}: low ({low:g}) must be below high ({high:g})")
    else:
        if not isinstance(space, list) or not space:
            return out + ["a discrete action_space is a non-empty list of actions"]
        for i, action in enumerate(space):
            if not isinstance(action, dict):
                out.append(f"action_space[{i}] must be an object")
                continue
            for key in ("steering_angle", "speed"):
                if key not in action:
                    out.append(f"action_space[{i}] has no {key}")
                else:
                    _number(action[key], f"action_space[{i}].{key}", out)
    return out
