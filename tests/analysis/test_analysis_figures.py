"""Every figure of the deepracer-analysis notebooks, drawn from real sample logs, checked through
matplotlib's own objects: a title, labelled axes, a legend or a labelled colour bar, and series
that differ by line style, marker or hatch, not by colour alone (readable in monochrome)."""

from __future__ import annotations

import pytest
from analysis_helpers import CONSOLE_EVAL_LOG, DROA_ARCHIVE

from drtui.analysis import figures
from drtui.analysis.load import load
from drtui.analysis.report import build

pytest.importorskip("matplotlib")

ROUTE = "reInvent2019_wide_cw"  # simapp's own route, shipped with drtui


def _is_colorbar(ax) -> bool:
    return getattr(ax, "_colorbar", None) is not None


def check(fig, name: str) -> None:
    assert fig._suptitle is not None and fig._suptitle.get_text(), name
    plots = [ax for ax in fig.axes if ax.get_visible() and not _is_colorbar(ax)]
    assert plots, name
    for ax in plots:
        where = f"{name}: {ax.get_title()!r}"
        assert ax.get_title() or fig._suptitle.get_text(), where
        assert ax.get_xlabel() and ax.get_ylabel(), where
        legend = ax.get_legend()
        assert legend is not None and legend.get_texts(), where
        assert all(t.get_text() for t in legend.get_texts()), where
        lines = [ln for ln in ax.get_lines() if not ln.get_label().startswith("_")]
        looks = [(str(ln.get_linestyle()), ln.get_marker()) for ln in lines
                 if ln.get_label() not in ("track border", "centre line")]
        assert len(set(looks)) == len(looks), f"{where}: series differ only by colour"
        hatches = {}
        for patch in ax.patches:
            if not patch.get_label().startswith("_"):
                hatches[patch.get_label()] = patch.get_hatch()
        if len(hatches) > 1:
            assert len(set(hatches.values())) == len(hatches), f"{where}: same hatch"
    for im in [m for ax in plots for m in ax.images + ax.collections
               if getattr(m, "get_cmap", None) and m.get_array() is not None
               and getattr(m, "colorbar", None) is not None]:
        assert im.colorbar.ax.get_ylabel(), name


@pytest.fixture(scope="module")
def archive_report():
    return build(load(DROA_ARCHIVE, world=ROUTE))


def test_every_training_figure_of_a_real_archive(archive_report, tmp_path):
    figs = figures.figures(archive_report)
    assert set(figs) == {"training-progress.png", "training-quintiles.png",
                         "reward-progress.png", "lap-times.png", "reward-heatmap.png",
                         "speed-heatmap.png", "best-laps.png", "actions-per-section.png",
                         "exits.png", "sector-times.png", "starts.png"}
    for name, fig in figs.items():
        check(fig, name)
    # the heat maps carry a colour bar with its measure; the laps legend names their times
    for name in ("reward-heatmap.png", "speed-heatmap.png"):
        bars = [ax for ax in figs[name].axes if _is_colorbar(ax)]
        assert len(bars) == 1 and bars[0].get_ylabel()
    best = figs["best-laps.png"].axes[0].get_legend().get_texts()
    laps = archive_report.laps
    assert f"{laps['lap_time'].iloc[0]:.3f} s" in best[2].get_text()  # after border, centre
    hist = figs["lap-times.png"].axes[0]
    assert hist.get_xlabel() == "Lap time (s)"
    assert len(hist.get_xticks()) > 2  # ticks, not just the two ends
    written = figures.write_all(tmp_path, archive_report)
    assert sorted(p.name for p in written) == sorted(figs)
    assert all(p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for p in written)


def test_action_heatmap_and_labels_of_a_discrete_model(layouts):
    report = build(load(layouts["drfc-single"], world="reinvent_base"))
    figs = figures.figures(report)
    assert "action-heatmap.png" in figs
    for name, fig in figs.items():
        check(fig, name)
    labels = [t.get_text() for t in
              figs["actions-per-section.png"].axes[0].get_legend().get_texts()]
    assert labels == [str(a) for a in report.actions.index]
    assert all("m/s" in label for label in labels)


def test_evaluation_figures(layouts):
    """DRfC's evaluations (real simtraces) coloured by speed, and the console evaluation log's
    lap-time histogram."""
    report = build(load(layouts["drfc-multi"], world="reinvent_base"))
    figs = figures.figures(report)
    check(figs["evaluation-laps.png"], "evaluation-laps.png")
    lap = build(load(CONSOLE_EVAL_LOG))
    lap_figs = figures.figures(lap)
    check(lap_figs["lap-times.png"], "lap-times.png")


def test_metrics_only_input_draws_reward_and_progress(layouts):
    from analysis_helpers import TRAINING_METRICS

    report = build(load(TRAINING_METRICS))
    figs = figures.figures(report)
    assert "reward-progress.png" in figs
    check(figs["reward-progress.png"], "reward-progress.png")
    texts = [t.get_text() for ax in figs["reward-progress.png"].axes
             for t in ax.get_legend().get_texts()]
    assert "evaluation" in texts and "training" in texts
