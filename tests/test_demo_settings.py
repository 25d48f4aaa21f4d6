"""Demo settings are declared where each demo is registered (supervised.demos.Setting): a name
the demo does not declare, a value of the wrong kind or out of range is refused in one line
before anything is written; a declared setting is honoured; `--all` shares one list of `--set`
items, each demo getting the ones it declares."""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import pytest
import yaml

from lab.config import ConfigError
from supervised import demos
from supervised.data import DataFallbackWarning
from supervised.demos import Setting
from supervised.demos._training import setting

DEMOS = Path(demos.__file__).parent


def test_a_setting_is_per_demo_not_per_module():
    # ch79_gpt.py registers ch79-ch82; only ch79 and ch80 read `iterations`
    assert "iterations" in demos.get("ch80").setting_names()
    for key, name in (("ch81", "iterations"), ("ch82", "fine_tune_steps")):
        with pytest.raises(ConfigError, match=f"--set {name}: demo {key} has no such setting; its settings: none"):
            demos.check_overrides([key], [f"{name}=5"])


def test_all_accepts_a_name_some_demo_declares_and_checks_it_for_each():
    every = [d.key for d in demos.available()]
    demos.check_overrides(every, ["iterations=5"])
    with pytest.raises(ConfigError, match="no demo has such a setting"):
        demos.check_overrides(every, ["bogus=1"])
    with pytest.raises(ConfigError, match="iterations=0: demo ch48 needs a whole number >= 1"):
        demos.check_overrides(every, ["iterations=0"])


@pytest.mark.parametrize("declared, given, expected", [
    (Setting("epochs", 30, 8, low=1), 3, 3),
    (Setting("epochs", 30, 8, low=1), 3.0, 3),            # '3.0' and '1e3' are whole numbers too
    (Setting("eta", 0.05, above=0.0), 1, 1.0),
    (Setting("lengths", (5, 10), (4,), low=1), "4, 8", (4, 8)),
    (Setting("lengths", (5, 10), (4,), low=1), 7, (7,)),
    (Setting("gamma", "auto", kind=float, above=0.0, choices=("auto", "scale")), "scale", "scale"),
    (Setting("gamma", "auto", kind=float, above=0.0, choices=("auto", "scale")), 0.5, 0.5),
    (Setting("flip", None, kind=bool), False, False),
])
def test_a_valid_value_becomes_the_declared_kind(declared, given, expected):
    converted = declared.convert(given, "chXX")
    assert converted == expected and type(converted) is type(expected)


@pytest.mark.parametrize("declared, given, words", [
    (Setting("epochs", 30, 8, low=1), "many", "a whole number >= 1"),
    (Setting("epochs", 30, 8, low=1), 0, "a whole number >= 1"),
    (Setting("epochs", 30, 8, low=1), 2.5, "a whole number >= 1"),
    (Setting("epochs", 30, 8, low=1), True, "a whole number >= 1"),
    (Setting("eta", 0.05, above=0.0), float("inf"), "a number > 0"),
    (Setting("p", 0.5, low=0.0, below=1.0), 1.0, "a number >= 0 and < 1"),
    (Setting("lengths", (5, 10), low=1), [], "a list of whole numbers >= 1"),
    (Setting("lengths", (5, 10), low=1), [3, 0], "a list of whole numbers >= 1"),
    (Setting("gamma", "auto", kind=float, above=0.0, choices=("auto", "scale")), "fast", "auto, scale or a number > 0"),
    (Setting("flip", None, kind=bool), "maybe", "true or false"),
])
def test_a_bad_value_is_refused_naming_the_setting_the_demo_and_what_is_valid(declared, given, words):
    with pytest.raises(ConfigError) as refused:
        declared.convert(given, "chXX")
    assert str(refused.value).startswith(f"--set {declared.name}=") and f"demo chXX needs {words}" in str(refused.value)


def test_a_declaration_its_own_range_refuses_is_a_programming_error():
    with pytest.raises(ConfigError):
        Setting("epochs", 0, low=1)
    with pytest.raises(ValueError, match="give its kind"):
        Setting("train_size", None)


def test_reading_an_undeclared_setting_names_the_demo():
    class Context:
        key, settings = "ch81", {}

    with pytest.raises(LookupError, match="demo ch81 reads setting 'iterations'"):
        setting(Context(), "iterations")


def test_every_setting_a_demo_module_reads_is_declared_by_a_demo_of_that_module():
    for path in sorted(DEMOS.glob("ch*.py")):
        module = f"supervised.demos.{path.stem}"
        read = set(re.findall(r"""setting\(ctx, ["'](\w+)["']\)""", path.read_text()))
        declared = {name for demo in demos.available() if demo.function.__module__ == module
                    for name in demo.setting_names()}
        assert read == declared, (path.name, read ^ declared)


def test_a_refused_setting_writes_nothing(tmp_path):
    with pytest.raises(ConfigError, match="--set epochs: demo ch28 has no such setting"):
        demos.run("ch28", quick=True, run_dir=str(tmp_path / "run"), quiet=True, device="cpu", overrides=["epochs=3"])
    with pytest.raises(ConfigError, match="max_epochs=0"):
        demos.run("ch28", quick=True, run_dir=str(tmp_path / "run"), quiet=True, device="cpu",
                  overrides=["max_epochs=0"])
    assert not (tmp_path / "run").exists()


def test_momentum_zero_is_refused_because_it_is_the_check_run_of_ch30(tmp_path):
    # mu = 0 is plain SGD, which ch30 already runs as its check: the chosen run would be that run.
    with pytest.raises(ConfigError, match=re.escape("--set momentum=0: demo ch30 needs a number > 0 and < 1")):
        demos.run("ch30", quick=True, run_dir=str(tmp_path / "run"), quiet=True, device="cpu",
                  overrides=["momentum=0"])
    assert not (tmp_path / "run").exists()


def test_a_declared_setting_is_honoured_and_recorded(tmp_path, capsys):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataFallbackWarning)
        result = demos.run("ch28", quick=True, run_dir=str(tmp_path / "run"), quiet=True, device="cpu",
                           data="mnist-subset", overrides=["patience=3", "max_epochs=2", "train_size=200"])
    printed = capsys.readouterr().out
    assert "on 200 images, stop after 3 epochs without improvement" in printed
    labels = [figure["label"] for figure in result["figures"]]
    assert any(label.startswith("no-improvement-in-3:") for label in labels), labels
    assert not any("in-5" in label or "in-10" in label for label in labels)  # --quick's own patiences
    config = yaml.safe_load((tmp_path / "run" / "config.yaml").read_text())
    assert config["settings"] == {"train_size": 200, "max_epochs": 2, "patience": [3]}
