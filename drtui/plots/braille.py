"""A braille dot canvas: each terminal cell holds a 2 x 4 grid of dots (Unicode U+2800..U+28FF).

Coordinates are in dots, x to the right and y downwards; cell (col, row) holds dots
x in [2*col, 2*col + 2) and y in [4*row, 4*row + 4). Each cell also carries one layer tag
(the last layer drawn into it wins) so a caller can colour borders, paths and markers apart,
and may carry overlay text that replaces its dots (labels, axes).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from rich.text import Span, Text

# Bit of each dot in a braille code point, indexed [dot row][dot column] (ISO 11548-1 order).
_DOT_BITS = np.array([[0x01, 0x08], [0x02, 0x10], [0x04, 0x20], [0x40, 0x80]], dtype=np.uint32)
_BRAILLE_BLANK = 0x2800

ArrayLike = int | float | np.ndarray | list[int] | list[float]


def bresenham(x0: ArrayLike, y0: ArrayLike, x1: ArrayLike, y1: ArrayLike
              ) -> tuple[np.ndarray, np.ndarray]:
    """Integer points of the segments (x0, y0)-(x1, y1), both ends included.

    Vectorised over any number of segments: each point's minor coordinate is the integer
    rounding Bresenham's error term performs, computed in closed form instead of stepped.
    """
    x0, y0, x1, y1 = (np.atleast_1d(np.asarray(v, dtype=np.int64)) for v in (x0, y0, x1, y1))
    dx, dy = x1 - x0, y1 - y0
    adx, ady = np.abs(dx), np.abs(dy)
    major = np.maximum(adx, ady)
    counts = major + 1
    seg = np.repeat(np.arange(len(counts)), counts)
    t = np.arange(int(counts.sum())) - np.repeat(np.cumsum(counts) - counts, counts)
    span = np.maximum(major, 1)[seg]  # one-point segments step nowhere
    # round(t * d / major), half away from the start, in integers.
    xs = x0[seg] + np.sign(dx)[seg] * ((2 * t * adx[seg] + span) // (2 * span))
    ys = y0[seg] + np.sign(dy)[seg] * ((2 * t * ady[seg] + span) // (2 * span))
    return xs, ys


@dataclass(frozen=True)
class WorldTransform:
    """Maps world coordinates (metres, y up) onto continuous dot coordinates (y down).

    Floor a result to get the dot index. Built by `fit`, which keeps the aspect ratio.
    """

    scale_x: float  # dots per world unit along x
    scale_y: float  # dots per world unit along y (positive; the flip is in `to_dots_f`)
    centre_x: float
    centre_y: float
    dot_width: int
    dot_height: int

    @classmethod
    def fit(cls, xmin: float, xmax: float, ymin: float, ymax: float, dot_width: int,
            dot_height: int, *, margin: float = 1.0, cell_aspect: float = 2.0
            ) -> WorldTransform:
        """The largest transform that shows the box inside the dot grid, centred.

        `cell_aspect` is a cell's height over its width (about 2 in common terminal fonts).
        A dot is then cell_aspect/2 times as tall as it is wide, so y gets proportionally
        fewer dots per metre and a circle stays round on screen.
        """
        dot_h_over_w = cell_aspect / 2.0
        span_x = max(xmax - xmin, 1e-9)
        span_y = max(ymax - ymin, 1e-9)
        room_x = max(dot_width - 2 * margin, 1.0)
        room_y = max(dot_height - 2 * margin, 1.0)
        sx = min(room_x / span_x, room_y * dot_h_over_w / span_y)
        return cls(sx, sx / dot_h_over_w, (xmin + xmax) / 2, (ymin + ymax) / 2,
                   dot_width, dot_height)

    @classmethod
    def fit_points(cls, xy: np.ndarray, dot_width: int, dot_height: int, **kw: float
                   ) -> WorldTransform:
        """`fit` to the bounding box of an (N, 2) array, ignoring non-finite rows."""
        xy = np.asarray(xy, dtype=np.float64).reshape(-1, 2)
        xy = xy[np.isfinite(xy).all(axis=1)]
        if len(xy) == 0:
            xy = np.zeros((1, 2))
        (xmin, ymin), (xmax, ymax) = xy.min(axis=0), xy.max(axis=0)
        return cls.fit(xmin, xmax, ymin, ymax, dot_width, dot_height, **kw)

    def to_dots_f(self, x: ArrayLike, y: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
        dx = (np.asarray(x, dtype=np.float64) - self.centre_x) * self.scale_x + self.dot_width / 2
        dy = self.dot_height / 2 - (np.asarray(y, dtype=np.float64) - self.centre_y) * self.scale_y
        return dx, dy

    def to_dots(self, x: ArrayLike, y: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
        """Dot indices (int64); non-finite input comes back as a large negative (off-canvas)."""
        dx, dy = self.to_dots_f(x, y)
        bad = ~(np.isfinite(dx) & np.isfinite(dy))
        ix = np.floor(np.where(bad, -1e9, dx)).astype(np.int64)
        iy = np.floor(np.where(bad, -1e9, dy)).astype(np.int64)
        return ix, iy

    def to_world(self, dx: ArrayLike, dy: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
        """World coordinates of continuous dot coordinates (add 0.5 for a dot's centre)."""
        x = (np.asarray(dx, dtype=np.float64) - self.dot_width / 2) / self.scale_x + self.centre_x
        y = (self.dot_height / 2 - np.asarray(dy, dtype=np.float64)) / self.scale_y + self.centre_y
        return x, y


class BrailleCanvas:
    """A width x height cell canvas of braille dots with per-cell layer tags and overlay text."""

    def __init__(self, width: int, height: int) -> None:
        if width < 1 or height < 1:
            raise ValueError(f"canvas must be at least 1 x 1 cells, got {width} x {height}")
        self.width, self.height = width, height
        self.dot_width, self.dot_height = 2 * width, 4 * height
        self.dots = np.zeros((self.dot_height, self.dot_width), dtype=bool)
        self._tags = np.zeros((height, width), dtype=np.uint8)  # 0: untagged
        self._text = np.zeros((height, width), dtype=np.uint32)  # 0: no overlay
        self._layers: list[str] = []
        self.transform: WorldTransform | None = None  # set by plots that draw world data

    # -- layers -------------------------------------------------------------------------------

    def layer_id(self, layer: str) -> int:
        """The tag number of a layer name, registering it on first use."""
        try:
            return self._layers.index(layer) + 1
        except ValueError:
            if len(self._layers) >= 255:
                raise ValueError("a canvas holds at most 255 layers") from None
            self._layers.append(layer)
            return len(self._layers)

    @property
    def layers(self) -> list[str]:
        return list(self._layers)

    def layer_mask(self, layer: str) -> np.ndarray:
        """(height, width) bool: the cells whose tag is this layer."""
        if layer not in self._layers:
            return np.zeros_like(self._tags, dtype=bool)
        return self._tags == self._layers.index(layer) + 1

    def tag(self, cols: ArrayLike, rows: ArrayLike, layer: str) -> None:
        """Tag cells with a layer without touching their dots."""
        c, r = np.atleast_1d(np.asarray(cols, dtype=np.int64)), np.atleast_1d(
            np.asarray(rows, dtype=np.int64))
        keep = (c >= 0) & (c < self.width) & (r >= 0) & (r < self.height)
        self._tags[r[keep], c[keep]] = self.layer_id(layer)

    # -- drawing ------------------------------------------------------------------------------

    def set(self, x: ArrayLike, y: ArrayLike, layer: str | None = None) -> None:
        """Set dots (scalars or arrays); dots off the canvas are dropped."""
        x = np.atleast_1d(np.asarray(x, dtype=np.int64))
        y = np.atleast_1d(np.asarray(y, dtype=np.int64))
        keep = (x >= 0) & (x < self.dot_width) & (y >= 0) & (y < self.dot_height)
        x, y = x[keep], y[keep]
        self.dots[y, x] = True
        if layer is not None:
            self._tags[y >> 2, x >> 1] = self.layer_id(layer)

    def line(self, x0: int, y0: int, x1: int, y1: int, layer: str | None = None) -> None:
        self.set(*bresenham(x0, y0, x1, y1), layer)

    def lines(self, x0: ArrayLike, y0: ArrayLike, x1: ArrayLike, y1: ArrayLike,
              layer: str | None = None, dash: tuple[int, int] | None = None) -> None:
        """Many segments at once; `dash=(on, off)` keeps `on` dots of every `on + off`."""
        xs, ys = bresenham(x0, y0, x1, y1)
        if dash is not None:
            on, off = dash
            keep = np.arange(len(xs)) % (on + off) < on
            xs, ys = xs[keep], ys[keep]
        self.set(xs, ys, layer)

    def polyline(self, xs: ArrayLike, ys: ArrayLike, layer: str | None = None, *,
                 closed: bool = False, dash: tuple[int, int] | None = None) -> None:
        """Join consecutive dot points; segments touching a non-finite point are skipped."""
        xs = np.atleast_1d(np.asarray(xs, dtype=np.float64))
        ys = np.atleast_1d(np.asarray(ys, dtype=np.float64))
        if closed and len(xs) > 1:
            xs, ys = np.append(xs, xs[0]), np.append(ys, ys[0])
        ok = np.isfinite(xs) & np.isfinite(ys)
        if len(xs) == 1:
            if ok[0]:
                self.set(int(xs[0]), int(ys[0]), layer)
            return
        seg = ok[:-1] & ok[1:]
        # Clamp far-off points so a wild value cannot make a huge segment of dropped dots.
        lim = 4 * max(self.dot_width, self.dot_height)
        xi = np.clip(np.where(ok, xs, 0), -lim, lim).astype(np.int64)
        yi = np.clip(np.where(ok, ys, 0), -lim, lim).astype(np.int64)
        self.lines(xi[:-1][seg], yi[:-1][seg], xi[1:][seg], yi[1:][seg], layer, dash)

    def fill_rect(self, x0: int, y0: int, x1: int, y1: int, layer: str | None = None, *,
                  step: int = 1) -> None:
        """Fill the rectangle with corners (x0, y0), (x1, y1) inclusive.

        step > 1 stipples it: dots where (x + y) % step == 0 (2 gives a checkerboard).
        """
        xa, xb = sorted((int(x0), int(x1)))
        ya, yb = sorted((int(y0), int(y1)))
        xa, ya = max(xa, 0), max(ya, 0)
        xb, yb = min(xb, self.dot_width - 1), min(yb, self.dot_height - 1)
        if xa > xb or ya > yb:
            return
        if step <= 1:
            self.dots[ya:yb + 1, xa:xb + 1] = True
        else:
            yy, xx = np.ogrid[ya:yb + 1, xa:xb + 1]
            self.dots[ya:yb + 1, xa:xb + 1] |= (xx + yy) % step == 0
        if layer is not None:
            self._tags[ya >> 2:(yb >> 2) + 1, xa >> 1:(xb >> 1) + 1] = self.layer_id(layer)

    def text(self, col: int, row: int, s: str, layer: str | None = None) -> None:
        """Write single-width characters over cells from (col, row); clipped at the edges."""
        if not 0 <= row < self.height:
            return
        for i, ch in enumerate(s):
            c = col + i
            if 0 <= c < self.width:
                self._text[row, c] = ord(ch)
                if layer is not None:
                    self._tags[row, c] = self.layer_id(layer)

    def clear(self) -> None:
        self.dots[:] = False
        self._tags[:] = 0
        self._text[:] = 0

    # -- output -------------------------------------------------------------------------------

    def codes(self) -> np.ndarray:
        """(height, width) uint32 code points: braille for dots, overlay text, space if empty."""
        cells = self.dots.reshape(self.height, 4, self.width, 2)
        bits = np.einsum("rycx,yx->rc", cells.astype(np.uint32), _DOT_BITS)
        out = np.where(bits > 0, bits + _BRAILLE_BLANK, 0x20).astype(np.uint32)
        return np.where(self._text > 0, self._text, out).astype(np.uint32)

    def rows(self) -> list[str]:
        """One string of exactly `width` characters per cell row."""
        # A contiguous uint32 row of code points is, byte for byte, a numpy unicode string.
        codes = np.ascontiguousarray(self.codes(), dtype="<u4")
        return [str(s) for s in codes.view(f"<U{self.width}").ravel()]

    def __str__(self) -> str:
        return "\n".join(self.rows())

    def to_rich_text(self, styles: dict[str, str] | None = None) -> Text:
        """The canvas as rich Text, each cell styled by its layer's entry in `styles`."""
        plain = "\n".join(self.rows())
        text = Text(plain, no_wrap=True, overflow="crop")
        styles = styles or {}
        style_of = [None] + [styles.get(name) for name in self._layers]
        if not any(style_of):
            return text
        w = self.width
        flat = self._tags.ravel()
        start = np.ones(len(flat), dtype=bool)
        start[1:] = flat[1:] != flat[:-1]
        start[::w] = True  # runs never cross a row end
        starts = np.flatnonzero(start)
        ends = np.append(starts[1:], len(flat))
        spans = []
        for s, e, tag in zip(starts.tolist(), ends.tolist(), flat[starts].tolist()):
            style = style_of[tag]
            if style:  # text offsets count one newline per earlier row
                spans.append(Span(s + s // w, e + (e - 1) // w, style))
        text.spans = spans
        return text
