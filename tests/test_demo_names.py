"""A reader names a demo by its chapter: `ch6` is ch06, a chapter that a demo covers with its
neighbour (ch45 in ch44) runs that demo and says so, chapters 62-75 point at their train.py
preset, and an unknown name suggests the nearest demos."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from agents import presets
from lab.config import ConfigError
from supervised import demos
from supervised.demos import catalogue

ROOT = Path(__file__).resolve().parents[1]
BOOK = Path("/work/shared/book")


def _demo_script():
    spec = importlib.util.spec_from_file_location("script_demo", ROOT / "scripts" / "demo.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("name, key", [("ch6", "ch06"), ("6", "ch06"), ("CH006", "ch06"), ("cap. 42", "ch42"),
                                       ("ch07", "ch06"), ("ch45", "ch44"), ("ch59", "ch58"), ("ch61", "ch60"),
                                       ("ch31", "ch32"), ("ch36", "ch34"), ("ch39", "ch37"), ("ch27", "ch26")])
def test_a_chapter_finds_the_demo_that_realises_it(name, key):
    assert demos.find(name).key == key


@pytest.mark.parametrize("name, suggested", [("ch9", "did you mean ch08?"), ("ch999", "did you mean ch90?"),
                                             ("cha18", "did you mean ch18"), ("xyz", "--list shows every demo")])
def test_an_unknown_name_is_one_line_with_the_nearest_demos(name, suggested):
    with pytest.raises(ConfigError) as refused:
        demos.find(name)
    assert f"unknown demo '{name}'" in str(refused.value) and suggested in str(refused.value)


def test_covered_chapters_are_no_demo_of_their_own_and_exist_in_the_book():
    keys = {demo.key for demo in demos.available()}
    covered = [chapter for demo in demos.available() for chapter in demo.covers]
    assert covered and not keys & set(covered) and len(covered) == len(set(covered))
    if BOOK.is_dir():
        assert all((BOOK / f"ch{int(c[2:]):03d}.md").is_file() for c in covered)


def test_every_reinforcement_learning_chapter_names_a_preset_that_exists():
    script = _demo_script()
    assert set(script.PRESET_FOR_CHAPTER) == set(range(62, 76))
    assert set(script.PRESET_FOR_CHAPTER.values()) <= set(presets.available())
    assert not {demos.chapter_number(d.key) for d in demos.available()} & set(script.PRESET_FOR_CHAPTER)


def test_a_covered_chapter_runs_its_demo_and_says_so(monkeypatch, capsys):
    ran = []
    monkeypatch.setattr(demos, "run", lambda key, **options: ran.append(key) or {"figures": []})
    assert _demo_script().main(["ch45", "--quick"]) == 0
    assert ran == ["ch44"] and "chapter 45 is part of demo ch44: running ch44" in capsys.readouterr().out


def test_a_misspelt_preset_gets_the_close_match():
    with pytest.raises(ConfigError, match="did you mean blackjack-dqn"):
        presets.load("Blackjack-DQN")


def test_all_demos_write_under_the_run_dir_given(monkeypatch, tmp_path):
    """--all --run-dir DIR is honoured: demo KEY writes exactly into DIR/KEY."""
    given = {}
    monkeypatch.setattr(demos, "run", lambda key, **options: given.update({key: options["run_dir"]}) or {"figures": []})
    assert _demo_script().main(["--all", "--quick", "--run-dir", str(tmp_path / "all")]) == 0
    assert given and all(path == str(tmp_path / "all" / key) for key, path in given.items())


def test_the_catalogue_says_what_the_registry_says():
    """--list and a demo's name are read from the demo modules' sources without running them
    (no PyTorch); once the modules run, the registry must agree entry for entry."""
    listed = [(e.key, e.title_pt, e.title_en, e.covers, e.module) for e in catalogue.entries()]
    registered = [(d.key, d.title_pt, d.title_en, d.covers, d.function.__module__) for d in demos.available()]
    assert listed == registered


def test_the_catalogue_reads_a_decorator_it_cannot_cut_out_and_refuses_a_title_it_cannot_read(tmp_path):
    stacked = tmp_path / "ch99_stacked.py"
    stacked.write_text('@register("ch99", "Título",\n# a comment at the margin inside the call\n'
                       '          "Title", covers=("ch98",))\n@other\ndef demo(ctx):\n    pass\n')
    assert catalogue.entries_of(stacked) == [
        catalogue.Entry("ch99", "Título", "Title", ("ch98",), "supervised.demos.ch99_stacked")]
    computed = tmp_path / "ch97_computed.py"
    computed.write_text('TITLE = "x"\n\n@register("ch97", TITLE, "Title")\ndef demo(ctx):\n    pass\n')
    with pytest.raises(ValueError, match="ch97_computed.py:3: register.* its title_pt as a literal"):
        catalogue.entries_of(computed)
