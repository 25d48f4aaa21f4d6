"""Chapters 79-82: GPT, a decoder-only transformer that predicts the next token.

* ch79 - a character-level GPT (nets.build("transformer", mode="decoder", norm="pre",
  positions="learned", tie_embeddings=True)) trained on English text that ships with Python:
  the Python Language Reference topics of CPython's ``pydoc_data`` (supervised/corpora.py;
  no public-domain book ships in an installed package, and demos never download). It uses
  nanoGPT's "baby GPT" settings (4 layers, 4 heads, width 128, context 64, batch 12, 2,000
  iterations), which reach a validation loss of about 1.88 on Tiny Shakespeare - a reference
  on another text, not the book's figure. Reported: validation loss, bits per character,
  samples at three temperatures, and the chapter's point that a language model rates a
  sensible sentence likelier than a nonsensical one (ch079.md:41).
* ch80 - GPT-1's recipe: the pre-trained model fine-tuned on a small labelled task with the
  auxiliary objective L3 = L2 + lambda * L1, lambda = 0.5 (ch080.md:53), against lambda = 0 and
  against the same network trained from scratch. The task (made for the demo): are the words
  of a snippet spelled as in the text, or are their letters shuffled?
* ch81, ch82 - GPT-1, GPT-2 and GPT-3 configurations built on the meta device to count their
  parameters (117M, 1.5B, 175B in the book) with tied output embeddings.
"""

from __future__ import annotations

import math
import random
import time

import numpy as np
import torch
from torch import nn

import nets
from lab.i18n import N_, decimal, number, tr
from lab.plots import new_figure
from nets.transformer import parameter_count
from supervised.corpora import CORPORA, CharText, load_corpus
from supervised.demos import Setting, register
from supervised.demos._training import setting

CORPUS = "python-docs"
NANOGPT_BABY_VAL_LOSS = 1.88  # nanoGPT README, baby GPT on Tiny Shakespeare (characters)
BOOK_LAMBDA = 0.5  # ch080.md:53 "λ foi definido como 0,5"
BOOK_GPT1_PARAMS = 117e6  # ch080.md:86 "O modelo tinha 117M parâmetros no total"
BOOK_GPT2_PARAMS = 1.542e9  # ch079.md:33 "o GPT-2 pesava apenas 1,542 bilhão de parâmetros"
BOOK_GPT3_PARAMS = 175e9  # ch079.md:33, ch082.md:4 "175 bilhões de parâmetros"
#: How close a count must be to the book's to be called a match.
COUNT_TOLERANCE = 0.02
BOOK_GPT2_OVER_GPT1 = 10  # ch081.md:34 "10 vezes mais do que GPT-1"
BOOK_GPT3_OVER_GPT2 = 100  # ch082.md:4 "100 vezes mais parâmetros do que o GPT-2"
#: How close "N times more" must come to N: a round figure in prose, not a count.
TIMES_TOLERANCE = 0.25
BOOK_GPT3_WIDTH_TYPO = 12_888  # ch082.md:38 "aumentado para 12888 no GPT-3"
#: ch081.md:44 "117M (igual ao GPT-1), 345M, 762M e 1.5B": the sizes -> (layers, width) of
#: Radford et al. 2019, Table 2 (heads of 64 each).
GPT2_SIZES = {117e6: (12, 768), 345e6: (24, 1024), 762e6: (36, 1280), 1.5e9: (48, 1600)}
#: Where the reference loss of this demo comes from (the source side of its figure lines).
NANOGPT_SOURCE = N_("nanoGPT README (baby GPT)")
REDUCED = N_("; reduced size under --quick")
#: TensorBoard's tag for the samples (a key, the same in every language).
SAMPLES_TAG = "ch79/samples"
#: The three fine-tuning arms of ch80 as a reader sees them (the keys stay as the code names them).
ARM_NAMES = {"pre-trained, L3 (lambda=0.5)": N_("pre-trained, L3 (lambda=0.5)"),
             "pre-trained, L2 only (lambda=0)": N_("pre-trained, L2 only (lambda=0)"),
             "from scratch, L3 (lambda=0.5)": N_("from scratch, L3 (lambda=0.5)")}

