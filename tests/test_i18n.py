"""Portuguese output through gettext (lab/i18n.py): the catalogue covers every wrapped string,
its translations keep the placeholders, the compiled .mo is the .po's, the language follows
--lang and the environment, and English stays the default."""

from __future__ import annotations

import gettext
import re
import string
from pathlib import Path

import pytest

from lab import i18n

ROOT = Path(__file__).resolve().parents[1]
CATALOGUE = ROOT / "lab" / "locale" / "pt_BR" / "LC_MESSAGES"
UPDATE_HINT = ("update the catalogue as lab/i18n.py says (pybabel extract / update, translate the new "
               "entries in dlbook.po, pybabel compile)")


@pytest.fixture(autouse=True)
def environment_language():
    """Each test starts following the environment (English under conftest's LANGUAGE=en)."""
    i18n.set_language(None)
    yield
    i18n.set_language(None)


def _po():
    pofile = pytest.importorskip("babel.messages.pofile", reason="babel (dev extra) reads the catalogue")
    with open(CATALOGUE / "dlbook.po", "rb") as handle:
        return pofile.read_po(handle, locale="pt_BR")


def _extracted() -> set[str]:
    """Every msgid the sources hold, extracted as `pybabel extract -F lab/locale/babel.cfg` does."""
    extract = pytest.importorskip("babel.messages.extract", reason="babel (dev extra) extracts the messages")
    from babel.messages.frontend import parse_mapping_cfg

    with open(ROOT / "lab" / "locale" / "babel.cfg") as handle:
        method_map, options_map = parse_mapping_cfg(handle)
    keywords = {"tr": None, "N_": None, "ngettext": (1, 2)}
    found = set()
    for _filename, _line, message, _comments, _context in extract.extract_from_dir(
            str(ROOT), method_map, options_map, keywords=keywords):
        found.add(message if isinstance(message, str) else message[0])
    return found


def _placeholders(text: str) -> tuple[list, list]:
    """The {name} fields and the %-style conversions of a message, sorted."""
    braces = sorted(name for _, name, _, _ in string.Formatter().parse(text) if name is not None)
    percents = sorted(re.findall(r"%\(\w+\)[sdr]|%[sdr%]", text))
    return braces, percents


def test_every_wrapped_string_is_translated_in_the_catalogue():
    catalogue = _po()
    extracted = _extracted()
    assert len(extracted) >= 60, "the extraction found too few messages: is babel.cfg still read?"
    untranslated = sorted(m for m in extracted
                          if catalogue.get(m) is None or not catalogue.get(m).string or catalogue.get(m).fuzzy)
    assert not untranslated, f"{len(untranslated)} messages without a Portuguese translation; {UPDATE_HINT}: " \
                             f"{untranslated[:5]}"


def test_every_catalogue_entry_is_still_used():
    """An entry whose English no source holds any more is a wording that was replaced: it would
    keep an old translation alive that nobody reads (`pybabel update` marks such entries obsolete)."""
    extracted = _extracted()
    unused = sorted(m.id if isinstance(m.id, str) else m.id[0] for m in _po()
                    if m.id and (m.id if isinstance(m.id, str) else m.id[0]) not in extracted)
    assert not unused, f"{len(unused)} catalogue entries no source uses; delete them from dlbook.po: {unused[:5]}"


def test_no_message_is_in_the_catalogue_twice():
    """babel keeps one of two entries with the same msgid without a word, so a merge of two
    appended blocks could silently pick either translation."""
    text = (CATALOGUE / "dlbook.po").read_text(encoding="utf-8")
    ids = ["".join(re.findall(r'"(.*)"', found)) for found in
           re.findall(r'^msgid ((?:".*"\n)+)', text, flags=re.M)]
    repeated = sorted({message for message in ids if message and ids.count(message) > 1})
    assert not repeated, repeated


def test_translations_keep_every_placeholder():
    def forms(text) -> tuple:  # a plural entry holds a tuple: singular and plural, or each form
        return text if isinstance(text, tuple) else (text,)

    wrong = [message.id for message in _po() if message.id and message.string
             and any(_placeholders(forms(message.id)[-1]) != _placeholders(form) for form in forms(message.string))]
    assert not wrong, wrong


