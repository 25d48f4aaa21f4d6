"""The RL agents of chapters 66-75, in rooms by job (docs/design.md: rooms)."""