#: The book's configurations (GPT-1: ch080.md:79-86; GPT-2: ch081.md:37-40; GPT-3:
#: ch082.md:37-39). GPT-1's 40,000 BPE merges give 40,478 tokens (Radford et al. 2018's
#: released vocabulary); GPT-2 has 25 heads of 64 (Radford et al. 2019); GPT-3's width is
#: 12,288 (Brown et al. 2020, Table 2.1) - the book's "12888" (ch082.md:38) is a typo.
CONFIGS = {
    "GPT-1": dict(mode="decoder", vocab_size=40_478, d_model=768, n_heads=12, n_layers=12, d_ff=3072,
                  max_len=512, norm="post", positions="learned", tie_embeddings=True),
    "GPT-2": dict(mode="decoder", vocab_size=50_257, d_model=1600, n_heads=25, n_layers=48,
                  max_len=1024, norm="pre", positions="learned", tie_embeddings=True),
    "GPT-3": dict(mode="decoder", vocab_size=50_257, d_model=12_288, n_heads=96, n_layers=96,
                  max_len=2048, norm="pre", positions="learned", tie_embeddings=True),
}


# --- the character-level language model ------------------------------------------------------

def build_gpt(vocab_size: int, layers: int, heads: int, width: int, context: int) -> nn.Module:
    return nets.build("transformer", mode="decoder", vocab_size=vocab_size, d_model=width, n_heads=heads,
                      n_layers=layers, max_len=context, norm="pre", positions="learned",
                      tie_embeddings=True)


@torch.no_grad()
def evaluate_loss(model, corpus: CharText, part: torch.Tensor, context: int, batches: int = 40,
                  batch_size: int = 12, seed: int = 1234) -> float:
    model.eval()
    generator = torch.Generator().manual_seed(seed)
    total = 0.0
    for _ in range(batches):
        x, y = corpus.windows(part, batch_size, context, generator)
        logits = model(x)
        total += float(nn.functional.cross_entropy(logits.reshape(-1, logits.size(-1)), y.reshape(-1)))
    return total / batches


