"""The camera frame the traced car's policy saw last (drtui.logs.camera), drawn in half-block
pixels: each cell is two grey pixels, the upper one in the glyph's colour and the lower in
its background. The image keeps its shape (pixels are about square in a terminal cell pair)
and is centred in the widget."""

from __future__ import annotations

from rich.style import Style
from rich.text import Text
from textual.widget import Widget

from drtui.events import CameraFrame
from drtui.logs.camera import CAMERA_EVERY_S, frame_pixels

UPPER_HALF = "▀"


def half_blocks(frame: CameraFrame, width: int, height: int) -> Text:
    """The frame scaled (nearest pixel) to fit width x 2*height pixels, centred."""
    pixels = frame_pixels(frame)
    w, h = frame.width, frame.height
    if not pixels or width < 1 or height < 1:
        return Text("")
    scale = min(width / w, 2 * height / h)
    out_w, out_h = max(1, int(w * scale)), max(2, int(h * scale))
    out_h -= out_h % 2
    cols = [min(w - 1, int(c / scale)) for c in range(out_w)]
    rows = [min(h - 1, int(r / scale)) for r in range(out_h)]
    pad_top = (height - out_h // 2) // 2
    pad_left = " " * ((width - out_w) // 2)
    styles: dict[tuple[int, int], Style] = {}
    text = Text(no_wrap=True, overflow="crop")
    text.append("\n" * pad_top)
    for r in range(0, out_h, 2):
        top, bottom = rows[r] * w, rows[r + 1] * w
        text.append(pad_left)
        for c in cols:
            key = (pixels[top + c], pixels[bottom + c])
            style = styles.get(key)
            if style is None:
                a, b = key
                style = styles[key] = Style(color=f"rgb({a},{a},{a})",
                                            bgcolor=f"rgb({b},{b},{b})")
            text.append(UPPER_HALF, style)
        if r + 2 < out_h:
            text.append("\n")
    return text


class RunCamera(Widget):
    DEFAULT_CSS = """
    RunCamera { height: 1fr; min-height: 4; }
    """

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.frame: CameraFrame | None = None

    def set_frame(self, frame: CameraFrame | None) -> None:
        self.frame = frame
        if frame is not None:
            self.border_subtitle = f"{frame.width}x{frame.height} ep {frame.episode}"
        self.refresh()

    def render(self) -> Text:
        if self.frame is None:
            return Text(f"no camera frame yet (drtui's trainer sends one every "
                        f"{CAMERA_EVERY_S:g} s)", style="italic")
        return half_blocks(self.frame, self.content_size.width, self.content_size.height)
