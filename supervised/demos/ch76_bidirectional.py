"""Chapter 76: what BERT is - "deeply bidirectional" (ch076.md:43): the meaning of a word is
read from the words on both sides of it (ch076.md:40), so "banco" (a bench in a square or a
bank, ch076.md:46) and "para" can be told apart even when the word that decides comes after
them, which a left-to-right model cannot see. For "para" the book gives one sense only, the
time of "quinze para as seis" (ch076.md:7); the second, a recipient ("quinze para as crianças"),
is this demo's own.

Measured on a toy Portuguese corpus made for this demo (`make_corpus`): short sentences with
"banco" or "para" whose sense is decided either by words after it (the words before it are
drawn from the same neutral list for both senses) or by words before it. The same transformer
encoder (nets/transformer.py, the same weights at the start) is trained to name the sense at
the word itself twice: reading the whole sentence (BERT's encoder) and with the causal mask
(a left-to-right model, GPT's decoder). A third copy with the causal mask reads the sense at
the last word of the sentence instead, after it has seen everything.
"""

from __future__ import annotations

import itertools
import math
import random

import torch
from torch import nn

import nets
from lab.i18n import N_, decimal, tr
from lab.plots import new_figure
from nets.transformer import attention_maps
from supervised.demos import Setting, register
from supervised.demos._training import setting

BOOK_BIDIRECTIONAL = "ch076.md:40"  # "com base no conjunto completo de palavras ... treinamento bidirecional"
BOOK_BANCO = "ch076.md:46"  # "banco" agência bancária vs "local para sentar em uma praça"
BOOK_PARA = "ch076.md:7"  # "quinze para as seis": the time; the recipient sense is the demo's
CHANCE = 0.5  # two senses for each ambiguous word
#: The three readers as a reader of the output sees them (the keys stay as the code names them).
READER_NAMES = {"bidirectional": N_("bidirectional"), "left-to-right": N_("left-to-right"),
                "left-to-right, read at the last word": N_("left-to-right, read at the last word")}
#: The book's claim for the senses decided after the word, in the project's words.
BOOK_BOTH_SIDES = N_("BERT reads the words on both sides; a left-to-right model only those before ({bidirectional}, "
                     "{example})")

PAD = 0
#: The senses: (ambiguous word, sense) -> class index.
SENSES = (("banco", "assento"), ("banco", "instituição"), ("para", "horário"), ("para", "destinatário"))

# --- the toy corpus (made for this demo) ----------------------------------------------------
# Each entry: the words before the ambiguous word, the words after it, by sense. Lists marked
# "neutral" are shared by both senses, so that side of the sentence says nothing of the sense.
_BANCO_NEUTRAL_BEFORE = ("ontem eu vi o", "ela procurou o", "paramos perto do", "todos olharam o",
                         "ele falou do", "a foto mostra o")
_BANCO_DECIDES_AFTER = {
    "assento": ("da praça", "de madeira", "do jardim", "à sombra da árvore", "com o encosto quebrado"),
    "instituição": ("que cobra juros", "com o cofre forte", "onde guardo dinheiro", "que empresta dinheiro",
                    "com o caixa eletrônico"),
}
_BANCO_DECIDES_BEFORE = {
    "assento": ("as crianças sentaram no", "o velho descansou no", "deitei no", "o gato dormiu no"),
    "instituição": ("depositei o salário no", "abri uma conta no", "pedi um empréstimo ao", "o gerente trabalha no"),
}
_BANCO_NEUTRAL_AFTER = ("perto de casa", "hoje cedo", "da esquina", "na semana passada")
_PARA_NEUTRAL_BEFORE = ("ela disse", "ele anotou", "o menino gritou", "ouvi")
_PARA_NUMBERS = ("quinze", "dez", "cinco", "vinte")
_PARA_DECIDES_AFTER = {
    "horário": ("as seis", "as sete", "as oito", "o meio-dia"),
    "destinatário": ("as crianças", "as vizinhas", "o professor", "os alunos"),
}
_TAILS = ("", "ontem", "de novo")