def train_language_model(ctx, corpus: CharText, iterations: int, layers=4, heads=4, width=128,
                         context=64, batch_size=12, lr=1e-3, tag="ch79"):
    """nanoGPT's loop: AdamW, linear warm-up, cosine decay to lr/10, clip 1.0."""
    torch.manual_seed(ctx.seed)
    model = build_gpt(len(corpus.chars), layers, heads, width, context)
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, betas=(0.9, 0.99), weight_decay=0.1)
    warmup = max(1, iterations // 20)

    def rate(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        progress = (step - warmup) / max(1, iterations - warmup)
        return 0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * progress))

    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, rate)
    generator = torch.Generator().manual_seed(ctx.seed)
    curve = []
    every = max(1, iterations // 10)
    for step in range(iterations):
        model.train()
        x, y = corpus.windows(corpus.train, batch_size, context, generator)
        logits = model(x)
        loss = nn.functional.cross_entropy(logits.reshape(-1, logits.size(-1)), y.reshape(-1))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        schedule.step()
        if step % every == 0 or step == iterations - 1:
            validation = evaluate_loss(model, corpus, corpus.held_out, context, batches=10)
            curve.append((step, loss.item(), validation))
            ctx.logger.scalars(step, {f"{tag}/train_loss": loss.item(), f"{tag}/val_loss": validation})
    return model, curve


#: One trained model per (seed, settings) while the process lives, so that `demo.py --all`
#: trains the language model once for chapters 79 and 80.
_CACHE: dict[tuple, tuple] = {}


def pretrained(ctx, iterations: int):
    key = (ctx.seed, iterations)
    if key not in _CACHE:
        corpus = CharText(load_corpus(CORPUS))
        started = time.perf_counter()
        model, curve = train_language_model(ctx, corpus, iterations)
        _CACHE[key] = (corpus, model, curve, time.perf_counter() - started)
    else:
        ctx.say(tr("(re-using the language model trained earlier in this process)"))
    return _CACHE[key]


@torch.no_grad()
def sample(model, corpus: CharText, prompt: str, length: int, temperature: float, seed: int,
           context: int = 64) -> str:
    """Draw characters from softmax(logits / T): T < 1 sharpens, T > 1 flattens."""
    model.eval()
    generator = torch.Generator().manual_seed(seed)
    ids = corpus.encode(prompt)[None]
    for _ in range(length):
        logits = model(ids[:, -context:])[0, -1] / temperature
        next_id = torch.multinomial(torch.softmax(logits, -1), 1, generator=generator)
        ids = torch.cat([ids, next_id[None]], dim=1)
    return corpus.decode(ids[0])


@torch.no_grad()
def log_probability(model, corpus: CharText, text: str) -> float:
    """log P(text[1:] | text[0]) in nats, summed over characters."""
    model.eval()
    ids = corpus.encode(text)[None]
    logits = model(ids[:, :-1])
    return float(-nn.functional.cross_entropy(logits[0], ids[0, 1:], reduction="sum"))


def _known_word_share(text: str, vocabulary: set[str]) -> float:
    words = [w for w in "".join(c if c.isalpha() else " " for c in text).split() if len(w) > 1]
    return sum(w in vocabulary for w in words) / max(1, len(words))


#: The language model's pre-training length, shared by ch79 and ch80 (one model trained once).
PRETRAINING = Setting("iterations", 2000, 300, low=1)


@register("ch79", "Conhecendo o Modelo GPT-3 (Generative Pre-trained Transformer)",
          "Meet GPT-3: a character-level GPT language model, temperature sampling, sentence probability",
          settings=(PRETRAINING,))
def language_model(ctx) -> None:
    iterations = setting(ctx, "iterations")
    corpus, model, curve, seconds = pretrained(ctx, iterations)
    data = tr("{corpus}: {description}; {train:,} train / {validation:,} validation characters, {symbols} symbols").format(
        corpus=CORPUS, description=CORPORA[CORPUS], train=len(corpus.train), validation=len(corpus.held_out),
        symbols=len(corpus.chars))
    ctx.say(tr("data: {source}").format(source=data))
    ctx.say(tr("baby GPT: 4 layers, 4 heads, width 128, context 64, batch 12, {iterations} iterations, "
               "{parameters:,} parameters, trained in {seconds:.0f} s").format(
        iterations=iterations, parameters=nets.count_parameters(model), seconds=seconds))
    validation = evaluate_loss(model, corpus, corpus.held_out, 64, batches=100)
    ctx.report(tr("validation loss after {iterations} iterations (nats per character)").format(iterations=iterations),
               tr("{loss} on Tiny Shakespeare").format(loss=decimal(f"{NANOGPT_BABY_VAL_LOSS}")),
               decimal(f"{validation:.3f}"), data=data, matches=None, source=tr(NANOGPT_SOURCE),
               reason=tr("another text (Tiny Shakespeare is not available offline)")
               + (tr(REDUCED) if ctx.quick else ""))
    ctx.report(tr("bits per character (loss / ln 2)"),
               tr("{loss} on Tiny Shakespeare").format(loss=decimal(f"{NANOGPT_BABY_VAL_LOSS / math.log(2):.2f}")),
               decimal(f"{validation / math.log(2):.3f}"), data=data, matches=None, source=tr(NANOGPT_SOURCE),
               reason=tr("another text"))
    ctx.logger.scalars(iterations, {"ch79/final_val_loss": validation,
                                    "ch79/bits_per_char": validation / math.log(2)})

    vocabulary = set("".join(c if c.isalpha() else " " for c in corpus.text).split())
    prompt = "The "
    shares, samples = {}, {}
    for temperature in (0.5, 1.0, 1.5):
        text = sample(model, corpus, prompt, 300, temperature, ctx.seed)
        samples[temperature] = text
        shares[temperature] = _known_word_share(text[len(prompt):], vocabulary)
        ctx.say(tr("--- sample at temperature {temperature} ({share} of its words are words of the corpus):\n"
                   "{text}\n").format(temperature=decimal(f"{temperature}"), share=f"{100 * shares[temperature]:.0f}%",
                                      text=text))
    ctx.logger.text(SAMPLES_TAG, "\n\n".join(f"T={t}:\n{s}" for t, s in samples.items()))
    ctx.report(tr("share of sampled words found in the corpus at T = {temperatures}").format(
                   temperatures=" / ".join(decimal(f"{t}") for t in shares)), tr("not given"),
               " / ".join(f"{100 * s:.0f}%" for s in shares.values()), data=data, matches=None,
               reason=tr("the book does not sample; lower temperature -> safer, more familiar words"))

    # ch079.md:41: a language model finds "I take my dog for a walk" likelier than "... banana".
    # The corpus is about Python, so the pair is made from its own words.
    sensible, absurd = "This method should return the value.", "This banana should return the value."
    p_sensible, p_absurd = log_probability(model, corpus, sensible), log_probability(model, corpus, absurd)
    ctx.report(tr("log P('{sensible}') vs log P('{absurd}')").format(sensible=sensible, absurd=absurd),
               tr("a language model rates the sensible sentence likelier (ch079.md:41)"),
               tr("{sensible:.1f} vs {absurd:.1f} nats").format(sensible=p_sensible, absurd=p_absurd), data=data,
               matches=p_sensible > p_absurd,
               reason=tr("the nonsensical sentence came out at least as likely"))

    # ch079.md:47 says GPT-3 learns to fill in words removed at random from the words around
    # them: that is BERT's masked LM (ch077-078). A GPT reads the left only: change every
    # character after a position and its prediction there must not move.
    with torch.no_grad():
        ids = corpus.encode(sensible)[None]
        cut = ids.size(1) // 2
        changed = ids.clone()
        changed[0, cut + 1:] = torch.randint(len(corpus.chars), (ids.size(1) - cut - 1,),
                                             generator=torch.Generator().manual_seed(ctx.seed))
        model.eval()
        right_side = float((model(ids)[0, :cut + 1] - model(changed)[0, :cut + 1]).abs().max())
    ctx.report(tr("change of the prediction at a position when every later character is replaced"),
               tr("GPT-3 fills in randomly removed words from the words around them (ch079.md:47)"),
               tr("{change} (the words to the right are never seen)").format(change=decimal(f"{right_side:.1e}")),
               data=data, matches=right_side > 1e-6,
               reason=tr("a GPT predicts the next token from the left alone (Brown et al. 2020); filling in "
                         "removed words from both sides is BERT's masked LM (ch078.md), not GPT-3's objective"))

    steps, train_losses, val_losses = zip(*curve)
    fig, ax = new_figure(figsize=(6.5, 4))
    ax.plot(steps, train_losses, marker=".", label=tr("train batch"))
    ax.plot(steps, val_losses, marker="o", label=tr("validation"))
    ax.axhline(NANOGPT_BABY_VAL_LOSS, color="grey", ls="--", label=tr("nanoGPT baby GPT, Tiny Shakespeare"))
    ax.set(xlabel=tr("iteration (batch 12 x 64 characters)"), ylabel=tr("cross-entropy (nats/char)"),
           title=tr("character-level GPT on {corpus}").format(corpus=CORPUS))
    ax.legend()
    ctx.plot("ch79_learning_curve", fig)

    fig, ax = new_figure(figsize=(11, 5))
    ax.axis("off")
    body = "\n\n".join(f"T = {t}:  " + s.replace("\n", " ")[:170] for t, s in samples.items())
    ax.text(0, 1, body, va="top", family="monospace", fontsize=8, wrap=True)
    ax.set_title(tr("samples from the character-level GPT at three temperatures"))
    ctx.plot("ch79_samples", fig)


# --- ch80: fine-tuning with the auxiliary language-model objective ---------------------------

def spelling_task(text: str, n_examples: int, words: int, seed: int) -> list[tuple[str, int]]:
    """(snippet, label): `words` consecutive words of the text, label 1 as written, label 0
    with the letters inside every word of four or more letters shuffled ("retrun"). Made for
    the demo: telling them apart needs a model of how the language is spelled, which the
    pre-trained model has and a fresh one must learn from the few labelled examples."""
    rng = random.Random(seed)
    tokens = text.split()
    examples = []
    while len(examples) < n_examples:
        start = rng.randrange(len(tokens) - words)
        chunk = tokens[start:start + words]
        long_words = [i for i, w in enumerate(chunk) if len(w) >= 4 and w.isalpha()]
        if len(" ".join(chunk)) > 63 or len(long_words) < 3:
            continue
        label = len(examples) % 2
        if label == 0:
            for i in long_words:
                letters = list(chunk[i])
                while "".join(letters) == chunk[i] and len(set(letters)) > 1:
                    rng.shuffle(letters)
                chunk[i] = "".join(letters)
        examples.append((" ".join(chunk), label))
    return examples


def _task_tensors(corpus: CharText, examples):
    width = max(len(s) for s, _ in examples)
    rows = torch.zeros(len(examples), width, dtype=torch.long)
    lengths = torch.tensor([len(s) for s, _ in examples])
    space = corpus.index[" "]
    for i, (s, _) in enumerate(examples):
        # Left-pad with spaces so that every snippet ends at the last position.
        rows[i] = torch.cat([torch.full((width - len(s),), space), corpus.encode(s)])
    return rows, torch.tensor([label for _, label in examples]), lengths


def fine_tune(ctx, body: nn.Module, corpus, train, test, lam: float, steps: int, lr: float, tag: str):
    """Maximise L3 = L2 + lambda * L1: L2 the label's log-likelihood from a linear layer on the
    last position, L1 the language-model objective on the same snippets (ch080.md:38-53)."""
    torch.manual_seed(ctx.seed)
    classifier = nn.Linear(body.embedding.d_model, 2)
    parameters = list(body.parameters()) + list(classifier.parameters())
    optimizer = torch.optim.AdamW(parameters, lr=lr, weight_decay=0.01)
    x, y, lengths = train
    generator = torch.Generator().manual_seed(ctx.seed)
    curve = []
    for step in range(steps):
        body.train()
        rows = torch.randint(len(x), (32,), generator=generator)
        hidden = body.hidden_states(x[rows])
        l2 = nn.functional.cross_entropy(classifier(_pooled(hidden, lengths[rows])), y[rows])
        logits = body.head(hidden[:, :-1])
        width = x.size(1)
        real = torch.arange(1, width)[None] >= (width - lengths[rows])[:, None]  # skip padding
        l1 = nn.functional.cross_entropy(logits[real], x[rows][:, 1:][real])
        loss = l2 + lam * l1
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        nn.utils.clip_grad_norm_(parameters, 1.0)
        optimizer.step()
        if step % 25 == 0 or step == steps - 1:
            accuracy = _accuracy(body, classifier, test)
            curve.append((step, accuracy))
            ctx.logger.scalars(step, {f"ch80/{tag}/l2": l2.item(), f"ch80/{tag}/l1": l1.item(),
                                      f"ch80/{tag}/test_accuracy": accuracy})
    return _accuracy(body, classifier, test), curve


def _percent(fraction: float) -> str:
    """'61.3%' as the output language writes it."""
    return decimal(f"{100 * fraction:.1f}%")


def _pooled(hidden: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """Mean of the hidden states over the snippet's own (not padded) positions.

    GPT-1 reads one extract token at the end; averaging lets every position's view of "how
    expected was this character" reach the classifier, which learns faster from a few
    hundred examples."""
    width = hidden.size(1)
    real = (torch.arange(width)[None] >= (width - lengths)[:, None]).unsqueeze(-1).float()
    return (hidden * real).sum(1) / real.sum(1)


@torch.no_grad()
def _accuracy(body, classifier, data) -> float:
    body.eval()
    x, y, lengths = data
    return float((classifier(_pooled(body.hidden_states(x), lengths)).argmax(-1) == y).float().mean())


def _times_line(ctx, label: str, book: float, citation: str, ratio: float) -> None:
    """'N times more' judged within +-TIMES_TOLERANCE of N."""
    close = abs(ratio / book - 1) <= TIMES_TOLERANCE
    ctx.report(tr("{label} (within {tolerance} counts as a match)").format(
                   label=label, tolerance=f"{100 * TIMES_TOLERANCE:.0f}%"),
               tr("{times:.0f} times more {citation}").format(times=book, citation=citation),
               decimal(f"{ratio:.1f}x"), matches=close,
               reason="" if close else tr("{gap} from {times:.0f}x").format(gap=f"{100 * (ratio / book - 1):+.0f}%",
                                                                          times=book))


def _count_line(ctx, name: str, book: float, book_text: str) -> int:
    count = parameter_count(**CONFIGS[name])
    ctx.report(tr("{name} parameters ({layers} layers, d={d}, vocabulary {vocabulary:,}, context {context:,}; "
                  "tied output, built on the meta device)").format(
                   name=name, layers=CONFIGS[name]["n_layers"], d=CONFIGS[name]["d_model"],
                   vocabulary=CONFIGS[name]["vocab_size"], context=CONFIGS[name]["max_len"]),
               book_text, number(count / 1e6, 1) + "M",
               matches=abs(count / book - 1) <= COUNT_TOLERANCE,
               reason=tr("{gap} from the book's figure").format(gap=decimal(f"{100 * (count / book - 1):+.1f}%")))
    ctx.logger.scalars(0, {f"params/{name}": count})
    return count


@register("ch80", "Melhorando a Compreensão da Linguagem Por Meio do Pré-treinamento Generativo (GPT-1)",
          "GPT-1: generative pre-training, then fine-tuning with L3 = L2 + 0.5 L1",
          settings=(PRETRAINING, Setting("fine_tune_steps", 150, 30, low=1), Setting("labelled", 256, 128, low=1), Setting("test_snippets", 300, 200, low=1)))
def gpt1_fine_tuning(ctx) -> None:
    _count_line(ctx, "GPT-1", BOOK_GPT1_PARAMS, "117M (ch080.md:86)")
    iterations = setting(ctx, "iterations")
    # Quick: a 300-iteration model barely knows the spelling, so every arm stays near chance
    # whatever the fine-tuning length; 30 steps and 200 test snippets show the loop for a
    # third of the time (the verdicts say the gaps are within the noise).
    steps = setting(ctx, "fine_tune_steps")
    n_train = setting(ctx, "labelled")
    n_test = setting(ctx, "test_snippets")
    corpus, pretrained_model, _, _ = pretrained(ctx, iterations)
    split = int(0.9 * len(corpus.text))
    train_examples = spelling_task(corpus.text[:split], n_train, 8, ctx.seed)
    test_examples = spelling_task(corpus.text[split:], n_test, 8, ctx.seed + 1)
    train, test = _task_tensors(corpus, train_examples), _task_tensors(corpus, test_examples)
    data = tr("spelling task made for the demo from {corpus}: {train} labelled train / {test} test snippets of 8 "
              "words, half with their letters shuffled").format(corpus=CORPUS, train=n_train, test=len(test_examples))
    ctx.say(tr("data: {data}; e.g. {first} / {second}").format(data=data, first=train_examples[0],
                                                                second=train_examples[1]))

    state = {k: v.clone() for k, v in pretrained_model.state_dict().items()}
    results, curves = {}, {}
    for name, lam, from_pretrained in (("pre-trained, L3 (lambda=0.5)", BOOK_LAMBDA, True),
                                       ("pre-trained, L2 only (lambda=0)", 0.0, True),
                                       ("from scratch, L3 (lambda=0.5)", BOOK_LAMBDA, False)):
        torch.manual_seed(ctx.seed + 7)
        body = build_gpt(len(corpus.chars), 4, 4, 128, 64)
        if from_pretrained:
            body.load_state_dict(state)
        tag = name.split(",")[0].replace(" ", "_").replace("-", "") + f"_lambda{lam}"
        results[name], curves[name] = fine_tune(ctx, body, corpus, train, test, lam, steps, 1e-3, tag)
        ctx.say(tr("  {arm}: test accuracy {accuracy}").format(arm=tr(ARM_NAMES[name]), accuracy=_percent(results[name])))
    best_pre = results["pre-trained, L3 (lambda=0.5)"]
    scratch = results["from scratch, L3 (lambda=0.5)"]
    without = results["pre-trained, L2 only (lambda=0)"]
    # Two standard errors of the difference of two accuracies on this test set: smaller
    # gaps are not evidence either way.
    noise = 2 * math.sqrt(2 * 0.25 / len(test_examples))
    # What pre-training alone knows of spelling, no label used: a snippet counts as written as is
    # when its log-probability per character is above the median of the test snippets (half are).
    per_char = np.array([log_probability(pretrained_model, corpus, s) / (len(s) - 1) for s, _ in test_examples])
    labels = np.array([label for _, label in test_examples])
    unsupervised = float(((per_char > np.median(per_char)) == labels).mean())
    knows = unsupervised - 0.5 > 2 * math.sqrt(0.25 / len(test_examples))
    ctx.report(tr("the pre-trained language model alone, no label: snippets above the median log-probability per "
                  "character called 'as written'"), tr("not given"),
               tr("{accuracy} right (a guess: {guess})").format(accuracy=_percent(unsupervised), guess="50%"),
               data=data, matches=None,
               reason=tr("a diagnostic of the lines below: what pre-training knows of spelling before any fine-tuning"))
    why = (tr("; the pre-trained model alone tells them apart {accuracy}, so fine-tuning loses what pre-training knew")
           if knows else tr("; the pre-trained model alone tells them apart {accuracy}, so fine-tuning has nothing to "
                            "inherit: pre-training too short")).format(accuracy=_percent(unsupervised))
    for label, book, first, second in (
            (tr("test accuracy after fine-tuning: pre-trained vs from scratch"),
             tr("pre-training then minimal fine-tuning generalises better (ch080.md:89-92)"), best_pre, scratch),
            (tr("test accuracy with L3 = L2 + {lam} L1 vs L2 alone (both pre-trained)").format(
                lam=decimal(f"{BOOK_LAMBDA}")),
             tr("the auxiliary objective improves generalisation (ch080.md:47)"), best_pre, without)):
        better = first - second > noise
        ctx.report(label, book, tr("{first} vs {second}").format(first=_percent(first), second=_percent(second)),
                   data=data, matches=better,
                   reason="" if better else tr("the gap is under two standard errors ({noise:.1f} points)").format(
                       noise=100 * noise) + why + (tr(REDUCED) if ctx.quick else ""))
    ctx.logger.scalars(steps, {f"ch80/final/{k}": v for k, v in results.items()} | {"ch80/lm_alone": unsupervised})

    fig, ax = new_figure(figsize=(6.5, 4))
    for name, curve in curves.items():
        steps_, accuracies = zip(*curve)
        ax.plot(steps_, [100 * a for a in accuracies], marker=".", label=tr(ARM_NAMES[name]))
    ax.axhline(50, color="grey", ls=":", label=tr("chance"))
    ax.set(xlabel=tr("fine-tuning step (batch 32)"), ylabel=tr("test accuracy (%)"),
           title=tr("GPT-1 fine-tuning: real vs letter-shuffled words"))
    ax.legend(fontsize=8)
    ctx.plot("ch80_fine_tuning", fig)


# --- ch81, ch82: parameter counts ---------------------------------------------------------------

@register("ch81", "Modelos de Linguagem Como Tarefas Não Supervisionadas (GPT-2)",
          "GPT-2: 48 layers, width 1,600, 50,257 tokens, 1,024 context, pre-LayerNorm")
def gpt2(ctx) -> None:
    _count_line(ctx, "GPT-2", BOOK_GPT2_PARAMS, tr("1.542 billion (ch079.md:33); 1.5B (ch081.md:34)"))
    ratio = parameter_count(**CONFIGS["GPT-2"]) / parameter_count(**CONFIGS["GPT-1"])
    _times_line(ctx, tr("GPT-2 / GPT-1 parameters"), BOOK_GPT2_OVER_GPT1, "(ch081.md:34)", ratio)
    # The four sizes of ch081.md:44 from the layers and widths of Radford et al. 2019, Table 2.
    for book, (layers, width) in GPT2_SIZES.items():
        count = parameter_count(**{**CONFIGS["GPT-2"], "n_layers": layers, "d_model": width, "n_heads": width // 64})
        ctx.report(tr("GPT-2 family: {layers} layers, width {width} (Radford et al. 2019, Table 2)").format(
                       layers=layers, width=width),
                   number(round(book / 1e6)) + "M (ch081.md:44)", number(count / 1e6, 1) + "M",
                   matches=abs(count / book - 1) <= COUNT_TOLERANCE,
                   reason=tr("{gap}: the paper's own size names; the released models of these shapes have "
                             "124M/355M/774M/1,558M parameters").format(gap=decimal(f"{100 * (count / book - 1):+.1f}%")))
    with torch.device("meta"):
        model = nets.build("transformer", **CONFIGS["GPT-2"])
    final_norms = sum(isinstance(m, nn.LayerNorm) for m in [model.final_norm])
    ctx.report(tr("pre-LayerNorm: LN at each sub-block's input, plus one after the last block"),
               tr("LN moved to the input of each sub-block and one added at the end (ch081.md:40)"),
               tr("{pre} of {blocks} blocks pre-norm; final LN: {final}").format(
                   pre=sum(b.pre_norm for b in model.blocks), blocks=len(model.blocks),
                   final=tr("True") if final_norms else tr("False")), by_construction=True,
               reason=tr("CONFIGS builds GPT-2 with norm='pre'; reading it back measures nothing"))
    for name in ("GPT-1", "GPT-2"):
        ctx.logger.scalars(0, {f"params/{name}": parameter_count(**CONFIGS[name])})


@register("ch82", "GPT-3 – Características e Limitações", "GPT-3: 96 layers, 96 heads, width 12,288, 175B")
def gpt3(ctx) -> None:
    count = _count_line(ctx, "GPT-3", BOOK_GPT3_PARAMS, tr("175 billion (ch082.md:4)"))
    ratio = count / parameter_count(**CONFIGS["GPT-2"])
    _times_line(ctx, tr("GPT-3 / GPT-2 parameters"), BOOK_GPT3_OVER_GPT2, "(ch082.md:4)", ratio)
    # The book's width, 12888 (ch082.md:38): the head count does not change the count, and
    # 12888 is not a multiple of 96, so it is split over 8 heads here.
    typo = parameter_count(**{**CONFIGS["GPT-3"], "d_model": BOOK_GPT3_WIDTH_TYPO, "n_heads": 8})
    ctx.report(tr("parameters of a GPT-3 with the book's width {width} (96 layers)").format(width=BOOK_GPT3_WIDTH_TYPO),
               tr("175 billion (ch082.md:4)"), number(typo / 1e9, 1) + "B",
               matches=abs(typo / BOOK_GPT3_PARAMS - 1) <= COUNT_TOLERANCE,
               reason=tr("{gap}: 12888 is a typo for 12,288 (Brown et al. 2020), which gives the {count}B above").format(
                   gap=decimal(f"{100 * (typo / BOOK_GPT3_PARAMS - 1):+.1f}%"), count=number(count / 1e9, 1)))
    with torch.device("meta"):
        model = nets.build("transformer", **{**CONFIGS["GPT-3"], "n_layers": 1})
    head_width = model.blocks[0].self_attention.d_head
    ctx.report(tr("width 12,288 split over 96 heads: each head's d_k"), tr("not given"), head_width, matches=None,
               reason=tr("the book gives the width as 12888, a typo for 12,288 (Brown et al. 2020)"))
    gpu_bytes = count * 2
    ctx.say(tr("175B parameters in 16-bit floats: {gigabytes:,.0f} GB - counted on the meta device, "
               "nothing was allocated").format(gigabytes=gpu_bytes / 1e9))
