"""Portuguese or English program output through gettext (the book is in Portuguese; issue 18).

English is the source text: every user-facing string is written in English and wrapped in
``tr()`` (not ``_``: the project forbids importing underscore names, and ``_`` is a common
throw-away variable that would shadow it); ``lab/locale/pt_BR/LC_MESSAGES/dlbook.po`` holds the Portuguese (Brazil) translation,
compiled to ``dlbook.mo`` beside it (both ship with the package). The language is chosen, in
this order, by ``set_language("pt" | "en")`` (what every script's ``--lang`` calls), then by the
environment as gettext reads it: the first of LANGUAGE, LC_ALL, LC_MESSAGES and LANG that is
set; a value starting with ``pt`` means Portuguese, anything else English.

Placeholders are named (``tr("{steps} steps").format(steps=...)``) so a translation may put them
in another order. In Portuguese, a number given a display format there (``{mean:.4f}``,
``{count:,}``) is written with a decimal comma and dots between thousands (0,0023; 100.000); a
bare ``{value}`` stays as typed, because it may be part of a command to copy (``--set lr=0.001``).
``number()`` and ``decimal()`` do the same for text built outside ``tr``. Strings that must be defined before the language is known (argparse's own
texts, table headings) are marked with ``N_()`` and passed through ``tr`` where they are shown.

Updating the catalogue (babel, in the dev extra) after changing a wrapped string::

    pybabel extract -F lab/locale/babel.cfg --no-default-keywords -k tr -k N_ -k ngettext:1,2 \
        -o build/dlbook.pot .
    pybabel update -i build/dlbook.pot -d lab/locale -D dlbook -l pt_BR
    # translate the new (empty) and fuzzy entries of lab/locale/pt_BR/LC_MESSAGES/dlbook.po, then
    pybabel compile -d lab/locale -D dlbook -l pt_BR

A script's docstring is its --help description, so changing one is changing a message too.

``tests/test_i18n.py`` fails when a wrapped string is missing from the catalogue, untranslated,
or when the committed ``.mo`` is older than the ``.po``.
"""

from __future__ import annotations

import gettext
import numbers
import os
import string
from pathlib import Path

DOMAIN = "dlbook"
LOCALE_DIR = Path(__file__).with_name("locale")
LANGUAGES = ("en", "pt")
#: our short language name -> the catalogue's locale folder
CATALOGUES = {"pt": "pt_BR"}
ENVIRONMENT_VARIABLES = ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG")

_chosen: str | None = None  # set_language's choice; None: follow the environment
_translations: dict[str, gettext.NullTranslations] = {}


def language_from_environment(environ: os._Environ | dict | None = None) -> str:
    """'pt' when the first locale variable gettext would read starts with pt, else 'en'."""
    environ = os.environ if environ is None else environ
    for name in ENVIRONMENT_VARIABLES:
        value = environ.get(name, "")
        if value:
            first = value.split(":")[0].strip().lower()  # LANGUAGE may list several: pt_BR:en
            return "pt" if first.startswith("pt") else "en"
    return "en"


def set_language(language: str | None) -> None:
    """Choose 'pt' or 'en' for everything printed from now on; None follows the environment."""
    global _chosen
    if language is not None and language not in LANGUAGES:
        raise ValueError(f"language must be one of {', '.join(LANGUAGES)}, got {language!r}")
    _chosen = language


def language() -> str:
    """The language output is in now: 'pt' or 'en'."""
    return _chosen if _chosen is not None else language_from_environment()


def _catalogue(name: str) -> gettext.NullTranslations:
    if name not in _translations:
        folder = CATALOGUES.get(name)
        _translations[name] = (gettext.translation(DOMAIN, LOCALE_DIR, languages=[folder], fallback=True)
                               if folder else gettext.NullTranslations())
    return _translations[name]


class _Formatter(string.Formatter):
    def format_field(self, value, format_spec: str) -> str:
        text = super().format_field(value, format_spec)
        if format_spec and isinstance(value, numbers.Number) and not isinstance(value, bool) and language() == "pt":
            return text.translate(_PORTUGUESE_MARKS)
        return text


_PORTUGUESE_MARKS = str.maketrans(",.", ".,")
_FORMATTER = _Formatter()


