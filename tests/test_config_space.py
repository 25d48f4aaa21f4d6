"""Every setting a user can give, tried with values of the wrong type, zero, negative, huge, empty
and NaN (issue 28): each is refused with one line (ConfigError or UsageError, nothing else) or
accepted, and then the config builds its learner; a handful of the accepted odd values also
train a few hundred steps. The same for the fields of a checkpoint's state.json: refused with
CheckpointError, or the run loads. Values are drawn with hypothesis, keys are enumerated so
that every key of the sampled presets is tried; bounded to about a minute."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agents import runner
from agents.evaluation import load_run
from lab.checkpoint import CheckpointError
from lab.cli import UsageError
from lab.config import ConfigError, to_dict

#: one preset per algorithm and memory kind: together they hold every key of RunConfig's
#: sections (Atari's env options aside, whose emulator is too slow to build here)
PRESETS = ("rooms-q", "tictactoe-value", "blackjack-dqn", "cartpole-dqn", "cartpole-novel-gru",
           "cartpole-novel-transformer")
#: keys chosen by their own flags (refused as --set keys, tested in test_bad_input.py)
FLAG_KEYS = {"seed", "preset", "backend", "sb3_algo", "algo"}
#: wrong type, zero, negative, huge, empty, NaN, null, a flag, a list, tiny: as a user types them
BAD_TEXTS = ("abc", "0", "-1", "1e18", "", ".nan", "null", "true", "[]", "1e-300")


def _leaves(tree, prefix: str = "") -> list[str]:
    keys = []
    for key, value in tree.items():
        dotted = f"{prefix}{key}"
        keys += _leaves(value, dotted + ".") if isinstance(value, dict) and value else [dotted]
    return keys


KEYS = sorted({(preset, key) for preset in PRESETS
               for key in _leaves(to_dict(runner.resolve_config(preset, [])))
               if key.split(".")[0] not in FLAG_KEYS and not key.startswith("sb3")})


def refused_or_built(preset: str, setting: str) -> str:
    """'refused' (one line) or 'built'; any other exception fails the test."""
    try:
        config = runner.resolve_config(preset, [setting])
        learner = runner.build_learner(config, torch.device("cpu"))
    except (ConfigError, UsageError) as err:
        message = str(err)
    else:
        learner.close()
        return "built"
    assert message and "\n" not in message, (setting, message)
    return "refused"


def test_every_key_of_the_sampled_presets_is_tried():
    sections = {key.split(".")[0] for _, key in KEYS}
    assert {"env", "net", "agent", "replay", "exploration", "evaluation", "total_steps", "total_episodes",
            "log_every", "checkpoint_every", "record_episodes", "torch_threads"} <= sections
    assert len(KEYS) > 100


@settings(max_examples=800, deadline=None, derandomize=True, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(place=st.sampled_from(KEYS), text=st.sampled_from(BAD_TEXTS))
def test_a_bad_value_for_any_key_is_refused_in_one_line_or_builds_the_learner(place, text):
    preset, key = place
    refused_or_built(preset, f"{key}={text}")


@settings(max_examples=200, deadline=None, derandomize=True, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(place=st.sampled_from(KEYS),
       value=st.one_of(st.integers(-10**20, 10**20), st.floats(allow_nan=True, allow_infinity=True),
                       st.text(max_size=8), st.lists(st.integers(-3, 300), max_size=3), st.booleans(), st.none()))
def test_any_value_drawn_by_hypothesis_is_refused_in_one_line_or_builds_the_learner(place, value):
    preset, key = place
    refused_or_built(preset, f"{key}={json.dumps(value)}")


@pytest.mark.parametrize("setting", ["agent.gamma=0", "exploration.fraction=0", "evaluation.epsilon=1"])
def test_accepted_edge_values_train_a_few_hundred_steps(setting, tmp_path):
    tiny = ["total_steps=300", "agent.learning_starts=100", "log_every=100", "checkpoint_every=200",
            "evaluation.episodes=2", "record_episodes=0", "torch_threads=1"]
    result = runner.train("cartpole-dqn", [*tiny, setting], run_dir=str(tmp_path / "run"), quiet=True)
    assert result.steps >= 300 and math.isfinite(result.evaluation["mean"])


# -- state.json --------------------------------------------------------------------------------
#: values a hand-edited state.json may hold: null, the wrong type, out of range
BAD_JSON = (None, "abc", -1, 10**30, 1.5, [], {}, True)


def _json_fields(tree, prefix: str = "") -> list[str]:
    """Dotted paths of state.json's plain values (tensors are safetensors', checked elsewhere)."""
    fields = []
    for key, value in tree.items():
        dotted = f"{prefix}{key}"
        if isinstance(value, dict) and not {"__tensor__", "__array__"} & value.keys():
            fields += _json_fields(value, dotted + ".") if value else [dotted]
        elif not isinstance(value, dict):
            fields.append(dotted)
    return fields


@pytest.fixture(scope="module")
def finished(shared_runs):
    return {kind: shared_runs / kind for kind in ("cartpole", "rooms")}


def _fields(kind: str, runs: Path) -> list[str]:
    return _json_fields(json.loads((runs / kind / "checkpoints" / "latest" / "state.json").read_text())["state"])


@settings(max_examples=60, deadline=None, derandomize=True, database=None, suppress_health_check=[HealthCheck.too_slow,
                                                                  HealthCheck.function_scoped_fixture])
@given(data=st.data(), kind=st.sampled_from(["cartpole", "rooms"]), value=st.sampled_from(BAD_JSON))
def test_a_bad_state_json_field_is_refused_with_a_checkpoint_error_or_loads(finished, tmp_path_factory, data,
                                                                             kind, value):
    field = data.draw(st.sampled_from(_fields(kind, finished[kind].parent)))
    run = tmp_path_factory.mktemp("state") / kind
    shutil.copytree(finished[kind], run)
    path = run / "checkpoints" / "latest" / "state.json"
    document = json.loads(path.read_text())
    node = document["state"]
    *parents, last = field.split(".")
    for part in parents:
        node = node[part]
    node[last] = value
    path.write_text(json.dumps(document))
    for attempt in (lambda: load_run(run, "latest", device="cpu"),
                    lambda: runner.train("", resume=str(run), quiet=True)):
        try:
            attempt()
        except CheckpointError as err:
            assert "\n" not in str(err), str(err)
        except UsageError as err:  # the run is finished: nothing to resume
            assert "already finished" in str(err)
