"""Chapters 85-90: the Transformer of "Attention Is All You Need", piece by piece, on
nets/transformer.py.

* ch86 - positional encoding: the sine/cosine table (plotted); without it self-attention is
  permutation-equivariant (the book: transformers see a *set*), with it the order shows.
* ch87 - keys, values and queries as soft retrieval: dot-product similarity, softmax weights,
  and how a sharper score turns soft attention into picking the single best key.
* ch88 - scaled dot-product attention softmax(Q K^T / sqrt(d_k)) V. The book says d_k is "the
  number of words in a sentence" (ch088.md:59); it is the width of the keys (Vaswani et al.
  2017: d_k = d_model / h). Measured: the spread of q.k grows with the key width and not with
  the sentence length, and dividing by sqrt(d_k) brings it back to 1.
* ch89 - residual connections and layer normalisation: each token normalised over its own
  features, independent of the rest of the batch; the gradient reaching the first layer of a
  deep stack with and without the residual paths.
* ch90 - the whole encoder-decoder with 8 heads, the causal mask and cross-attention, trained
  on a toy English -> French set made for this demo (supervised/toy_translation.py), greedy
  decoding of the book's "Hello, I love you", and the attention maps the book describes; with a
  trained model at hand, also chapter 89's claim that the heads attend differently (against the
  same model untrained) and chapter 90's that the weights change with the input.
"""

from __future__ import annotations

import math
import time

import numpy as np
import torch
from torch import nn

import nets
from lab.config import ConfigError
from lab.i18n import N_, decimal, listed, tr
from lab.plots import new_figure
from nets.transformer import (EncoderBlock, MultiHeadAttention, attention_maps, causal_mask,
                              parameter_count, scaled_dot_product_attention,
                              sinusoidal_positions)
from supervised import toy_translation as toy
from supervised.demos import Setting, register
from supervised.demos._training import setting

BOOK_HEADS = 8  # ch090.md:124 "Cada bloco transformador tem 8 representações contextualizadas"
BOOK_HEADS_DIFFER = N_("each head attends to different parts of the input in its own way")  # ch089.md:64-70
BOOK_DYNAMIC_WEIGHTS = N_("attention weights are computed on the fly: they change with the data")  # ch090.md:145
#: Share of attention weight that must move between two inputs for the maps to count as differing.
DYNAMIC_SHARE = 0.05
BOOK_BLOCKS = 6  # ch090.md:30 (encoder) and ch090.md:61 (decoder) "6 vezes"
BOOK_TRANSLATION = "Bonjour, je t'aime"  # ch090.md:148
BOOK_SOURCE = "Hello, I love you"  # ch086.md:29, ch088.md:20
VASWANI_BASE_PARAMS = 65e6  # Vaswani et al. 2017, Table 3: base model, 65M parameters
VASWANI_VOCAB = 37_000  # Vaswani et al. 2017: shared EN-DE byte-pair vocabulary
#: The book's claim of chapter 89 on layer normalisation, judged twice.
BOOK_PER_WORD = N_("mean and variance computed per word vector (ch089.md:22)")


def _decimals(values, digits: int) -> str:
    """Numbers listed as a reader parses them: '0.20, 0.45' in English, '0,20; 0,45' in Portuguese,
    whose decimal comma would run into the commas between them."""
    return listed(decimal(f"{value:.{digits}f}") for value in values)


# --- ch86: positional encoding ---------------------------------------------------------------

@register("ch86", "Como Funcionam os Transformadores em Processamento de Linguagem Natural – Parte 1",
          "How transformers work, part 1: tokens, embeddings and positional encoding")
