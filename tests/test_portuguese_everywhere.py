"""Portuguese wherever a person reads (issue 29): a plot and a video frame rendered in each
language carry the Portuguese words, numbers get a decimal comma, and no user-facing string
source of the RL side (plot labels, frame text, argparse help, the errors a user meets) is
written in English outside tr()/N_()."""

from __future__ import annotations

import ast
import csv
import re
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from lab import i18n

ROOT = Path(__file__).resolve().parents[1]


def _figure_texts(fig) -> list[str]:
    """Every string a matplotlib figure shows: titles, labels, tick labels, legends, free text."""
    from matplotlib.text import Text

    return [t.get_text() for t in fig.findobj(Text) if t.get_text()]


def test_numbers_are_written_with_a_decimal_comma_in_portuguese():
    i18n.set_language("pt")
    assert i18n.tr("mean return {mean:.4f} +- {ci95:.4f} (95% CI), std {std:.4f}, median {median:.4f}").format(
        mean=-0.0123, ci95=0.01, std=1.0, median=np.float64(0.5)).startswith("retorno médio -0,0123 +- 0,0100")
    assert i18n.number(100000) == "100.000" and i18n.decimal("-0.25") == "-0,25"
    # a bare placeholder stays as typed: it may be part of a command to copy
    assert i18n.tr("--set {key}={value}").format(key="agent.lr", value=0.001) == "--set agent.lr=0.001"
    i18n.set_language("en")
    assert i18n.number(100000) == "100,000" and i18n.decimal("-0.25") == "-0.25"


