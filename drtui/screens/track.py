"""Step 1: the track (from the catalogue, drawn when waypoints ship) and the race type, with
object-avoidance or head-to-bot settings only for those races."""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Checkbox, DataTable, RadioSet, Static

from drtui.screens.step import WizardStep
from drtui.widgets.field_problem import FieldProblem
from drtui.widgets.fields import model_field
from drtui.widgets.form_field import FormScroll
from drtui.widgets.lazy_section import LazySection
from drtui.widgets.toggles import Check, Radio
from drtui.widgets.track_map import TrackMap

RACES = {
    "TIME_TRIAL": "Time trial: the car alone against the clock.",
    "OBJECT_AVOIDANCE": "Object avoidance: boxes on the track; a camera pair or lidar helps.",
    "HEAD_TO_BOT": "Head to bot: race bot cars; a lidar helps see them beside you.",
}


# Track | World | Dir fit the table's 52 columns at 80; length and width scroll in from the
# right (and are in the description below the map). The world is what tells a track's
# variants apart ("Rogue Circuit ccw" is both 2022_march_open and 2022_march_open_ccw).
COLUMNS = (("name", "Track", 17), ("world", "World", 26), ("dir", "Dir", 3),
           ("length", "Length", 6), ("width", "Width", 5))
WIDE_NAME = 24  # from 110 columns the table has room for longer names
LEGEND = "Dir: cw clockwise · ccw counter-clockwise"
# a bar across the track, an arrow the way the car drives; the racing line dashed
MAP_LEGEND = "start: bar+arrow · racing line: ╌"


