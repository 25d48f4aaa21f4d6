"""Every environment in `envs` passes Stable-Baselines3's `check_env` (chapters 66-75).

`check_env` applies to single Gymnasium environments. Atari `boxing` is a native vector env
(ale_py's AtariVectorEnv); its single-env equivalent `boxing-colour` gives the same 4x84x84
observations and actions (tested in test_atari_env.py), so checking `boxing-colour` under
both protocols covers one lane of it, and the spaces of the two are compared here.
"""

from __future__ import annotations

import warnings

import pytest
from stable_baselines3.common.env_checker import check_env

import envs
from extras import marks

SINGLE_ENVS = [
    ("five-rooms", {"render_mode": "ansi"}),
    ("tictactoe", {"render_mode": "ansi"}),
    ("blackjack", {"observation": "onehot"}),
    ("blackjack", {"observation": "scaled"}),
    ("boxing-colour", {"protocol": "machado", "max_episode_frames": 400}),
    ("boxing-colour", {"protocol": "nature", "max_episode_frames": 400}),
    ("cartpole-novel", {}),
    ("cartpole-novel", {"frame_stack": 4}),
    *[pytest.param("popgym", {"task": task}, marks=marks("memory", "popgym"))
      for task in ("RepeatPrevious", "StatelessCartPole")],
]


def _checked(name: str, options: dict) -> list[str]:
    """Run check_env (render included where a render mode is set); return its warnings."""
    env = envs.make(name, **options)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            check_env(env, warn=True, skip_render_check=env.render_mode is None)
    finally:
        env.close()
    return [str(w.message) for w in caught if "stable_baselines3" in w.filename]


def test_every_registered_environment_is_covered():
    covered = {case.values[0] if hasattr(case, "values") else case[0] for case in SINGLE_ENVS}
    covered |= {"boxing"}  # boxing: through boxing-colour
    assert set(envs.available()) <= covered


@pytest.mark.parametrize("name,options", SINGLE_ENVS, ids=lambda v: v if isinstance(v, str) else
                         "-".join(f"{k}={v}" for k, v in v.items()) or "default")
def test_env_passes_check_env_without_warnings(name, options):
    assert _checked(name, options) == []


def test_raw_blackjack_tuple_passes_check_env_with_only_the_tuple_warning():
    """The raw (player_sum, dealer_card, usable_ace) tuple is a valid Gymnasium env, but SB3's
    algorithms cannot learn from Tuple spaces: the only remark is that one (the backend asks
    for observation: onehot or scaled instead)."""
    messages = _checked("blackjack", {"observation": "tuple"})
    assert len(messages) == 1 and "Tuple" in messages[0]


def test_boxing_vector_lane_has_the_checked_single_env_spaces():
    for protocol in ("machado", "nature"):
        vector = envs.make_vector("boxing", num_envs=1, seed=0, protocol=protocol, max_episode_frames=400)
        single = envs.make("boxing-colour", protocol=protocol, max_episode_frames=400)
        try:
            assert vector.single_observation_space == single.observation_space
            assert vector.single_action_space == single.action_space
        finally:
            vector.close()
            single.close()
