"""A car model file loaded the way the car loads it: the frozen graph converted with OpenVINO
(`ov.convert_model`, as deepracer-custom-car does; the stock car's model optimizer is OpenVINO's
older front door to the same conversion) and compiled for the CPU.

CarModel runs the graph on car inputs; CarPolicy drives drtui's simulator with it as the car
drives: a discrete model's argmax picks the action_space entry, a continuous one's output is
clamped to [-1, 1] and mapped linearly onto the metadata's steering and speed ranges.

Importing this module imports openvino (ImportError when it is not installed).
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import openvino as ov

from drtui.train.car_archive import CarArchiveError, read_archive


def _name(port) -> str:
    """A port's TensorFlow name without the ':0' OpenVINO's TF frontend appends."""
    names = sorted(port.get_names(), key=len)
    return names[0].removesuffix(":0") if names else port.get_any_name().removesuffix(":0")


class CarModel:
    def __init__(self, model) -> None:
        self.model = model
        # one inference thread, as on the car's few cores; more only spin against the simulator
        self.compiled = ov.Core().compile_model(model, "CPU", {"INFERENCE_NUM_THREADS": 1})
        self.version = ov.get_version().split("-")[0]
        self.inputs = {_name(p): p for p in self.compiled.inputs}
        self.outputs = [_name(p) for p in self.compiled.outputs]

    @classmethod
    def from_graph(cls, data: bytes) -> CarModel:
        with tempfile.TemporaryDirectory(prefix="drtui-car-") as tmp:
            path = Path(tmp) / "model.pb"
            path.write_bytes(data)
            try:
                model = ov.convert_model(str(path))
            except Exception as err:  # noqa: BLE001 - OpenVINO's conversion errors vary
                raise CarArchiveError(f"OpenVINO cannot convert the model.pb: "
                                      f"{str(err).strip().splitlines()[-1]}") from None
        return cls(model)

    @classmethod
    def from_file(cls, path: Path | str) -> CarModel:
        pb, _metadata = read_archive(path)
        return cls.from_graph(pb)

    def input_shapes(self) -> dict[str, list[int]]:
        return {name: [d.get_length() if d.is_static else -1 for d in p.get_partial_shape()]
                for name, p in self.inputs.items()}

    def run(self, feeds: dict[str, Any]) -> np.ndarray:
        """The first output for inputs by TF name (a batch of any size)."""
        missing = set(self.inputs) - set(feeds)
        if missing:
            raise KeyError(f"no value for the model's input {sorted(missing)[0]}")
        result = self.compiled({self.inputs[k]: np.ascontiguousarray(v, dtype=np.float32)
                                for k, v in feeds.items() if k in self.inputs})
        return np.asarray(result[self.compiled.outputs[0]])


class CarPolicy:
    """What drtui.train.evaluate drives with (keys, discrete, net, action) for a car model file.
    Its inputs come as drtui's policy inputs (camera (N, C, 120, 160) in [0, 1]), and go to the
    graph as the car's raw 0..255 NHWC frames."""

    net = None  # no torch network: one frame per step, as the car gives

    def __init__(self, path: Path | str) -> None:
        from drtui.train.networks.spec import as_action_spec
        from drtui.train.obs import key_of

        pb, self.metadata = read_archive(path)
        self.path = Path(path)
        self.model = CarModel.from_graph(pb)
        try:
            self.spec = as_action_spec(self.metadata["action_space"])
        except (KeyError, TypeError):
            raise CarArchiveError(f"{path}: model_metadata.json has no readable action_space"
                                  ) from None
        self.discrete = self.spec.is_discrete
        self.sensors: dict[str, str] = {}  # policy input key -> TF input name
        for name in self.model.inputs:
            sensor = name.rsplit("/", 1)[-1]
            try:
                self.sensors[key_of(sensor)] = name
            except ValueError:
                raise CarArchiveError(f"{path}: the graph's input {name} is no DeepRacer sensor"
                                      ) from None
        self.keys = sorted(self.sensors)

    def action(self, obs: dict) -> Any:
        import torch

        feeds = {}
        for key, name in self.sensors.items():
            value = obs[key].detach().cpu().numpy()
            if value.ndim == 4:  # back to the car's raw grey levels, NHWC
                value = np.rint(value * 255.0).transpose(0, 2, 3, 1)
            feeds[name] = value
        out = torch.from_numpy(self.model.run(feeds))
        if self.discrete:
            return out.argmax(-1)
        return self.spec.scale(out.clamp(-1.0, 1.0))
