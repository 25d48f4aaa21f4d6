"""Chapters 76-78: BERT, a transformer encoder pre-trained on unlabelled text, then fine-tuned.

* ch77 - the encoder reads the whole sentence at once ("bidirectional", ch077.md:34): the
  output at the first word changes when the last word changes, while a GPT-style decoder's
  does not. Parameter counts of BERT-base and BERT-large built on the meta device.
* ch78 - pre-training exactly as chapter 78 describes it: 15% of the tokens chosen, of those
  80% replaced by [MASK], 10% by a random word, 10% kept (ch078.md:105); the masked-LM loss on
  the chosen positions only, through the embedding matrix (tied output, ch078.md:11); next
  sentence prediction, 50% true next sentence and 50% a random one (ch078.md:27), with [CLS]
  first, [SEP] after each sentence and a sentence A/B segment embedding (ch078.md:33-36), the
  [CLS] output mapped to 2 scores (ch078.md:51); the two losses added (ch078.md:57). Then a
  classifier on [CLS] (ch078.md:66) is fine-tuned on a small labelled set, against the same
  network trained from scratch on the same labels.

Text: the sentences of the Python Language Reference that CPython ships (supervised/corpora.py),
word-level. The labelled task (made for the demo): which of three parts of the reference a
sentence comes from - string methods and formatting, the debugger, or sequence and mapping
types. The test sentences of that task are kept out of pre-training.
"""

from __future__ import annotations

import math
import random
import re

import numpy as np
import pydoc_data.topics
import torch
from torch import nn

import nets
from lab.i18n import N_, decimal, tr
from lab.plots import new_figure
from nets.transformer import parameter_count
from supervised.demos import Setting, register
from supervised.demos._training import linear_probe, setting

BOOK_CHOSEN = 0.15  # ch078.md:105 "prevendo 15% dos tokens"
BOOK_SPLIT = (0.8, 0.1, 0.1)  # ch078.md:105 "80% ... [MASK], 10% por uma palavra aleatória e 10% ..."
BOOK_IS_NEXT = 0.5  # ch078.md:27 "50% das entradas"
BOOK_BASE_PARAMS = 110e6  # ch078.md:81 "BERT_base ... 110 milhões de parâmetros"
BOOK_LARGE_PARAMS = 345e6  # ch078.md:81 "BERT_large, com 345 milhões de parâmetros"
COUNT_TOLERANCE = 0.02
#: The encoders and the places a linear probe reads, as a reader of the output sees them.
ENCODER_NAMES = {"pre-trained": N_("pre-trained"), "random": N_("random")}
PLACE_NAMES = {"[CLS]": "[CLS]", "mean of the words": N_("mean of the words")}
#: Said of a figure the book gives no number for.
NOT_GIVEN = N_("not given")
NO_ACCURACY = N_("the book gives no accuracy; a toy corpus")
REDUCED = N_("; reduced size under --quick")

SPECIALS = ("[PAD]", "[CLS]", "[SEP]", "[MASK]", "[UNK]")
PAD, CLS, SEP, MASK, UNK = range(len(SPECIALS))
MAX_WORDS = 24  # words kept per sentence

#: The labelled task: class name -> topics of pydoc_data.topics.
CLASSES = {"strings": ("string-methods", "formatstrings", "strings"),
           "debugger": ("debugger",),
           "containers": ("typesmapping", "typesseq", "typesseq-mutable")}

BERT_CONFIGS = {
    # Devlin et al. 2019: WordPiece vocabulary of 30,522, 512 positions, 2 segments.
    "BERT-base": dict(mode="encoder", vocab_size=30_522, d_model=768, n_heads=12, n_layers=12, max_len=512,
                      positions="learned", n_segments=2, output="sequence", tie_embeddings=True),
    "BERT-large": dict(mode="encoder", vocab_size=30_522, d_model=1024, n_heads=16, n_layers=24, max_len=512,
                       positions="learned", n_segments=2, output="sequence", tie_embeddings=True),
}


# --- text -------------------------------------------------------------------------------

def words_of(sentence: str) -> list[str]:
    return re.findall(r"[a-z0-9_]+|[^\sa-z0-9_]", sentence.lower())[:MAX_WORDS]


def documents() -> dict[str, list[list[str]]]:
    """Topic -> its sentences as word lists (sentences of 4 or more words)."""
    result = {}
    for topic, text in pydoc_data.topics.topics.items():
        flat = " ".join(text.split())
        sentences = [words_of(s) for s in re.split(r"(?<=[.!?])\s+(?=[A-Z])", flat)]
        result[topic] = [s for s in sentences if len(s) >= 4]
    return result


