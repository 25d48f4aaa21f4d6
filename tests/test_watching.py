"""Watching the agent play (issue 18, points 2, 5, 6 and 8): a Blackjack recording of eight
hands drawn as chapter 72's plot (hole card face down until the hand ends, Q-values, running
result), the five-rooms building with the route, the tic-tac-toe board, Boxing's 18 labelled
action bars, the plots and videos every tabular run writes, and the polish of the scripts."""

from __future__ import annotations

import importlib.util
import re
import shutil
from pathlib import Path

import imageio.v2 as imageio
import imageio.v3 as iio
import numpy as np
import pytest

from agents.watch import reports, scenes
from agents.evaluation import load_run
from agents.watch.recording import Player, record_learner
from agents.runner import train
from envs.tictactoe import O, X
from lab.progress import progress_bar
from lab.video import overlay_strip

ROOT = Path(__file__).resolve().parents[1]
FACE_DOWN = (59, 91, 154)  # the colour of the dealer's hole card while it is hidden


def near(picture: np.ndarray, colour: tuple[int, int, int], tolerance: int = 40) -> np.ndarray:
    return np.abs(picture[..., :3].astype(int) - colour).sum(axis=-1) < tolerance


def test_a_blackjack_recording_is_eight_hands_drawn_like_the_plot(shared_runs, tmp_path):
    run = tmp_path / "blackjack"
    shutil.copytree(shared_runs / "blackjack", run)  # the shared run stays as it is
    loaded = load_run(run, "best", "cpu")
    player = Player(loaded.learner, loaded.config, epsilon=0.0, seed=3)
    assert player.view.episodes_per_video == 8
    decisions = endings = 0
    for moment, seconds in player.moments(seed=3, episodes=8):
        if moment.over:
            assert seconds >= 2.0 and len(moment.results) == endings  # the running result so far
            endings += 1
        else:
            decisions += 1
            state = moment.current.snapshot  # Q(stick), Q(hit) shown are the table's, the action its argmax
            assert seconds == 1.0 and np.allclose(moment.current.values, loaded.learner.q_values([state])[0])
            assert moment.current.action == int(np.argmax(moment.current.values))
    player.env.close()
    assert endings == 8
    (path,) = record_learner(loaded.run, loaded.learner, loaded.config, episodes=1, seed=3)
    assert path.name == "blackjack-q-hands0.mp4"
    with imageio.get_reader(path) as reader:
        hidden = [near(frame[::2, ::2], FACE_DOWN, 60).sum() > 100 for frame in reader]
    # at 10 frames a second: each decision 1 s with the hole card face down, each ending 2 s turned over
    assert sum(hidden) == 10 * decisions and len(hidden) - sum(hidden) == 20 * 8


def test_the_building_shows_the_route_and_the_door_values():
    route_colour = scenes.ROUTE
    start = scenes.building_image([2])
    walked = scenes.building_image([2, 3, 1, 5])
    assert near(start, route_colour, 10).sum() == 0 and near(walked, route_colour, 10).sum() > 500
    assert near(start, scenes.DOOR, 10).sum() > 6 * 40  # six doors drawn in the walls
    valued = scenes.building_image([2, 3], {1: 80.0, 2: 51.2, 4: 80.0}, chosen=1)
    assert near(valued, scenes.CHOSEN, 30).sum() > 20 and near(start, scenes.CHOSEN, 30).sum() == 0
    sheet = scenes.routes_image({0: [0, 4, 5], 1: [1, 5], 2: [2, 3, 1, 5], 3: [3, 1, 5], 4: [4, 5]})
    assert sheet.shape[1] == 3 * scenes.building_image([0], scale=80).shape[1]


def test_the_board_has_the_marks_where_they_were_played():
    board = (X, 0, 0, 0, O, 0, 0, 0, 0)
    picture = scenes.board_image(board, values=np.array([np.nan, .4, .4, .4, np.nan, .4, .4, .4, .9]), chosen=8)
    boxes = scenes.cell_boxes()
    blue = [near(picture[t:b, l:r], (30, 80, 200)).sum() for l, t, r, b in boxes]
    red = [near(picture[t:b, l:r], (200, 40, 40)).sum() for l, t, r, b in boxes]
    assert blue[0] > 300 and red[4] > 300
    assert all(b < 20 for k, b in enumerate(blue) if k != 0) and all(r < 20 for k, r in enumerate(red) if k != 4)
    l, t, r, b = boxes[8]
    assert near(picture[t:b, l:r], scenes.CHOSEN).sum() > 300  # the chosen cell is ringed


