"""Benchmarks against the reference libraries (`scripts/bench.py`; docs/design.md): speed and
memory beside Stable-Baselines3, agents with memory beside RecurrentPPO and POPGym's paper.
"""
