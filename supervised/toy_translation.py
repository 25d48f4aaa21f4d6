"""A toy English -> French parallel set, made for the demo of chapters 86-90 (not a real corpus).

The book's worked example is "Hello, I love you" -> "Bonjour, je t'aime" (ch086.md:29,
ch090.md:148), and the original Transformer was trained on WMT 2014 English-French (36 million
sentences, ch090.md:70), which is not available offline. This module writes out a small
grammar instead: an optional greeting, a subject pronoun, an object pronoun, one of seven verbs
and an optional time word. French puts the object pronoun *before* the verb and elides it
before a vowel ("je t'aime", "il l'entend"), and the verb agrees with the subject, so the
translator has to reorder words and look back at the subject: the attention maps of the
chapter have something to show.

Everything here is generated, deterministic, and labelled "made for the demo" wherever it is
reported.
"""

from __future__ import annotations

import itertools
import random
from dataclasses import dataclass

#: (English, French) greetings; the empty pair means "no greeting".
GREETINGS = (("", ""), ("hello ,", "bonjour ,"), ("good evening ,", "bonsoir ,"))
#: Subject pronouns: English, French, and the person/number index used to conjugate.
SUBJECTS = (("i", "je", 0), ("you", "tu", 1), ("he", "il", 2), ("she", "elle", 2),
            ("we", "nous", 3), ("they", "ils", 4))
#: Object pronouns: English, French clitic, its elided form before a vowel, and the
#: person it refers to (to skip reflexive sentences such as "I love me").
OBJECTS = (("me", "me", "m'", 0), ("you", "te", "t'", 1), ("him", "le", "l'", 2),
           ("her", "la", "l'", 2), ("us", "nous", "nous", 3), ("them", "les", "les", 4))
#: English verb (base, third person) and its French present tense for je, tu, il/elle,
#: nous, ils.
VERBS = (
    ("love", "loves", ("aime", "aimes", "aime", "aimons", "aiment")),
    ("see", "sees", ("vois", "vois", "voit", "voyons", "voient")),
    ("help", "helps", ("aide", "aides", "aide", "aidons", "aident")),
    ("know", "knows", ("connais", "connais", "connaît", "connaissons", "connaissent")),
    ("hear", "hears", ("entends", "entends", "entend", "entendons", "entendent")),
    ("call", "calls", ("appelle", "appelles", "appelle", "appelons", "appellent")),
    ("watch", "watches", ("regarde", "regardes", "regarde", "regardons", "regardent")),
)
#: Optional time words at the end of the sentence.
ENDINGS = (("", ""), ("today", "aujourd'hui"), ("now", "maintenant"))
#: The subject/verb persons that take the English third-person -s.
THIRD_PERSON_SINGULAR = 2

#: The book's example, held out of training so that translating it is a real test.
BOOK_SOURCE = "hello , i love you"
BOOK_TARGET = "bonjour , je t' aime"

SPECIALS = ("<pad>", "<bos>", "<eos>", "<unk>")
PAD, BOS, EOS, UNK = range(4)


def _french_object(obj: tuple, verb_form: str) -> str:
    full, elided = obj[1], obj[2]
    return elided if verb_form[0] in "aeiouhé" else full


def make_pairs() -> list[tuple[str, str]]:
    """Every sentence of the grammar as (English, French) token strings, words separated
    by spaces and elided pronouns kept as their own token ("t'")."""
    pairs = []
    for greeting, subject, obj, verb, ending in itertools.product(
            GREETINGS, SUBJECTS, OBJECTS, VERBS, ENDINGS):
        if subject[2] == obj[3]:
            continue  # reflexive ("I love me", "je m'aime"): a different construction
        english_verb = verb[1] if subject[2] == THIRD_PERSON_SINGULAR else verb[0]
        french_verb = verb[2][subject[2]]
        english = [greeting[0], subject[0], english_verb, obj[0], ending[0]]
        french = [greeting[1], subject[1], _french_object(obj, french_verb), french_verb,
                  ending[1]]
        pairs.append((" ".join(w for w in english if w), " ".join(w for w in french if w)))
    return pairs


def split_pairs(pairs: list[tuple[str, str]], test_fraction: float, seed: int
                ) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """Shuffle and split; the book's example always lands in the test part."""
    rng = random.Random(seed)
    book = [p for p in pairs if p[0] == BOOK_SOURCE]
    rest = [p for p in pairs if p[0] != BOOK_SOURCE]
    rng.shuffle(rest)
    n_test = max(1, int(round(test_fraction * len(pairs)))) - len(book)
    return rest[n_test:], book + rest[:n_test]


def pretty(tokens: str) -> str:
    """'bonjour , je t' aime' -> "Bonjour, je t'aime"."""
    text = tokens.replace(" ,", ",").replace("' ", "'")
    return text[:1].upper() + text[1:]


@dataclass
class Vocabulary:
    """Word <-> id, with the four special tokens first."""

    words: list[str]

    @classmethod
    def from_texts(cls, texts: list[str]) -> "Vocabulary":
        seen = sorted({word for text in texts for word in text.split()})
        return cls(list(SPECIALS) + seen)

    def __post_init__(self) -> None:
        self.index = {word: i for i, word in enumerate(self.words)}

    def __len__(self) -> int:
        return len(self.words)

    def encode(self, text: str, bos: bool = False, eos: bool = False) -> list[int]:
        ids = [self.index.get(word, UNK) for word in text.split()]
        return ([BOS] if bos else []) + ids + ([EOS] if eos else [])

    def decode(self, ids: list[int]) -> str:
        words = []
        for i in ids:
            if i == EOS:
                break
            if i not in (PAD, BOS):
                words.append(self.words[i])
        return " ".join(words)
