"""Frames for people to watch: the drawing helpers of recordings and the one frame sink that
writes MP4 (H.264), GIF and TensorBoard clips (chapters 69 and 75: watching the agent play).

Every package that shows frames uses this module: agents' recordings, the live player.
"""

from __future__ import annotations

import functools
import math
from pathlib import Path

import numpy as np

from lab.i18n import decimal, tr

TENSORBOARD_MAX_FRAMES = 300
FORMATS = ("mp4", "gif")


@functools.lru_cache(maxsize=32)
def load_font(size: int):
    """DejaVu Sans Mono (shipped with matplotlib) at `size` pixels; Pillow's default otherwise."""
    from PIL import ImageFont

    import matplotlib

    path = Path(matplotlib.get_data_path()) / "fonts" / "ttf" / "DejaVuSansMono.ttf"
    try:
        return ImageFont.truetype(str(path), size)
    except OSError:
        return ImageFont.load_default(size)


def text_image(text: str, width: int = 480, height: int = 240) -> np.ndarray:
    """Draw a text rendering (an env's `ansi` output) centred on a fixed-size canvas."""
    from PIL import Image, ImageDraw

    lines = text.rstrip("\n").splitlines() or [""]
    if all(len(line) <= 3 for line in lines):  # a tic-tac-toe board reads better spaced out
        lines = [" ".join(line) for line in lines]
    longest = max(len(line) for line in lines) or 1
    size = int(min(64, 0.9 * width / (0.62 * longest), 0.65 * height / (1.25 * len(lines))))
    font = load_font(max(size, 8))
    image = Image.new("RGB", (width, height), (245, 245, 240))
    draw = ImageDraw.Draw(image)
    draw.multiline_text((width / 2, height / 2), "\n".join(lines), font=font, fill=(20, 20, 20),
                        anchor="mm", align="center", spacing=max(2, size // 4))
    return np.asarray(image)


def upscale(frame: np.ndarray, factor: int) -> np.ndarray:
    return frame if factor == 1 else frame.repeat(factor, axis=0).repeat(factor, axis=1)


def overlay_strip(width: int, step: int, action: int | None, values: np.ndarray | None,
                  names: list[str], value_label: str = "Q", explored: bool = False, note: str = "") -> np.ndarray:
    """A strip to put under a frame: the step, the action and a bar chart of the values
    (`note`, e.g. what an agent's memory holds, follows the values' range).

    Bars are the signed values from a zero line (marked 0): with every value negative, as
    Blackjack's often are, the best action has the shortest bar. The chosen action's bar is
    orange with a triangle under it, and every bar carries its action's name: written across
    with its value when the bars are wide, written upwards when they are narrow (Atari's 18
    actions), where the text line gives the largest and smallest value instead.
    """
    from PIL import Image, ImageDraw

    font_size = int(np.clip(width / 30, 9, 15))
    font = load_font(font_size)
    small = load_font(max(8, font_size - 3))
    line = font_size + 6
    chart_top, chart_height = 2 * line, 64
    # the strip's size depends only on the width and the action names, so every frame of a
    # video (the last one has no action) has the same size
    slot = width / max(len(names), 1)
    across = slot >= 40
    upright_font = load_font(int(np.clip(slot * 0.7, 7, 11)))
    label_room = line if across else int(max((upright_font.getlength(n) for n in names), default=0)) + 6
    height = chart_top + chart_height + label_room + 6
    height += height % 2
    image = Image.new("RGB", (width, height), (24, 24, 32))
    draw = ImageDraw.Draw(image)
    if not across:  # names written upwards under narrow bars, the chosen one highlighted
        for i, label in enumerate(names):
            colour = (255, 170, 70) if i == action else (210, 210, 215)
            text = Image.new("RGBA", (label_room, int(slot)), (0, 0, 0, 0))
            ImageDraw.Draw(text).text((label_room - 3, slot / 2), label, font=upright_font, fill=colour,
                                      anchor="rm")
            text = text.rotate(90, expand=True)
            image.paste(text, (int(i * slot), chart_top + chart_height + 3), text)
    if action is None:
        draw.text((6, 3), tr("step {step}: episode over").format(step=step), font=font, fill=(255, 255, 255))
        return np.asarray(image)
    name = names[action] if action < len(names) else str(action)
    said = tr("step {step}  action: {name} (random)") if explored else tr("step {step}  action: {name}")
    draw.text((6, 3), said.format(step=step, name=name), font=font, fill=(255, 255, 255))
    if values is None:
        return np.asarray(image)
    values = np.asarray(values, dtype=float)
    shown = values[np.isfinite(values)]
    if shown.size:
        draw.text((6, 3 + line), tr("{label}: max {high:+.3f}  min {low:+.3f}; orange = chosen").format(
            label=value_label, high=shown.max(), low=shown.min()) + (f"   {note}" if note else ""),
            font=small, fill=(200, 200, 210))
    scale = max(float(np.abs(shown).max()) if shown.size else 0.0, 1e-6)
    has_negative = shown.size and shown.min() < 0
    zero = chart_top + (chart_height / 2 if has_negative else chart_height - 2)
    half = chart_height / 2 - 8 if has_negative else chart_height - 12
    draw.line([(0, zero), (width, zero)], fill=(110, 110, 120))
    draw.text((2, zero), "0", font=small, fill=(150, 150, 160), anchor="lm")
    for i, value in enumerate(values):
        if not np.isfinite(value):
            continue
        left, right = i * slot + max(1, slot * 0.15), (i + 1) * slot - max(1, slot * 0.15)
        top = zero - half * value / scale
        colour = (255, 150, 40) if i == action else (90, 150, 220)
        draw.rectangle([left, min(top, zero), right, max(top, zero)], fill=colour)
        centre = (i + 0.5) * slot
        if i == action:  # a mark that does not depend on the bar's length or sign
            base = chart_top + chart_height
            draw.polygon([(centre, base - 7), (centre - 5, base), (centre + 5, base)], fill=colour)
        if across:
            draw.text((centre, chart_top + chart_height + 2), fit(names[i] if i < len(names) else str(i), slot, small),
                      font=small, fill=(255, 190, 110) if i == action else (230, 230, 230), anchor="ma")
            label_y = min(top, zero) - 1 if value >= 0 else max(top, zero) + 1
            draw.text((centre, label_y), decimal(f"{value:+.2f}"), font=small, fill=(240, 240, 240),
                      anchor="md" if value >= 0 else "ma")
    return np.asarray(image)


def fit(text: str, pixels: float, font) -> str:
    while len(text) > 1 and font.getlength(text) > pixels - 2:
        text = text[:-1]
    return text


def with_banner(frame: np.ndarray, lines: list[str]) -> np.ndarray:
    """The frame with a dark band at the bottom holding `lines` (the episode's outcome)."""
    from PIL import Image, ImageDraw

    height, width = frame.shape[:2]
    font_size = int(np.clip(width / 26, 9, 18))
    font = load_font(font_size)
    band = (font_size + 6) * len(lines) + 8
    image = Image.fromarray(np.ascontiguousarray(frame)).convert("RGB")
    draw = ImageDraw.Draw(image, "RGBA")
    draw.rectangle([0, height - band, width, height], fill=(0, 0, 0, 200))
    for k, text in enumerate(lines):
        draw.text((width / 2, height - band + 4 + k * (font_size + 6)), fit(text, width, font),
                  font=font, fill=(255, 255, 255), anchor="ma")
    return np.asarray(image)


class FrameSink:
    """Frames -> one MP4 (H.264, yuv420p: opens in every player) or GIF, plus a short clip for
    TensorBoard (one frame per decision for held games; every 4th frame, at most 300, half size
    for long ones)."""

    def __init__(self, path: Path, fmt: str, fps: int, hold_repeats: int, held: bool):
        self.path, self.fmt, self.fps, self.held = path, fmt, fps, held
        self.hold_repeats = hold_repeats
        self.gif_frames: list[np.ndarray] = []
        self.gif_durations: list[float] = []
        self.tensorboard: list[np.ndarray] = []
        self.count = 0
        self.writer = None
        if fmt == "mp4":
            import imageio.v2 as imageio

            self.writer = imageio.get_writer(
                str(path), format="FFMPEG", mode="I", fps=fps, codec="libx264", pixelformat="yuv420p",
                macro_block_size=2, ffmpeg_log_level="error", output_params=["-movflags", "+faststart"],
            )

    def add(self, frame: np.ndarray, repeats: int = 1, last: bool = False) -> None:
        frame = np.ascontiguousarray(frame[..., :3], dtype=np.uint8)
        if self.writer is not None:
            height, width = frame.shape[:2]  # yuv420p needs even sides
            if height % 2 or width % 2:
                frame = np.pad(frame, ((0, height % 2), (0, width % 2), (0, 0)), mode="edge")
            for _ in range(repeats):
                self.writer.append_data(frame)
        else:  # a GIF holds a frame by its duration, not by copies
            self.gif_frames.append(frame)
            self.gif_durations.append(1000.0 * repeats / self.fps)
        if self.held or last or self.count % 4 == 0:
            self.tensorboard.append(frame)
        self.count += 1

    def close(self) -> tuple[np.ndarray, int]:
        """Finish the file; return the TensorBoard clip and its frame rate."""
        if self.writer is not None:
            self.writer.close()
        else:
            import imageio.v3 as iio

            iio.imwrite(self.path, np.stack(self.gif_frames), extension=".gif",
                        duration=self.gif_durations, loop=0)
        clip = np.stack(self.tensorboard)
        if self.held:  # one frame per decision, shown as long as in the file
            return clip, max(1, round(self.fps / self.hold_repeats))
        thin = math.ceil(len(clip) / TENSORBOARD_MAX_FRAMES)
        clip = clip[::thin]
        if clip.shape[2] >= 300:
            clip = clip[:, ::2, ::2]
        return np.ascontiguousarray(clip), max(1, round(self.fps / (4 * thin)))
