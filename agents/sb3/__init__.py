"""The Stable-Baselines3 backend (docs/design.md: rooms; chapters 69-75): a learner that runs
SB3's and sb3-contrib's algorithms on the same presets, the one preset -> SB3 mapping, feature
extractors.
"""
