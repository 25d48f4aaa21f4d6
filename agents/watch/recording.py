"""Gameplay recordings (docs/design.md: run directory; chapters 66-69 and 75): watching chapter
69's Boxing agent, chapter 75's Blackjack agent and chapters 66-68's tabular players play.

:func:`record_learner` (and `scripts/record.py RUN_DIR` through :func:`record_run`) plays whole
episodes headless and writes MP4s (or GIFs) to the run's videos/, also logged to TensorBoard
as clips. The agent acts through its learner's own `decide` (its values and greedy action),
exploring with the evaluation protocol's epsilon. :meth:`Player.moments` plays and
:meth:`Player.picture` draws each moment (agents.watch.scenes); the live window and the terminal of
`scripts/play.py` (agents.watch.live) show the same moments. The run's view (agents.watch.views) says what
is special: Boxing is recorded in colour from a twin emulator that gives the agent exactly its
training input; a Blackjack recording holds eight hands drawn as chapter 72's plot of plays
(both hands' cards, the hole card turned over at the end, Q(stick) and Q(hit), the action, the
running result); the five-rooms building and the tic-tac-toe board are drawn with the agent's
values. With `overlay=True` a strip under each frame shows the step, the action and the
agent's values. Frames go through lab.video's one frame sink.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Iterator

import numpy as np

import envs
from lab.cli import UsageError
from lab.i18n import tr
from lab.logger import Logger
from lab.rundir import RunDir
from lab.video import FrameSink, overlay_strip, text_image, upscale, with_banner

from agents.evaluation import load_run
from agents.watch.options import check_record_options
from agents.watch.scenes import Decision, Moment
from agents.watch.views import view_for

ATARI_AGENT_STEPS_PER_SECOND = 15  # 60 emulator frames/s with frame skip 4: real-time play


class Player:
    """One rendering environment and what a recording needs to draw it."""

    def __init__(self, learner, config, epsilon: float, seed: int, fmt: str = "mp4", text: bool = False) -> None:
        os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
        if not _display_open():  # pygame renders games without a display (unless a window is open)
            os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
        self.learner, self.epsilon = learner, epsilon
        self.view = view = view_for(config.env.name)
        task = view.task
        self.rng = np.random.default_rng(seed)
        name = config.env.record_env or task.record_env or config.env.name
        accepted = envs.accepted_options(name)
        options = {k: v for k, v in config.env.options.items()
                   if k not in ("num_envs", "num_threads", "seed", "clip_rewards")
                   and (accepted is None or k in accepted)}
        if name != config.env.name:  # a twin made for watching: colour frames, raw scores
            self.env = envs.make(name, render_mode="rgb_array", **options)
            mode = "rgb_array"
        else:
            mode = self._render_mode(name, options, text)
            self.env = envs.make(name, render_mode=mode, **options)
        meanings = getattr(self.env.unwrapped, "get_action_meanings", None)
        labels = task.action_labels()  # in the reader's language
        self.action_names = (labels or tuple(m.lower() for m in meanings()) if meanings
                             else labels or tuple(str(k) for k in range(self.env.action_space.n)))
        self.render = self.env.render if mode == "rgb_array" else (lambda: text_image(self.env.render()))
        fps = int(self.env.metadata.get("render_fps", 30) or 30)
        slow = mode == "ansi" or fps < 10
        self.hold_seconds = view.hold_seconds if view.hold_seconds is not None else (0.5 if slow else 0.0)
        self.default_fps = 10 if self.hold_seconds else ATARI_AGENT_STEPS_PER_SECOND if meanings else fps
        self.upscale = 2 if meanings and fmt == "mp4" else 1

    @staticmethod
    def _render_mode(name: str, options: dict, text: bool = False) -> str:
        """rgb_array (ansi first when `text`: the terminal shows the env's own text)."""
        probe = envs.make(name, **options)
        modes = probe.metadata.get("render_modes", [])
        probe.close()
        for mode in (("ansi", "rgb_array") if text else ("rgb_array", "ansi")):
            if mode in modes:
                return mode
        raise UsageError(tr("environment {name} has neither rgb_array nor ansi rendering; it cannot be "
                            "recorded").format(name=repr(name)))

    def choose(self, observation, info) -> tuple[int, np.ndarray, bool]:
        """(action, values shown, explored): the learner's greedy action, or a random allowed
        one with probability epsilon."""
        values, greedy = self.learner.decide(observation, info, self.env)
        if self.epsilon > 0 and self.rng.random() < self.epsilon:
            mask = info.get("action_mask")
            allowed = np.flatnonzero(mask) if mask is not None else np.arange(self.env.action_space.n)
            return int(allowed[self.rng.integers(len(allowed))]), values, True
        return greedy, values, False

    def moments(self, seed: int, episodes: int = 1) -> Iterator[tuple[Moment, float]]:
        """Play `episodes` episodes (the first from `seed`, the others following on) and yield
        each moment with the seconds it is shown: every decision before it is taken, then the
        end of the episode, held longer."""
        results: list[float] = []
        for episode in range(episodes):
            observation, info = self.env.reset(seed=seed if episode == 0 else None)
            self.learner.begin_episode()  # an agent with memory starts afresh
            decisions: list[Decision] = []
            total = 0.0
            moment = lambda over: Moment(self.env, decisions, over, total, list(results), episode, episodes,
                                         action_names=self.action_names,
                                         result=self.view.task.result(self.env, total) if over else None)
            while True:
                action, values, explored = self.choose(observation, info)
                note = self.learner.memory_note()  # agents with memory
                decisions.append(Decision(observation, values, action, explored, self.view.snapshot(self.env),
                                          note=note))
                yield moment(False), self.hold_seconds or 1 / self.default_fps
                observation, reward, terminated, truncated, info = self.env.step(action)
                total += float(reward)
                if terminated or truncated:
                    break
            yield moment(True), max(2 * self.hold_seconds, 1.0)
            results.append(self.view.task.result(self.env, total))

    def picture(self, moment: Moment, overlay: bool) -> np.ndarray:
        """The task's drawing of `moment`, or the game's own frame (with the outcome written on
        the last one); `overlay` adds the strip with the step, the action and the values."""
        frame = self.view.picture(moment)
        if frame is None:
            frame = upscale(np.asarray(self.render()), self.upscale)
            if moment.over:
                frame = with_banner(frame, self.view.outcome_lines(self.env, moment.total, len(moment.decisions)))
        if overlay:
            decision = moment.current or Decision(None, None, None)
            strip = overlay_strip(frame.shape[1], len(moment.decisions) - (0 if moment.over else 1), decision.action,
                                  decision.values, list(self.action_names), self.view.value_label, decision.explored,
                                  note=decision.note)
            frame = np.concatenate([frame, strip], axis=0)
        return frame

    def record(self, path: Path, fmt: str, fps: int, overlay: bool, seed: int,
               episodes: int = 1) -> tuple[np.ndarray, int]:
        """Play `episodes` episodes from `seed` into `path`; return the TensorBoard clip and its fps."""
        hold = max(1, round(self.hold_seconds * fps))
        sink = FrameSink(path, fmt, fps, hold, held=self.hold_seconds > 0)
        try:
            for moment, seconds in self.moments(seed, episodes):
                last = moment.over and moment.episode == episodes - 1
                sink.add(self.picture(moment, overlay), max(1, round(seconds * fps)), last=last)
        finally:
            clip, clip_fps = sink.close()
        return clip, clip_fps


def _display_open() -> bool:
    """Whether this process already shows a pygame window (the live player's)."""
    import sys

    pygame = sys.modules.get("pygame")
    return bool(pygame is not None and pygame.display.get_init() and pygame.display.get_surface() is not None)


def record_learner(run: RunDir, learner, config, episodes: int = 1, logger: Logger | None = None,
                   fmt: str = "mp4", overlay: bool = False, epsilon: float | None = None,
                   fps: int | None = None, seed: int = 777, step: int = 0) -> list[Path]:
    """Play headless and write `episodes` videos to run.videos, each holding the task's
    `episodes_per_video` episodes (one, or eight Blackjack hands: <preset>-hands<k>.mp4).

    `epsilon` defaults to the evaluation protocol's (the preset's evaluation.epsilon); video
    k starts from seed `seed + k`; each video is also logged to TensorBoard as
    `videos/episode_k` when a logger is given. Returns the files written.
    """
    check_record_options(episodes, fmt, fps, epsilon, seed)
    epsilon = float(config.evaluation.epsilon) if epsilon is None else epsilon
    player = Player(learner, config, epsilon, seed, fmt)
    fps = fps or player.default_fps
    Path(run.videos).mkdir(parents=True, exist_ok=True)
    suffix = "-overlay" if overlay else ""
    paths = []
    try:
        for k in range(episodes):
            path = Path(run.videos) / f"{config.preset}-{player.view.video_stem}{k}{suffix}.{fmt}"
            clip, clip_fps = player.record(path, fmt, fps, overlay, seed + k, player.view.episodes_per_video)
            if logger is not None:
                logger.video(f"videos/episode_{k}", clip, step, clip_fps)
            paths.append(path)
    finally:
        player.env.close()
    return paths


def record_run(run_dir: str | os.PathLike, episodes: int = 1, fmt: str = "mp4", overlay: bool = False,
               checkpoint: str = "best", epsilon: float | None = None, fps: int | None = None,
               seed: int = 777, device: str = "auto") -> list[Path]:
    """`scripts/record.py RUN_DIR`: load the run's agent and record it (agents.watch.recording)."""
    check_record_options(episodes, fmt, fps, epsilon, seed)
    loaded = load_run(run_dir, checkpoint, device)
    with Logger(loaded.run.path) as logger:
        return record_learner(loaded.run, loaded.learner, loaded.config, episodes=episodes, logger=logger,
                              fmt=fmt, overlay=overlay, epsilon=epsilon, fps=fps, seed=seed,
                              step=int(loaded.state.get("steps", 0)))
