"""Benchmarks against the reference libraries (docs/design.md: rooms; chapters 69-75):
`scripts/bench.py`'s speed and memory beside Stable-Baselines3, agents with memory beside
RecurrentPPO and POPGym's paper.
"""

# the parts of each table that `bench.py --only` may pick (here: --help reads them without torch)
ATARI_PARTS = ("env", "train", "replay", "ingredients")
MEMORY_PARTS = ("lstm", "gru", "dqn", "recurrent-ppo", "transformer", "popgym", "replay")