def make_corpus() -> list[dict]:
    """Every sentence of the toy corpus: {words, position (of the ambiguous word), label,
    word, cue ("after" / "before")}."""
    corpus = []

    def add(before: str, word: str, after: str, sense: str, cue: str) -> None:
        words = before.split() + [word] + after.split()
        corpus.append({"words": words, "position": len(before.split()), "label": SENSES.index((word, sense)),
                       "word": word, "cue": cue})

    for sense, cues in _BANCO_DECIDES_AFTER.items():
        for before, cue, tail in itertools.product(_BANCO_NEUTRAL_BEFORE, cues, _TAILS):
            add(before, "banco", f"{cue} {tail}", sense, "after")
    for sense, cues in _BANCO_DECIDES_BEFORE.items():
        for cue, after, tail in itertools.product(cues, _BANCO_NEUTRAL_AFTER, _TAILS):
            add(cue, "banco", f"{after} {tail}", sense, "before")
    for sense, cues in _PARA_DECIDES_AFTER.items():
        for before, number, cue, tail in itertools.product(_PARA_NEUTRAL_BEFORE, _PARA_NUMBERS, cues, _TAILS):
            add(f"{before} {number}", "para", f"{cue} {tail}", sense, "after")
    return corpus


def split(corpus: list[dict], test_share: float, seed: int) -> tuple[list[dict], list[dict]]:
    rows = list(corpus)
    random.Random(seed).shuffle(rows)
    n_test = int(round(test_share * len(rows)))
    return rows[n_test:], rows[:n_test]


def vocabulary(corpus: list[dict]) -> dict[str, int]:
    words = sorted({w for row in corpus for w in row["words"]})
    return {w: i + 1 for i, w in enumerate(words)}  # 0 is padding


