"""Adapters from each agent to the run engine (docs/design.md: learner contract; chapters 66-75).

A learner owns its environments, its agent and its replay, and offers the engine the
`agents.contract.Learner` contract: advance, play, q_values, state, checkpoints.
"""
