"""Many seeds, grids and searches on Ray Tune (docs/design.md: scale-out; chapters 66-75).

- :mod:`agents.sweeps.manifest`: ``sweep.json``, what a sweep directory holds besides its runs;
- :mod:`agents.sweeps.plan`: the command line's seeds, grid and search space, validated into
  one trial config per run before anything is written;
- :mod:`agents.sweeps.tuning`: the trials on Ray Tune, each an ordinary run through
  ``agents.runner.train`` (retried from its checkpoint when its process dies; ``--resume``);
- :mod:`agents.sweeps.aggregate`: mean, median and IQM across seeds with stratified-bootstrap
  95% intervals (``rliable``), the table, ``summary.csv``, a learning curve with a band and
  TensorBoard's hparams dashboard.

Ray, Optuna and rliable are the optional ``scale`` extra: ``pip install -e ".[scale]"``.
"""
