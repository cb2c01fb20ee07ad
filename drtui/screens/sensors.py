"""Step 2: the car's sensors. Every rule a combination breaks shows as it is chosen, with the
core's message (catalog.sensors.sensor_problems via validation), and the sensors involved are
marked ✗ in the list."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Label, Static

from drtui.screens.draft import REMOVE
from drtui.screens.step import WizardStep
from drtui.widgets.field_problem import FieldProblem
from drtui.widgets.fields import model_field
from drtui.widgets.form_field import FormScroll
from drtui.widgets.sensor_picker import SensorPicker

DSL = "DISCRETIZED_SECTOR_LIDAR"


class SensorsStep(WizardStep):
    INDEX = 1
    AUTO_FOCUS = "SensorPicker Check"
    EXPLANATION = ("What the policy sees: one camera, at most one lidar. A lidar sees cars and "
                   "boxes beside and behind; more inputs train slower. Race with the same "
                   "sensors.")
    HELP = ("What the policy sees. Exactly one camera (front, left, or a stereo pair for depth) "
            "and at most one lidar: a lidar sees cars and boxes beside and behind, which "
            "matters for object avoidance and head-to-bot races. More inputs train slower; the "
            "same sensors must be on the car you race.")

    def compose_body(self) -> ComposeResult:
        from drtui.catalog.sensors import SENSORS
        from drtui.session.model import Car, LidarConfig

        chosen = self._chosen()
        with Horizontal(classes="columns stack", id="step-body"):
            with Vertical(classes="col-main"):
                yield SensorPicker({n: f"{s.kind:<6} {s.observation}" for n, s in SENSORS.items()},
                                   chosen, id="sensor-list")
                yield Static("", id="sensor-verdict", classes="verdict", markup=False)
                yield FieldProblem("car.sensors")
                yield Static("", id="sensor-description", classes="note", markup=False)
            with FormScroll(classes="col-side"):
                with Vertical(id="lidar-config"):
                    yield Label("Discretized sector lidar", classes="section-title")
                    for name in LidarConfig.model_fields:
                        yield model_field(LidarConfig, "car.lidar_config", name,
                                          self.draft.get(f"car.lidar_config.{name}", None)
                                          or LidarConfig.model_fields[name].default)
                    yield FieldProblem("car.lidar_config")
                yield Label("Car", classes="section-title")
                for name in ("name", "color", "body_shell"):
                    yield model_field(Car, "car", name, self.draft.get(f"car.{name}"),
                                      help={"name": "Shown in the simulator and on leaderboards.",
                                            "color": "The car's colour in the simulator (and "
                                                     "what the camera sees of other cars).",
                                            "body_shell": "Simulator body shell (deepracer "
                                                          "is the standard car)."}[name])

    def _chosen(self) -> list[str]:
        sensors = self.draft.get("car.sensors")
        return list(sensors) if isinstance(sensors, list) else []

    def on_mount(self) -> None:
        self._refresh_marks()

    @on(SensorPicker.Changed, "#sensor-list")
    def _changed(self, event: SensorPicker.Changed) -> None:
        order = event.selected
        self.edit("car.sensors", order)
        if DSL not in order:
            self.edit("car.lidar_config", REMOVE)
        self._refresh_marks()

    @on(SensorPicker.Highlighted, "#sensor-list")
    def _highlighted(self, event: SensorPicker.Highlighted) -> None:
        from drtui.catalog.sensors import SENSORS

        sensor = SENSORS[event.name]
        self.query_one("#sensor-description", Static).update(
            f"{sensor.name}: {sensor.description}")

    def _refresh_marks(self) -> None:
        from drtui.catalog.sensors import CAMERAS, LIDARS, sensor_problems

        chosen = self._chosen()
        problems = sensor_problems(chosen)
        broken: set[str] = set()
        cameras = [s for s in chosen if s in CAMERAS]
        lidars = [s for s in chosen if s in LIDARS]
        if len(cameras) > 1:
            broken.update(cameras)
        if len(lidars) > 1:
            broken.update(lidars)
        self.query_one(SensorPicker).mark(broken)
        verdict = self.query_one("#sensor-verdict", Static)
        verdict.update("" if problems else "✓ the simulator accepts " + " + ".join(chosen))
        verdict.set_class(not problems, "-ok")
        verdict.display = not problems
        self.query_one("#lidar-config").set_class(DSL in chosen, "-shown")
