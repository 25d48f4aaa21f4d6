"""Recordings (chapters 69 and 75) and the plot of the agent's plays (chapter 72): the videos
open as real videos whose frames change, --overlay draws on them, they reach TensorBoard, and
the plays figure shows hands that follow Blackjack's rules and the agent's Q-values."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import imageio.v2 as imageio
import imageio.v3 as iio
import numpy as np
import pytest
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from agents.watch.blackjack_plays import play_hands
from agents.config import RunConfig
from agents.evaluation import load_run
from agents.watch.recording import record_run
from agents.runner import train, train_config
from envs.blackjack import hand_value
from lab.cli import UsageError
from lab.video import text_image

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def blackjack_dqn_run(tmp_path_factory) -> Path:
    """A tiny blackjack-dqn run; its final report draws the plays figure and records a hand."""
    path = tmp_path_factory.mktemp("rec") / "blackjack-dqn"
    train("blackjack-dqn", overrides=[
        "total_episodes=300", "agent.learning_starts=100", "evaluation.final_episodes=50",
        "evaluation.episodes=50", "evaluation.every=0", "env.num_envs=2",
    ], run_dir=str(path), quiet=True)
    return path


@pytest.fixture(scope="module")
def blackjack_q_run(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("rec") / "blackjack-q"
    train("blackjack-q", overrides=["total_episodes=2000", "evaluation.episodes=100"], run_dir=str(path), quiet=True)
    return path


def read_video(path: Path) -> list[np.ndarray]:
    with imageio.get_reader(path) as reader:
        return [frame for frame in reader]


def images_in_tensorboard(path: Path) -> list[str]:
    events = EventAccumulator(str(path), size_guidance={"images": 0})
    events.Reload()
    return events.Tags()["images"]


def test_training_writes_the_plays_figure_and_a_recording(blackjack_dqn_run):
    figure = blackjack_dqn_run / "plots" / "blackjack_plays.png"
    image = iio.imread(figure)
    assert figure.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert image.shape[1] > 1000 and image.shape[0] > 500  # a 4 x 3 grid of hands
    assert image[..., :3].std() > 20  # not a blank canvas
    assert (blackjack_dqn_run / "videos" / "blackjack-dqn-hands0.mp4").stat().st_size > 0
    tags = images_in_tensorboard(blackjack_dqn_run)
    assert "plots/blackjack_plays" in tags and "videos/episode_0" in tags


def test_mp4_is_a_real_h264_video_whose_frames_change(blackjack_dqn_run):
    (path,) = record_run(blackjack_dqn_run, episodes=1, seed=1, device="cpu")
    assert path.suffix == ".mp4" and path.parent == blackjack_dqn_run / "videos"
    frames = read_video(path)
    assert len(frames) >= 20  # >= one decision held 1 s at 10 fps + the outcome held 2 s
    assert any(not np.array_equal(frames[0], frame) for frame in frames)  # the outcome banner appears
    with imageio.get_reader(path) as reader:
        meta = reader.get_meta_data()
    assert meta["codec"] == "h264" and meta["pix_fmt"].startswith("yuv420p") and meta["fps"] == 10
    height, width = frames[0].shape[:2]
    assert height % 2 == 0 and width % 2 == 0


def test_gif_and_several_episodes(blackjack_dqn_run):
    paths = record_run(blackjack_dqn_run, episodes=2, fmt="gif", seed=4, device="cpu")
    assert [p.name for p in paths] == ["blackjack-dqn-hands0.gif", "blackjack-dqn-hands1.gif"]
    frames = iio.imread(paths[0], index=None)
    assert frames.ndim == 4 and len(frames) >= 2 and not np.array_equal(frames[0], frames[-1])


def test_overlay_draws_step_action_and_q_values(blackjack_dqn_run):
    plain = read_video(record_run(blackjack_dqn_run, seed=2, device="cpu")[0])
    drawn = read_video(record_run(blackjack_dqn_run, seed=2, overlay=True, device="cpu")[0])
    assert len(plain) == len(drawn)
    height = plain[0].shape[0]
    assert drawn[0].shape[0] > height  # the overlay strip sits under the game
    # the game itself is the same picture (up to video compression) ...
    assert np.abs(drawn[0][:height].astype(int) - plain[0].astype(int)).mean() < 3
    strip_first, strip_last = drawn[0][height:], drawn[-1][height:]
    # ... and the strip holds text and bars, which change when the episode ends (no action)
    assert strip_first.std() > 10
    assert np.abs(strip_first.astype(int) - strip_last.astype(int)).mean() > 1


def test_recordings_reach_tensorboard(tmp_path, blackjack_q_run):
    record_run(blackjack_q_run, episodes=2, overlay=True)
    tags = images_in_tensorboard(blackjack_q_run)
    assert {"videos/episode_0", "videos/episode_1"} <= set(tags)


def test_text_only_games_are_recorded_from_their_text(tmp_path):
    run = tmp_path / "rooms"
    train("rooms-q", overrides=["total_episodes=40", "evaluation.episodes=10"], run_dir=str(run), quiet=True)
    (path,) = record_run(run, overlay=True, seed=3)
    frames = read_video(path)
    assert len(frames) > 5 and any(not np.array_equal(frames[0], f) for f in frames)
    board = text_image("X.O\n.X.\n..O")
    assert board.shape == (240, 480, 3) and (board < 100).any()  # dark glyphs on a light canvas


def test_boxing_is_recorded_in_colour_with_a_q_value_strip(tmp_path):
    run = tmp_path / "boxing"
    config = {
        "preset": "boxing-test", "algo": "dqn",
        "env": {"name": "boxing", "options": {"max_episode_frames": 240}, "num_envs": 1,
                "record_env": "boxing-colour"},
        "total_steps": 8, "net": {"kind": "nature_cnn"}, "replay": {"capacity": 500},
        "agent": {"learning_starts": 1000},
        "evaluation": {"every": 0, "episodes": 1, "epsilon": 0.05}, "record_episodes": 0,
    }
    train_config(RunConfig.parse(config), device="cpu", run_dir=str(run), quiet=True)
    (path,) = record_run(run, overlay=True, device="cpu")
    frames = read_video(path)
    assert len(frames) > 30
    game = frames[len(frames) // 2][:420]  # 210 x 160 screen shown at twice its size
    assert frames[0].shape[1] == 320 and frames[0].shape[0] > 420
    red, green, blue = (game[..., c].astype(int) for c in range(3))
    assert np.abs(red - green).mean() > 10  # colour, not the agent's grey input
    assert any(not np.array_equal(frames[1], f) for f in frames[2:])


def test_bad_format_is_a_usage_error(blackjack_dqn_run):
    with pytest.raises(UsageError, match="mp4, gif"):
        record_run(blackjack_dqn_run, fmt="avi")
    with pytest.raises(UsageError, match="--episodes"):
        record_run(blackjack_dqn_run, episodes=0)


@pytest.mark.parametrize("which", ["dqn", "q"])
def test_plays_follow_the_rules_and_the_greedy_q_values(which, blackjack_dqn_run, blackjack_q_run):
    loaded = load_run(blackjack_dqn_run if which == "dqn" else blackjack_q_run, "best", "cpu")
    hands = play_hands(loaded.learner, loaded.config, hands=30, seed=5)
    assert len(hands) == 30
    for hand in hands:
        player, dealer, reward = hand["player"], hand["dealer"], hand["reward"]
        assert player[:2] == hand["first_cards"] and dealer[0] == hand["dealer_shows"]
        for decision in hand["decisions"]:
            assert decision["action"] == int(np.argmax(decision["q"]))  # greedy on its Q-values
        hits = sum(d["action"] == 1 for d in hand["decisions"])
        assert len(player) == 2 + hits
        if hand_value(player) > 21:
            assert reward == -1 and len(dealer) == 2  # a bust loses before the dealer plays
        else:
            assert hand["decisions"][-1]["action"] == 0 and hand_value(dealer) >= 17
            expected = np.sign(hand_value(player) - hand_value(dealer)) if hand_value(dealer) <= 21 else 1
            assert reward == expected


def test_record_script_prints_the_path(blackjack_dqn_run):
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "record.py"), str(blackjack_dqn_run), "--overlay", "--device", "cpu"],
        capture_output=True, text=True, timeout=120, cwd=ROOT,
    )
    assert result.returncode == 0, result.stderr
    printed = Path(result.stdout.strip().splitlines()[-1])
    assert printed.name == "blackjack-dqn-hands0-overlay.mp4" and printed.is_file()
    assert len(read_video(printed)) > 0