class TrackStep(WizardStep):
    INDEX = 0
    AUTO_FOCUS = "#track-table"
    EXPLANATION = ("The car learns this track's shape: train on the track you race, or a harder "
                   "one to generalise. The race type sets what else is on the track.")
    HELP = ("The model trains on this track and learns its shape: train on the track you race "
            "on, or on a harder one to generalise. The race type sets what else is on it, and "
            "so which sensors are worth having.")

    def compose_body(self) -> ComposeResult:
        d = self.draft
        with Vertical(id="step-body"):
            with Horizontal(classes="columns"):
                with Vertical(classes="col-main"):
                    yield DataTable(id="track-table", cursor_type="row", zebra_stripes=True)
                    yield Static(LEGEND, id="track-legend", markup=False)
                    yield FieldProblem("track.world")
                with Vertical(classes="col-side"):
                    yield TrackMap(id="track-map")
                    yield Static("", id="track-description", markup=False)
            with FormScroll(id="race-panel"):
                with Horizontal(id="race-row"):
                    yield Check("Reverse", bool(d.get("track.reverse")), id="track-reverse",
                                compact=True)
                    with RadioSet(id="race-type", classes="horizontal"):
                        for race in RACES:
                            yield Radio(race, value=d.get("race.type") == race, name=race)
                yield Static("", id="race-note", classes="note", markup=False)
                yield FieldProblem("race.type")
                yield FieldProblem("track.reverse")
                yield LazySection(self._oa_settings, id="oa-settings")
                yield LazySection(self._h2b_settings, id="h2b-settings")

    def _oa_settings(self) -> list:
        from drtui.session.model import ObjectAvoidance

        return [*[model_field(ObjectAvoidance, "race.object_avoidance", name,
                              self.draft.get(f"race.object_avoidance.{name}"))
                  for name in ObjectAvoidance.model_fields if name != "object_positions"],
                FieldProblem("race.object_avoidance")]

    def _h2b_settings(self) -> list:
        from drtui.session.model import HeadToBot

        return [*[model_field(HeadToBot, "race.head_to_bot", name,
                              self.draft.get(f"race.head_to_bot.{name}"))
                  for name in HeadToBot.model_fields],
                FieldProblem("race.head_to_bot")]

    def on_mount(self) -> None:
        from drtui.catalog.tracks import catalogue

        table = self.query_one("#track-table", DataTable)
        wide = self.has_class("-wide")
        for key, label, width in COLUMNS:
            table.add_column(label, key=key, width=WIDE_NAME if wide and key == "name" else width)
        self.query_one("#track-legend", Static).update(LEGEND + ("" if wide else " · → more"))
        world = self.draft.get("track.world")
        with self.prevent(DataTable.RowHighlighted):
            for t in catalogue().values():
                name = t.name.removesuffix(" (counter-clockwise)").removesuffix(" (clockwise)")
                table.add_row(Text(name, overflow="ellipsis", no_wrap=True), t.world,
                              "cw" if t.direction == "clockwise" else "ccw",
                              f"{t.length_m:.2f}m" if t.length_m else "—",
                              f"{t.width_m:.2f}m" if t.width_m else "—", key=t.world)
            if world in catalogue():
                table.move_cursor(row=table.get_row_index(world), animate=False)
        self._show_track(world)
        self._show_race(self.draft.get("race.type"))

    @on(DataTable.RowHighlighted, "#track-table")
    def _track_highlighted(self, event: DataTable.RowHighlighted) -> None:
        world = event.row_key.value
        self.edit("track.world", world)
        self._show_track(world)

    def _show_track(self, world: str) -> None:
        from drtui.catalog.tracks import catalogue

        route = self.draft.get("track.route", None)
        if route:  # the session drives its own route file: draw that
            from drtui.catalog.tracks import route_path

            self.query_one(TrackMap).world = str(route_path(route, self.draft.session_path.parent))
        else:
            self.query_one(TrackMap).world = world
        track = catalogue().get(world)
        text = "" if track is None else (
            f"{track.name} ({track.world}), {track.direction}"
            + (f", {track.length_m:.2f} m long" if track.length_m else "")
            + (f", {track.width_m:.2f} m wide" if track.width_m else "")
            + (f". {track.description}" if track.description else "."))
        if route:
            text = f"Drives the session's own route {route} (track.route). " + text
        self.query_one("#track-description", Static).update(text)
        track_map = self.query_one("#track-map")
        track_map.border_title = track.name if track else world
        track_map.border_subtitle = MAP_LEGEND
        self._draw_line()

    def _draw_line(self) -> None:
        """The racing line on the map, computed off the UI thread (cached under the
        workspace: a track's line is computed once)."""
        track_map = self.query_one(TrackMap)
        source, reverse = track_map.world or "", bool(self.draft.get("track.reverse"))
        key = f"{source}|{reverse}"
        if not source or track_map.line_key == key:
            return
        workspace = getattr(self.app, "workspace", None) or self.draft.session_path.parent

        def work() -> None:
            from drtui.session.raceline import map_line

            try:
                points = map_line(source, reverse, workspace)
            except (OSError, ValueError, KeyError):
                return  # an unknown world or a broken route: the map says so already
            self.app.call_from_thread(self._line_ready, key, points)

        self.run_worker(work, thread=True, exclusive=True, group="track-line")

    def _line_ready(self, key: str, points) -> None:
        if self.is_attached:
            self.query_one(TrackMap).set_line(key, points)

    @on(Checkbox.Changed, "#track-reverse")
    def _reverse(self, event: Checkbox.Changed) -> None:
        self.edit("track.reverse", event.value)
        self._draw_line()

    @on(RadioSet.Changed, "#race-type")
    def _race(self, event: RadioSet.Changed) -> None:
        race = event.pressed.name
        self.edit("race.type", race)
        self._show_race(race)

    def _show_race(self, race: str) -> None:
        self.query_one("#race-note", Static).update(RACES.get(race, ""))
        self.query_one("#oa-settings", LazySection).show(race == "OBJECT_AVOIDANCE")
        self.query_one("#h2b-settings", LazySection).show(race == "HEAD_TO_BOT")
