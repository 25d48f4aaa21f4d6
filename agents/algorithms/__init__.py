"""The agents themselves and their config sections (docs/design.md: rooms; chapters 66-75).

Tabular Q-learning and the value-function player (chapters 66-67, 71), the DQN (chapters
69-75) and its recurrent R2D2 form (agents with memory). They act and learn; the engine
(`agents.engine`) runs them through the adapters in `agents.learners`.
"""
