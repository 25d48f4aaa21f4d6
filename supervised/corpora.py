"""Small text corpora that ship with Python itself, for the character-level models (chapter 48
onwards: a recurrent net that learns that "q" is followed by "u").

No public-domain book ships in any installed package here (numpy, scipy, scikit-learn, mlxtend,
matplotlib, torch, tensorboard were searched), and demos and tests must not download. So the
corpora come from CPython's standard library, present wherever Python is:

* ``"python-docs"`` - the topics of the Python Language Reference that ``help()`` shows offline
  (module ``pydoc_data.topics``): about 465,000 characters of English technical prose, Python
  Software Foundation licence. In it "q" is followed by "u" 490 times out of 521 (the rest are
  names such as ``__eq__``), which :func:`next_char_counts` measures rather than assumes.
* ``"zen"`` - "The Zen of Python" (module ``this``, stored ROT13-encoded), 19 aphorisms,
  public domain; too small to train on, handy for tests.

``load_corpus(name)`` returns the text; ``CORPORA`` describes each one; ``CharText`` turns a
text into character ids split for training and held out, as the character models of chapters
48-51 (recurrent nets) and 79-80 (GPT) read it.
"""

from __future__ import annotations

import codecs
import collections
import contextlib
import importlib
import io

import torch

from lab.config import ConfigError
from lab.i18n import N_, tr

#: name -> one line saying what the text is and where it comes from (marked for the catalogue:
#: show it through tr()).
CORPORA: dict[str, str] = {
    "python-docs": N_("the Python Language Reference topics shipped with CPython (pydoc_data.topics; "
                      "English prose, PSF licence)"),
    "zen": N_("The Zen of Python by Tim Peters (CPython's `this` module; public domain)"),
}


def load_corpus(name: str = "python-docs") -> str:
    """The text of corpus `name` (see CORPORA); a ConfigError names the valid ones."""
    if name not in CORPORA:
        raise ConfigError(tr("unknown corpus {name}; choose one of: {choices}").format(
            name=repr(name), choices=", ".join(CORPORA)))
    if name == "python-docs":
        topics = importlib.import_module("pydoc_data.topics").topics
        # Sorted keys: the same text, in the same order, on every Python that ships these topics.
        return "\n\n".join(topics[key].strip() for key in sorted(topics))
    # `import this` prints the poem; its module keeps it ROT13-encoded in `this.s`.
    with contextlib.redirect_stdout(io.StringIO()):
        this = importlib.import_module("this")
    return codecs.decode(this.s, "rot13")


def next_char_counts(text: str, char: str) -> collections.Counter:
    """How often each character follows `char` in `text` (e.g. what follows "q")."""
    return collections.Counter(text[i + 1] for i in range(len(text) - 1) if text[i] == char)


class CharText:
    """Characters <-> ids, the text split 90% / 10% into train and held-out parts."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.chars = sorted(set(text))
        self.index = {c: i for i, c in enumerate(self.chars)}
        ids = self.encode(text)
        split = int(0.9 * len(ids))
        self.train, self.held_out = ids[:split], ids[split:]

    def encode(self, text: str) -> torch.Tensor:
        return torch.tensor([self.index[c] for c in text], dtype=torch.long)

    def decode(self, ids) -> str:
        return "".join(self.chars[int(i)] for i in ids)

    def windows(self, part: torch.Tensor, count: int, length: int, generator: torch.Generator
                ) -> tuple[torch.Tensor, torch.Tensor]:
        """`count` random windows of `length` characters from `part` and, for each, the same
        window one character on: (inputs, next characters), both (count, length)."""
        starts = torch.randint(len(part) - length - 1, (count,), generator=generator)
        steps = torch.arange(length)
        return part[starts[:, None] + steps], part[starts[:, None] + steps + 1]