def tensors(rows: list[dict], vocab: dict[str, int], read_at: str = "word"
            ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(ids padded on the right, the position the sense is read at, labels). `read_at` "word"
    reads at the ambiguous word, "last" at the last word of the sentence."""
    width = max(len(r["words"]) for r in rows)
    ids = torch.full((len(rows), width), PAD)
    for i, row in enumerate(rows):
        ids[i, :len(row["words"])] = torch.tensor([vocab[w] for w in row["words"]])
    positions = torch.tensor([r["position"] if read_at == "word" else len(r["words"]) - 1 for r in rows])
    return ids, positions, torch.tensor([r["label"] for r in rows])


# --- the two readers: one encoder, with and without the causal mask ---------------------------

def build_pair(vocab_size: int, seed: int, d_model: int = 32, n_layers: int = 2, max_len: int = 16
               ) -> dict[str, nn.Module]:
    """The bidirectional encoder and the same network with the causal mask (mode "decoder" of
    nets/transformer.py runs the same blocks under the causal mask), built from the same seed:
    the same parameters, the same initial weights."""
    options = dict(vocab_size=vocab_size, d_model=d_model, n_heads=4, n_layers=n_layers, d_ff=2 * d_model,
                   max_len=max_len, n_outputs=len(SENSES), pad_id=PAD)
    torch.manual_seed(seed)
    encoder = nets.build("transformer", mode="encoder", output="sequence", **options)
    torch.manual_seed(seed)
    causal = nets.build("transformer", mode="decoder", **options)
    return {"bidirectional": encoder, "left-to-right": causal}


def _scores(model: nn.Module, ids: torch.Tensor, positions: torch.Tensor) -> torch.Tensor:
    return model(ids)[torch.arange(len(ids)), positions]


def train_reader(ctx, model: nn.Module, train: tuple, steps: int, tag: str, batch_size: int = 64,
                 lr: float = 3e-3) -> list[float]:
    ids, positions, labels = train
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    generator = torch.Generator().manual_seed(ctx.seed)
    losses = []
    for step in range(steps):
        model.train()
        rows = torch.randint(len(ids), (batch_size,), generator=generator)
        loss = nn.functional.cross_entropy(_scores(model, ids[rows], positions[rows]), labels[rows])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
        if step % 25 == 0 or step == steps - 1:
            ctx.logger.scalars(step, {f"ch76/{tag}/train_loss": losses[-1]})
    return losses


@torch.no_grad()
def correct(model: nn.Module, data: tuple) -> torch.Tensor:
    """Per sentence: was the sense named right?"""
    model.eval()
    ids, positions, labels = data
    return _scores(model, ids, positions).argmax(-1) == labels


def _accuracy(hits: torch.Tensor, rows: list[dict], **where) -> tuple[float, int]:
    keep = torch.tensor([all(r[k] == v for k, v in where.items()) for r in rows])
    return float(hits[keep].float().mean()), int(keep.sum())


@register("ch76", "O Que é BERT (Bidirectional Encoder Representations from Transformers)?",
          "What BERT is: deeply bidirectional - a word's sense decided by the words after it",
          settings=(Setting("steps", 600, 100, low=1),))
def bidirectional_senses(ctx) -> None:
    steps = setting(ctx, "steps")  # quick: by step 100 the training losses have flattened (seed 0)
    corpus = make_corpus()
    train_rows, test_rows = split(corpus, 0.3, ctx.seed)
    vocab = vocabulary(corpus)
    n_after = sum(r["cue"] == "after" for r in corpus)
    data = tr("toy Portuguese corpus made for this demo: {train} train / {test} test sentences ({after} decided by "
              "words after 'banco'/'para', {before} by words before 'banco'), {words} words").format(
        train=len(train_rows), test=len(test_rows), after=n_after, before=len(corpus) - n_after, words=len(vocab))
    ctx.say(tr("data: {source}").format(source=data))

    readers = build_pair(len(vocab) + 1, ctx.seed)
    readers["left-to-right, read at the last word"] = build_pair(len(vocab) + 1, ctx.seed)["left-to-right"]
    same_start = all(torch.equal(a, b) for a, b in zip(readers["bidirectional"].state_dict().values(),
                                                       readers["left-to-right"].state_dict().values()))
    ctx.say(tr("the two readers: {parameters:,} parameters each, the same initial weights: {same}; only the "
               "attention mask differs").format(parameters=nets.count_parameters(readers["bidirectional"]),
                                                 same=tr("True") if same_start else tr("False")))

    hits, curves = {}, {}
    for name, model in readers.items():
        read_at = "last" if "last" in name else "word"
        curves[name] = train_reader(ctx, model, tensors(train_rows, vocab, read_at), steps,
                                    name.split(",")[0] if read_at == "word" else "causal_last")
        hits[name] = correct(model, tensors(test_rows, vocab, read_at))

    def both(**where) -> tuple[float, float, int]:
        (a, n), (b, _) = (_accuracy(hits[name], test_rows, **where) for name in ("bidirectional", "left-to-right"))
        return a, b, n

    results = {}
    for word, line, what in (("banco", BOOK_BANCO, tr("'banco' (a bench or a bank)")),
                             ("para", BOOK_PARA, tr("'para' (the book's time, 'quinze para as seis', or the demo's "
                                                    "recipient, 'quinze para as crianças')"))):
        bidirectional, causal, n = both(word=word, cue="after")
        results[word] = (bidirectional, causal)
        noise = 2 * math.sqrt(CHANCE * (1 - CHANCE) / n)
        holds = bidirectional >= 0.9 and causal < CHANCE + noise
        ctx.report(tr("sense of {what} decided by the words AFTER it, read at the word ({n} test sentences): "
                      "bidirectional encoder vs the same encoder with a causal mask").format(what=what, n=n),
                   tr(BOOK_BOTH_SIDES).format(bidirectional=BOOK_BIDIRECTIONAL, example=line),
                   tr("{first} vs {second} (chance {chance})").format(
                       first=_percent(bidirectional), second=_percent(causal), chance=f"{100 * CHANCE:.0f}%"),
                   data=data, matches=holds,
                   reason="" if holds else (tr("the encoder names under {least} of the senses").format(least="90%")
                                            if bidirectional < 0.9
                                            else tr("the causal model is more than two standard errors ({noise:.1f} "
                                                    "points) above chance").format(noise=100 * noise)))
    bidirectional, causal, n = both(cue="before")
    holds = bidirectional >= 0.9 and causal >= 0.9
    ctx.report(tr("sense of 'banco' decided by the words BEFORE it ({n} test sentences): bidirectional vs causal").format(
                   n=n),
               tr("a left-to-right model reads the words in order, so it has those before ({citation})").format(
                   citation=BOOK_BIDIRECTIONAL),
               tr("{first} vs {second}").format(first=_percent(bidirectional), second=_percent(causal)), data=data,
               matches=holds,
               reason="" if holds else tr("one of the two names under {least} of the senses it can see").format(
                   least="90%"))
    late, n = _accuracy(hits["left-to-right, read at the last word"], test_rows, cue="after")
    ctx.report(tr("the causal model asked at the LAST word instead, senses decided after the ambiguous word "
                  "({n} test sentences)").format(n=n), tr("not given"), _percent(late), data=data, matches=None,
               reason=tr("the book does not say; once a left-to-right model has read past the deciding word it "
                         "knows the sense, but not at the word itself"))
    ctx.logger.scalars(steps, {"ch76/after_bidirectional_banco": results["banco"][0],
                               "ch76/after_causal_banco": results["banco"][1],
                               "ch76/after_bidirectional_para": results["para"][0],
                               "ch76/after_causal_para": results["para"][1],
                               "ch76/before_bidirectional": bidirectional, "ch76/before_causal": causal,
                               "ch76/after_causal_last_word": late})
    # What a reader that cannot see the deciding words must lose on average: ln 2 on each
    # training sentence decided after the word, nothing on the others.
    floor = math.log(2) * sum(r["cue"] == "after" for r in train_rows) / len(train_rows)
    _plot(ctx, readers, vocab, test_rows, hits, curves, floor)


def _percent(fraction: float) -> str:
    """'93.8%' as the output language writes it."""
    return decimal(f"{100 * fraction:.1f}%")


def _plot(ctx, readers, vocab, test_rows, hits, curves, floor: float) -> None:
    fig, (ax_bars, ax_attention, ax_loss) = new_figure(1, 3, figsize=(16, 4.2),
                                                       gridspec_kw={"width_ratios": [1.1, 1.3, 1]})
    groups = [(tr("'banco',\ncue after"), dict(word="banco", cue="after")),
              (tr("'para',\ncue after"), dict(word="para", cue="after")),
              (tr("'banco',\ncue before"), dict(cue="before"))]
    width = 0.38
    for offset, name in ((-width / 2, "bidirectional"), (width / 2, "left-to-right")):
        values = [100 * _accuracy(hits[name], test_rows, **where)[0] for _, where in groups]
        bars = ax_bars.bar([i + offset for i in range(len(groups))], values, width, label=tr(READER_NAMES[name]))
        ax_bars.bar_label(bars, fmt="%.0f", fontsize=8)
    ax_bars.axhline(100 * CHANCE, color="grey", ls=":", label=tr("chance"))
    ax_bars.set_xticks(range(len(groups)), [g for g, _ in groups])
    ax_bars.set(ylabel=tr("test sentences, sense named right (%)"), ylim=(0, 110),
                title=tr("sense read at the ambiguous word"))
    ax_bars.legend(fontsize=8, loc="lower left")

    # Where the word "banco" looks, in the last layer (mean of the heads), in a test sentence.
    row = next(r for r in test_rows if r["word"] == "banco" and r["cue"] == "after")
    ids = torch.tensor([[vocab[w] for w in row["words"]]])
    positions = range(len(row["words"]))
    for offset, name in ((-width / 2, "bidirectional"), (width / 2, "left-to-right")):
        model = readers[name].eval()
        with torch.no_grad():
            model(ids)
        weights = list(attention_maps(model).values())[-1][0].mean(0)[row["position"]]
        ax_attention.bar([p + offset for p in positions], weights.numpy(), width, label=tr(READER_NAMES[name]))
    ax_attention.set_xticks(list(positions), row["words"], rotation=30, fontsize=8)
    ax_attention.set(ylabel=tr("attention weight"), title=tr("where 'banco' looks (last layer, mean of heads)"))
    ax_attention.legend(fontsize=8)

    for name, losses in curves.items():
        ax_loss.semilogy(losses, label=tr(READER_NAMES[name]), lw=1)
    ax_loss.axhline(floor, color="grey", ls=":", label=tr("ln 2 x share decided after ({floor:.2f})").format(floor=floor))
    ax_loss.set(xlabel=tr("step (batch 64)"), ylabel=tr("cross-entropy (training)"), title=tr("training"))
    ax_loss.legend(fontsize=7, loc="lower left")
    ctx.plot("ch76_bidirectional", fig)
