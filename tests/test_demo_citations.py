"""Every `chNNN.md:LINE` citation in the chapter demos points at a line of the book that says
it: the line exists, and it holds one of the figures or key words written beside the citation
(the quoted Portuguese words when the demo quotes the book). Skipped where the book is absent
(a user's clone has no ../shared/book)."""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
BOOK = REPO.parent / "shared" / "book"
SOURCES = sorted((REPO / "supervised").rglob("*.py"))

#: `ch041.md:54`, `ch043.md:175-178`, and the lines that follow one file: `, :78`, `/:75`, `, 88-91`.
CITATION = re.compile(r"(ch\d{3})\.md:(\d+(?:-\d+)?(?:\s*[,/]\s*:?\d+(?:-\d+)?)*)")
#: Words too common in the demos' English to say which claim a line is about.
COMMON = {"about", "after", "again", "along", "before", "being", "between", "chapter", "could", "every",
          "figure", "first", "their", "there", "these", "those", "three", "where", "which", "while",
          "measured", "other", "under", "quick", "their", "with", "without", "the", "book", "books",
          "says", "said", "gives", "given", "names", "shows", "text", "that", "this", "from", "into",
          "when", "what", "each", "only", "same", "than", "then", "them", "they", "have", "more",
          "most", "over", "also", "does", "done", "were", "will", "used", "uses", "like", "both",
          "less", "much", "some", "such", "very", "well", "here", "once", "line", "lines"}


#: English stems of the demos -> the Portuguese stems the book uses for the same word.
GLOSSARY = {"noise": "ruido", "cosine": "cossen", "zero": "zeros", "hidden": "oculta", "layer": "camada",
            "layers": "camada", "image": "imagem", "images": "imagen", "maximu": "maxima", "words": "palavr",
            "word": "palavr", "senten": "frase", "equati": "equaco", "adapt": "adapta", "french": "frances",
            "englis": "ingles", "halfwa": "meio", "letter": "letra", "target": "alvo", "losses": "perda",
            "loss": "perda", "left": "esquer", "direct": "direci", "initia": "inicia", "accura": "precis",
            "orthog": "ortogo", "figure": "figura", "noisy": "ruido", "right": "direit", "genera": "gerado",
            "approx": "aproxi", "intrac": "intrat", "dynami": "dinami", "differ": "difere"}


def normalise(text: str) -> str:
    """Lower case, accents dropped, digit-group separators removed (23.550 = 23,550 = 23_550)."""
    text = unicodedata.normalize("NFKD", text.lower())
    text = "".join(c for c in text if not unicodedata.combining(c))
    return re.sub(r"(?<=\d)[.,_ ](?=\d)", "", text)


def numbers(text: str) -> set[str]:
    """Figures with separators, leading and trailing zeros dropped: 0.9648 = 96,48%, 2.0 = 2."""
    return {n.strip("0") or "0" for n in re.findall(r"\d+", normalise(text))}


def words(text: str) -> set[str]:
    """Key words, each cut to its first 6 letters: the demos write English, the book Portuguese,
    and the technical words share their stems (permutation/permutação, gradient/gradiente)."""
    found = {w[:6] for w in re.findall(r"[a-z][a-z0-9-]+", normalise(text))
             if (len(w) >= 4 or any(c.isdigit() for c in w)) and w not in COMMON}
    acronyms = {w.lower() for w in re.findall(r"\b[A-Z]{3,}\b", text)}  # PCA, CDF, GRU
    return found | acronyms | {GLOSSARY[w] for w in found if w in GLOSSARY}


def cited_lines(spec: str) -> list[int]:
    """'54' -> [54]; '175-178' -> 175..178; '19-25, :76' -> 19..25 and 76."""
    lines: list[int] = []
    for part in re.split(r"\s*[,/]\s*:?", spec):
        first, _, last = part.partition("-")
        lines += range(int(first), int(last or first) + 1)
    return lines


def citations() -> list[tuple[str, str, list[int], str]]:
    """(where in the demos, chapter file, cited lines, the demo's text around the citation).

    The text around a citation runs from the citation before it to the one after it, over the
    line above and the line below (a docstring's sentence wraps; a constant's quote follows it)."""
    found = []
    for path in SOURCES:
        source = path.read_text(encoding="utf-8").splitlines()
        for index, line in enumerate(source):
            above, below = source[index - 1] if index else "", source[index + 1] if index + 1 < len(source) else ""
            window = f"{above}\n{line}\n{below}"
            # Citations separated only by commas or slashes ("ch086.md:29, ch088.md:20") cite one claim.
            spans: list[list[int]] = []
            for match in CITATION.finditer(window):
                if spans and re.fullmatch(r"[\s,;/]*", window[spans[-1][1]:match.start()]):
                    spans[-1][1] = match.end()
                else:
                    spans.append(list(match.span()))
            offset = len(above) + 1
            for match in CITATION.finditer(line):
                start, end = next((s, e) for s, e in spans if s <= match.start() + offset < e)
                before = max([e for s, e in spans if e <= start], default=0)
                after = min([s for s, e in spans if s >= end], default=len(window))
                context = window[before:start] + " " + window[end:after]
                where = f"{path.relative_to(REPO)}:{index + 1}"
                found.append((where, match.group(1), cited_lines(match.group(2)), context))
    return found


def problem(chapter: str, lines: list[int], context: str) -> str | None:
    """Why a citation misses, or None when the cited lines hold one of its figures or key words."""
    path = BOOK / f"{chapter}.md"
    if not path.exists():
        return f"{chapter}.md does not exist"
    book = path.read_text(encoding="utf-8").splitlines()
    if max(lines) > len(book):
        return f"line {max(lines)} is past the end of {chapter}.md ({len(book)} lines)"
    text = " ".join(book[n - 1] for n in lines)
    if numbers(context) & numbers(text) or words(context) & words(text):
        return None
    if any(book[n - 1].startswith("![") for n in lines) and words(context) & {"figure", "image", "plot", "formul"}:
        return None  # a figure or formula of the book (an image): the text cannot hold what it shows
    return f"{chapter}.md:{lines[0]} holds none of {sorted(numbers(context) | words(context))[:12]}"


@pytest.mark.skipif(not BOOK.is_dir(), reason="the book's text (../shared/book) is not beside this clone")
def test_every_citation_points_at_a_line_that_says_it():
    found = citations()
    assert len(found) > 100  # the scan reads the demos at all
    assert "past the end" in problem("ch041", [181], "a 5 × 5 field")  # what the issue found
    assert problem("ch041", [3], "24 × 24 hidden neurons") and not problem("ch041", [75], "24 × 24 hidden neurons")
    missed = [f"{where}: {reason}" for where, chapter, lines, context in found
              if (reason := problem(chapter, lines, context))]
    assert not missed, "\n".join(missed)


def test_the_scan_sees_every_citation_form():
    assert cited_lines("175-178") == [175, 176, 177, 178]
    assert cited_lines("19-25, :76") == [*range(19, 26), 76]
    assert cited_lines("58, 88-91") == [58, 88, 89, 90, 91]
    assert numbers("23.550 parâmetros") == numbers("23,550 parameters") == {"2355"}
    assert numbers("0.9648") == numbers("96,48%") and "ruido" in words("pure noise")