@pytest.mark.parametrize("language, words", [
    ("en", ["agent steps", "episode return", "training episodes", "evaluation mean"]),
    ("pt", ["passos do agente", "retorno do episódio", "episódios de treino", "média da avaliação"]),
])
def test_the_learning_curve_is_drawn_in_the_chosen_language(language, words, tmp_path, monkeypatch):
    from agents.watch import reports

    with open(tmp_path / "metrics.csv", "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["step", "charts/episodic_return", "eval/mean_return", "eval/ci95"])
        writer.writerows([[100, -0.5, "", ""], [200, -0.25, -0.2, 0.05], [300, -0.1, "", ""]])
    shown = []
    monkeypatch.setattr(reports, "save_figure", lambda fig, path: shown.extend(_figure_texts(fig)) or path)
    i18n.set_language(language)
    reports.learning_curve(SimpleNamespace(path=tmp_path, plots=tmp_path / "plots"), "blackjack-dqn (seed 0)")
    text = " | ".join(shown)
    for word in words:
        assert word in text, text
    if language == "pt":
        assert "agent steps" not in text and "episode return" not in text


@pytest.mark.parametrize("language, decimal, other", [("pt", "0,5", "0.5"), ("en", "0.5", "0,5")])
def test_tick_labels_of_a_saved_figure_carry_the_language_s_decimal_mark(language, decimal, other, tmp_path):
    from lab.plots import new_figure, save_figure

    i18n.set_language(language)
    fig, (curve, bars) = new_figure(1, 2)
    curve.plot([0, 0.5, 1], [0.25, 0.75, 0.5])
    curve.set_xticks([0, 0.5, 1])  # fractional ticks, written by matplotlib's numeric formatter
    bars.bar(["v0.5", "v1"], [1.5, 2.5])  # category labels are text: never changed
    save_figure(fig, tmp_path / "ticks.png")
    numbers = [label.get_text() for label in curve.get_xticklabels()]
    assert decimal in numbers and not any(other in label for label in numbers), numbers
    values = [label.get_text() for label in bars.get_yticklabels()]
    assert f"1{decimal[1]}5" in values and not any(other[1] in label for label in values), values
    assert [label.get_text() for label in bars.get_xticklabels()] == ["v0.5", "v1"]


def test_decimal_comma_swaps_both_marks_and_braces_the_comma_in_mathtext():
    from lab.plots import decimal_comma

    assert decimal_comma("1,000.5") == "1.000,5"
    assert decimal_comma(r"$\mathdefault{0.5}$") == r"$\mathdefault{0{,}5}$"  # no space after a math comma


def test_a_learning_curve_with_one_point_says_it_is_too_short(tmp_path, monkeypatch):
    from agents.watch import reports

    (tmp_path / "metrics.csv").write_text("step,charts/episodic_return\n100,-0.5\n")
    figures = []
    monkeypatch.setattr(reports, "save_figure", lambda fig, path: figures.append(fig) or path)
    reports.learning_curve(SimpleNamespace(path=tmp_path, plots=tmp_path / "plots"), "tiny")
    (fig,) = figures
    assert any("too short to draw" in text for text in _figure_texts(fig))
    assert fig.axes[0].get_legend() is None  # no legend naming a line that is not there


def test_the_policy_plot_draws_only_player_sums_a_usable_ace_allows():
    from agents.watch.reports import _policy_grid, player_sums
    from envs import blackjack_solver as solver

    assert list(player_sums(1)) == list(range(21, 11, -1)) and list(player_sums(0)) == list(range(21, 3, -1))
    assert _policy_grid(solver.optimal_policy(), 1).shape == (10, 10)
    assert all(solver.is_reachable((s, d, 1)) for s in player_sums(1) for d in range(1, 11))


class _Table:
    """Just what the Blackjack frame reads off the environment."""

    def __init__(self, player, dealer):
        self.player, self.dealer = player, dealer
        self.unwrapped = self


@pytest.mark.parametrize("language, words, english", [
    ("en", ["hand 3 of 8", "running result", "dealer", "player", "this hand: loss -1", "Q(stick)"], []),
    ("pt", ["mão 3 de 8", "resultado acumulado", "banca", "jogador", "esta mão: derrota -1", "Q(parar)"],
     ["hand", "running result", "dealer", "player", "loss", "stick"]),
])
def test_a_blackjack_frame_is_drawn_in_the_chosen_language(language, words, english, monkeypatch):
    from agents.watch import blackjack_plays
    from agents.watch.scenes import Decision, Moment

    shown = []
    monkeypatch.setattr(blackjack_plays, "figure_pixels", lambda fig: shown.extend(_figure_texts(fig)) or fig)
    i18n.set_language(language)
    decision = Decision(None, np.array([-0.62, -0.31]), 1, snapshot=(15, 10, 0))
    moment = Moment(_Table([10, 5, 9], [10, 7]), [decision], over=True, total=-1.0, results=[1.0, -1.0],
                    episode=2, episodes=8, result=-1.0)
    blackjack_plays.hand_picture(moment)
    text = " | ".join(shown)
    for word in words:
        assert word in text, text
    for word in english:
        assert not re.search(rf"\b{word}\b", text), (word, text)
    # one running result on the frame, this hand included: -1 after 3
    assert len(re.findall(r"-1 (?:after|após) 3", text)) == 1, text


def test_the_overlay_marks_the_chosen_action_and_draws_signed_values():
    from lab.video import overlay_strip

    strip = overlay_strip(400, 1, 1, np.array([-0.6, -0.3]), ["stick", "hit"])
    orange = np.all(strip == (255, 150, 40), axis=-1)
    columns = np.flatnonzero(orange.any(axis=0))
    assert columns.min() > 200  # only the chosen (second) action's bar and mark are orange
    rows = np.flatnonzero(orange.any(axis=1))
    zero = 2 * (int(np.clip(400 / 30, 9, 15)) + 6) + 32  # the zero line sits mid-chart with negative values
    assert rows.min() >= zero  # a negative value's bar hangs below the zero line


# -- the walk: no English left outside tr()/N_() where a person reads ----------------------------------
#: calls whose text argument a person reads (plots, frames) and argparse's help
DRAWN = {"set_title", "set_xlabel", "set_ylabel", "suptitle", "text"}
LABELLED = {"label", "help"}
#: the errors run_main prints as one line, and their subclasses a user meets (a raise of one names its class)
ERRORS = {"ConfigError", "UsageError", "CheckpointError", "StorageError", "RunFailed", "NetError",
          "RunDirError", "RunDirInUse", "BenchError",
          "DataError", "IdxFormatError", "DatasetNotFoundError", "DownloadError", "UnknownDatasetError"}
#: what a demo prints: ctx.say(text), ctx.report(label, book, measured, reason=..., ...)
SPOKEN = {"say": 1, "report": 3}
SPOKEN_KEYWORDS = {"book", "measured", "reason", "quick_cannot_judge"}
SOURCES = [p for folder in ("agents", "lab", "envs", "scripts", "supervised", "nets")
           for p in sorted((ROOT / folder).rglob("*.py"))]
#: where a config section or an environment's options are checked: a ValueError raised there by a
#: constructor, a dataclass's __post_init__ or a check/make/resolve/validate function is a user's
#: mistake reported as "config: ..." (lab.checks words the usual ones); elsewhere a ValueError
#: is a programmer's (a bad index into a replay memory) and may stay English
CONFIG_CHECKS = ["agents/config.py", "agents/schedules.py", "agents/algorithms/", "agents/replay/", "envs/"]
CHECKING_FUNCTIONS = re.compile(r"__(post_)?init__|_*(check|make|resolve|validate)\w*")


def _english(node: ast.AST) -> bool:
    """A literal (or an f-string's literal parts) holding an English word of 3 letters or more."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        parts = [node.value]
    elif isinstance(node, ast.JoinedStr):
        parts = [v.value for v in node.values if isinstance(v, ast.Constant)]
    elif isinstance(node, ast.BinOp):  # "a" + f"b"
        return _english(node.left) or _english(node.right)
    elif isinstance(node, ast.IfExp):
        return _english(node.body) or _english(node.orelse)
    else:
        return False
    choices = r"[\w:.-]+(?: \| [\w:.-]+)+"  # 'auto | cpu | cuda': the values themselves, not words
    return any(re.search(r"[A-Za-z]{3,}", part) and not re.fullmatch(choices, part) for part in parts)


def _untranslated(path: Path) -> list[str]:
    return _untranslated_in(path.read_text(), str(path.relative_to(ROOT)))


def _untranslated_in(source: str, where: str) -> list[str]:
    """'where:line: text' for each English literal of `source` a person reads outside tr()/N_()."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call):
            continue
        name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
        texts = []
        if name in DRAWN:
            texts += [a for a in node.args if _english(a)]
        if name in SPOKEN:
            texts += [a for a in node.args[:SPOKEN[name]] if _english(a)]
            texts += [k.value for k in node.keywords if k.arg in SPOKEN_KEYWORDS and _english(k.value)]
        if name in ERRORS and node.args:
            texts += [node.args[0]] if _english(node.args[0]) else []
        texts += [k.value for k in node.keywords if k.arg in LABELLED and _english(k.value)]
        found += [f"{where}:{t.lineno}: {ast.unparse(t)[:70]}" for t in texts]
    if any(where.startswith(place) for place in CONFIG_CHECKS):
        found += _untranslated_checks(ast.parse(source), where)
    return found


def _untranslated_checks(module: ast.AST, name: str) -> list[str]:
    """`raise ValueError(<English>)` inside the functions of CONFIG_CHECKS that check settings."""
    found = []
    for function in ast.walk(module):
        if not isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)) or \
                not CHECKING_FUNCTIONS.fullmatch(function.name):
            continue
        for node in ast.walk(function):
            raised = node.exc if isinstance(node, ast.Raise) else None
            if isinstance(raised, ast.Call) and getattr(raised.func, "id", "") == "ValueError" and raised.args \
                    and _english(raised.args[0]):
                found.append(f"{name}:{node.lineno}: {function.name}: {ast.unparse(raised.args[0])[:70]}")
    return found


