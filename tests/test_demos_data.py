"""Tests for the training demos of chapters 13-39: they run in quick mode on the bundled MNIST
subset (no download) and write results.json with the book's figures beside the measured ones."""

from __future__ import annotations

import csv

import pytest
from demo_checks import run_quick

from supervised import demos

MY_DEMOS = ("ch13", "ch18", "ch19", "ch20", "ch22", "ch23", "ch24", "ch26", "ch28", "ch29", "ch30", "ch37")


def _run(key: str, tmp_path, overrides: list[str] | None = None) -> dict[str, dict]:
    return run_quick(key, tmp_path, overrides, data="mnist-subset")


def _percent(text: str) -> float:
    return float(text.rstrip("%"))


def test_training_demos_are_registered_with_both_titles():
    listed = {demo.key: demo for demo in demos.available()}
    for key in MY_DEMOS:
        assert key in listed, key
        assert listed[key].title_pt and listed[key].title_en


def test_ch13_quick_reports_the_books_figures(tmp_path):
    figures = _run("ch13", tmp_path, ["epochs=2"])
    assert set(figures) == {
        "weights and biases of [784, 30, 10]",
        "test accuracy after epoch 1",
        "best test accuracy in 2 epochs (Nielsen: epoch 28 of 30)",
        "best test accuracy, 100 hidden neurons",
    }
    parameters = figures["weights and biases of [784, 30, 10]"]
    assert parameters["book"] == parameters["measured"] == 23_860
    assert parameters["matches"] is True  # counted from the module
    assert figures["best test accuracy, 100 hidden neurons"]["source"] == "book"
    best = figures["best test accuracy in 2 epochs (Nielsen: epoch 28 of 30)"]
    assert best["book"] == "95.42%" and best["source"].startswith("Nielsen")  # not in the book's text
    assert 30.0 < _percent(best["measured"]) <= 100.0  # learning happened: chance is 10%
    assert best["data"].startswith("mnist-subset: 3,572 train / 714 test images")
    assert best["matches"] is None and best["reason"].startswith("other data")  # not the book's data
    assert (tmp_path / "plots" / "test_accuracy.png").stat().st_size > 0
    with open(tmp_path / "metrics.csv") as handle:
        header = next(csv.reader(handle))
    assert "hidden_30/test/accuracy" in header and "hidden_100/train/loss" in header


def test_ch18_quick_reports_the_worked_example_and_accuracies(tmp_path):
    figures = _run("ch18", tmp_path, ["epochs=2"])
    example = figures["cross-entropy of (0, 1, 0) vs (0.228, 0.619, 0.153)"]
    assert example["book"] == 0.479 and example["measured"] == pytest.approx(0.4797, abs=1e-4)
    assert example["matches"] is True
    books = {label: figure["book"] for label, figure in figures.items() if label.startswith("best test accuracy")}
    assert books == {
        "best test accuracy, 30 hidden, cross-entropy (eta=0.5)": "95.49%",
        "best test accuracy, 100 hidden, cross-entropy (eta=0.5)": "96.82%",
        "best test accuracy, 100 hidden, quadratic (eta=3.0)": "96.59%",
    }
    # cross-entropy from N(0, 1) weights learns fast (chapter 17): well above chance in 2 epochs
    assert _percent(figures["best test accuracy, 30 hidden, cross-entropy (eta=0.5)"]["measured"]) > 70.0


def test_bad_demo_knob_is_a_clear_error(tmp_path):
    from lab.config import ConfigError

    with pytest.raises(ConfigError, match="epochs"):
        _run("ch13", tmp_path, ["epochs=many"])