def positional_encoding(ctx) -> None:
    d_model, length = 128, 64
    table = sinusoidal_positions(length, d_model)
    ctx.report(tr("positional encoding range (small constants added to the embeddings)"),
               tr("small constants added to each embedding (ch086.md:94)"),
               tr("every entry in [{low:.3f}, {high:.3f}]").format(low=float(table.min()), high=float(table.max())),
               by_construction=True, reason=tr("sines and cosines lie in [-1, 1] whatever the position"))

    # PE(p + k) is a rotation of PE(p) that depends on k alone: each (sin, cos) pair of
    # frequency w turns by the angle w k. Build that rotation from k and compare.
    shift = 5
    frequencies = torch.exp(torch.arange(0, d_model, 2).double() * (-math.log(10000.0) / d_model))
    cos, sin = torch.cos(frequencies * shift), torch.sin(frequencies * shift)
    pe = table.double()
    rotated = torch.empty_like(pe[:length - shift])
    rotated[:, 0::2] = pe[:length - shift, 0::2] * cos + pe[:length - shift, 1::2] * sin
    rotated[:, 1::2] = pe[:length - shift, 1::2] * cos - pe[:length - shift, 0::2] * sin
    error = float((rotated - pe[shift:]).abs().max())
    ctx.report(tr("PE(p+5) = R_5 PE(p), R_5 a rotation built from the offset alone"),
               tr("a linear function of PE(p) for any fixed offset"), tr("max error {error:.1e}").format(error=error),
               matches=error < 1e-5, source=tr("Vaswani et al. 2017, section 3.5"))

    # Without positions self-attention cannot see order (ch086.md:91 "invariantes de
    # permutação"): the sentence read as a set (its outputs pooled) does not change when the
    # words are shuffled; word by word the outputs move with their words (equivariance).
    torch.manual_seed(ctx.seed)
    block = EncoderBlock(d_model, 8, 4 * d_model).eval()
    words = torch.randn(1, 6, d_model)
    order = torch.tensor([3, 0, 5, 1, 4, 2])
    with torch.no_grad():
        positions = sinusoidal_positions(6, d_model)
        pooled_plain = (block(words).mean(1) - block(words[:, order]).mean(1)).abs().max().item()
        pooled_coded = (block(words + positions).mean(1) - block(words[:, order] + positions).mean(1)).abs().max().item()
        plain = (block(words)[:, order] - block(words[:, order])).abs().max().item()
        unmoved = (block(words) - block(words[:, order])).abs().max().item()
    invariant = pooled_plain < 1e-4 and pooled_coded > 1e-2
    ctx.report(tr("self-attention, the sentence as a set (outputs averaged over words): shuffled - original"),
               tr("transformers are permutation invariant without positions (ch086.md:91)"),
               tr("{plain:.1e} (with sinusoidal positions: {coded:.2f})").format(plain=pooled_plain, coded=pooled_coded),
               matches=invariant,
               reason="" if invariant else tr("shuffling changes the pooled output without positions, or not with them"))
    ctx.report(tr("self-attention word by word: output of shuffled words vs the original outputs shuffled alike"),
               tr("invariant (ch086.md:91)"),
               tr("{moved:.1e} (vs the outputs left in place: {unmoved:.2f})").format(moved=plain, unmoved=unmoved),
               matches=False if plain < 1e-4 and unmoved > 1e-2 else None,
               reason=tr("word by word the outputs move with their words: equivariant, not invariant; "
                         "invariance holds for the set of outputs (line above)"))
    ctx.logger.scalars(0, {"ch86/permutation_gap_plain": plain, "ch86/permutation_gap_pooled": pooled_plain,
                           "ch86/permutation_gap_pooled_coded": pooled_coded})

    fig, (ax_map, ax_waves) = new_figure(1, 2, figsize=(12, 4))
    image = ax_map.imshow(table.numpy(), aspect="auto", cmap="RdBu", vmin=-1, vmax=1)
    ax_map.set(xlabel=tr("embedding dimension i"), ylabel=tr("position p"),
               title="PE[p, 2i] = sin(p / 10000^(2i/d)), PE[p, 2i+1] = cos(...)")
    fig.colorbar(image, ax=ax_map)
    for dim in (0, 2, 10, 30, 62):
        ax_waves.plot(table[:, dim].numpy(), label=tr("dimension {index}").format(index=dim))
    ax_waves.set(xlabel=tr("position p"), ylabel="PE", title=tr("each dimension is a wave of its own length"))
    ax_waves.legend(fontsize=8)
    ctx.plot("ch86_positional_encoding", fig)


# --- ch87: keys, values, queries ---------------------------------------------------------------

#: The stored videos' titles (keys) of the book's YouTube example, and the query.
VIDEO_TITLES = (N_("cats playing"), N_("piano lesson"), N_("cat videos compilation"), N_("cooking pasta"),
                N_("guitar solo"))

@register("ch87", "Como Funcionam os Transformadores em Processamento de Linguagem Natural – Parte 2",
          "How transformers work, part 2: keys, values and queries as soft retrieval")
