"""Watching a trained agent live, and playing with it (docs/design.md: rooms; chapters 66-75):
`scripts/play.py RUN_DIR` (chapter 66's tic-tac-toe player, chapter 67's five rooms, chapters
71-75's Blackjack agent, chapter 69's Boxing).

Three modes, one way of showing a game (agents.watch.scenes: the pictures of the recordings, or the
same moment in words when there is no display):

- ``watch``: the agent plays its game in real time, with its values of every action;
- ``play`` (tic-tac-toe): a person plays O against chapter 66's value-function player (X,
  which moves first, as it was trained); the agent's value of each of its moves is shown;
- ``beside`` (Blackjack): a person plays the hands and decides; the agent's Q(stick), Q(hit)
  and its advice are shown at every decision, and the summary says how often the person
  followed it.

The screen is a pygame window (lab.screens), or the terminal with moves typed on stdin when
there is no display or `--terminal` is given.
"""

from __future__ import annotations

import itertools
import os

import numpy as np

import envs
from envs import tictactoe as ttt
from envs.blackjack import table_state
from lab.cli import UsageError
from lab.i18n import ngettext, tr
from lab.screens import open_screen

from agents.evaluation import LoadedRun, load_run
from agents.watch.options import MODES, check_live_options
from agents.watch.recording import Player
from agents.watch.scenes import Decision, Moment, cell_boxes, tally
from agents.watch.views import view_for

MODE_ENVS = {"play": "tictactoe", "beside": "blackjack"}  # the games a person can join
GO_ON = {"": True}


def play_run(run_dir: str | os.PathLike, mode: str = "watch", terminal: bool = False, episodes: int | None = None,
             delay: float | None = None, seed: int | None = None, checkpoint: str = "best", device: str = "auto",
             screen=None) -> str:
    """Load the run's agent and show it (`mode`, see the module docstring) on `screen` (a window,
    or the terminal when there is no display); returns the session's summary line.

    `episodes`: episodes (games, hands) to show (default: until the person stops; watch: the
    recording's count, at least 3); `delay`: seconds each decision stays on screen (default:
    the recording's pace, real time for Atari); `seed`: of the first episode (default: a fresh
    one, printed in the summary so the session can be replayed).
    """
    check_live_options(mode, episodes, delay, seed)
    loaded = load_run(run_dir, checkpoint, device)
    env_name = loaded.config.env.name
    if mode in MODE_ENVS and env_name != MODE_ENVS[mode]:
        games = {"play": "tic-tac-toe (tictactoe-value)", "beside": "Blackjack (blackjack-q, blackjack-dqn)"}
        # every mode this run's game has: a Blackjack run is played beside, tic-tac-toe against
        fitting = [m for m in MODES if MODE_ENVS.get(m) == env_name]
        modes = (tr("--mode {mode} or --mode watch").format(mode=fitting[0]) if fitting else "--mode watch")
        raise UsageError(tr("--mode {mode} needs a run of {game}; {path} plays {env}: use {modes}").format(
            mode=mode, game=games[mode], path=loaded.run.path, env=env_name, modes=modes))
    seed = int(np.random.SeedSequence().entropy % 2**31) if seed is None else seed
    screen = screen or open_screen(terminal, f"dlbook-agents: {loaded.config.preset} ({mode})")
    session = {"watch": watch, "play": play_against, "beside": play_beside}[mode]
    try:
        summary = session(loaded, screen, episodes, delay, seed)
    except KeyboardInterrupt:
        summary = tr("stopped")
    finally:
        screen.close()
    return tr("{summary} (seed {seed}: --seed {seed} replays it)").format(summary=summary, seed=seed)


def _wait(delay: float | None, seconds: float, over: bool) -> float:
    return seconds if delay is None else delay * (2 if over else 1)


def watch(loaded: LoadedRun, screen, episodes: int | None, delay: float | None, seed: int) -> str:
    """The agent plays alone, in real time, its values shown with every decision."""
    config = loaded.config
    view = view_for(config.env.name)
    player = Player(loaded.learner, config, float(config.evaluation.epsilon), seed, text=not screen.shows_pictures)
    episodes = episodes or max(view.episodes_per_video, 3)
    results = []
    try:
        for moment, seconds in player.moments(seed, episodes):
            picture = player.picture(moment, overlay=not view.draws) if screen.shows_pictures else None
            screen.show(picture, view.describe(moment))
            if moment.over:
                results.append(view.task.result(player.env, moment.total))
            if not screen.pause(_wait(delay, seconds, moment.over)):
                break
    finally:
        player.env.close()
    return tr("watched {count} of {episodes} episodes of {preset}: the agent's result {tally}").format(
        count=len(results), episodes=episodes, preset=config.preset, tally=tally(results))


def _show(screen, view, moment: Moment) -> None:
    screen.show(view.picture(moment) if screen.shows_pictures else None, view.describe(moment))


