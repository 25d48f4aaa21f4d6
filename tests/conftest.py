"""Runs shared by the whole test session: trained once, read by many tests (tests that need
to change a run copy it first)."""

from __future__ import annotations

import os

import pytest

# The tests read English output: a Portuguese LANG on the machine must not change it (LANGUAGE
# is the first variable lab.i18n reads; the Portuguese tests pass --lang pt or set it themselves).
os.environ["LANGUAGE"] = "en"

from agents import runner
from lab import i18n



@pytest.fixture(autouse=True)
def language_follows_the_environment():
    """Each test starts following the environment (English under LANGUAGE=en above), whatever
    language the test before it chose."""
    i18n.set_language(None)
    yield
    i18n.set_language(None)


TINY_ROOMS = ["total_episodes=30", "evaluation.episodes=5", "record_episodes=0"]
TINY_CARTPOLE = ["total_steps=600", "agent.learning_starts=100", "checkpoint_every=200", "log_every=100",
                 "evaluation.every=0", "evaluation.episodes=2", "evaluation.final_episodes=2",
                 "record_episodes=0", "torch_threads=1"]
TINY_BLACKJACK_Q = ["total_episodes=200", "evaluation.episodes=10", "record_episodes=0"]


@pytest.fixture(scope="session")
def shared_runs(tmp_path_factory):
    """Finished tiny runs of rooms-q (seed 2), cartpole-dqn and blackjack-q, by name."""
    root = tmp_path_factory.mktemp("shared-runs")
    runner.train("rooms-q", overrides=TINY_ROOMS, seed=2, run_dir=str(root / "rooms"), quiet=True)
    runner.train("cartpole-dqn", overrides=TINY_CARTPOLE, run_dir=str(root / "cartpole"), quiet=True)
    runner.train("blackjack-q", overrides=TINY_BLACKJACK_Q, run_dir=str(root / "blackjack"), quiet=True)
    return root