class Vocabulary:
    def __init__(self, sentences: list[list[str]], min_count: int = 3) -> None:
        counts: dict[str, int] = {}
        for sentence in sentences:
            for word in sentence:
                counts[word] = counts.get(word, 0) + 1
        self.words = list(SPECIALS) + sorted(w for w, c in counts.items() if c >= min_count)
        self.index = {w: i for i, w in enumerate(self.words)}

    def __len__(self) -> int:
        return len(self.words)

    def encode(self, words: list[str]) -> list[int]:
        return [self.index.get(w, UNK) for w in words]


# --- the two pre-training tasks ------------------------------------------------------------

def mask_tokens(ids: torch.Tensor, vocab_size: int, generator: torch.Generator
                ) -> tuple[torch.Tensor, torch.Tensor]:
    """BERT's masking: choose 15% of the ordinary tokens; of those 80% -> [MASK], 10% -> a
    random word, 10% unchanged. Returns (corrupted ids, targets), targets = -100 (ignored by
    the loss) wherever the token was not chosen."""
    ordinary = ids >= len(SPECIALS)
    chosen = (torch.rand(ids.shape, generator=generator) < BOOK_CHOSEN) & ordinary
    fate = torch.rand(ids.shape, generator=generator)
    to_mask = chosen & (fate < BOOK_SPLIT[0])
    to_random = chosen & (fate >= BOOK_SPLIT[0]) & (fate < BOOK_SPLIT[0] + BOOK_SPLIT[1])
    corrupted = ids.clone()
    corrupted[to_mask] = MASK
    random_words = torch.randint(len(SPECIALS), vocab_size, ids.shape, generator=generator)
    corrupted[to_random] = random_words[to_random]
    targets = torch.where(chosen, ids, torch.full_like(ids, -100))
    return corrupted, targets


def sentence_pairs(sentences_by_doc: list[list[list[int]]], n: int, rng: random.Random):
    """n inputs [CLS] A [SEP] B [SEP] with segment ids and IsNext labels (1 = B follows A)."""
    width = 2 * MAX_WORDS + 3
    ids = torch.full((n, width), PAD)
    segments = torch.zeros((n, width), dtype=torch.long)
    is_next = torch.zeros(n, dtype=torch.long)
    docs = [d for d in sentences_by_doc if len(d) >= 2]
    for row in range(n):
        doc = rng.choice(docs)
        i = rng.randrange(len(doc) - 1)
        first = doc[i]
        if rng.random() < BOOK_IS_NEXT:
            second, is_next[row] = doc[i + 1], 1
        else:
            other = rng.choice(docs)
            second = other[rng.randrange(len(other))]
        tokens = [CLS] + first + [SEP] + second + [SEP]
        ids[row, :len(tokens)] = torch.tensor(tokens)
        segments[row, len(first) + 2:len(tokens)] = 1
    return ids, segments, is_next


class BertForPretraining(nn.Module):
    """The encoder from nets (tied masked-LM output) plus the 2-way next-sentence head."""

    def __init__(self, vocab_size: int, d_model: int, n_heads: int, n_layers: int) -> None:
        super().__init__()
        self.encoder = nets.build("transformer", mode="encoder", vocab_size=vocab_size, d_model=d_model,
                                  n_heads=n_heads, n_layers=n_layers, max_len=2 * MAX_WORDS + 3,
                                  positions="learned", n_segments=2, output="sequence",
                                  tie_embeddings=True, pad_id=PAD, dropout=0.1)
        self.next_sentence = nn.Linear(d_model, 2)

    def forward(self, ids, segments):
        hidden, _ = self.encoder.encode(ids, segments=segments)
        return self.encoder.head(hidden), self.next_sentence(hidden[:, 0]), hidden


