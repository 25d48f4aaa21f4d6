"""Tests that need an optional extra of pyproject.toml (memory: popgym, sb3-contrib; scale: Ray
Tune, optuna, rliable) are marked `extra` and skipped, with the command that installs the extra
as the reason, where it is missing. The README's install (`.[dev]`) and test command therefore
pass as written; CI then installs the extras and runs `pytest -m extra` (.ci/run)."""

from __future__ import annotations

import importlib.util

import pytest

INSTALL = {"memory": "pip install -e '.[memory]'", "scale": "pip install -e '.[scale]'"}


def missing(*modules: str) -> list[str]:
    """The modules among `modules` that cannot be imported here."""
    return [module for module in modules if importlib.util.find_spec(module) is None]


def marks(extra: str, *modules: str) -> list:
    """The marks of a test that needs `modules` from `extra`: `extra`, and a skip that says how
    to install it while any of them is missing."""
    absent = missing(*modules)
    reason = f"needs {', '.join(absent)} from the {extra} extra: {INSTALL[extra]}"
    return [pytest.mark.extra, pytest.mark.skipif(bool(absent), reason=reason)]


def needs(extra: str, *modules: str):
    """Decorator form of `marks`, for one test function."""
    def marked(test):
        for mark in marks(extra, *modules):
            test = mark(test)
        return test
    return marked
