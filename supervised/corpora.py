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

``load_corpus(name)`` returns the text; ``CORPORA`` describes each one.
"""

from __future__ import annotations

import codecs
import collections
import contextlib
import importlib
import io

from lab.config import ConfigError

#: name -> one line saying what the text is and where it comes from.
CORPORA: dict[str, str] = {
    "python-docs": "the Python Language Reference topics shipped with CPython (pydoc_data.topics; "
                   "English prose, PSF licence)",
    "zen": "The Zen of Python by Tim Peters (CPython's `this` module; public domain)",
}


def load_corpus(name: str = "python-docs") -> str:
    """The text of corpus `name` (see CORPORA); a ConfigError names the valid ones."""
    if name not in CORPORA:
        raise ConfigError(f"unknown corpus {name!r}; choose one of: {', '.join(CORPORA)}")
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