def pretrain(ctx, model, docs_ids, steps: int, batch_size: int = 32, lr: float = 5e-4):
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.01)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: min(1.0, (s + 1) / max(1, steps // 10)) * max(0.05, 1 - s / steps))
    rng = random.Random(ctx.seed)
    generator = torch.Generator().manual_seed(ctx.seed)
    curve = []
    for step in range(steps):
        model.train()
        ids, segments, is_next = sentence_pairs(docs_ids, batch_size, rng)
        corrupted, targets = mask_tokens(ids, model.encoder.head.out_features, generator)
        mlm_logits, nsp_logits, _ = model(corrupted, segments)
        mlm = nn.functional.cross_entropy(mlm_logits.reshape(-1, mlm_logits.size(-1)), targets.reshape(-1),
                                          ignore_index=-100)
        nsp = nn.functional.cross_entropy(nsp_logits, is_next)
        loss = mlm + nsp  # the combined loss of the two strategies (ch078.md:57)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        schedule.step()
        if step % max(1, steps // 20) == 0 or step == steps - 1:
            curve.append((step, mlm.item(), nsp.item()))
            ctx.logger.scalars(step, {"ch78/mlm_loss": mlm.item(), "ch78/nsp_loss": nsp.item(),
                                      "ch78/joint_loss": loss.item()})
    return curve


@torch.no_grad()
def evaluate_pretraining(model, docs_ids, seed: int, n: int = 512):
    model.eval()
    rng = random.Random(seed)
    generator = torch.Generator().manual_seed(seed)
    ids, segments, is_next = sentence_pairs(docs_ids, n, rng)
    corrupted, targets = mask_tokens(ids, model.encoder.head.out_features, generator)
    mlm_logits, nsp_logits, _ = model(corrupted, segments)
    chosen = targets != -100
    mlm_accuracy = float((mlm_logits.argmax(-1)[chosen] == targets[chosen]).float().mean())
    nsp_accuracy = float((nsp_logits.argmax(-1) == is_next).float().mean())
    return mlm_accuracy, nsp_accuracy


def _classification_batch(sentences: list[list[int]]) -> tuple[torch.Tensor, torch.Tensor]:
    ids = torch.full((len(sentences), MAX_WORDS + 2), PAD)
    for row, sentence in enumerate(sentences):
        tokens = [CLS] + sentence + [SEP]
        ids[row, :len(tokens)] = torch.tensor(tokens)
    return ids, torch.zeros_like(ids)


def fine_tune(ctx, model: BertForPretraining, train, test, steps: int, tag: str, lr: float = 3e-4,
              eval_every: int = 10):
    """A classifier on the [CLS] output (ch078.md:66); every weight is trained."""
    torch.manual_seed(ctx.seed)
    classifier = nn.Linear(model.next_sentence.in_features, len(CLASSES))
    parameters = list(model.encoder.parameters()) + list(classifier.parameters())
    optimizer = torch.optim.AdamW(parameters, lr=lr, weight_decay=0.01)
    (x, seg), y = train
    generator = torch.Generator().manual_seed(ctx.seed)
    curve = []
    for step in range(steps):
        model.train()
        rows = torch.randint(len(x), (16,), generator=generator)
        _, _, hidden = model(x[rows], seg[rows])
        loss = nn.functional.cross_entropy(classifier(hidden[:, 0]), y[rows])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        if step % eval_every == 0 or step == steps - 1:
            curve.append((step, _accuracy(model, classifier, test)))
            ctx.logger.scalars(step, {f"ch78/fine_tune_{tag}/loss": loss.item(),
                                      f"ch78/fine_tune_{tag}/test_accuracy": curve[-1][1]})
    return curve[-1][1], curve


@torch.no_grad()
def _accuracy(model, classifier, data) -> float:
    model.eval()
    (x, seg), y = data
    _, _, hidden = model(x, seg)
    return float((classifier(hidden[:, 0]).argmax(-1) == y).float().mean())


@torch.no_grad()
def frozen_features(model: BertForPretraining, data) -> dict[str, np.ndarray]:
    """The encoder's outputs with no weight changed: at [CLS] (what the classifier of ch078.md:66
    reads) and averaged over the sentence's words (what the masked-LM task trains)."""
    model.eval()
    x, seg = data
    _, _, hidden = model(x, seg)
    words = ((x != PAD) & (x != CLS) & (x != SEP)).unsqueeze(-1).float()
    return {"[CLS]": hidden[:, 0].numpy(),
            "mean of the words": ((hidden * words).sum(1) / words.sum(1).clamp(min=1)).numpy()}


def _count(ctx, name: str, book: float, line: str) -> None:
    count = parameter_count(**BERT_CONFIGS[name])
    ctx.report(tr("{name} parameters ({layers} layers, d={d}, 30,522 WordPiece vocabulary; built on the meta device, "
                  "no pooler)").format(name=name, layers=BERT_CONFIGS[name]["n_layers"], d=BERT_CONFIGS[name]["d_model"]),
               f"{book / 1e6:.0f}M ({line})", decimal(f"{count / 1e6:.1f}M"),
               matches=abs(count / book - 1) <= COUNT_TOLERANCE,
               reason=tr("{gap}; Devlin et al. 2019 give 340M for BERT-large").format(
                   gap=decimal(f"{100 * (count / book - 1):+.1f}%")))
    ctx.logger.scalars(0, {f"params/{name}": count})


def _percent(fraction: float) -> str:
    """'34.4%' as the output language writes it."""
    return decimal(f"{100 * fraction:.1f}%")


@register("ch77", "Modelo BERT Para Processamento de Linguagem Natural",
          "The BERT model: an encoder that reads the whole sentence at once")
def bidirectional(ctx) -> None:
    torch.manual_seed(ctx.seed)
    options = dict(vocab_size=50, d_model=32, n_heads=4, n_layers=2, output="sequence")
    encoder = nets.build("transformer", mode="encoder", **options).eval()
    decoder = nets.build("transformer", mode="decoder", **{k: v for k, v in options.items() if k != "output"}).eval()
    sentence = torch.randint(5, 50, (1, 8))
    changed = sentence.clone()
    changed[0, -1] = (sentence[0, -1] + 1) % 50
    with torch.no_grad():
        encoder_gap = float((encoder(sentence)[0, 0] - encoder(changed)[0, 0]).abs().max())
        decoder_gap = float((decoder(sentence)[0, 0] - decoder(changed)[0, 0]).abs().max())
    ctx.report(tr("change the last word: change of the output at the first word, encoder (BERT)"),
               tr("the encoder reads the whole sequence at once, left and right context (ch077.md:34)"),
               decimal(f"{encoder_gap:.3f}"), matches=encoder_gap > 1e-3,
               reason=tr("the first word's output moved by no more than 0.001: the last word hardly reached it"))
    ctx.report(tr("the same for a causal decoder (GPT, left-to-right)"),
               tr("a directional model sees only the left (ch077.md:34)"),
               decimal(f"{decoder_gap:.1e}"), matches=decoder_gap == 0.0,
               reason=tr("the first word's output changed with the last word: the causal mask let a later word in"))
    ctx.logger.scalars(0, {"ch77/encoder_first_word_change": encoder_gap,
                           "ch77/decoder_first_word_change": decoder_gap})
    _count(ctx, "BERT-base", BOOK_BASE_PARAMS, "ch078.md:81")
    _count(ctx, "BERT-large", BOOK_LARGE_PARAMS, "ch078.md:81")


@register("ch78", "Modelo BERT – Previsão da Próxima Frase",
          "BERT: masked language model, next sentence prediction, fine-tuning on [CLS]",
          settings=(Setting("steps", 1500, 120, low=1),
                    Setting("layers", 4, 2, low=1),
                    Setting("fine_tune_steps", 150, 80, low=1),
                    Setting("eval_every", 10, 20, low=1),
                    Setting("labelled_per_class", 40, low=1)))
def bert(ctx) -> None:
    # Full size (seed 0): masked-LM 34.4%, next sentence 72.9%; linear probes pre-trained vs random
    # [CLS] 50.0% vs 49.3%, mean of the words 54.9% vs 55.8%; fine-tuned 65.1% vs 61.6% (2 s.e. 6.7).
    # Quick: 120 pre-training steps reach nearly the masked-LM accuracy of 250 (25.7% vs
    # 27.3% at seed 0) for half the time; the test set is scored every 20 steps, not 10.
    steps = setting(ctx, "steps")
    layers = setting(ctx, "layers")
    fine_steps = setting(ctx, "fine_tune_steps")
    eval_every = setting(ctx, "eval_every")
    per_class = setting(ctx, "labelled_per_class")

    docs = documents()
    rng = random.Random(ctx.seed)
    labelled_train, labelled_test = [], []
    for label, (name, topics) in enumerate(CLASSES.items()):
        pool = [s for t in topics for s in docs[t]]
        rng.shuffle(pool)
        labelled_train += [(s, label) for s in pool[:per_class]]
        labelled_test += [(s, label) for s in pool[per_class:]]
    held_out = {tuple(s) for s, _ in labelled_test}
    pretraining_docs = [[s for s in sentences if tuple(s) not in held_out] for sentences in docs.values()]
    vocab = Vocabulary([s for d in pretraining_docs for s in d])
    docs_ids = [[vocab.encode(s) for s in d] for d in pretraining_docs]
    n_sentences = sum(len(d) for d in docs_ids)
    data = tr("sentences of the Python Language Reference shipped with CPython: {sentences:,} for pre-training, "
              "{words:,} words; labelled task made for the demo: {train} train / {test} test sentences, 3 topics").format(
        sentences=n_sentences, words=len(vocab), train=len(labelled_train), test=len(labelled_test))
    ctx.say(tr("data: {source}").format(source=data))

    # The masking proportions, measured on many sentences.
    generator = torch.Generator().manual_seed(ctx.seed)
    ids, _, _ = sentence_pairs(docs_ids, 2000, random.Random(ctx.seed))
    corrupted, targets = mask_tokens(ids, len(vocab), generator)
    ordinary = ids >= len(SPECIALS)
    chosen = targets != -100
    share = float(chosen.sum() / ordinary.sum())
    as_mask = float((corrupted[chosen] == MASK).float().mean())
    unchanged = float((corrupted[chosen] == ids[chosen]).float().mean())
    as_random = 1 - as_mask - unchanged
    # These shares are drawn with the book's rates as the probabilities: they show the sampler
    # does what it is told, not anything about BERT.
    sampled = tr("drawn with the book's rate as the probability; the share restates it")
    ctx.report(tr("share of tokens chosen for prediction"), "15% (ch078.md:105)", _percent(share),
               by_construction=True, reason=sampled)
    ctx.report(tr("chosen tokens: [MASK] / random word / unchanged"), "80% / 10% / 10% (ch078.md:105)",
               " / ".join(_percent(v) for v in (as_mask, as_random, unchanged)),
               by_construction=True, reason=sampled)
    is_next_share = float(sentence_pairs(docs_ids, 2000, random.Random(ctx.seed + 1))[2].float().mean())
    ctx.report(tr("next-sentence pairs that are the true next sentence"), "50% (ch078.md:27)",
               _percent(is_next_share), by_construction=True, reason=sampled)

    torch.manual_seed(ctx.seed)
    model = BertForPretraining(len(vocab), 128, 4, layers)
    before = evaluate_pretraining(model, docs_ids, ctx.seed + 2)
    curve = pretrain(ctx, model, docs_ids, steps)
    mlm_accuracy, nsp_accuracy = evaluate_pretraining(model, docs_ids, ctx.seed + 2)
    ctx.say(tr("pre-trained {steps} steps ({layers} layers, d=128, {parameters:,} parameters)").format(
        steps=steps, layers=layers, parameters=nets.count_parameters(model)))
    ctx.report(tr("masked-LM accuracy on the chosen tokens, before / after pre-training"), tr(NOT_GIVEN),
               f"{_percent(before[0])} / {_percent(mlm_accuracy)}", data=data, matches=None, reason=tr(NO_ACCURACY))
    ctx.report(tr("next-sentence accuracy, before / after pre-training"), tr(NOT_GIVEN),
               f"{_percent(before[1])} / {_percent(nsp_accuracy)}", data=data, matches=None, reason=tr(NO_ACCURACY))

    test_x, test_y = _classification_batch([vocab.encode(s) for s, _ in labelled_test]), \
        torch.tensor([label for _, label in labelled_test])
    train_x, train_y = _classification_batch([vocab.encode(s) for s, _ in labelled_train]), \
        torch.tensor([label for _, label in labelled_train])
    # What pre-training alone gives the task, before fine-tuning changes any weight: a linear probe
    # on the frozen outputs of the pre-trained encoder and of the same encoder at its initial
    # weights (the scratch model below starts from them: same seed).
    torch.manual_seed(ctx.seed)
    scratch = BertForPretraining(len(vocab), 128, 4, layers)
    train_labels, test_labels = train_y.numpy(), test_y.numpy()
    probes = {}
    for encoder_name, encoder in (("pre-trained", model), ("random", scratch)):
        train_features, test_features = frozen_features(encoder, train_x), frozen_features(encoder, test_x)
        for place in train_features:
            predicted = linear_probe(train_features[place], train_labels, test_features[place], ctx.seed,
                                     len(CLASSES))
            probes[encoder_name, place] = float((predicted == test_labels).mean())
    # Two standard errors of the difference of two accuracies near 1/2 on this test set.
    noise = 2 * math.sqrt(2 * 0.25 / len(labelled_test))
    places = ("[CLS]", "mean of the words")
    encoder_knows = {place: probes["pre-trained", place] - probes["random", place] > noise for place in places}
    ctx.report(tr("linear probe on frozen encoder outputs, pre-trained vs random encoder: at [CLS] / mean of the words"),
               tr(NOT_GIVEN),
               " / ".join(tr("{first} vs {second}").format(first=_percent(probes["pre-trained", p]),
                                                           second=_percent(probes["random", p])) for p in places),
               data=data, matches=None,
               reason=tr("a diagnostic of the next line: what pre-training gives the task before fine-tuning "
                         "(chance {chance}, two standard errors {noise:.1f} points)").format(
                   chance=_percent(1 / len(CLASSES)), noise=100 * noise))
    ctx.logger.scalars(steps, {f"ch78/probe_{e}_{p.replace(' ', '_')}": v for (e, p), v in probes.items()})

    pretrained_accuracy, pretrained_curve = fine_tune(ctx, model, (train_x, train_y), (test_x, test_y),
                                                      fine_steps, "pretrained", eval_every=eval_every)
    scratch_accuracy, scratch_curve = fine_tune(ctx, scratch, (train_x, train_y), (test_x, test_y),
                                                fine_steps, "scratch", eval_every=eval_every)
    better = pretrained_accuracy - scratch_accuracy > noise
    if encoder_knows["[CLS]"]:
        why = tr("; the frozen pre-trained [CLS] knew more than a random one, so fine-tuning lost it")
    elif encoder_knows["mean of the words"]:
        why = tr("; the pre-trained encoder knows the topics in its word outputs but not at [CLS] (only the "
                 "next-sentence task trains [CLS]), so the classifier on [CLS] starts from nothing it can use")
    else:
        why = tr("; a linear probe tells the topics apart no better on the frozen pre-trained encoder than on a random"
                 " one, so fine-tuning has nothing to inherit: what this pre-training learns (masked words, next"
                 " sentence) does not separate these topics")
    best_probe = max(probes, key=probes.get)
    if probes[best_probe] - max(pretrained_accuracy, scratch_accuracy) > noise:
        why += tr("; and a linear probe on the {encoder} encoder's {place} ({accuracy}) beats both fine-tuned "
                  "classifiers: {steps} steps on {labels} labels leave the [CLS] classifier short of what the frozen "
                  "features already give").format(
            encoder=tr(ENCODER_NAMES[best_probe[0]]), place=tr(PLACE_NAMES[best_probe[1]]),
            accuracy=_percent(probes[best_probe]), steps=fine_steps, labels=len(labelled_train))
    ctx.report(tr("topic classifier on [CLS] from {labels} labelled sentences: pre-trained vs scratch").format(
                   labels=len(labelled_train)),
               tr("a pre-trained BERT fine-tunes to the task with a small added layer (ch078.md:63-66)"),
               tr("{first} vs {second} test accuracy").format(first=_percent(pretrained_accuracy),
                                                             second=_percent(scratch_accuracy)), data=data,
               matches=better, reason="" if better else tr("gap under two standard errors ({noise:.1f} points)").format(
                   noise=100 * noise) + why + (tr(REDUCED) if ctx.quick else ""))

    fig, (ax_pre, ax_fine) = new_figure(1, 2, figsize=(12, 4))
    steps_, mlm, nsp = zip(*curve)
    ax_pre.plot(steps_, mlm, marker=".", label=tr("masked LM (chosen {share} only)").format(share="15%"))
    ax_pre.plot(steps_, nsp, marker=".", label=tr("next sentence"))
    ax_pre.axhline(math.log(2), color="grey", ls=":", label=tr("NSP at chance (ln 2)"))
    ax_pre.set(xlabel=tr("pre-training step (batch 32 pairs)"), ylabel=tr("cross-entropy"),
               title=tr("BERT pre-training: the joint loss"))
    ax_pre.legend(fontsize=8)
    for name, c in ((tr("pre-trained"), pretrained_curve), (tr("from scratch"), scratch_curve)):
        s, a = zip(*c)
        ax_fine.plot(s, [100 * v for v in a], marker=".", label=name)
    ax_fine.axhline(100 / len(CLASSES), color="grey", ls=":", label=tr("chance"))
    ax_fine.set(xlabel=tr("fine-tuning step (batch 16)"), ylabel=tr("test accuracy (%)"),
                title=tr("fine-tuning a [CLS] classifier on {labels} sentences").format(labels=len(labelled_train)))
    ax_fine.legend(fontsize=8)
    ctx.plot("ch78_bert", fig)