def soft_retrieval(ctx) -> None:
    # The book's YouTube search: a query is compared with the keys (titles) of stored videos
    # and the values (videos) are returned weighted by the match.
    generator = torch.Generator().manual_seed(ctx.seed)
    titles = [tr(title) for title in VIDEO_TITLES]
    keys = nn.functional.normalize(torch.randn(len(titles), 16, generator=generator), dim=-1)
    query = nn.functional.normalize(keys[0] + keys[2] + 0.3 * torch.randn(16, generator=generator), dim=0)
    cosine = keys @ query  # unit vectors: the dot product is the cosine (ch087.md:46-64)
    # The angle measured without the dot product: for unit vectors a, b the chord |a - b| and
    # the sum |a + b| are the legs of a right triangle whose angle at the origin is theta / 2.
    theta = 2 * torch.atan2((keys - query).norm(dim=-1), (keys + query).norm(dim=-1))
    gap = float((cosine - torch.cos(theta)).abs().max())
    ctx.report(tr("dot product of unit vectors vs cos of their angle (angle from |a-b| and |a+b|)"),
               tr("the cosine of the angle (ch087.md:64)"), tr("max difference {difference:.1e}").format(difference=gap),
               matches=gap < 1e-5, reason=tr("the dot product is not the cosine: are the vectors of unit length?"))
    sharpness = [1, 4, 16, 64]
    weights = [torch.softmax(s * cosine, dim=0) for s in sharpness]
    best = int(cosine.argmax())
    ctx.report(tr("weight of the best-matching key as the scores sharpen (x1, x4, x16, x64)"),
               tr("soft retrieval; hard retrieval picks the maximum (ch087.md:25-28)"),
               _decimals((float(w[best]) for w in weights), 2),
               matches=bool(float(weights[-1][best]) > 0.99 and float(weights[0][best]) < 0.5))
    for step, (s, w) in enumerate(zip(sharpness, weights)):
        ctx.logger.scalars(step, {"ch87/best_key_weight": float(w[best]), "ch87/sharpness": s})
    fig, ax = new_figure(figsize=(8, 4))
    width = 0.2
    for i, (s, w) in enumerate(zip(sharpness, weights)):
        ax.bar(np.arange(len(titles)) + (i - 1.5) * width, w.numpy(), width,
               label=tr("softmax({sharpness} x cosine)").format(sharpness=s))
    ax.set_xticks(range(len(titles)), titles, rotation=15)
    ax.set(ylabel=tr("attention weight"), title=tr("query 'funny cat videos': soft retrieval over keys"))
    ax.legend(fontsize=8)
    ctx.plot("ch87_soft_retrieval", fig)


# --- ch88: scaled dot-product attention -----------------------------------------------------

@register("ch88", "Como Funcionam os Transformadores em Processamento de Linguagem Natural – Parte 3",
          "How transformers work, part 3: self-attention and the sqrt(d_k) scale")
def scaled_attention(ctx) -> None:
    generator = torch.Generator().manual_seed(ctx.seed)
    widths, lengths = (8, 64, 512), (4, 64)
    table = {}
    for d_k in widths:
        for length in lengths:
            q = torch.randn(256, length, d_k, generator=generator)
            k = torch.randn(256, length, d_k, generator=generator)
            scores = q @ k.transpose(-2, -1)
            table[(d_k, length)] = (float(scores.var()), float((scores / math.sqrt(d_k)).var()))
    for (d_k, length), (raw, scaled) in table.items():
        ctx.say(tr("  d_k={d_k:4d}, sentence length {length:3d}: var(q.k) = {raw:7.1f}, "
                   "var(q.k / sqrt(d_k)) = {scaled:.2f}").format(d_k=d_k, length=length, raw=raw, scaled=scaled))
        ctx.logger.scalars(d_k, {f"ch88/var_raw_len{length}": raw, f"ch88/var_scaled_len{length}": scaled})
    grows_with_width = all(abs(table[(d, n)][0] / d - 1) < 0.1 for d, n in table)
    flat_in_length = all(abs(table[(d, lengths[0])][0] / table[(d, lengths[1])][0] - 1) < 0.1 for d in widths)
    ctx.report(tr("what d_k is: var(q.k) for key widths 8/64/512 (sentence lengths 4 and 64)"),
               tr("d_k is the number of words in the sentence (ch088.md:59)"),
               tr("var(q.k) = {short} at length 4 and {long} at length 64: it is the key width, not the length").format(
                   short=", ".join(f"{table[(d, 4)][0]:.0f}" for d in widths),
                   long=", ".join(f"{table[(d, 64)][0]:.0f}" for d in widths)),
               matches=False if grows_with_width and flat_in_length else None,
               reason=tr("d_k is the width of the query/key vectors (d_model / heads), as in "
                         "Vaswani et al. 2017; the sentence length does not change the scale"))
    scaled = [table[(d, 64)][1] for d in widths]
    ctx.report(tr("var(q.k / sqrt(d_k)) for d_k = 8, 64, 512"),
               tr("the scale keeps the scores from exploding (ch088.md:44)"),
               _decimals(scaled, 2), matches=all(abs(v - 1) < 0.1 for v in scaled))

    # What the unscaled scores do to softmax: one key takes nearly all the weight.
    peak = {}
    for d_k in widths:
        q = torch.randn(512, 1, d_k, generator=generator)
        k = torch.randn(512, 16, d_k, generator=generator)
        raw = torch.softmax(q @ k.transpose(-2, -1), dim=-1).amax(-1).mean()
        _, weights = scaled_dot_product_attention(q, k, k)
        peak[d_k] = (float(raw), float(weights.amax(-1).mean()))
    ctx.report(tr("mean largest softmax weight over 16 keys, unscaled vs scaled (d_k = 512)"),
               tr("not given"), tr("{unscaled:.2f} vs {scaled:.2f}").format(unscaled=peak[512][0], scaled=peak[512][1]),
               matches=None, reason=tr("the book only describes the scale"))

    # The mask of ch090: zeros and -inf added to the scores (ch090.md:94-97).
    q = torch.randn(1, 5, 8, generator=generator)
    _, weights = scaled_dot_product_attention(q, q, q, causal_mask(5))
    future = float(weights[0].triu(1).abs().max())
    ctx.report(tr("causal mask: largest weight on a later token"), tr("-inf scores become zero weights (ch090.md:97)"),
               decimal(f"{future:.1e}"), matches=future == 0.0)

    fig, (ax_var, ax_peak) = new_figure(1, 2, figsize=(11, 4))
    for length in lengths:
        ax_var.loglog(widths, [table[(d, length)][0] for d in widths], marker="o",
                      label=tr("q.k, length {length}").format(length=length))
        ax_var.loglog(widths, [table[(d, length)][1] for d in widths], marker="s", ls="--",
                      label=tr("q.k / sqrt(d_k), length {length}").format(length=length))
    ax_var.set(xlabel=tr("key width d_k"), ylabel=tr("variance of the score"),
               title=tr("the score grows with d_k, not with length"))
    ax_var.legend(fontsize=8)
    ax_peak.plot(widths, [peak[d][0] for d in widths], marker="o", label=tr("softmax(q.k)"))
    ax_peak.plot(widths, [peak[d][1] for d in widths], marker="s", label=tr("softmax(q.k / sqrt(d_k))"))
    ax_peak.set_xscale("log")
    ax_peak.set(xlabel=tr("key width d_k"), ylabel=tr("mean largest weight (16 keys)"),
                title=tr("without the scale softmax saturates"))
    ax_peak.legend(fontsize=8)
    ctx.plot("ch88_dk_scale", fig)


