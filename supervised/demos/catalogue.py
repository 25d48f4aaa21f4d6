"""Which chapter demos exist, read without running them (chapters 6-61 and 76-90;
docs/design.md: layout).

`scripts/demo.py --list` and a demo's name need only what each demo module says in its
`@register("ch18", "<Portuguese title>", "<English title>", covers=(...))`. The modules import
PyTorch, so this catalogue reads those calls from their source instead (the arguments must be
written as literals, which a test keeps so) and the registry (supervised.demos) imports the one
module a run needs.
"""

from __future__ import annotations

import ast
import dataclasses
import difflib
import functools
import re
from pathlib import Path

from lab.config import ConfigError
from lab.i18n import tr

#: register()'s parameters in order, as a call may give them by position
_PARAMETERS = ("key", "title_pt", "title_en", "settings", "check", "covers")
_DECORATOR = re.compile(r"^@register\(", re.MULTILINE)
_AT_THE_MARGIN = re.compile(r"^\S", re.MULTILINE)


@dataclasses.dataclass(frozen=True)
class Entry:
    """One demo as its register(...) call names it, and the module that holds it."""

    key: str
    title_pt: str
    title_en: str
    covers: tuple[str, ...]
    module: str


def chapter_number(name: str) -> int | None:
    """47 for 'ch47', 'CH047', 'ch 47', 'cap. 47' or '47'; None for a name that is no chapter."""
    found = re.fullmatch(r"(?:ch|cap\.?|chapter|cap[ií]tulo)?\s*0*(\d+)", name.strip().lower())
    return int(found.group(1)) if found else None


def chapter_order(key: str) -> tuple:
    digits = "".join(c if c.isdigit() else " " for c in key).split()
    return tuple(int(d) for d in digits) or (10**6,)


def _register_calls(path: Path) -> list[ast.Call]:
    """The register(...) calls of a demo module. Each `@register(` decorator is parsed alone, up
    to the next line that starts at the margin (its function); only if that fails is the whole
    module parsed (for every demo module some twenty times slower: measured 1.5 s against 0.07 s)."""
    text = path.read_text(encoding="utf-8")
    calls = []
    for found in _DECORATOR.finditer(text):
        end = _AT_THE_MARGIN.search(text, found.end())
        try:
            call = ast.parse(text[found.start() + 1:end.start() if end else None], mode="eval").body
        except SyntaxError:
            break
        calls.append(ast.increment_lineno(call, text.count("\n", 0, found.start())))
    else:
        return calls
    return [node for node in ast.walk(ast.parse(text, str(path)))
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "register"]


def entries_of(path: Path) -> list[Entry]:
    """The demos a module registers (its module name taken as one of this package)."""
    entries = []
    for node in _register_calls(path):
        given = dict(zip(_PARAMETERS, node.args)) | {word.arg: word.value for word in node.keywords}

        def literal(name: str):
            try:
                return ast.literal_eval(given[name])
            except (KeyError, ValueError):
                raise ValueError(f"{path.name}:{node.lineno}: register(...) must give its {name} as a literal "
                                 "(the catalogue reads it without running the module)") from None

        covers = tuple(literal("covers")) if "covers" in given else ()
        entries.append(Entry(literal("key"), literal("title_pt"), literal("title_en"), covers,
                             f"{__package__}.{path.stem}"))
    return entries


@functools.cache
def entries() -> tuple[Entry, ...]:
    """Every demo, in chapter order."""
    found = [entry for path in sorted(Path(__file__).parent.glob("ch*.py")) for entry in entries_of(path)]
    return tuple(sorted(found, key=lambda entry: chapter_order(entry.key)))


def resolve(name: str) -> Entry:
    """The demo a user means by `name`: its key ('ch06', also written 'ch6' or '6') or a chapter
    it covers ('ch45' is the demo ch44). Else a one-line ConfigError that suggests the nearest
    demos: by chapter number for a chapter, by spelling (difflib) for anything else."""
    number = chapter_number(name)
    key = f"ch{number:02d}" if number is not None else name.strip().lower()
    for entry in entries():
        if key == entry.key or key in entry.covers:
            return entry
    keys = [entry.key for entry in entries()]
    if number is not None:
        distance = {k: abs(chapter_order(k)[0] - number) for k in keys}
        nearest = sorted(keys, key=lambda k: (distance[k], chapter_order(k)))
        close = [k for k in nearest if distance[k] == distance[nearest[0]]]
    else:
        close = difflib.get_close_matches(key, keys + [c for entry in entries() for c in entry.covers], n=3)
    if not close:
        raise ConfigError(tr("unknown demo '{name}'; --list shows every demo").format(name=name))
    raise ConfigError(tr("unknown demo '{name}'; did you mean {close}? (--list shows every demo)").format(
        name=name, close=tr(" or ").join(close)))
