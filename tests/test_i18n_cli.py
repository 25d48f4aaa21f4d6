"""The scripts in Portuguese (lab/i18n.py, lab/cli.py): `--lang pt` and a Portuguese LANG give
Portuguese --help and one-line errors with exit 2; English stays the default; argparse's own
words follow the same catalogue."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

from lab.cli import run_main

ROOT = Path(__file__).resolve().parents[1]


def _load_script(name: str):
    spec = importlib.util.spec_from_file_location(f"i18n_script_{name}", ROOT / "scripts" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


SCRIPTS = {name: _load_script(name) for name in ("train", "demo", "evaluate", "record", "bench")}


def _run(script: str, argv: list[str], capsys) -> tuple[int, str, str]:
    """`python scripts/<script>.py ARGV` in this process: exit status, stdout, stderr."""
    with pytest.raises(SystemExit) as stopped:
        run_main(SCRIPTS[script].main, argv)
    captured = capsys.readouterr()
    return stopped.value.code, captured.out, captured.err


@pytest.mark.parametrize("script, description", [
    ("train", "Treina um agente a partir de um preset"),
    ("demo", "Roda a demonstração de um capítulo do livro"),
    ("evaluate", "Avalia uma execução treinada"),
    ("record", "Grava partidas de uma execução treinada"),
    ("bench", "Mede velocidade e memória"),
])
def test_lang_pt_gives_portuguese_help(script, description, capsys):
    code, out, _ = _run(script, ["--lang", "pt", "--help"], capsys)
    assert code == 0
    assert out.startswith("uso: "), out[:200]
    assert description in out
    assert "opções:" in out and "mostra esta ajuda e sai" in out and "--lang {en,pt}" in out
    assert "(default" not in out and "random seed" not in out


def test_help_is_english_by_default(capsys):
    code, out, _ = _run("train", ["--help"], capsys)
    assert code == 0
    assert out.startswith("usage: ") and "Train an agent from a preset" in out
    assert "options:" in out and "random seed" in out and "Treina" not in out


def test_lang_pt_gives_a_portuguese_one_line_error_with_exit_2(tmp_path, capsys):
    code, _, err = _run("train", ["--lang", "pt", "cartpole-dqn", "--set", "agent.gama=0.9",
                                  "--run-dir", str(tmp_path / "run")], capsys)
    assert code == 2
    assert len(err.strip().splitlines()) == 1
    assert err.startswith("erro: configuração: chave desconhecida 'agent.gama'; chaves permitidas em agent:")
    assert not (tmp_path / "run").exists()
    code, _, err = _run("demo", ["--lang", "pt"], capsys)
    assert (code, err) == (2, "erro: indique uma demonstração (por exemplo ch18) ou use --all; "
                              "--list mostra todas\n")


def test_a_portuguese_environment_translates_argparse_errors_too(monkeypatch, capsys):
    monkeypatch.setenv("LANGUAGE", "pt_BR")
    code, _, err = _run("demo", ["--quick", "--seed", "x"], capsys)
    assert code == 2
    assert err == "demo.py: erro: argumento --seed: valor int inválido: 'x' (veja --help)\n"


def test_an_english_override_beats_a_portuguese_environment(monkeypatch, capsys):
    monkeypatch.setenv("LANGUAGE", "pt_BR")
    code, _, err = _run("train", ["--lang", "en", "nosuch"], capsys)
    assert code == 2
    assert err.startswith("error: unknown preset 'nosuch'; available:"), err


def test_a_bad_lang_is_a_usage_error(capsys):
    code, _, err = _run("train", ["--lang", "fr"], capsys)
    assert code == 2
    assert err == "train.py: error: argument --lang: invalid choice: 'fr' (choose from 'en', 'pt') (see --help)\n"


def test_the_command_itself_answers_in_portuguese():
    result = subprocess.run([sys.executable, "scripts/demo.py", "--help"], cwd=ROOT, capture_output=True,
                            text=True, timeout=120, env=dict(os.environ, LANGUAGE="", LANG="pt_BR.UTF-8"))
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("uso: demo.py") and "livro: X | medido: Y | dados: D" in result.stdout