def test_no_user_facing_string_is_left_in_english_outside_the_catalogue():
    found = [line for path in SOURCES for line in _untranslated(path)]
    assert not found, f"{len(found)} user-facing strings not passed through tr(): " + "\n".join(found[:40])


def test_the_walk_finds_an_english_config_check():
    sample = ast.parse(
        "class Section:\n"
        "    def __post_init__(self):\n"
        "        if self.tau > 1:\n"
        "            raise ValueError(f'agent.tau must be in (0, 1], got {self.tau}')\n"
        "        require(self.n >= 1, tr('agent.n must be >= 1'))\n"
        "        raise ValueError(tr('{key} must be in {interval}, got {value}').format(key='k', interval='i', value=1))\n"
        "def sample(self, n):\n"
        "    raise ValueError(f'cannot sample {n} from an empty memory')  # a programmer's mistake\n"
        "def make_env(size):\n"
        "    raise NetError('size must be even')\n")
    found = _untranslated_checks(sample, "sample.py")
    assert [line.split(": ")[1] for line in found] == ["__post_init__"], found
    assert "agent.tau must be in (0, 1]" in found[0]
    net_error = next(n for n in ast.walk(sample) if isinstance(n, ast.Call) and getattr(n.func, "id", "") == "NetError")
    assert "NetError" in ERRORS and _english(net_error.args[0])


