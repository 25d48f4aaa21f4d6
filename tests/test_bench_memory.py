"""scripts/bench.py memory: what it counts (no training here; the trainings are the bench's job)."""

from __future__ import annotations

import pytest

from agents.bench.memory import NAME_WIDTH, first_step_at, learning_table, replay_table
from extras import needs


def test_first_step_is_the_first_evaluation_at_the_threshold():
    curve = [(5000, 40.0), (10000, 480.0), (15000, 300.0), (20000, 500.0)]
    assert first_step_at(curve, 475) == 10000
    assert first_step_at(curve, 501) is None
    assert first_step_at([], 475) is None


def test_learning_table_divides_by_recurrent_ppo_on_the_same_seed():
    results = [
        {"part": "lstm", "seed": 0, "steps": 65000, "final": 460.0, "best_checkpoint": 500.0,
         "curve": [(5000, 10.0), (40000, 490.0)]},
        {"part": "recurrent-ppo", "seed": 0, "steps": 100000, "final": 320.0, "best_checkpoint": 480.0,
         "curve": [(60000, 470.0), (80000, 476.0)]},
        {"part": "dqn", "seed": 0, "steps": 65000, "final": 40.0, "best_checkpoint": 45.0, "curve": [(5000, 30.0)]},
    ]
    lines = learning_table(results, ["lstm", "dqn", "recurrent-ppo"], [0])
    lstm = next(line for line in lines if line.startswith("lstm "))
    assert "40000" in lstm and lstm.split()[-1] == "0.50"  # 40k / 80k
    dqn = next(line for line in lines if line.startswith("dqn "))
    assert "never" in dqn and dqn.split()[-1] == "n/a"
    assert lstm.split()[3:5] == ["460.0", "500.0"]  # final network, then the best checkpoint
    assert any(line.startswith("lstm: final >= 475 on 0 of 1 seeds, best checkpoint on 1") for line in lines)
    assert any(line.startswith("recurrent-ppo: final >= 475 on 0 of 1 seeds, best checkpoint on 1")
               for line in lines)


@needs("memory", "popgym")  # the table builds each preset's replay, POPGym's too
def test_replay_table_is_computed_from_the_memories():
    lines = replay_table()
    rows = {line[:NAME_WIDTH].strip(): [float(x.replace(",", "")) for x in line[NAME_WIDTH:].split()]
            for line in lines[3:-1]}
    stateless = rows["vector (2,), zero start state, L 20"]
    assert stateless[2] <= 1.2  # observations stored once, whatever the overlap
    short, long = rows["vector (2,), LSTM 128 state, L 20"], rows["vector (2,), LSTM 128 state, L 80"]
    # the (h, c) of 256 floats once per L/2 steps: 4 * 256 / 10 and 4 * 256 / 40 bytes more
    assert short[0] - stateless[0] == pytest.approx(4 * 256 / 10, abs=1.0)
    assert long[0] < short[0]
    # each preset's own replay: frames once, the state spread thin over 40 steps; the transformer stores none
    assert rows["boxing-r2d2: (1, 84, 84) lstm, state 1024"][2] < 1.05
    assert rows["cartpole-novel-transformer: (2,) transformer, state 0"] == stateless
    gru = rows["cartpole-novel-gru: (2,) gru, state 128"]
    assert gru[0] - stateless[0] == pytest.approx(4 * 128 / 10, abs=1.0)


def test_popgym_table_puts_the_best_evaluation_beside_the_paper():
    from agents.bench.memory import POPGYM_PRESETS, popgym_table

    paper = {"best_model": "GRU", "best_mmer": 1.0, "gru_mmer": 1.0}
    results = [{"preset": preset, "seed": 0, "final": 0.9, "curve": [(10000, 0.5), (20000, 0.95)],
                "best_checkpoint": 0.93, "memory": "transformer", "evaluation": {"popgym_paper": paper}}
               for preset in POPGYM_PRESETS]
    lines = popgym_table(results, [0])
    row = next(line for line in lines if line.startswith("popgym-repeat-previous"))
    assert row.split()[1] == "transformer"  # the memory our preset used
    assert row.split()[3:7] == ["0.900", "0.950", "0.930", "1.000"]  # final, best eval, its replay, paper


@needs("memory", "popgym")
def test_counting_cards_beats_the_shown_card_alone_at_higher_lower():
    from agents.bench.memory import higher_lower_line, higher_lower_references

    figures = higher_lower_references(episodes=200, seed=0)
    (low, low_error), (high, high_error) = figures["memoryless"], figures["counting"]
    # one deck: betting on the side with more cards left wins more often than betting on the middle
    assert high - low > 2 * (low_error + high_error)
    assert 0.4 < low < high < 0.6 and 0 < low_error < 0.02
    assert higher_lower_line(figures).endswith(f"{high:.3f} +- {high_error:.3f}")
