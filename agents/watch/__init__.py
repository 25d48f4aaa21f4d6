"""What people see of a run (docs/design.md: rooms; chapters 66-75; docs/watching.md): task
views, reports and plots, recordings, scenes and live play. Above the core: it reads runs, the
core never imports it.
"""