class Message(str):
    """A translated message whose `.format` writes formatted numbers as the language does."""

    def format(self, *args, **kwargs) -> str:
        return _FORMATTER.vformat(self, args, kwargs)


def tr(message: str) -> str:
    """`message` (English) in the current language; English when no translation exists."""
    return Message(_catalogue(language()).gettext(message))


def ngettext(singular: str, plural: str, n: int) -> str:
    """The singular or plural form of a message for count `n`, in the current language."""
    return Message(_catalogue(language()).ngettext(singular, plural, n))


def number(value: float, digits: int | None = None) -> str:
    """`value` as a person reads it in the current language: thousands grouped and, with
    `digits`, that many decimals; Portuguese swaps the marks (1,234.5 -> 1.234,5)."""
    text = f"{value:,}" if digits is None else f"{value:,.{digits}f}"
    return text.translate(_PORTUGUESE_MARKS) if language() == "pt" else text


def decimal(text: str) -> str:
    """A number already formatted in English (no grouping: 0.0023, -1.5e-3) with the decimal mark
    of the current language: Portuguese writes a decimal comma."""
    return text.replace(".", ",") if language() == "pt" else text


def listed(numbers) -> str:
    """Numbers already written in the current language, one after another: '0.42, 0.31' in
    English, '0,42; 0,31' in Portuguese, whose decimal comma would run into a comma between them."""
    return ("; " if language() == "pt" else ", ").join(numbers)


def N_(message: str) -> str:
    """Mark `message` for the catalogue without translating it yet (it is translated later)."""
    return message


def requested_language(argv: list[str] | None) -> str | None:
    """The value of `--lang X` or `--lang=X` in a command line, if any (not checked here:
    the parser reports a bad value with the other usage errors)."""
    argv = list(argv or [])
    for index, arg in enumerate(argv):
        if arg == "--":
            break
        if arg == "--lang" and index + 1 < len(argv):
            return argv[index + 1]
        if arg.startswith("--lang="):
            return arg.split("=", 1)[1]
    return None


# argparse's own texts (usage, section titles, its error messages), passed through `tr` by
# lab.cli so that `--lang pt` changes them too. Python 3.10-3.13 spell them like this.
ARGPARSE_MESSAGES = (
    N_("usage: "),
    N_("positional arguments"),
    N_("options"),
    N_("optional arguments"),
    N_("show this help message and exit"),
    N_("the following arguments are required: %s"),
    N_("unrecognized arguments: %s"),
    N_("argument %(argument_name)s: %(message)s"),
    N_("invalid choice: %(value)r (choose from %(choices)s)"),
    N_("invalid %(type)s value: %(value)r"),
    N_("expected one argument"),
    N_("expected at least one argument"),
    N_("ignored explicit argument %r"),
    N_("not allowed with argument %s"),
    N_("one of the arguments %s is required"),
    N_("ambiguous option: %(option)s could match %(matches)s"),
)


def extract_python_and_docstring(fileobj, keywords, comment_tags, options):
    """Babel extraction method for scripts/: the module docstring (a script's --help
    description, translated whole by lab.cli) and then every tr()/N_() call, as babel's own
    Python extractor finds them. Named in lab/locale/babel.cfg."""
    import ast

    from babel.messages.extract import extract_python

    source = fileobj.read()
    text = source.decode(options.get("encoding", "utf-8")) if isinstance(source, bytes) else source
    module = ast.parse(text)
    docstring = ast.get_docstring(module, clean=False)
    if docstring:
        yield module.body[0].lineno, None, docstring.strip(), ["the script's --help description"]
    fileobj.seek(0)
    yield from extract_python(fileobj, keywords, comment_tags, options)


def extract_preset_description(fileobj, keywords, comment_tags, options):
    """Babel extraction method for agents/presets/*.yaml: the `description` line, which
    `train.py --list` shows through `tr`. Named in lab/locale/babel.cfg."""
    import yaml

    text = fileobj.read().decode(options.get("encoding", "utf-8"))
    description = str((yaml.safe_load(text) or {}).get("description", "")).strip()
    if description:
        line = next((number for number, row in enumerate(text.splitlines(), 1) if row.startswith("description:")), 1)
        yield line, None, description, ["a preset's line in train.py --list"]
