"""scripts/play.py (issue 18, point 3): the agent plays live in a window (under Xvfb when it is
installed, with a screenshot of the real window) or in the terminal; a person plays
tic-tac-toe against chapter 66's player and Blackjack beside the Q-learner, moves read from
stdin; bad options stop with one line and exit 2."""

from __future__ import annotations

import importlib.util
import io
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from agents.watch import live
from agents.runner import train
from envs.blackjack import hand_value
from lab.cli import run_main
from lab.screens import Terminal, Window, open_screen

ROOT = Path(__file__).resolve().parents[1]
CARD = {"A": 1, **{str(v): v for v in range(2, 11)}}


def _script():
    spec = importlib.util.spec_from_file_location("script_play", ROOT / "scripts" / "play.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def tictactoe_run(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("play") / "tictactoe"
    train("tictactoe-value", overrides=["total_episodes=300", "evaluation.episodes=20", "record_episodes=0"],
          run_dir=str(path), quiet=True)
    return path


def _terminal(moves: str) -> tuple[Terminal, io.StringIO]:
    out = io.StringIO()
    return Terminal(out=out, inp=io.StringIO(moves)), out


def test_tictactoe_against_a_person_in_the_terminal(tictactoe_run):
    # the person tries the cells in order; taken cells are refused and the next line is read
    screen, out = _terminal("1\n2\n3\n4\n5\n6\n7\n8\n9\n" * 4)
    summary = live.play_run(tictactoe_run, mode="play", episodes=1, delay=0, seed=1, screen=screen)
    text = out.getvalue()
    agent_moves = [int(m) for m in re.findall(r"the agent \(X\) plays (\d)", text)]
    values = re.findall(r"the agent's V of each move: (.*)", text)
    assert agent_moves and len(values) == len(agent_moves)
    for shown, move in zip(values, agent_moves):  # the agent plays the move it values most
        pairs = {int(c): float(v) for c, v in re.findall(r"(\d): ([0-9.]+)", shown)}
        assert pairs[move] == max(pairs.values())
    assert "is not a move here" in text  # a taken cell was refused, not played
    final = text.split("the agent (X) plays")[-1]
    won_by_x = "X (the agent) wins" in final
    assert won_by_x or "O wins" in final or "a draw" in final
    expected = "(0 wins, 0 draws, 1 loss)" if won_by_x else "(1 win, 0 draws, 0 losses)" if "O wins" in final \
        else "(0 wins, 1 draw, 0 losses)"
    assert summary.startswith("you played 1 game of tic-tac-toe") and expected in summary


def test_blackjack_beside_a_person_in_the_terminal(shared_runs):
    screen, out = _terminal("s\n\ns\n\ns\n")  # stick, next hand, ... for three hands
    summary = live.play_run(shared_runs / "blackjack", mode="beside", episodes=3, delay=0, seed=4, screen=screen)
    text = out.getvalue()
    advice = re.findall(r"the agent advises (hit|stick)", text)
    assert len(advice) == 3  # one decision a hand: the person sticks at once
    assert f"you followed its advice in {advice.count('stick')} of 3 decisions" in summary
    outcomes = re.findall(r"dealer ([A0-9 ]+) = (\d+) \| you ([A0-9 ]+) = (\d+) \| (win|loss|draw) ([+-]\d)", text)
    assert len(outcomes) == 3
    for dealer, dealer_total, player, player_total, word, reward in outcomes:  # Blackjack's rules hold
        dealer_cards, player_cards = [CARD[c] for c in dealer.split()], [CARD[c] for c in player.split()]
        assert hand_value(dealer_cards) == int(dealer_total) >= 17 and hand_value(player_cards) == int(player_total)
        expected = "win" if int(dealer_total) > 21 or int(player_total) > int(dealer_total) else \
            "draw" if int(player_total) == int(dealer_total) else "loss"
        assert word == expected and int(reward) == {"win": 1, "draw": 0, "loss": -1}[word]
    assert "[hole card face down]" in text  # while the person decides, the hole card is hidden


def test_watch_in_the_terminal_and_end_of_input(shared_runs, tictactoe_run):
    screen, out = _terminal("")
    summary = live.play_run(shared_runs / "rooms", mode="watch", episodes=2, delay=0, seed=1, screen=screen)
    assert summary.startswith("watched 2 of 2 episodes of rooms-q")
    assert out.getvalue().count("now in the outside (5)") == 2 and "in room" in out.getvalue()
    screen, _ = _terminal("")  # stdin already closed: the person has gone, no game is counted
    assert live.play_run(tictactoe_run, mode="play", delay=0, seed=1, screen=screen).startswith("you played 0 games")


def test_the_script_plays_beside_from_stdin(shared_runs):
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "play.py"), str(shared_runs / "blackjack"), "--mode", "beside",
         "--terminal", "--episodes", "2", "--delay", "0", "--seed", "7", "--device", "cpu"],
        input="h\ns\n\ns\n\n", capture_output=True, text=True, timeout=120, cwd=ROOT,
    )
    assert result.returncode == 0, result.stderr
    assert "the agent advises" in result.stdout
    assert re.search(r"you played 2 hands of Blackjack beside the agent: your result [+-]\d+ after 2", result.stdout)
    assert "(seed 7: --seed 7 replays it)" in result.stdout


