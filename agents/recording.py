"""Watching the agent play: gameplay recordings and the plot of its Blackjack plays.

- Chapter 69 shows the trained DQN boxing on the Atari; chapter 75 plays the trained Blackjack
  agent. :func:`record_agent` (and `scripts/record.py RUN_DIR`, through :func:`record_run`)
  plays whole episodes headless and writes one MP4 (or GIF) per episode to the run's videos/,
  also logged to TensorBoard as an animated image. Boxing is recorded in colour from a single
  emulator that gives the agent exactly its training input (`env.record_env`, e.g.
  `boxing-colour`); Blackjack, CartPole, FrozenLake and Taxi use Gymnasium's `rgb_array`
  rendering; the book's text-only games (five rooms, tic-tac-toe) are drawn from their text.
  With `overlay=True` a strip under each frame shows the step, the action taken and the
  agent's values of every action as a bar chart (Q-values; V of each move for chapter 66's
  tic-tac-toe player). A Blackjack hand lasts one to three decisions, so each decision is held
  for about a second and a final frame shows the dealer's cards and the outcome.
- Chapter 72 draws "a plot of the agent's plays": :func:`blackjack_plays_figure` samples hands
  with the real environment and shows, for each, the cards, the Q-values of stick and hit at
  every decision, the action chosen, the dealer's final hand and the outcome.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
import math
import os
from pathlib import Path
from typing import Any, Callable

import numpy as np

import envs
from lab.cli import UsageError
from lab.logger import Logger
from lab.plots import new_figure, save_figure
from lab.rundir import RunDir

FORMATS = ("mp4", "gif")
BLACKJACK_ACTIONS = ("stick", "hit")
ACTION_NAMES = {
    "blackjack": list(BLACKJACK_ACTIONS),
    "CartPole-v1": ["push left", "push right"],
    "FrozenLake-v1": ["left", "down", "right", "up"],
    "FrozenLake8x8-v1": ["left", "down", "right", "up"],
    "Taxi-v3": ["south", "north", "east", "west", "pickup", "dropoff"],
    "Taxi-v4": ["south", "north", "east", "west", "pickup", "dropoff"],
    "five-rooms": [f"to room {k}" for k in range(6)],
    "tictactoe": [f"cell {k}" for k in range(9)],
}
ATARI_AGENT_STEPS_PER_SECOND = 15  # 60 emulator frames/s with frame skip 4: real-time play
TENSORBOARD_MAX_FRAMES = 300


# -- drawing helpers ---------------------------------------------------------------------------
@functools.lru_cache(maxsize=32)
def _font(size: int):
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
    font = _font(max(size, 8))
    image = Image.new("RGB", (width, height), (245, 245, 240))
    draw = ImageDraw.Draw(image)
    draw.multiline_text((width / 2, height / 2), "\n".join(lines), font=font, fill=(20, 20, 20),
                        anchor="mm", align="center", spacing=max(2, size // 4))
    return np.asarray(image)


def _upscale(frame: np.ndarray, factor: int) -> np.ndarray:
    return frame if factor == 1 else frame.repeat(factor, axis=0).repeat(factor, axis=1)


def overlay_strip(width: int, step: int, action: int | None, values: np.ndarray | None,
                  names: list[str], value_label: str = "Q", explored: bool = False) -> np.ndarray:
    """A strip to put under a frame: the step, the action and a bar chart of the values.

    The chosen action's bar is orange; with few actions each bar is labelled with the action's
    name and its value; with many (Atari's 18) the text line gives the extremes instead.
    """
    from PIL import Image, ImageDraw

    font_size = int(np.clip(width / 30, 9, 15))
    font = _font(font_size)
    small = _font(max(8, font_size - 3))
    line = font_size + 6
    chart_top, chart_height = 2 * line, 64
    # the strip's size depends only on the width and the number of actions, so every frame of
    # a video (the last one has no action) has the same size
    label_room = line if width / max(len(names), 1) >= 40 else 0
    height = chart_top + chart_height + label_room + 6
    height += height % 2
    image = Image.new("RGB", (width, height), (24, 24, 32))
    draw = ImageDraw.Draw(image)
    if action is None:
        draw.text((6, 3), f"step {step}: episode over", font=font, fill=(255, 255, 255))
        return np.asarray(image)
    name = names[action] if action < len(names) else str(action)
    draw.text((6, 3), f"step {step}  action: {name}" + ("  (random)" if explored else ""),
              font=font, fill=(255, 255, 255))
    if values is None:
        return np.asarray(image)
    values = np.asarray(values, dtype=float)
    shown = values[np.isfinite(values)]
    if shown.size:
        draw.text((6, 3 + line), f"{value_label}: max {shown.max():+.3f}  min {shown.min():+.3f}",
                  font=small, fill=(200, 200, 210))
    scale = max(float(np.abs(shown).max()) if shown.size else 0.0, 1e-6)
    has_negative = shown.size and shown.min() < 0
    zero = chart_top + (chart_height / 2 if has_negative else chart_height - 2)
    half = chart_height / 2 - 8 if has_negative else chart_height - 12
    slot = width / len(values)
    draw.line([(0, zero), (width, zero)], fill=(110, 110, 120))
    for i, value in enumerate(values):
        if not np.isfinite(value):
            continue
        left, right = i * slot + max(1, slot * 0.15), (i + 1) * slot - max(1, slot * 0.15)
        top = zero - half * value / scale
        colour = (255, 150, 40) if i == action else (90, 150, 220)
        draw.rectangle([left, min(top, zero), right, max(top, zero)], fill=colour)
        if label_room:
            centre = (i + 0.5) * slot
            draw.text((centre, chart_top + chart_height + 2), _fit(names[i] if i < len(names) else str(i), slot, small),
                      font=small, fill=(230, 230, 230), anchor="ma")
            draw.text((centre, min(top, zero) - 1), f"{value:+.2f}", font=small, fill=(240, 240, 240), anchor="md")
    return np.asarray(image)


def _fit(text: str, pixels: float, font) -> str:
    while len(text) > 1 and font.getlength(text) > pixels - 2:
        text = text[:-1]
    return text


def with_banner(frame: np.ndarray, lines: list[str]) -> np.ndarray:
    """The frame with a dark band at the bottom holding `lines` (the episode's outcome)."""
    from PIL import Image, ImageDraw

    height, width = frame.shape[:2]
    font_size = int(np.clip(width / 26, 9, 18))
    font = _font(font_size)
    band = (font_size + 6) * len(lines) + 8
    image = Image.fromarray(np.ascontiguousarray(frame)).convert("RGB")
    draw = ImageDraw.Draw(image, "RGBA")
    draw.rectangle([0, height - band, width, height], fill=(0, 0, 0, 200))
    for k, text in enumerate(lines):
        draw.text((width / 2, height - band + 4 + k * (font_size + 6)), _fit(text, width, font),
                  font=font, fill=(255, 255, 255), anchor="ma")
    return np.asarray(image)


# -- Blackjack hands -------------------------------------------------------------------------
def _card(value: int) -> str:
    return "A" if value == 1 else str(value)


def hand_value(cards: list[int]) -> int:
    """Best total of a Blackjack hand (an ace counts 11 when that does not bust)."""
    total = sum(cards)
    return total + 10 if 1 in cards and total + 10 <= 21 else total


def _outcome_word(reward: float) -> str:
    return "win" if reward > 0 else "loss" if reward < 0 else "draw"


def blackjack_outcome_lines(env, reward: float) -> list[str]:
    """Two lines for the end of a hand: the dealer's final cards, the player's and the result."""
    table = env.unwrapped
    dealer, player = list(table.dealer), list(table.player)
    dealer_total, player_total = hand_value(dealer), hand_value(player)
    return [
        f"dealer {' '.join(map(_card, dealer))} = {dealer_total}" + (" bust" if dealer_total > 21 else ""),
        f"player {' '.join(map(_card, player))} = {player_total}" + (" bust" if player_total > 21 else "")
        + f" -> {_outcome_word(reward).upper()} {reward:+g}",
    ]


def _blackjack_values(agent, config) -> Callable[[tuple], np.ndarray]:
    """state tuple -> the agent's Q-values (stick, hit), for a DQN or a Q-table."""
    if getattr(config, "algo", None) == "dqn":
        from envs.blackjack import encode

        encoding = config.env.options.get("observation", "onehot")
        return lambda state: agent.q_values(encode(state, encoding)[None])[0]
    return lambda state: np.asarray(agent.q_values(tuple(int(v) for v in state)), dtype=float)


# -- one environment with the agent that plays it ------------------------------------------
@dataclasses.dataclass
class _Player:
    env: Any
    choose: Callable  # (observation, info) -> (action, values or None, explored)
    render: Callable[[], np.ndarray]
    action_names: list[str]
    value_label: str
    hold_seconds: float  # how long each decision stays on screen (0 = one frame per step)
    default_fps: int
    upscale: int
    outcome: Callable[[float, int], list[str]]


def _render_mode(name: str, options: dict) -> str:
    probe = envs.make(name, **options)
    modes = probe.metadata.get("render_modes", [])
    probe.close()
    if "rgb_array" in modes:
        return "rgb_array"
    if "ansi" in modes:
        return "ansi"
    raise UsageError(f"environment {name!r} has neither rgb_array nor ansi rendering; it cannot be recorded")


def _record_env_options(record_env: str, options: dict) -> dict:
    """The training env's options that the recording env accepts (protocol, no-ops, cap...)."""
    if record_env == "boxing-colour":
        from envs.atari import make_boxing_colour

        accepted = set(inspect.signature(make_boxing_colour).parameters) - {"seed", "render_mode", "clip_rewards"}
        return {k: v for k, v in options.items() if k in accepted}
    return {k: v for k, v in options.items() if k not in ("num_envs", "num_threads", "seed")}


def _make_player(agent, config, epsilon: float, seed: int, fmt: str) -> _Player:
    os.environ.setdefault("SDL_VIDEODRIVER", "dummy")  # pygame renders without a display
    os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
    deep = getattr(config, "algo", None) == "dqn"
    name, options = config.env.name, dict(config.env.options)
    rng = np.random.default_rng(seed)
    record_env = getattr(config.env, "record_env", None) or ("boxing-colour" if name == "boxing" else None)
    atari = record_env == "boxing-colour"
    if atari:  # the agent's grey 4x84x84 input, colour frames from render(), raw scores
        env = envs.make(record_env, seed=seed, clip_rewards=False, **_record_env_options(record_env, options))
        mode = "rgb_array"
    elif record_env is not None:
        env = envs.make(record_env, render_mode="rgb_array", **_record_env_options(record_env, options))
        mode = "rgb_array"
    else:
        mode = _render_mode(name, options)
        env = envs.make(name, render_mode=mode, **options)

    if deep:
        def choose(observation, info):
            values = agent.q_values(np.asarray(observation)[None])[0]
            if epsilon > 0 and rng.random() < epsilon:
                return int(rng.integers(len(values))), values, True
            return int(np.argmax(values)), values, False
        value_label = "Q"
    else:
        from agents.tabular import ValueFunctionAgent
        from agents.tabular_loop import greedy_chooser

        chooser = greedy_chooser(agent, 0.0, rng)

        def choose(observation, info):
            mask = info.get("action_mask")
            if isinstance(agent, ValueFunctionAgent):
                values = np.full(env.action_space.n, np.nan)
                for cell, board in env.unwrapped.afterstates():
                    values[cell] = agent.value(board)
            else:
                values = np.array(agent.q_values(observation), dtype=float)
                if mask is not None:
                    values = np.where(np.asarray(mask, dtype=bool), values, np.nan)
            if epsilon > 0 and rng.random() < epsilon:
                allowed = np.flatnonzero(mask) if mask is not None else np.arange(env.action_space.n)
                return int(allowed[rng.integers(len(allowed))]), values, True
            return int(chooser(observation, info, env)), values, False
        value_label = "V" if isinstance(agent, ValueFunctionAgent) else "Q"

    if atari:
        names = [meaning.lower() for meaning in env.unwrapped.get_action_meanings()]
    else:
        names = ACTION_NAMES.get(name, [str(k) for k in range(env.action_space.n)])
    render = env.render if mode == "rgb_array" else (lambda: text_image(env.render()))
    slow = mode == "ansi" or env.metadata.get("render_fps", 30) < 10
    hold = 1.0 if name == "blackjack" else 0.5 if slow else 0.0
    fps = 10 if hold else ATARI_AGENT_STEPS_PER_SECOND if atari else int(env.metadata.get("render_fps", 30))
    if name == "blackjack":
        outcome = lambda total, steps: blackjack_outcome_lines(env, total)  # noqa: E731
    else:
        outcome = lambda total, steps: [f"episode over after {steps} steps: return {total:+g}"]  # noqa: E731
    return _Player(env, choose, render, names, value_label, hold, fps,
                   upscale=2 if atari and fmt == "mp4" else 1, outcome=outcome)


# -- writing videos ------------------------------------------------------------------------------
class _VideoSink:
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


def _play_and_write(player: _Player, path: Path, fmt: str, fps: int, overlay: bool,
                    seed: int) -> tuple[np.ndarray, int]:
    """Play one episode from `seed` into `path`; return the TensorBoard clip and its fps."""
    env = player.env
    hold = max(1, round(player.hold_seconds * fps))
    sink = _VideoSink(path, fmt, fps, hold, held=player.hold_seconds > 0)

    def frame_with(action, values, explored, step, outcome: list[str] | None = None):
        frame = _upscale(np.asarray(player.render()), player.upscale)
        if outcome:
            frame = with_banner(frame, outcome)
        if overlay:
            strip = overlay_strip(frame.shape[1], step, action, values, player.action_names,
                                  player.value_label, explored)
            frame = np.concatenate([frame, strip], axis=0)
        return frame

    observation, info = env.reset(seed=seed)
    total, step = 0.0, 0
    try:
        while True:
            action, values, explored = player.choose(observation, info)
            sink.add(frame_with(action, values, explored, step), hold)
            observation, reward, terminated, truncated, info = env.step(action)
            total += float(reward)
            step += 1
            if terminated or truncated:
                break
        # the final position, held longer, with the outcome written on it
        final = frame_with(None, None, False, step, outcome=player.outcome(total, step))
        sink.add(final, max(hold * 2, round(fps)), last=True)
    finally:
        clip, clip_fps = sink.close()
    return clip, clip_fps


def record_agent(
    run: RunDir,
    agent,
    config,
    episodes: int = 1,
    logger: Logger | None = None,
    fmt: str = "mp4",
    overlay: bool = False,
    epsilon: float | None = None,
    fps: int | None = None,
    seed: int = 777,
    step: int = 0,
) -> list[Path]:
    """Play `episodes` episodes headless and write one video per episode to run.videos.

    `epsilon` defaults to the evaluation protocol's (the preset's evaluation.epsilon for deep
    agents, 0 for tables); episode k starts from seed `seed + k`. Each video is also logged to
    TensorBoard as `videos/episode_k` when a logger is given. Returns the files written.
    """
    if fmt not in FORMATS:
        raise UsageError(f"--format {fmt!r} is not valid; choose one of: {', '.join(FORMATS)}")
    if isinstance(episodes, bool) or not isinstance(episodes, int) or episodes < 1:
        raise UsageError(f"--episodes must be a positive integer, got {episodes!r}")
    if fps is not None and fps < 1:
        raise UsageError(f"--fps must be a positive integer, got {fps!r}")
    if epsilon is None:
        epsilon = float(config.evaluation.epsilon) if getattr(config, "algo", None) == "dqn" else 0.0
    if not 0.0 <= epsilon <= 1.0:
        raise UsageError(f"--epsilon must be between 0 and 1, got {epsilon!r}")
    player = _make_player(agent, config, epsilon, seed, fmt)
    fps = fps or player.default_fps
    Path(run.videos).mkdir(parents=True, exist_ok=True)
    suffix = "-overlay" if overlay else ""
    paths = []
    try:
        for k in range(episodes):
            path = Path(run.videos) / f"{config.preset}-episode{k}{suffix}.{fmt}"
            clip, clip_fps = _play_and_write(player, path, fmt, fps, overlay, seed + k)
            if logger is not None:
                logger.video(f"videos/episode_{k}", clip, step, clip_fps)
            paths.append(path)
    finally:
        player.env.close()
    return paths


def record_run(
    run_dir: str | os.PathLike,
    episodes: int = 1,
    fmt: str = "mp4",
    overlay: bool = False,
    checkpoint: str = "best",
    epsilon: float | None = None,
    fps: int | None = None,
    seed: int = 777,
    device: str = "auto",
) -> list[Path]:
    """`scripts/record.py RUN_DIR`: load the run's agent and record it (see record_agent)."""
    from agents.evaluation import load_run

    if fmt not in FORMATS:
        raise UsageError(f"--format {fmt!r} is not valid; choose one of: {', '.join(FORMATS)}")
    loaded = load_run(run_dir, checkpoint, device)
    step = int(loaded.state.get("steps", loaded.state.get("episode", 0)) or 0)
    with Logger(loaded.run.path) as logger:
        return record_agent(loaded.run, loaded.agent, loaded.config, episodes=episodes, logger=logger,
                            fmt=fmt, overlay=overlay, epsilon=epsilon, fps=fps, seed=seed, step=step)


# -- chapter 72: the plot of the agent's plays ---------------------------------------------
def play_hands(agent, config, hands: int, seed: int) -> list[dict]:
    """Greedy hands with the real environment, keeping the cards and every decision."""
    options = config.env.options
    env = envs.make_blackjack(natural=bool(options.get("natural", False)), sab=bool(options.get("sab", False)))
    values_of = _blackjack_values(agent, config)
    played = []
    state, _ = env.reset(seed=seed)
    for _ in range(hands):
        table = env.unwrapped
        hand = {"dealer_shows": int(table.dealer[0]), "first_cards": list(table.player), "decisions": []}
        while True:
            q = np.asarray(values_of(state), dtype=float)
            action = int(np.argmax(q))
            hand["decisions"].append({"state": tuple(int(v) for v in state), "q": q.tolist(), "action": action})
            state, reward, terminated, truncated, _ = env.step(action)
            if terminated or truncated:
                break
        hand |= {"player": list(table.player), "dealer": list(table.dealer), "reward": float(reward)}
        played.append(hand)
        state, _ = env.reset()
    env.close()
    return played


def _draw_cards(ax, x: float, y: float, cards: list[int], known: int) -> float:
    """Cards as small boxes from x; the first `known` white, later ones shaded. Returns the end x."""
    from matplotlib.patches import FancyBboxPatch

    for k, card in enumerate(cards):
        colour = "white" if k < known else "#e8e0c8"
        ax.add_patch(FancyBboxPatch((x, y), 0.8, 1.3, boxstyle="round,pad=0.03,rounding_size=0.12",
                                    facecolor=colour, edgecolor="#444444", linewidth=0.8))
        ax.text(x + 0.4, y + 0.65, _card(card), ha="center", va="center", fontsize=9, weight="bold",
                color="#aa0000" if card == 1 else "black")
        x += 0.95
    return x


def blackjack_plays_figure(run: RunDir, agent, config, logger: Logger | None = None, hands: int = 12,
                           seed: int = 0, step: int = 0) -> Path:
    """Chapter 72's plot of the agent's plays, saved to plots/blackjack_plays.png.

    One panel per sampled hand: the dealer's shown card (later dealer cards shaded), the
    player's cards (hits shaded), at each decision the state, Q(stick) and Q(hit) with the
    chosen action in bold, and the outcome (+1 win, 0 draw, -1 loss) as the panel's colour.
    Works for a DQN (through the preset's observation encoding) and for a Q-table.
    """
    from matplotlib.patches import Rectangle

    if hands < 1:
        raise ValueError(f"hands must be >= 1, got {hands}")
    played = play_hands(agent, config, hands, seed)
    columns = min(4, hands)
    rows = math.ceil(hands / columns)
    fig, axes = new_figure(rows, columns, figsize=(3.6 * columns, 3.0 * rows), squeeze=False)
    shades = {"win": "#dff3df", "draw": "#ececec", "loss": "#f6dede"}
    for index, ax in enumerate(axes.ravel()):
        ax.set_xlim(0, 10)
        ax.set_ylim(0, 10)
        ax.axis("off")
        if index >= len(played):
            continue
        hand = played[index]
        word = _outcome_word(hand["reward"])
        ax.add_patch(Rectangle((0, 0), 10, 10, facecolor=shades[word], edgecolor="none", zorder=-1))
        ax.set_title(f"hand {index + 1}: {word} {hand['reward']:+g}", fontsize=10, weight="bold",
                     color={"win": "#1a7a1a", "draw": "#555555", "loss": "#a01818"}[word])
        ax.text(0.1, 8.5, "dealer", fontsize=8, va="center")
        end = _draw_cards(ax, 1.6, 7.85, hand["dealer"], known=1)
        dealer_total = hand_value(hand["dealer"])
        ax.text(end + 0.1, 8.5, f"= {dealer_total}" + (" bust" if dealer_total > 21 else ""), fontsize=8, va="center")
        ax.text(0.1, 6.6, "player", fontsize=8, va="center")
        end = _draw_cards(ax, 1.6, 5.95, hand["player"], known=len(hand["first_cards"]))
        player_total = hand_value(hand["player"])
        ax.text(end + 0.1, 6.6, f"= {player_total}" + (" bust" if player_total > 21 else ""), fontsize=8, va="center")
        for k, decision in enumerate(hand["decisions"][:4]):
            total, shows, ace = decision["state"]
            q_stick, q_hit = decision["q"]
            y = 4.9 - 1.2 * k
            ax.text(0.1, y, f"{total}{' A' if ace else ''} vs {_card(shows)}:", fontsize=7.5, va="center")
            for j, (label, value) in enumerate((("stick", q_stick), ("hit", q_hit))):
                chosen = decision["action"] == j
                ax.text(3.0 + 3.2 * j, y, f"Q({label}) {value:+.2f}", fontsize=7.5, va="center",
                        weight="bold" if chosen else "normal", color="black" if chosen else "#666666")
            if k == 3 and len(hand["decisions"]) > 4:
                ax.text(9.8, y, "...", fontsize=8, ha="right", va="center")
        ax.text(9.9, 0.3, "chose " + " -> ".join(BLACKJACK_ACTIONS[d["action"]] for d in hand["decisions"]),
                fontsize=7, ha="right", va="bottom", color="#333333")
    mean = float(np.mean([h["reward"] for h in played]))
    fig.suptitle(f"The agent's plays (chapter 72): {hands} greedy hands, seed {seed}, mean outcome {mean:+.2f}. "
                 f"Shaded cards were drawn later; bold = the action taken (the larger Q).", fontsize=10)
    fig.subplots_adjust(left=0.01, right=0.99, bottom=0.01, top=1 - 0.7 / fig.get_figheight(),
                        wspace=0.05, hspace=0.25)
    path = save_figure(fig, Path(run.plots) / "blackjack_plays.png")
    if logger is not None:  # the saved PNG itself, so the figure is drawn only once
        import imageio.v3 as iio

        logger.image("plots/blackjack_plays", iio.imread(path)[..., :3], step)
    return path
