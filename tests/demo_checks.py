"""What every demo test checks of a quick run, in one place: the figures returned are the ones
written to results.json, there is at least one, each carries a verdict and its source, and a
verdict other than "match" says why. Imported by the tests/test_demos_*.py files."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import torch

from supervised import demos
from supervised.data import DataFallbackWarning
from supervised.demo_context import VERDICTS


def run_quick(key: str, run_dir: Path, overrides: list[str] | None = None, **options) -> dict[str, dict]:
    """Run demo `key` in quick mode into `run_dir`; its figures by label, read back from disk."""
    torch.set_num_threads(1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataFallbackWarning)  # the subset stands in for MNIST, as intended
        result = demos.run(key, quick=True, run_dir=str(run_dir), quiet=True, device="cpu",
                           overrides=overrides or [], **options)
    on_disk = json.loads((Path(run_dir) / "results.json").read_text())
    assert on_disk["figures"] == result["figures"] and result["figures"]
    for figure in result["figures"]:
        assert figure["verdict"] in VERDICTS and figure["source"].strip(), figure
        if figure["verdict"] != "match":
            assert figure["reason"].strip(), (key, figure["label"])
    return {figure["label"]: figure for figure in on_disk["figures"]}


def one_figure(figures: dict[str, dict], starts: str) -> dict:
    """The one figure whose label starts with `starts`."""
    found = [f for label, f in figures.items() if label.startswith(starts)]
    assert len(found) == 1, (starts, list(figures))
    return found[0]