def test_no_display_falls_back_to_the_terminal_with_one_note(monkeypatch):
    monkeypatch.setenv("SDL_VIDEODRIVER", "dummy")
    note = io.StringIO()
    assert isinstance(open_screen(False, "test", note=note), Terminal)
    assert note.getvalue().count("\n") == 1 and "SDL_VIDEODRIVER=dummy" in note.getvalue()
    monkeypatch.delenv("SDL_VIDEODRIVER")
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    if sys.platform.startswith("linux"):
        assert isinstance(open_screen(False, "test", note=io.StringIO()), Terminal)
    assert isinstance(open_screen(True, "test"), Terminal)


def test_the_window_shows_the_picture_pixel_for_pixel(monkeypatch, tmp_path):
    """pygame's dummy driver: the window code runs everywhere (Xvfb below shows a real one)."""
    monkeypatch.setenv("SDL_VIDEODRIVER", "dummy")
    window = Window("test")
    picture = np.random.default_rng(0).integers(0, 255, (120, 200, 3), dtype=np.uint8)
    try:
        window.show(np.zeros((614, 320, 3), dtype=np.uint8))  # Boxing with its strip: not made taller
        assert window.factor == 1
        window.show(picture)
        shot = window.save(tmp_path / "shot.png")
        assert window.factor == 3  # 200 pixels wide is enlarged to at least 480
    finally:
        window.close()
    import imageio.v3 as iio

    seen = iio.imread(shot)[..., :3]
    assert seen.shape == (360, 600, 3) and np.array_equal(seen[::3, ::3], picture)


XVFB_SCRIPT = r"""
import os, sys
import numpy as np
import pygame
from lab.screens import Window, open_screen
from agents.watch import live
screen = open_screen(False, "probe")
assert isinstance(screen, Window), type(screen)
screen.close()
shown = []

class Kept(Window):
    def show(self, picture, text=""):
        super().show(picture, text)
        shown.append(picture)

class Person(Kept):  # a click on the middle cell, then the keys 1..9, as a person would
    moves = ["click"] + [str(k) for k in range(1, 10)] * 3
    def ask(self, prompt, keys, regions=None):
        move = self.moves.pop(0) if self.moves else None
        if move == "click":  # the middle one of the free cells
            left, top, right, bottom = regions[len(regions) // 2][0]
            pygame.event.post(pygame.event.Event(pygame.MOUSEBUTTONDOWN, pos=((left + right) // 2, (top + bottom) // 2), button=1))
        elif move is not None:
            pygame.event.post(pygame.event.Event(pygame.KEYDOWN, key=ord(move), unicode=move, mod=0, scancode=0))
        if move is not None and move not in keys and move != "click":
            return self.ask(prompt, keys, regions)  # a taken cell: the next one
        return super().ask(prompt, keys, regions)

out = sys.argv[1]
window = Kept("watch")
print(live.play_run(sys.argv[2], mode="watch", episodes=1, delay=0, seed=1, screen=window))
person = Person("play")
print(live.play_run(sys.argv[3], mode="play", episodes=1, delay=0, seed=1, screen=person))
np.save(f"{out}/last.npy", shown[-1])
"""