def test_the_walk_finds_an_english_label():
    sample = ast.parse('ax.set_xlabel("agent steps")\nraise UsageError(f"--x {x} is bad")\nax.set_title(tr("ok"))')
    calls = [n for n in ast.walk(sample) if isinstance(n, ast.Call) and getattr(n.func, "attr", "") == "set_xlabel"]
    assert _english(calls[0].args[0])
    title = next(n for n in ast.walk(sample) if isinstance(n, ast.Call) and getattr(n.func, "attr", "") == "set_title")
    assert not _english(title.args[0])


def test_the_walk_finds_an_english_data_or_run_folder_error():
    sample = ('raise DatasetNotFoundError(f"{name} not found in {folder}")\n'
              'raise IdxFormatError(tr("{path} is truncated").format(path=path))\n'
              'raise RunDirError(f"--run-dir {path} is not empty")\n')
    assert [line.split(":")[1] for line in _untranslated_in(sample, "sample.py")] == ["1", "3"]


# -- rough edges a reader met (issue 29) -----------------------------------------------------------------------
def test_a_budget_overrun_by_other_lanes_is_said_apart():
    from agents.engine import RunResult

    result = RunResult("blackjack-dqn", "dqn", "native", 0, 140_000, 100_001, 30_000, 1.0, 1.0, 1.0,
                       {}, Path("."), episode_budget=100_000)
    assert result.episodes_said() == "100,000 (+1 finished by other lanes in the last step)"
    assert RunResult("x", "dqn", "native", 0, 10, 5, 0, 1.0, 1.0, 1.0, {}, Path(".")).episodes_said() == "5"


def test_terminal_prompts_offer_no_click_and_counts_agree_in_number():
    from agents.watch.live import _against_summary, next_prompt

    assert next_prompt(SimpleNamespace(shows_pictures=False), "next hand") == "Enter: next hand; q: quit"
    assert "a click" in next_prompt(SimpleNamespace(shows_pictures=True), "next hand")
    assert _against_summary([1.0]).startswith("you played 1 game of tic-tac-toe")
    i18n.set_language("pt")
    assert _against_summary([1.0, -1.0]).startswith("você jogou 2 partidas de jogo da velha")


#: English words of ch06's lines and plot as they were before issue 29 (lower case: the gate
#: names AND, NAND stay as they are in both languages).
CH06_ENGLISH = re.compile(r"\b(the|and|with|weather|company|learnable|learned|never|inputs?|threshold|right|after|"
                          r"epochs?|best|most|outputs?|lines?|rule|separat\w*|exact|book|measured|data|figures|plot)\b")


def test_chapter_6_prints_and_draws_no_english_in_portuguese(tmp_path, capsys, monkeypatch):
    from supervised import demos
    from supervised.demo_context import DemoContext

    drawn = []
    original = DemoContext.plot
    monkeypatch.setattr(DemoContext, "plot", lambda self, name, fig, step=0: (drawn.extend(_figure_texts(fig)),
                                                                               original(self, name, fig, step)))
    i18n.set_language("pt")
    demos.run("ch06", quick=True, run_dir=str(tmp_path / "ch06"), device="cpu")
    printed = capsys.readouterr().out
    assert "livro: vai se, e somente se, faz tempo bom (cap. 6)" in printed and "dados: exato" in printed
    assert "nunca separada" in " ".join(drawn)
    english = [text for text in printed.splitlines() + drawn if CH06_ENGLISH.search(text.replace(str(tmp_path), ""))]
    assert not english, english