def play_against(loaded: LoadedRun, screen, games: int | None, delay: float | None, seed: int) -> str:
    """Tic-tac-toe: the agent (X) moves first, the person answers (O), game after game."""
    view = view_for("tictactoe")
    env = envs.make("tictactoe", **loaded.config.env.options)
    env.reset(seed=seed)
    results: list[float] = []  # the person's: +1 a win, 0 a draw, -1 a loss
    pace = view.hold_seconds if delay is None else delay
    try:
        for game in itertools.count():
            board, decisions = (ttt.EMPTY,) * 9, []
            moment = lambda over=False, prompt="": Moment(env, decisions, over, 0.0, list(results), game, games,
                                                          person="against", prompt=prompt,
                                                          result=-view.task.result(env, 0.0) if over else None)
            while not ttt.is_terminal(board):
                observation, info = env.reset(options={"board": board})
                values, cell = loaded.learner.decide(observation, info, env)
                decisions.append(Decision(observation, values, int(cell), snapshot=board))
                _show(screen, view, moment())
                if not screen.pause(pace):
                    return _against_summary(results)
                board = ttt.play(board, int(cell), ttt.X)
                env.unwrapped.board = board
                if ttt.is_terminal(board):
                    break
                free = ttt.legal_moves(board)
                prompt = (tr("your move (O): click a free cell or type its number 1-9; q quits")
                          if screen.shows_pictures else tr("your move (O): type a free cell's number 1-9; q quits"))
                decisions.append(Decision(None, None, None, snapshot=board, by="you"))
                _show(screen, view, moment(prompt=prompt))
                boxes = cell_boxes()
                choice = screen.ask(prompt, {str(c + 1): c for c in free}, [(boxes[c], c) for c in free])
                if choice is None:
                    return _against_summary(results)
                decisions[-1].action = choice
                board = ttt.play(board, choice, ttt.O)
                env.unwrapped.board = board
            last = games is not None and len(results) + 1 >= games
            prompt = "" if last else next_prompt(screen, tr("next game"))
            _show(screen, view, moment(over=True, prompt=prompt))
            results.append(-view.task.result(env, 0.0))
            if last:
                screen.pause(pace * 2)
                break
            if screen.ask(prompt, GO_ON) is None:
                break
    finally:
        env.close()
    return _against_summary(results)


def next_prompt(screen, what: str) -> str:
    """'Enter (or a click): next hand; q: quit' in a window; a terminal takes no clicks."""
    said = tr("Enter (or a click): {what}; q: quit") if screen.shows_pictures else tr("Enter: {what}; q: quit")
    return said.format(what=what)


def _against_summary(results: list[float]) -> str:
    return ngettext("you played {count} game of tic-tac-toe against the agent: your result {tally}",
                    "you played {count} games of tic-tac-toe against the agent: your result {tally}",
                    len(results)).format(count=len(results), tally=tally(results))


def play_beside(loaded: LoadedRun, screen, hands: int | None, delay: float | None, seed: int) -> str:
    """Blackjack: the person decides every hand; the agent's Q-values and advice are shown."""
    config = loaded.config
    view = view_for("blackjack")
    env = envs.make(config.env.name, **config.env.options)  # the agent's own observation encoding
    observation, info = env.reset(seed=seed)
    results: list[float] = []
    followed = asked = 0
    try:
        for hand in itertools.count():
            decisions, total, done = [], 0.0, False
            moment = lambda over=False, prompt="": Moment(env, decisions, over, total, list(results), hand, hands,
                                                          person="beside", prompt=prompt,
                                                          result=total if over else None)
            while not done:
                values, advice = loaded.learner.decide(observation, info, env)
                decisions.append(Decision(observation, values, None, snapshot=table_state(env), by="you",
                                          advice=int(advice)))
                prompt = tr("your decision: h = hit, s = stick (q quits)")
                _show(screen, view, moment(prompt=prompt))
                choice = screen.ask(prompt, {"h": 1, "s": 0})
                if choice is None:
                    return _beside_summary(results, followed, asked, loaded)
                decisions[-1].action = choice
                asked += 1
                followed += choice == advice
                observation, reward, terminated, truncated, info = env.step(choice)
                total += float(reward)
                done = terminated or truncated
            last = hands is not None and len(results) + 1 >= hands
            prompt = "" if last else next_prompt(screen, tr("next hand"))
            _show(screen, view, moment(over=True, prompt=prompt))
            results.append(total)
            if last:
                screen.pause(view.hold_seconds * 2 if delay is None else delay * 2)
                break
            if screen.ask(prompt, GO_ON) is None:
                break
            observation, info = env.reset()
    finally:
        env.close()
    return _beside_summary(results, followed, asked, loaded)


def _beside_summary(results: list[float], followed: int, asked: int, loaded: LoadedRun) -> str:
    line = ngettext("you played {count} hand of Blackjack beside the agent: your result {tally}; you followed "
                    "its advice in {followed} of {asked} decisions",
                    "you played {count} hands of Blackjack beside the agent: your result {tally}; you followed "
                    "its advice in {followed} of {asked} decisions", len(results)).format(
        count=len(results), tally=tally(results), followed=followed, asked=asked)
    if (loaded.run.path / "eval.json").is_file():
        exact = loaded.run.read_json("eval.json").get("exact_return")
        if exact is not None:
            line += tr("; the agent's own policy returns {exact:+.4f} per hand on average (exact, eval.json)").format(
                exact=exact)
    return line