def test_the_compiled_catalogue_is_the_po_file():
    translations = gettext.GNUTranslations(open(CATALOGUE / "dlbook.mo", "rb"))
    stale = [message.id for message in _po() if message.id and message.string and (
             translations.ngettext(*message.id, 5) != message.string[-1] if isinstance(message.id, tuple)
             else translations.gettext(message.id) != message.string)]
    assert not stale, f"dlbook.mo is older than dlbook.po ({len(stale)} messages differ); run " \
                      f"pybabel compile -d lab/locale -D dlbook -l pt_BR"


def test_the_package_ships_the_catalogue():
    tomllib = pytest.importorskip("tomllib")
    package_data = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]
    shipped = [pattern for pattern in package_data["lab"] if Path("locale/pt_BR/LC_MESSAGES/dlbook.mo").match(pattern)]
    assert shipped, package_data["lab"]


@pytest.mark.parametrize("environ, expected", [
    ({}, "en"),
    ({"LANG": "pt_BR.UTF-8"}, "pt"),
    ({"LANG": "pt_PT.UTF-8"}, "pt"),
    ({"LANG": "C.UTF-8"}, "en"),
    ({"LC_ALL": "pt_BR.UTF-8", "LANG": "en_US.UTF-8"}, "pt"),
    ({"LANGUAGE": "en", "LANG": "pt_BR.UTF-8"}, "en"),
    ({"LANGUAGE": "pt_BR:en", "LANG": "C"}, "pt"),
    ({"LANGUAGE": "", "LC_MESSAGES": "pt_BR", "LANG": "C"}, "pt"),
])
def test_language_follows_the_environment_as_gettext_reads_it(environ, expected):
    assert i18n.language_from_environment(environ) == expected


def test_set_language_wins_over_the_environment_and_refuses_unknown_languages(monkeypatch):
    monkeypatch.setenv("LANGUAGE", "pt_BR")
    assert i18n.language() == "pt"
    i18n.set_language("en")
    assert i18n.language() == "en" and i18n.tr("match") == "match"
    i18n.set_language("pt")
    assert i18n.tr("match") == "confere"
    with pytest.raises(ValueError, match="fr"):
        i18n.set_language("fr")


@pytest.mark.parametrize("argv, expected", [
    (["ch18", "--lang", "pt"], "pt"), (["--lang=en", "x"], "en"), (["x"], None),
    (["--", "--lang", "pt"], None), (["--lang"], None),
])
def test_requested_language_is_read_off_the_command_line(argv, expected):
    assert i18n.requested_language(argv) == expected


def test_figure_lines_say_their_fixed_words_in_the_chosen_language():
    """...and write a float figure with the language's decimal mark (a string stays as typed)."""
    from supervised.demo_context import Figure

    figure = Figure("cost", 0.479, 0.4797, "exact", False, "rounded differently")
    assert figure.line() == "cost: book: 0.479 | measured: 0.4797 | data: exact  [differs: rounded differently]"
    i18n.set_language("pt")
    assert figure.line() == "cost: livro: 0,479 | medido: 0,4797 | dados: exato  [difere: rounded differently]"
    assert Figure("n", "0.5 V", 0.25, "exact", True).line() == "n: livro: 0.5 V | medido: 0,25 | dados: exato  [confere]"
    assert Figure("n", 1, 1, "exact", True).line().endswith("[confere]")
    assert Figure("n", 1, 2, "other", None, "r", source="Nielsen (online)").line().startswith(
        "n: Nielsen (online): 1 | medido: 2")


def test_config_errors_in_portuguese_name_the_same_key():
    from lab.config import ConfigError, parse_overrides

    with pytest.raises(ConfigError) as english:
        parse_overrides(["agent.lr"])
    i18n.set_language("pt")
    with pytest.raises(ConfigError) as portuguese:
        parse_overrides(["agent.lr"])
    assert str(english.value) == "--set 'agent.lr': expected key=value, e.g. --set agent.lr=0.001"
    assert str(portuguese.value) == "--set 'agent.lr': esperava chave=valor, por exemplo --set agent.lr=0.001"