def test_a_refused_run_folder_and_its_lock_holder_are_said_in_portuguese(tmp_path):
    from lab.rundir import LOCK_FILE, RunDirError, _holder, check_new_run_dir

    (tmp_path / "notes.txt").write_text("mine")
    i18n.set_language("pt")
    with pytest.raises(RunDirError, match=r"não está vazia; escolha uma pasta vazia ou nova$"):
        check_new_run_dir(tmp_path)
    (tmp_path / LOCK_FILE).write_text("process 12 on host box since 2025-01-01 12:00:00\n")
    assert _holder(tmp_path / LOCK_FILE) == "o processo 12 na máquina box desde 2025-01-01 12:00:00"
    (tmp_path / LOCK_FILE).write_text("")
    assert _holder(tmp_path / LOCK_FILE) == "outro processo"


def _isolated_from_data(tmp_path) -> dict:
    """The environment of a script that finds no MNIST anywhere (an empty cache, no DLBOOK_DATA)."""
    import os

    environ = {k: v for k, v in os.environ.items() if k != "DLBOOK_DATA"}
    return environ | {"XDG_CACHE_HOME": str(tmp_path / "cache"), "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}


def test_a_missing_dataset_is_one_portuguese_line_naming_the_options_and_nothing_is_written(tmp_path):
    import subprocess
    import sys

    run_dir = tmp_path / "run"
    done = subprocess.run([sys.executable, str(ROOT / "scripts" / "demo.py"), "ch13", "--data", "mnist", "--quick",
                           "--run-dir", str(run_dir), "--lang", "pt"],
                          capture_output=True, text=True, env=_isolated_from_data(tmp_path), cwd=tmp_path, timeout=300)
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 2 and len(lines) == 1, done.stderr
    assert lines[0].startswith("erro: --data mnist: não encontrado; nenhuma pasta tem todos os arquivos"), lines
    for words in ("--download", "--data-dir PASTA", "DLBOOK_DATA", "--data auto", str(tmp_path / "cache")):
        assert words in lines[0], (words, lines[0])
    assert "download=True" not in lines[0] and "data_dir" not in lines[0]
    assert not run_dir.exists() and not (tmp_path / "runs").exists()


def test_the_python_api_keeps_its_data_errors_and_a_damaged_dataset_leaves_no_run(tmp_path, monkeypatch):
    from lab.config import ConfigError
    from supervised import demos
    from supervised.data import DatasetNotFoundError, IdxFormatError, load_dataset

    monkeypatch.delenv("DLBOOK_DATA", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    with pytest.raises(FileNotFoundError, match="download=True") as raised:
        load_dataset("mnist", data_dir=tmp_path / "nothing")
    assert isinstance(raised.value, DatasetNotFoundError) and isinstance(raised.value, ConfigError)
    with pytest.raises(DatasetNotFoundError, match="--download"):
        demos.run("ch13", data="mnist", data_dir=str(tmp_path / "nothing"), quick=True, run_dir=str(tmp_path / "a"))
    damaged = tmp_path / "damaged"
    damaged.mkdir()
    for name in ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"):
        (damaged / name).write_bytes(b"xx")
    (tmp_path / "given").mkdir()
    for run_dir in (tmp_path / "new" / "run", tmp_path / "given"):  # a folder it makes, a folder given empty
        with pytest.raises(IdxFormatError, match="too short to be an IDX file"):
            demos.run("ch13", data="mnist", data_dir=str(damaged), quick=True, run_dir=str(run_dir), device="cpu")
    assert not (tmp_path / "a").exists() and not (tmp_path / "new").exists()
    assert list((tmp_path / "given").iterdir()) == []


def test_a_run_title_and_an_evaluation_epsilon_are_said_in_portuguese():
    from agents.watch.views import run_title

    i18n.set_language("pt")
    assert run_title(SimpleNamespace(preset="blackjack-q", seed=0)) == "blackjack-q (semente 0)"
    said = i18n.tr(": {episodes} episodes, epsilon {epsilon:g}, seed {seed}").format(episodes=8, epsilon=0.05, seed=1)
    assert said == ": 8 episódios, epsilon 0,05, semente 1"
    i18n.set_language("en")
