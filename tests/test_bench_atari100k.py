"""bench.py atari100k: our finished Boxing runs beside the published Atari 100k figures, read from
the run directories (scores, steps, episodes, training minutes), never measured or made up."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from extras import needs
from lab import i18n

ROOT = Path(__file__).resolve().parents[1]


def _run(folder: Path, seed: int, score: float, seconds: float | None, backend: str = "native") -> Path:
    """A finished run directory as the engine leaves it (the parts the table reads)."""
    (folder / "checkpoints" / "latest").mkdir(parents=True)
    (folder / "config.yaml").write_text(yaml.safe_dump({"preset": "boxing-100k", "seed": seed, "backend": backend,
                                                        "total_steps": 100_000}))
    (folder / "eval.json").write_text(json.dumps({"episodes": 100, "mean": score, "score": score}))
    state = {"steps": 100_000}
    if seconds is not None:
        state |= {"training_seconds": seconds, "training_cpu_seconds": 2 * seconds}
    (folder / "checkpoints" / "latest" / "state.json").write_text(json.dumps({"state": state}))
    return folder


@needs("scale", "rliable")
def test_a_sweep_is_listed_per_seed_with_its_iqm_and_cost_beside_the_published_figures(tmp_path):
    from agents.sweeps.atari100k import table

    sweep = tmp_path / "sweep"
    sweep.mkdir()
    manifest = {"preset": "boxing-100k", "seeds": [0, 1, 2], "overrides": ["total_steps=100000"],
                "swept": [], "grid": {}, "ranges": {}, "search": None, "trials": 0, "scheduler": None,
                "metric": "eval/mean_return", "mode": "max", "cpus_per_trial": 1.0,
                "gpus_per_trial": 0.0, "device": "cpu", "max_failures": 2, "address": None,
                "created": "2026-12-07 12:00:00", "directory": str(sweep)}
    (sweep / "sweep.json").write_text(json.dumps(manifest))
    for seed, score in enumerate((30.0, 40.0, 50.0)):
        _run(sweep / f"s{seed}", seed, score, seconds=600.0 * (seed + 1))
    sb3 = _run(tmp_path / "sb3-dqn", 0, 1.5, seconds=None, backend="sb3")
    printed = table([str(sweep), str(sb3)])
    assert "s0 30.0, s1 40.0, s2 50.0 | 40.0 [" in printed  # IQM of three seeds is their mean
    assert "| 100000 | 100 | 20.0 / 40.0" in printed  # mean minutes per seed: wall / CPU
    assert "boxing-100k [sb3] (sb3-dqn)" in printed and "s0 1.5 | 1.5 (one seed: no interval)" in printed
    # a run whose checkpoints kept no training time: the files' times, marked approximate
    assert re.search(r"s0 1\.5 \| .* \| ~\d+\.\d / -\n", printed) and "\n  ~: the run's checkpoints predate" in printed
    assert re.search(r"\n  SPR +35\.7  Schwarzer et al\. 2021\n", printed)
    i18n.set_language("pt")  # decimal commas: "; " keeps the numbers apart
    portuguese = table([str(sweep)])
    assert "s0 30,0; s1 40,0; s2 50,0 | 40,0 [" in portuguese
    assert re.search(r"\n  humano +12,1  Kaiser et al\. 2020 \(SimPLe\), tabela do Atari 100k\n", portuguese)


@needs("scale", "rliable")
def test_a_folder_of_runs_gives_one_row_per_configuration_over_its_seeds(tmp_path):
    from agents.sweeps.atari100k import table

    folder = tmp_path / "boxing-100k-sb3-dqn"
    for seed, score in enumerate((2.0, 4.0, 9.0)):
        _run(folder / f"20261207-1200{seed}-s{seed}", seed, score, seconds=60.0, backend="sb3")
    unfinished = _run(folder / "20261207-12009-s3", 3, 0.0, seconds=60.0, backend="sb3")
    (unfinished / "eval.json").unlink()
    other = _run(folder / "20261207-13000-s0", 0, 7.0, seconds=60.0, backend="native")
    printed = table([str(folder)])
    assert "boxing-100k [sb3] (3 of 4 runs finished) (boxing-100k-sb3-dqn)\n    s0 2.0, s1 4.0, s2 9.0 | 5.0 [" in printed
    assert f"boxing-100k ({folder.name})\n    s0 7.0 | 7.0 (one seed: no interval)" in printed and other.is_dir()


@needs("scale", "rliable")
def test_an_unfinished_run_or_a_stray_folder_is_refused_in_one_line(tmp_path):
    unfinished = _run(tmp_path / "run", 0, 1.0, 1.0)
    (unfinished / "eval.json").unlink()
    (tmp_path / "empty").mkdir()
    for folder, words in ((unfinished, "has not finished"), (tmp_path / "empty", "not a sweep directory")):
        done = subprocess.run([sys.executable, "scripts/bench.py", "atari100k", "--from", str(folder)], cwd=ROOT,
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 2 and words in done.stderr and len(done.stderr.strip().splitlines()) == 1, \
            done.stderr


@pytest.mark.parametrize("argv, words", [(["atari100k"], "give --from DIR"),
                                         (["blackjack", "--from", "x"], "only it")])
def test_from_goes_with_the_atari100k_suite_only(argv, words):
    done = subprocess.run([sys.executable, "scripts/bench.py", *argv], cwd=ROOT, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 2 and words in done.stderr, done.stderr
