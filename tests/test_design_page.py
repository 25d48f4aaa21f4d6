"""docs/design.md stays true to the tree: every repository path it names exists, every module a
row of its rooms table names is in that room, and every module of agents/ opens with a line that
points to one of its sections."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PAGE = ROOT / "docs" / "design.md"
ROOTS = ("agents/", "nets/", "envs/", "lab/", "supervised/", "scripts/", "docs/", "tests/")


def _code_spans(text: str) -> list[str]:
    return re.findall(r"`([^`\n]+)`", text)


def test_every_repository_path_the_page_names_exists():
    text = PAGE.read_text(encoding="utf-8")
    named = {word for span in _code_spans(text) for word in span.split() if word.startswith(ROOTS)}
    named |= {f"docs/{link}" for link in re.findall(r"\]\(([^)#:]+)\)", text)}
    assert len(named) > 20, sorted(named)  # the page names its modules; a broken pattern finds none
    missing = sorted(path for path in named if not any(ROOT.glob(path.replace("NN", "[0-9][0-9]").rstrip("/"))))
    assert not missing, missing


def test_each_room_row_names_modules_of_that_room():
    rows = [line for line in PAGE.read_text(encoding="utf-8").splitlines()
            if re.match(r"\| `agents/\w+/` \|", line)]
    assert len(rows) >= 7, rows  # algorithms, replay, learners, sb3, watch, bench, sweeps
    missing = []
    for row in rows:
        room = ROOT / re.match(r"\| `(agents/\w+/)`", row).group(1)
        missing += [f"{room.relative_to(ROOT)}/{name}" for name in re.findall(r"`(\w+\.py)`", row)
                    if not (room / name).is_file()]
    assert not missing, missing


def test_every_module_of_agents_opens_with_a_pointer_to_a_section_of_the_page():
    """The first line of each docstring says "(docs/design.md: SECTION; ...)", SECTION words of
    one of the page's headings, and stays short."""
    headings = [line.lstrip("#").strip().replace("`", "").lower()
                for line in PAGE.read_text(encoding="utf-8").splitlines() if line.startswith("## ")]
    offences = []
    for path in sorted((ROOT / "agents").rglob("*.py")):
        where = str(path.relative_to(ROOT))
        docstring = ast.get_docstring(ast.parse(path.read_text()), clean=False)
        first = docstring.splitlines()[0] if docstring else ""
        pointer = re.search(r"docs/design\.md: ([^;)]+)", first)
        if pointer is None:
            offences.append(f"{where}: no docs/design.md pointer in {first!r}")
        elif not any(pointer.group(1).strip().lower() in heading for heading in headings):
            offences.append(f"{where}: section {pointer.group(1)!r} is not a heading's words: {headings}")
        if len(first) + 3 > 100:
            offences.append(f"{where}: opening line of {len(first) + 3} characters")
    assert not offences, offences
