"""Where a live game is shown: a pygame window, or the terminal when there is no display
(chapters 66 and 71-75: watching the agent play, and playing with it).

Both screens have the same four calls, so the game code never asks which one it has:
``show(picture, text)`` (the window draws the picture, the terminal prints the text),
``pause(seconds)`` (False once the person has closed the window or pressed Esc/q),
``ask(prompt, keys, regions)`` (the value of the key typed, or of the region of the picture
clicked; None when the person quits) and ``close()``.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import Any, TextIO

import numpy as np

QUIT_WORDS = ("q", "quit", "exit")
MIN_WIDTH, MAX_HEIGHT = 480, 900  # small pictures are enlarged, but not beyond a laptop's screen
Region = tuple[tuple[int, int, int, int], Any]  # (left, top, right, bottom) in picture pixels, value


def display_missing() -> str | None:
    """Why no window can be shown here (None: a display seems to exist)."""
    driver = os.environ.get("SDL_VIDEODRIVER", "")
    if driver in ("dummy", "offscreen"):
        return f"SDL_VIDEODRIVER={driver} shows no window"
    if sys.platform.startswith("linux") and not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        return "no display (neither DISPLAY nor WAYLAND_DISPLAY is set)"
    return None


class Terminal:
    """Text out, moves typed in: a line per move, Enter for 'go on', q (or end of input) to stop."""

    shows_pictures = False

    def __init__(self, out: TextIO | None = None, inp: TextIO | None = None) -> None:
        self.out, self.inp = out or sys.stdout, inp or sys.stdin

    def show(self, picture: np.ndarray | None, text: str) -> None:
        print(text, file=self.out, flush=True)

    def pause(self, seconds: float) -> bool:
        if seconds > 0:
            time.sleep(seconds)
        return True

    def ask(self, prompt: str, keys: dict[str, Any], regions: list[Region] | None = None) -> Any | None:
        while True:
            print(f"{prompt} > ", end="", file=self.out, flush=True)
            line = self.inp.readline()
            if not line:  # end of input: the person has gone
                print(file=self.out)
                return None
            answer = line.strip().lower()
            if not self.inp.isatty():  # moves read from a file or a pipe: show them as if typed
                print(answer, file=self.out, flush=True)
            if answer in keys:
                return keys[answer]
            if answer in QUIT_WORDS:
                return None
            valid = ", ".join("Enter" if k == "" else k for k in keys)
            print(f"{answer!r} is not a move here; type one of: {valid} (q quits)", file=self.out, flush=True)

    def close(self) -> None:
        """Nothing to release."""


class Window:
    """A pygame window showing each picture (small ones enlarged by a whole factor towards
    `MIN_WIDTH` pixels across, never beyond `MAX_HEIGHT` high); keys and mouse clicks answer."""

    shows_pictures = True

    def __init__(self, title: str) -> None:
        os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
        import pygame

        self.pygame = pygame
        pygame.display.init()
        pygame.display.set_caption(title)
        self.surface = None
        self.factor = 1

    def show(self, picture: np.ndarray, text: str = "") -> None:
        pygame = self.pygame
        picture = np.ascontiguousarray(picture[..., :3], dtype=np.uint8)
        self.factor = max(1, min(-(-MIN_WIDTH // picture.shape[1]), MAX_HEIGHT // picture.shape[0]))
        if self.factor > 1:
            picture = picture.repeat(self.factor, axis=0).repeat(self.factor, axis=1)
        height, width = picture.shape[:2]
        if self.surface is None or self.surface.get_size() != (width, height):
            self.surface = pygame.display.set_mode((width, height))
        self.surface.blit(pygame.image.frombuffer(picture.tobytes(), (width, height), "RGB"), (0, 0))
        pygame.display.flip()
        pygame.event.pump()

    def _quits(self, event) -> bool:
        pygame = self.pygame
        return event.type == pygame.QUIT or (event.type == pygame.KEYDOWN and event.key in (pygame.K_ESCAPE, pygame.K_q))

    def pause(self, seconds: float) -> bool:
        pygame = self.pygame
        until = time.monotonic() + seconds
        while True:
            for event in pygame.event.get():
                if self._quits(event):
                    return False
            left = until - time.monotonic()
            if left <= 0:
                return True
            pygame.time.wait(int(min(left, 0.02) * 1000) + 1)

    def ask(self, prompt: str, keys: dict[str, Any], regions: list[Region] | None = None) -> Any | None:
        pygame = self.pygame
        while True:
            for event in pygame.event.get():
                if self._quits(event):
                    return None
                if event.type == pygame.KEYDOWN:
                    typed = "" if event.key in (pygame.K_RETURN, pygame.K_KP_ENTER, pygame.K_SPACE) else event.unicode.lower()
                    if typed in keys:
                        return keys[typed]
                if event.type == pygame.MOUSEBUTTONDOWN and event.button == 1:
                    x, y = (p // self.factor for p in event.pos)  # in the picture's own pixels
                    for (left, top, right, bottom), value in regions or []:
                        if left <= x < right and top <= y < bottom:
                            return value
                    if "" in keys and not regions:  # a click also means "go on"
                        return keys[""]
            pygame.time.wait(20)

    def save(self, path: str | os.PathLike) -> Path:
        """The window's picture as a PNG (what a person sees now)."""
        self.pygame.image.save(self.pygame.display.get_surface(), str(path))
        return Path(path)

    def close(self) -> None:
        self.pygame.display.quit()


def open_screen(terminal: bool, title: str, note: TextIO | None = None) -> Window | Terminal:
    """A window unless `terminal` is asked for or no display exists (then one line on `note`,
    stderr by default, says why the game is in the terminal)."""
    if terminal:
        return Terminal()
    why = display_missing()
    if why is None:
        try:
            return Window(title)
        except Exception as err:  # pygame.error: the display refused a window
            why = f"no window could be opened ({str(err).splitlines()[0] if str(err) else type(err).__name__})"
    print(f"note: {why}; playing in the terminal (--terminal chooses it without this note)",
          file=note or sys.stderr)
    return Terminal()
