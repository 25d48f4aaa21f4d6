"""Adapters from each agent to the one run engine (docs/design.md: data flow; docs/adding-an-agent.md).

A learner owns its environments, its agent and its replay, and offers the engine the
`agents.engine.Learner` contract: advance, play, q_values, state, checkpoints.
"""