@pytest.mark.skipif(shutil.which("xvfb-run") is None, reason="Xvfb is not installed (apt-get install xvfb)")
def test_a_real_window_under_xvfb(shared_runs, tictactoe_run, tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "SDL_VIDEODRIVER"}
    script = XVFB_SCRIPT.replace("shown.append(picture)", "shown.append(picture); self.save(f'{out}/shot.png')")
    result = subprocess.run(
        ["xvfb-run", "-a", "-s", "-screen 0 1024x768x24", sys.executable, "-c", script, str(tmp_path),
         str(shared_runs / "rooms"), str(tictactoe_run)],
        capture_output=True, text=True, timeout=180, cwd=ROOT, env=env,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "watched 1 of 1 episodes of rooms-q" in result.stdout
    assert "you played 1 game of tic-tac-toe" in result.stdout
    import imageio.v3 as iio

    shot, last = iio.imread(tmp_path / "shot.png")[..., :3], np.load(tmp_path / "last.npy")
    assert shot.std() > 20  # not a blank window
    assert np.array_equal(shot, last)  # the X window shows exactly the last picture: the final board
    marked = (np.abs(shot.astype(int) - (200, 40, 40)).sum(axis=2) < 60).sum()
    assert marked > 200  # the person's O (red) is on the board


BAD = [
    (["{RUN}", "--mode", "fly"], "--mode"),
    (["{RUN}", "--mode", "play"], "--mode play"),
    (["{RUN}", "--mode", "beside"], "--mode beside"),
    (["{RUN}", "--episodes", "0"], "--episodes"),
    (["{RUN}", "--delay", "-1"], "--delay"),
    (["{RUN}", "--seed", "-1"], "--seed"),
    (["{RUN}", "--checkpoint", "oldest"], "oldest"),
    (["{RUN}", "--device", "tpu"], "tpu"),
    (["{MISSING}"], "missing"),
]


@pytest.mark.parametrize("argv, named", BAD, ids=[" ".join(a) for a, _ in BAD])
def test_bad_input_gets_one_line_exit_2_and_writes_nothing(argv, named, shared_runs, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    run = shared_runs / "rooms"
    argv = [a.format(RUN=run, MISSING=tmp_path / "missing") for a in argv]
    before = {p: p.read_bytes() for p in sorted(run.rglob("*")) if p.is_file()}
    with pytest.raises(SystemExit) as stopped:
        run_main(_script().main, argv + ["--terminal"])
    lines = capsys.readouterr().err.strip().splitlines()
    assert stopped.value.code == 2 and len(lines) == 1 and named in lines[0], lines
    assert {p: p.read_bytes() for p in sorted(run.rglob("*")) if p.is_file()} == before
    assert not any(tmp_path.iterdir())


def test_play_mode_on_a_blackjack_run_suggests_beside(shared_runs, capsys):
    """--mode play is tic-tac-toe's; on a Blackjack run the line names the mode that game has."""
    with pytest.raises(SystemExit) as stopped:
        run_main(_script().main, [str(shared_runs / "blackjack"), "--mode", "play", "--terminal"])
    line = capsys.readouterr().err.strip()
    assert stopped.value.code == 2 and "use --mode beside or --mode watch" in line, line