# --- ch89: residuals and layer norm -----------------------------------------------------------

@register("ch89", "Como Funcionam os Transformadores em Processamento de Linguagem Natural – Parte 4",
          "How transformers work, part 4: residual connections, layer norm, multi-head attention",
          settings=(Setting("depth", 24, 12, low=1),))
def residual_and_norm(ctx) -> None:
    torch.manual_seed(ctx.seed)
    d_model = 64
    block = EncoderBlock(d_model, 8, 4 * d_model).eval()
    sentence = torch.randn(1, 7, d_model) * 3 + 2
    others = torch.randn(5, 7, d_model) * 10
    with torch.no_grad():
        alone = block(sentence)
        in_batch = block(torch.cat([sentence, others]))[:1]
    means, stds = alone.mean(-1), alone.std(-1, unbiased=False)
    ctx.report(tr("after LayerNorm, each word vector: mean and std over its features"), tr(BOOK_PER_WORD),
               tr("|mean| <= {mean:.1e}, std {low:.3f}-{high:.3f}").format(
                   mean=float(means.abs().max()), low=float(stds.min()), high=float(stds.max())),
               by_construction=True, reason=tr("what LayerNorm computes (its scale and shift start at 1 and 0)"))
    # Per word vector, not per batch (as batch normalisation would be): the same sentence
    # must come out the same alone and among others of another scale.
    gap = float((alone - in_batch).abs().max())
    ctx.report(tr("same sentence alone vs in a batch of sentences 3x larger (normalised per word, not per batch)"),
               tr(BOOK_PER_WORD), tr("max difference {difference:.1e}").format(difference=gap),
               matches=gap < 1e-5, reason=tr("the output depends on the other sentences of the batch"))

    # Gradient reaching the input of a deep stack: residual paths vs none (ch090.md:133).
    depth = setting(ctx, "depth")

    def input_gradient(residual: bool) -> float:
        torch.manual_seed(ctx.seed)
        attentions = [MultiHeadAttention(d_model, 8) for _ in range(depth)]
        norms = [nn.LayerNorm(d_model) for _ in range(depth)]
        x = torch.randn(4, 7, d_model, requires_grad=True)
        readout = torch.randn(d_model)  # a fixed linear read-out (a LayerNorm row sums to 0)
        h = x
        for attention, norm in zip(attentions, norms):
            h = norm(h + attention(h)) if residual else norm(attention(h))
        (h[:, -1] @ readout).sum().backward()
        return float(x.grad.norm())

    with_residual, without = input_gradient(True), input_gradient(False)
    ctx.report(tr("gradient norm at the input of {depth} attention layers: with / without residuals").format(depth=depth),
               tr("skip connections give gradients many paths back (ch090.md:133)"),
               tr("{residual:.2e} / {plain:.2e} ({ratio:.1f}x)").format(
                   residual=with_residual, plain=without, ratio=with_residual / without),
               matches=with_residual > without)
    ctx.logger.scalars(depth, {"ch89/input_grad_residual": with_residual, "ch89/input_grad_plain": without})

    heads = block.self_attention.attention_weights
    ctx.report(tr("heads in each multi-head attention layer (from its weights' shape)"),
               f"{BOOK_HEADS} (ch090.md:124)", int(heads.shape[1]), by_construction=True,
               reason=tr("the block is built with {heads} heads; read back, not measured").format(heads=BOOK_HEADS))
    fig, axes = new_figure(1, heads.shape[1], figsize=(2 * heads.shape[1], 2.4))
    for head, ax in enumerate(axes):
        ax.imshow(heads[0, head].numpy(), cmap="viridis", vmin=0)
        ax.set_title(tr("head {index}").format(index=head), fontsize=9)
        ax.set_xticks([]), ax.set_yticks([])
    fig.suptitle(tr("8 heads of an untrained block (trained heads: demo ch90)"), fontsize=10)
    ctx.plot("ch89_heads_untrained", fig)
    ctx.say(tr("  whether training makes the heads attend differently is measured by demo ch90, which trains a model"))