def test_boxing_overlay_names_all_18_actions():
    names = ["noop", "fire", "up", "right", "left", "down", "upright", "upleft", "downright", "downleft", "upfire",
             "rightfire", "leftfire", "downfire", "uprightfire", "upleftfire", "downrightfire", "downleftfire"]
    values = np.linspace(-1, 1, 18)
    strip = overlay_strip(320, 5, 4, values, names)
    assert overlay_strip(320, 6, None, None, names).shape == strip.shape  # same size every frame
    band = strip[strip.shape[0] // 2:]  # the names, written upwards under the bars
    slot = 320 / 18
    for k in range(18):
        column = band[:, int(k * slot) + 2:int((k + 1) * slot) - 2]
        assert (column.max(axis=-1) > 150).sum() > 15, names[k]
        assert (near(column, (255, 170, 70), 60).sum() > 5) == (k == 4)  # the chosen action's name in orange


def test_tabular_runs_write_plots_and_a_recording(tmp_path):
    runs = {
        "rooms-q": ["total_episodes=30", "evaluation.episodes=5"],
        "frozenlake-q": ["total_episodes=200", "evaluation.episodes=20", "env.options.is_slippery=false"],
        "tictactoe-value": ["total_episodes=200", "evaluation.episodes=20"],
    }
    expected = {"rooms-q": {"learning_curve", "q_table", "routes"}, "frozenlake-q": {"learning_curve", "q_table",
                "policy_map"}, "tictactoe-value": {"learning_curve", "position_values"}}
    for preset, overrides in runs.items():
        result = train(preset, overrides=overrides, run_dir=str(tmp_path / preset), quiet=True)
        plots = {p.stem: p for p in (tmp_path / preset / "plots").glob("*.png")}
        assert expected[preset] <= set(plots), (preset, sorted(plots))
        for path in plots.values():
            assert iio.imread(path)[..., :3].std() > 15, path  # a drawing, not a blank canvas
        (video,) = (tmp_path / preset / "videos").glob("*.mp4")
        assert video.name == f"{preset}-episode0.mp4" and any("recording:" in line for line in result.report)


def test_state_values_have_axis_labels(monkeypatch, shared_runs, tmp_path):
    seen = {}
    real_save = reports.save_figure

    def keep_labels(fig, path, **kwargs):
        seen[Path(path).name] = [(ax.get_xlabel(), ax.get_ylabel()) for ax in fig.axes if ax.get_images()]
        return real_save(fig, path, **kwargs)

    monkeypatch.setattr(reports, "save_figure", keep_labels)
    loaded = load_run(shared_runs / "blackjack", "best", "cpu")
    run = type(loaded.run)(tmp_path)
    reports.blackjack_report(run, lambda s: int(np.argmax(loaded.learner.q_values([s])[0])),
                             state_value=lambda s: float(loaded.learner.q_values([s])[0].max()))
    assert seen["state_values.png"] and all(labels == ("dealer shows", "player sum") for labels in seen["state_values.png"])


def test_the_progress_bar_stops_at_its_total():
    bar = progress_bar(100, "test")
    bar.update(98)
    bar.update(3)  # two lanes finished in the step that reached the budget
    assert bar.n == 100
    bar.close()


@pytest.mark.parametrize("name", ["train", "evaluate", "record", "play", "demo", "bench"])
def test_help_has_whole_sentences_and_each_default_once(name, capsys):
    spec = importlib.util.spec_from_file_location(f"help_{name}", ROOT / "scripts" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    with pytest.raises(SystemExit):
        module.main(["--help"])
    text = " ".join(capsys.readouterr().out.split())
    first_paragraph = " ".join(module.__doc__.strip().split("\n\n")[0].split())
    assert first_paragraph in text and first_paragraph.endswith((".", ":"))
    for option in re.split(r" (?=--?[a-z])", text.split("options:")[1]):
        assert option.count("default") <= 1, option
