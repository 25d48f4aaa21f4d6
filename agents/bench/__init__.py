"""Benchmarks against the reference libraries (docs/design.md: rooms; chapters 69-75):
`scripts/bench.py`'s speed and memory beside Stable-Baselines3, agents with memory beside
RecurrentPPO and POPGym's paper.
"""