# --- ch90: the encoder-decoder on a toy translation task ----------------------------------

def _pad(rows: list[list[int]]) -> torch.Tensor:
    width = max(len(r) for r in rows)
    return torch.tensor([r + [toy.PAD] * (width - len(r)) for r in rows])


def _tensors(pairs, source_vocab, target_vocab):
    source = _pad([source_vocab.encode(s) for s, _ in pairs])
    target = _pad([target_vocab.encode(t, bos=True, eos=True) for _, t in pairs])
    return source, target


@torch.no_grad()
def greedy_translate(model, source: torch.Tensor, max_len: int = 12) -> torch.Tensor:
    """Decode one token at a time, keeping the most probable (ch090.md:67)."""
    model.eval()
    memory, source_padding = model.encode(source)
    output = torch.full((source.size(0), 1), toy.BOS, dtype=torch.long)
    finished = torch.zeros(source.size(0), dtype=torch.bool)
    for _ in range(max_len):
        logits = model.decode(output, memory, source_padding)[:, -1]
        token = logits.argmax(-1).masked_fill(finished, toy.PAD)
        output = torch.cat([output, token[:, None]], dim=1)
        finished |= token == toy.EOS
        if finished.all():
            break
    return output[:, 1:]


def build_translator(seed: int, source_vocab, target_vocab, d_model: int, n_layers: int) -> nn.Module:
    """The encoder-decoder with BOOK_HEADS heads, as initialised from `seed` (before training)."""
    torch.manual_seed(seed)
    return nets.build("transformer", mode="encoder_decoder", vocab_size=len(source_vocab),
                      target_vocab_size=len(target_vocab), d_model=d_model, n_heads=BOOK_HEADS,
                      n_layers=n_layers, d_ff=2 * d_model, dropout=0.1, max_len=16, pad_id=toy.PAD)


