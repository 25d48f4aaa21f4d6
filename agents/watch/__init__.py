"""What people see of a run (docs/design.md: layout; docs/watching.md): task views, reports and
plots, recordings, scenes and live play. Above the core: it reads runs, the core never imports it.
"""
