"""The Portuguese notebooks of notebooks/ run in the test command, and are committed clean.

Each notebook is executed top to bottom by a real Jupyter kernel (nbclient, which nbmake also
uses: `pytest --nbmake notebooks/` runs them the same way) in an empty temporary folder, so its
runs/ lands there. The cells carry their own asserts; a failing cell fails the test with its
error. The committed files hold no outputs and no execution counts, so diffs stay readable and
no stale figure is shown as if it had been computed.
"""

from __future__ import annotations

from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat", reason="the notebooks need the dev extra (nbmake)")
nbclient = pytest.importorskip("nbclient", reason="the notebooks need the dev extra (nbmake)")

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb"))
CELL_TIMEOUT_S = 300  # a cell that hangs (a kernel waiting on a display, say) fails, not blocks


def test_there_are_three_notebooks():
    assert [path.name for path in NOTEBOOKS] == ["01_treinar_e_assistir_blackjack.ipynb",
                                                 "02_demo_de_capitulo.ipynb",
                                                 "03_carregar_e_consultar.ipynb"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.stem)
def test_committed_notebook_has_no_outputs(path):
    notebook = nbformat.read(path, as_version=4)
    nbformat.validate(notebook)
    dirty = [index for index, cell in enumerate(notebook.cells) if cell.cell_type == "code"
             and (cell.get("outputs") or cell.get("execution_count") is not None)]
    assert not dirty, f"{path.name}: cells {dirty} keep outputs or execution counts; clear them before committing"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.stem)
def test_notebook_runs(path, tmp_path, monkeypatch):
    for name, value in {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "SDL_VIDEODRIVER": "dummy"}.items():
        monkeypatch.setenv(name, value)  # the kernel inherits the environment
    notebook = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(notebook, timeout=CELL_TIMEOUT_S, kernel_name="python3",
                                     resources={"metadata": {"path": str(tmp_path)}})
    client.execute()
    errors = [output for cell in notebook.cells if cell.cell_type == "code"
              for output in cell.outputs if output.output_type == "error"]
    assert not errors
    assert (tmp_path / "runs").is_dir(), "every notebook writes its run under runs/"