def train_translator(ctx, train_pairs, source_vocab, target_vocab, steps: int, d_model: int,
                     n_layers: int, batch_size: int = 64, lr: float = 2e-3):
    model = build_translator(ctx.seed, source_vocab, target_vocab, d_model, n_layers)
    source, target = _tensors(train_pairs, source_vocab, target_vocab)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr, betas=(0.9, 0.98))
    # Warm-up then inverse square root decay, the schedule of Vaswani et al. (scaled down).
    warmup = max(1, steps // 10)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: min((s + 1) / warmup, math.sqrt(warmup / (s + 1))))
    generator = torch.Generator().manual_seed(ctx.seed)
    losses = []
    for step in range(steps):
        model.train()
        rows = torch.randint(len(source), (batch_size,), generator=generator)
        src, tgt = source[rows], target[rows]
        logits = model(src, tgt[:, :-1])
        loss = nn.functional.cross_entropy(logits.reshape(-1, logits.size(-1)), tgt[:, 1:].reshape(-1),
                                           ignore_index=toy.PAD)
        optimizer.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        schedule.step()
        losses.append(loss.item())
        if step % 25 == 0 or step == steps - 1:
            ctx.logger.scalars(step, {"ch90/train_loss": losses[-1], "ch90/lr": schedule.get_last_lr()[0]})
    return model, losses


def total_variation(p: torch.Tensor, q: torch.Tensor) -> torch.Tensor:
    """Half the L1 distance between attention rows (the share of the weight placed differently),
    averaged over the rows of the last two axes."""
    return 0.5 * (p - q).abs().sum(-1).mean(-1)


@torch.no_grad()
def last_encoder_maps(model: nn.Module, sentences: list[list[int]]) -> list[torch.Tensor]:
    """The (heads, T, T) self-attention weights of the last encoder layer for each sentence,
    encoded one at a time (no padding)."""
    model.eval()
    maps = []
    for sentence in sentences:
        model.encode(torch.tensor([sentence]))
        layers = [name for name in attention_maps(model) if name.startswith("encoder_blocks.")]
        maps.append(attention_maps(model)[layers[-1]][0])
    return maps


def head_disagreement(weights: torch.Tensor) -> float:
    """Mean total variation between the attention of two different heads, (heads, T, T) weights."""
    heads = len(weights)
    return float(np.mean([float(total_variation(weights[a], weights[b]))
                          for a in range(heads) for b in range(a + 1, heads)]))


def _whole_heads(d_model: int) -> None:
    if d_model % BOOK_HEADS:
        raise ConfigError(tr("--set d_model={d_model}: demo ch90 needs a multiple of its {heads} heads").format(
            d_model=d_model, heads=BOOK_HEADS))


@register("ch90", "Como Funcionam os Transformadores em Processamento de Linguagem Natural – Parte 5",
          "How transformers work, part 5: encoder-decoder, masked and cross-attention, translation",
          settings=(Setting("steps", 1500, 300, low=1),
                    Setting("d_model", 64, low=BOOK_HEADS, check=_whole_heads),
                    Setting("layers", 2, low=1)))
def translation(ctx) -> None:
    steps = setting(ctx, "steps")  # quick: 300 steps already translate every held-out pair
    d_model = setting(ctx, "d_model")
    n_layers = setting(ctx, "layers")
    pairs = toy.make_pairs()
    train_pairs, test_pairs = toy.split_pairs(pairs, 0.15, ctx.seed)
    source_vocab = toy.Vocabulary.from_texts([s for s, _ in pairs])
    target_vocab = toy.Vocabulary.from_texts([t for _, t in pairs])
    data = tr("toy EN->FR set made for this demo: {train} train / {test} test sentence pairs, "
              "{source_words}/{target_words} words").format(train=len(train_pairs), test=len(test_pairs),
                                                            source_words=len(source_vocab), target_words=len(target_vocab))
    ctx.say(tr("data: {data}; '{sentence}' is held out of training").format(data=data, sentence=BOOK_SOURCE))

    started = time.perf_counter()
    model, losses = train_translator(ctx, train_pairs, source_vocab, target_vocab, steps, d_model, n_layers)
    ctx.say(tr("trained {steps} steps in {seconds:.1f} s; last loss {loss:.3f}").format(
        steps=steps, seconds=time.perf_counter() - started, loss=losses[-1]))

    source, target = _tensors(test_pairs, source_vocab, target_vocab)
    decoded = greedy_translate(model, source)
    guesses = [target_vocab.decode(row.tolist()) for row in decoded]
    exact = np.mean([g == t for g, (_, t) in zip(guesses, test_pairs)])
    ctx.report(tr("greedy translations of held-out sentences exactly right"), tr("not given"),
               decimal(f"{100 * exact:.1f}%"), data=data, matches=None,
               reason=tr("the book trains on WMT 2014 (ch090.md:70); this is a toy set made for the demo"))
    ctx.logger.scalars(steps, {"ch90/test_exact_match": float(exact)})
    for (english, french), guess in list(zip(test_pairs, guesses))[:6]:
        ctx.say(tr("  {english:36} -> {guess:34} (reference {reference})").format(
            english=repr(english), guess=repr(toy.pretty(guess)), reference=repr(toy.pretty(french))))

    book_row = [i for i, (s, _) in enumerate(test_pairs) if s == toy.BOOK_SOURCE][0]
    translation = toy.pretty(guesses[book_row])
    ctx.report(tr("greedy translation of '{sentence}' (never seen in training)").format(sentence=BOOK_SOURCE),
               BOOK_TRANSLATION,
               translation, data=data, matches=translation == BOOK_TRANSLATION)
    # By keyword: the walk of tests/test_portuguese_everywhere.py reads a text(...) call's first argument as drawn words.
    ctx.logger.text(tag="ch90/translations",
                    text="\n".join(f"{s} -> {toy.pretty(g)}" for (s, _), g in zip(test_pairs, guesses)))

    # Attention on the book's sentence, teacher-forced with the reference French.
    src = torch.tensor([source_vocab.encode(toy.BOOK_SOURCE)])
    tgt = torch.tensor([target_vocab.encode(toy.BOOK_TARGET, bos=True)])
    model.eval()
    with torch.no_grad():
        model(src, tgt)
    maps = attention_maps(model)
    src_words = toy.BOOK_SOURCE.split()
    tgt_words = ["<bos>"] + toy.BOOK_TARGET.split()
    encoder_last = maps[f"encoder_blocks.{n_layers - 1}.self_attention"][0]  # (heads, T, T)
    love, i_word, you, hello = (src_words.index(w) for w in ("love", "i", "you", "hello"))
    row = encoder_last.mean(0)[love]
    ctx.report(tr("encoder self-attention of 'love' (last layer, mean of heads) on I / you / Hello"),
               tr("'love' attends to 'I' and 'you' more than to 'Hello' (ch088.md:20)"),
               tr("{i:.2f} / {you:.2f} / {hello:.2f}").format(i=float(row[i_word]), you=float(row[you]),
                                                             hello=float(row[hello])), data=data,
               matches=bool(row[i_word] > row[hello] and row[you] > row[hello]))
    heads_agreeing = int(((encoder_last[:, love, i_word] > encoder_last[:, love, hello])
                          & (encoder_last[:, love, you] > encoder_last[:, love, hello])).sum())
    ctx.say(tr("  heads of the last encoder layer in which 'love' weighs I and you above Hello: "
               "{agreeing} of {heads}").format(agreeing=heads_agreeing, heads=encoder_last.shape[0]))
    # Row t-1 of a cross-attention map is the query at the input word before the word
    # written at position t.
    for layer in range(n_layers):
        layer_cross = maps[f"decoder_blocks.{layer}.cross_attention"][0].mean(0)  # (T_tgt, T_src)
        looked_at = {word: src_words[int(layer_cross[tgt_words.index(word) - 1].argmax())]
                     for word in ("t'", "aime")}
        aligned = looked_at["t'"] == "you" and looked_at["aime"] == "love"
        ctx.report(tr("cross-attention, decoder layer {layer}: English word looked at most while "
                      "writing t' and aime").format(layer=layer + 1),
                   tr("the encoder-decoder attention relates each English word to the French words (ch090.md:115)"),
                   ", ".join(f"{k} <- {v}" for k, v in looked_at.items()), data=data, matches=aligned,
                   reason="" if aligned else tr("this layer reads another word (a French verb's ending "
                                                "depends on the subject, and the object pronoun comes before the verb)"))
    cross = maps[f"decoder_blocks.{n_layers - 1}.cross_attention"][0].mean(0)
    decoder_self = maps[f"decoder_blocks.{n_layers - 1}.self_attention"][0]
    ctx.report(tr("decoder self-attention on later words (causal mask)"), tr("zero (ch090.md:97)"),
               tr("max {value:.1e}").format(value=float(decoder_self.triu(1).abs().max())),
               matches=float(decoder_self.triu(1).abs().max()) == 0.0)
    ctx.report(tr("heads per attention layer (from the weights' shape)"), BOOK_HEADS,
               int(encoder_last.shape[0]), by_construction=True,
               reason=tr("the model is built with n_heads={heads}; read back, not measured").format(heads=BOOK_HEADS))

    # Multi-head attention: after training, do the heads look at the sentence differently (ch089.md:64-70)?
    sentences = [source_vocab.encode(english) for english, _ in test_pairs]
    trained_maps = last_encoder_maps(model, sentences)
    untrained = build_translator(ctx.seed, source_vocab, target_vocab, d_model, n_layers)
    before = torch.tensor([head_disagreement(m) for m in last_encoder_maps(untrained, sentences)])
    after = torch.tensor([head_disagreement(m) for m in trained_maps])
    gap, noise = float((after - before).mean()), float(2 * (after - before).std() / math.sqrt(len(after)))
    differ = gap > noise
    ctx.report(tr("share of attention placed differently by two heads of the last encoder layer, mean over head pairs "
                  "and {sentences} held-out sentences: trained vs the same model untrained").format(
                   sentences=len(sentences)), tr(BOOK_HEADS_DIFFER),
               tr("{trained:.3f} vs {untrained:.3f} (difference {gap:+.3f} +- {noise:.3f})").format(
                   trained=float(after.mean()), untrained=float(before.mean()), gap=gap, noise=noise),
               data=data, matches=differ,
               reason="" if differ else tr("training did not make the heads differ more than two standard errors"))
    # Weights computed from the data, dynamic (ch090.md:145): two different sentences of one length, one model.
    by_length: dict[int, list[torch.Tensor]] = {}
    for sentence, weights in zip(sentences, trained_maps):
        by_length.setdefault(len(sentence), []).append(weights)
    between = torch.stack([total_variation(group[i], group[i + 1]).mean()
                           for group in by_length.values() for i in range(0, len(group) - 1, 2)])
    spread, spread_noise = float(between.mean()), float(2 * between.std() / math.sqrt(len(between)))
    dynamic = spread - spread_noise > DYNAMIC_SHARE
    ctx.report(tr("share of attention placed differently for two different held-out sentences of the same length "
                  "(last encoder layer, averaged over its heads; {pairs} pairs)").format(pairs=len(between)),
               tr(BOOK_DYNAMIC_WEIGHTS),
               tr("{spread:.3f} +- {noise:.3f} (fixed weights: 0)").format(spread=spread, noise=spread_noise),
               data=data, matches=dynamic,
               reason="" if dynamic else tr("under {share:g} once two standard errors are taken off").format(
                   share=DYNAMIC_SHARE))
    ctx.logger.scalars(steps, {"ch90/head_disagreement_trained": float(after.mean()),
                               "ch90/head_disagreement_untrained": float(before.mean()),
                               "ch90/attention_change_between_sentences": spread})

    base = parameter_count(mode="encoder_decoder", vocab_size=VASWANI_VOCAB, d_model=512, n_heads=BOOK_HEADS,
                           n_layers=BOOK_BLOCKS, d_ff=2048, tie_embeddings=True)
    ctx.report(tr("parameters of the base model ({blocks}+{blocks} blocks, d=512, 8 heads, FF 2048, "
                  "shared 37k vocabulary; built on the meta device)").format(blocks=BOOK_BLOCKS),
               "65M", decimal(f"{base / 1e6:.1f}M"),
               matches=abs(base / VASWANI_BASE_PARAMS - 1) < 0.05, source=tr("Vaswani et al. 2017, Table 3"),
               # the per cent sign stays outside the message: "% c" would read as a %-conversion
               reason=tr("within {tolerance} counts as a match; this module's keys have no bias").format(tolerance="5%"))
    ctx.report(tr("toy model parameters (what was trained here)"), tr("not given"),
               tr("{count:,} ({layers}+{layers} blocks, d={d_model})").format(
                   count=nets.count_parameters(model), layers=n_layers, d_model=d_model), matches=None,
               reason=tr("reduced size: two blocks each side instead of six"))

    _plot_translation(ctx, losses, encoder_last, cross, maps, src_words, tgt_words, n_layers)


def _plot_translation(ctx, losses, encoder_last, cross, maps, src_words, tgt_words, n_layers) -> None:
    fig, ax = new_figure(figsize=(6, 3.5))
    ax.semilogy(losses)
    ax.set(xlabel=tr("step (batch 64)"), ylabel=tr("cross-entropy per French word"),
           title=tr("training the toy translator"))
    ctx.plot("ch90_loss", fig)

    fig, (ax_self, ax_cross) = new_figure(1, 2, figsize=(11, 4.5))
    image = ax_self.imshow(encoder_last.mean(0).numpy(), cmap="viridis", vmin=0)
    ax_self.set_xticks(range(len(src_words)), src_words)
    ax_self.set_yticks(range(len(src_words)), src_words)
    ax_self.set(title=tr("encoder self-attention, layer {layer}, mean of 8 heads").format(layer=n_layers),
                xlabel=tr("key"), ylabel=tr("query"))
    fig.colorbar(image, ax=ax_self)
    # Row t of `cross` is the query at input word t; it produces output word t+1.
    produced = tgt_words[1:] + ["<eos>"]
    image = ax_cross.imshow(cross.numpy(), cmap="magma", vmin=0)
    ax_cross.set_xticks(range(len(src_words)), src_words)
    ax_cross.set_yticks(range(len(produced)), [f"-> {w}" for w in produced])
    ax_cross.set(title=tr("cross-attention while writing each French word"), xlabel=tr("English word"))
    fig.colorbar(image, ax=ax_cross)
    ctx.plot("ch90_attention_maps", fig)

    heads = maps[f"encoder_blocks.{n_layers - 1}.self_attention"][0]
    fig, axes = new_figure(2, 4, figsize=(13, 6.5))
    for head, ax in enumerate(axes.flat):
        ax.imshow(heads[head].numpy(), cmap="viridis", vmin=0, vmax=1)
        ax.set_xticks(range(len(src_words)), src_words, fontsize=7, rotation=45)
        ax.set_yticks(range(len(src_words)), src_words, fontsize=7)
        ax.set_title(tr("head {index}").format(index=head), fontsize=9)
    fig.suptitle(tr("'{sentence}': the 8 heads of encoder layer {layer}").format(sentence=BOOK_SOURCE, layer=n_layers))
    ctx.plot("ch90_encoder_heads", fig)
