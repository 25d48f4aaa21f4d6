"""Tests for the transformer-chapter demos 77-90 (BERT, GPT, the Transformer of chapters 85-90):
the pieces compute what the chapters say (masking proportions, next-sentence pairs, parameter
counts against closed-form formulas, the sqrt(d_k) scale), and the fast demos run in quick mode
with every figure judged. The demos that train a model for tens of seconds are marked slow."""

from __future__ import annotations

import math
import random

import pytest
import torch
from demo_checks import one_figure, run_quick

import nets
from nets.transformer import parameter_count
from supervised import demos
from supervised import toy_translation as toy
from supervised.corpora import CharText
from supervised.demos import ch77_bert as bert
from supervised.demos import ch79_gpt as gpt
from supervised.demos import ch85_transformer as tr

TRANSFORMER_DEMOS = ("ch77", "ch78", "ch79", "ch80", "ch81", "ch82", "ch86", "ch87", "ch88", "ch89", "ch90")


def _run(key: str, tmp_path, overrides: list[str] | None = None) -> dict[str, dict]:
    return run_quick(key, tmp_path / key, overrides)


def _plots(tmp_path, key: str) -> set[str]:
    return {p.name for p in (tmp_path / key / "plots").glob("*.png") if p.stat().st_size > 0}


def test_transformer_demos_are_registered_with_both_titles():
    listed = {demo.key: demo for demo in demos.available()}
    for key in TRANSFORMER_DEMOS:
        assert key in listed, key
        assert listed[key].title_pt and listed[key].title_en


# -- parameter counts (ch77, ch81, ch82) against closed-form formulas --------------------------

def _block_parameters(d: int, d_ff: int) -> int:
    """One block of nets/transformer.py: query, value and output projections with biases, the
    key projection without (softmax ignores a key bias), a two-layer feed-forward, two LNs."""
    attention = 4 * d * d + 3 * d
    feed_forward = d * d_ff + d_ff + d_ff * d + d
    return attention + feed_forward + 2 * 2 * d


def test_meta_device_count_equals_the_count_of_a_real_model():
    options = dict(mode="decoder", vocab_size=37, d_model=24, n_heads=4, n_layers=3, max_len=20,
                   norm="pre", positions="learned", tie_embeddings=True)
    assert parameter_count(**options) == nets.count_parameters(nets.build("transformer", **options))


def test_gpt2_count_is_the_released_gpt2_xl_less_the_key_biases():
    config = gpt.CONFIGS["GPT-2"]
    d, layers = config["d_model"], config["n_layers"]
    formula = (config["vocab_size"] * d + config["max_len"] * d + layers * _block_parameters(d, 4 * d)
               + 2 * d)  # tied output; pre-norm adds one final LayerNorm
    assert parameter_count(**config) == formula
    # With a bias on the keys too the formula gives the released GPT-2 XL's 1,557,611,200.
    assert formula + layers * d == 1_557_611_200


def test_bert_base_count_follows_the_formula():
    config = bert.BERT_CONFIGS["BERT-base"]
    d, layers = config["d_model"], config["n_layers"]
    embeddings = (config["vocab_size"] + config["max_len"] + config["n_segments"]) * d
    assert parameter_count(**config) == embeddings + layers * _block_parameters(d, 4 * d)


def test_ch77_bidirectional_encoder_and_model_sizes(tmp_path):
    figures = _run("ch77", tmp_path)
    assert one_figure(figures, "change the last word")["verdict"] == "match"
    assert float(one_figure(figures, "change the last word")["measured"]) > 1e-3
    assert one_figure(figures, "the same for a causal decoder")["verdict"] == "match"
    assert float(one_figure(figures, "the same for a causal decoder")["measured"]) == 0.0
    base = one_figure(figures, "BERT-base parameters")
    assert base["verdict"] == "match" and abs(float(base["measured"].rstrip("M")) / 110 - 1) <= 0.02
    large = one_figure(figures, "BERT-large parameters")
    # 334.1M against the book's 345M is 3.2% off: outside the 2% tolerance, so it must say so.
    assert float(large["measured"].rstrip("M")) == pytest.approx(334.1, abs=0.05)
    assert large["verdict"] == "differs" and "-3.2%" in large["reason"]


def test_ch81_gpt2_size_and_pre_layer_norm(tmp_path):
    figures = _run("ch81", tmp_path)
    size = one_figure(figures, "GPT-2 parameters")
    assert size["verdict"] == "match"
    assert abs(float(size["measured"].rstrip("M").replace(",", "")) / 1542 - 1) <= gpt.COUNT_TOLERANCE
    ratio = one_figure(figures, "GPT-2 / GPT-1")
    # The book's "10 times" judged within 25%: the counts give 13.4x (the book's own 1.5B / 117M: 12.8x).
    assert ratio["verdict"] == "differs" and 12.5 <= float(ratio["measured"].rstrip("x")) < 14
    family = [f for label, f in figures.items() if label.startswith("GPT-2 family")]
    assert [f["book"] for f in family] == [f"{n} (ch081.md:44)" for n in ("117M", "345M", "762M", "1,500M")]
    assert [f["verdict"] for f in family] == ["differs", "differs", "match", "differs"]
    assert one_figure(figures, "pre-LayerNorm")["verdict"] == "by construction"
    assert one_figure(figures, "pre-LayerNorm")["measured"].startswith("48 of 48 blocks pre-norm")


def test_ch82_gpt3_size_counted_without_allocating(tmp_path):
    figures = _run("ch82", tmp_path)
    size = one_figure(figures, "GPT-3 parameters")
    assert size["verdict"] == "match"
    assert abs(float(size["measured"].rstrip("M").replace(",", "")) / 175_000 - 1) <= gpt.COUNT_TOLERANCE
    assert one_figure(figures, "GPT-3 / GPT-2")["verdict"] == "match"  # 112x, within 25% of 100
    typo = one_figure(figures, "parameters of a GPT-3 with the book's width 12888")
    assert typo["verdict"] == "differs" and 190 < float(typo["measured"].rstrip("B")) < 194
    head = one_figure(figures, "width 12,288 split over 96 heads")
    assert head["measured"] == 128 and head["verdict"] == "not comparable" and "12888" in head["reason"]


# -- ch78: BERT's masking and next-sentence pairs --------------------------------------------------

def test_masking_chooses_15_percent_of_ordinary_tokens_and_splits_them_80_10_10():
    generator = torch.Generator().manual_seed(0)
    vocab_size = 500
    ids = torch.randint(len(bert.SPECIALS), vocab_size, (400, 50), generator=generator)
    ids[:, 0], ids[:, -1] = bert.CLS, bert.SEP  # specials are never chosen
    ids[:, 40:49] = bert.PAD
    corrupted, targets = bert.mask_tokens(ids, vocab_size, generator)
    ordinary = ids >= len(bert.SPECIALS)
    chosen = targets != -100
    assert not (chosen & ~ordinary).any()
    assert torch.equal(targets[chosen], ids[chosen])
    assert torch.equal(corrupted[~chosen], ids[~chosen])  # nothing else is touched
    assert abs(float(chosen.sum() / ordinary.sum()) - 0.15) < 0.01
    as_mask = float((corrupted[chosen] == bert.MASK).float().mean())
    unchanged = float((corrupted[chosen] == ids[chosen]).float().mean())
    assert abs(as_mask - 0.8) < 0.02 and abs(unchanged - 0.1) < 0.02
    random_words = corrupted[chosen & (corrupted != bert.MASK) & (corrupted != ids)]
    assert abs(len(random_words) / int(chosen.sum()) - 0.1) < 0.02
    assert (random_words >= len(bert.SPECIALS)).all()  # a random *word*, never a special token


def test_sentence_pairs_have_cls_sep_segments_and_half_true_next_sentences():
    docs = [[[10 + 100 * d + 10 * s + w for w in range(3 + s % 2)] for s in range(6)] for d in range(20)]
    ids, segments, is_next = bert.sentence_pairs(docs, 600, random.Random(0))
    assert abs(float(is_next.float().mean()) - 0.5) < 0.06
    for row in range(20):
        tokens = ids[row][ids[row] != bert.PAD].tolist()
        assert tokens[0] == bert.CLS and tokens[-1] == bert.SEP and tokens.count(bert.SEP) == 2
        middle = tokens.index(bert.SEP)
        first, second = tokens[1:middle], tokens[middle + 1:-1]
        seg = segments[row][: len(tokens)].tolist()
        assert seg == [0] * (middle + 1) + [1] * (len(second) + 1)
        doc, sentence = (first[0] - 10) // 100, (first[0] - 10) % 100 // 10
        if is_next[row]:
            assert second == docs[doc][sentence + 1]


def test_frozen_features_average_only_the_words_and_change_no_weight():
    torch.manual_seed(0)
    model = bert.BertForPretraining(vocab_size=30, d_model=16, n_heads=2, n_layers=1)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    x, seg = bert._classification_batch([[7, 8, 9], [7, 8, 9, 10, 11]])
    features = bert.frozen_features(model, (x, seg))
    _, _, hidden = model(x, seg)
    assert torch.allclose(torch.from_numpy(features["[CLS]"]), hidden[:, 0])
    # Row 0: [CLS] 7 8 9 [SEP] then padding; its mean is over positions 1-3 only.
    assert torch.allclose(torch.from_numpy(features["mean of the words"][0]), hidden[0, 1:4].mean(0), atol=1e-6)
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())


# -- ch79-80: the character GPT's pieces ----------------------------------------------------------

def test_char_text_round_trips_and_splits_90_10():
    corpus = CharText("hello world, the transformer reads text. " * 20)
    assert corpus.decode(corpus.encode("the world")) == "the world"
    assert len(corpus.train) == int(0.9 * len(corpus.text))
    x, y = corpus.windows(corpus.train, 4, 8, torch.Generator().manual_seed(0))
    assert x.shape == y.shape == (4, 8) and torch.equal(x[:, 1:], y[:, :-1])


def test_spelling_task_shuffles_letters_inside_long_words_of_every_other_snippet():
    text = " ".join(["return the value of every object given here as input"] * 40)
    examples = gpt.spelling_task(text, 20, 8, seed=0)
    assert [label for _, label in examples] == [0, 1] * 10
    originals = set(text.split())
    for snippet, label in examples:
        words = snippet.split()
        if label == 1:
            assert all(w in originals for w in words)
        else:
            shuffled = [w for w in words if w not in originals]
            assert len(shuffled) >= 3
            assert all(any(sorted(w) == sorted(o) for o in originals) for w in shuffled)


def test_pooling_ignores_the_left_padding():
    hidden = torch.arange(2 * 4 * 3, dtype=torch.float).reshape(2, 4, 3)
    pooled = gpt._pooled(hidden, torch.tensor([2, 4]))
    assert torch.allclose(pooled[0], hidden[0, 2:].mean(0))
    assert torch.allclose(pooled[1], hidden[1].mean(0))


def test_temperature_sampling_is_seeded_and_low_temperature_repeats_the_likeliest():
    torch.manual_seed(0)
    corpus = CharText("abcabcabcabc" * 10)
    model = gpt.build_gpt(len(corpus.chars), 1, 2, 16, 16)
    first = gpt.sample(model, corpus, "ab", 20, 1.0, seed=3, context=16)
    assert first == gpt.sample(model, corpus, "ab", 20, 1.0, seed=3, context=16)
    cold = [gpt.sample(model, corpus, "ab", 10, 0.01, seed=s, context=16) for s in range(3)]
    assert len(set(cold)) == 1  # T -> 0 is greedy decoding, whatever the seed


# -- ch90's toy data ------------------------------------------------------------------------------

def test_the_books_sentence_is_held_out_of_the_toy_training_set():
    pairs = toy.make_pairs()
    train, test = toy.split_pairs(pairs, 0.15, seed=0)
    assert (toy.BOOK_SOURCE, toy.BOOK_TARGET) in test
    assert all(source != toy.BOOK_SOURCE for source, _ in train)
    assert len(train) + len(test) == len(pairs) and not set(train) & set(test)
    assert toy.pretty(toy.BOOK_TARGET) == "Bonjour, je t'aime"


# -- ch86-89: the Transformer's pieces, as demos -----------------------------------------------------

def test_ch86_positional_encoding(tmp_path):
    figures = _run("ch86", tmp_path)
    assert one_figure(figures, "positional encoding range")["verdict"] == "by construction"
    pooled = one_figure(figures, "self-attention, the sentence as a set")
    plain, coded = pooled["measured"].split(" (with sinusoidal positions: ")
    assert pooled["verdict"] == "match" and float(plain) < 1e-4 and float(coded.rstrip(")")) > 1e-2
    # Word by word the book's "invariant" is wrong: the outputs move with their words.
    assert one_figure(figures, "self-attention word by word")["verdict"] == "differs"
    assert "ch86_positional_encoding.png" in _plots(tmp_path, "ch86")


def test_ch87_soft_retrieval_sharpens_into_hard_retrieval(tmp_path):
    figures = _run("ch87", tmp_path)
    weights = [float(w) for w in one_figure(figures, "weight of the best-matching key")["measured"].split(",")]
    assert weights == sorted(weights) and weights[0] < 0.5 and weights[-1] > 0.99
    assert all(f["verdict"] == "match" for f in figures.values())


def test_ch88_the_score_grows_with_the_key_width_and_the_scale_undoes_it(tmp_path):
    figures = _run("ch88", tmp_path)
    what = one_figure(figures, "what d_k is")
    # The book calls d_k the sentence length; the measurement says key width: judged differs.
    assert what["verdict"] == "differs" and "width" in what["reason"]
    variances = [float(v) for v in what["measured"].split("var(q.k) = ")[1].split(" at length 4")[0].split(",")]
    for measured, d_k in zip(variances, (8, 64, 512)):
        assert measured == pytest.approx(d_k, rel=0.1)
    scaled = [float(v) for v in one_figure(figures, "var(q.k / sqrt(d_k))")["measured"].split(",")]
    assert all(abs(v - 1) < 0.1 for v in scaled)
    unscaled, with_scale = (float(v) for v in one_figure(figures, "mean largest softmax weight")["measured"].split(" vs "))
    assert unscaled > 0.8 and with_scale < 0.5
    assert one_figure(figures, "causal mask")["verdict"] == "match"


def test_ch89_layer_norm_per_word_and_residual_gradients(tmp_path):
    figures = _run("ch89", tmp_path)
    assert one_figure(figures, "after LayerNorm")["verdict"] == "by construction"
    alone = one_figure(figures, "same sentence alone vs in a batch")
    # rounding only: a batch of another size may take another matmul path (it did, 4.8e-07, with the
    # other core busy), where normalising over the batch would move every value by O(1)
    assert alone["verdict"] == "match" and float(alone["measured"].split()[-1]) < 1e-5
    gradient = one_figure(figures, "gradient norm at the input")
    with_residual, without = (float(v) for v in gradient["measured"].split(" (")[0].split(" / "))
    assert gradient["verdict"] == "match" and with_residual > without
    heads = one_figure(figures, "heads in each multi-head")
    assert heads["measured"] == 8 and heads["verdict"] == "by construction"
    assert "ch89_heads_untrained.png" in _plots(tmp_path, "ch89")


# -- the demos that train (tens of seconds each) ----------------------------------------------------

@pytest.mark.slow
def test_ch78_bert_quick(tmp_path):
    figures = _run("ch78", tmp_path)
    for label in ("share of tokens chosen", "chosen tokens: [MASK]", "next-sentence pairs"):
        assert one_figure(figures, label)["verdict"] == "by construction"  # drawn at the book's rates
    before, after = (float(v.rstrip("%")) for v in one_figure(figures, "masked-LM accuracy")["measured"].split(" / "))
    assert after > before + 5  # pre-training teaches the masked words
    assert "ch78_bert.png" in _plots(tmp_path, "ch78")


@pytest.mark.slow
def test_ch79_and_ch80_gpt_quick(tmp_path):
    figures = _run("ch79", tmp_path)
    loss = float(one_figure(figures, "validation loss after")["measured"])
    assert loss < math.log(103) - 1.5  # far below a uniform guess over the corpus's symbols
    assert one_figure(figures, "log P(")["verdict"] == "match"
    later = one_figure(figures, "change of the prediction at a position when every later character")
    assert later["verdict"] == "differs" and later["measured"].startswith("0.0e+00")  # ch079.md:47 is BERT's objective
    assert {"ch79_learning_curve.png", "ch79_samples.png"} <= _plots(tmp_path, "ch79")
    figures = _run("ch80", tmp_path)  # re-uses the language model trained just above
    assert one_figure(figures, "GPT-1 parameters")["verdict"] == "match"
    assert len(figures) == 4 and "ch80_fine_tuning.png" in _plots(tmp_path, "ch80")
    assert one_figure(figures, "the pre-trained language model alone")["verdict"] == "not comparable"


@pytest.mark.slow
def test_ch90_translates_the_books_sentence(tmp_path):
    figures = _run("ch90", tmp_path)
    assert one_figure(figures, "greedy translation of 'Hello, I love you'")["measured"] == "Bonjour, je t'aime"
    assert one_figure(figures, "decoder self-attention on later words")["verdict"] == "match"
    assert one_figure(figures, "parameters of the base model")["verdict"] == "match"
    assert one_figure(figures, "share of attention placed differently by two heads")["verdict"] == "match"
    assert one_figure(figures, "share of attention placed differently for two different")["verdict"] == "match"
    assert {"ch90_loss.png", "ch90_attention_maps.png", "ch90_encoder_heads.png"} <= _plots(tmp_path, "ch90")


def test_total_variation_and_head_disagreement():
    uniform, peaked = torch.full((3, 4), 0.25), torch.eye(4)[:3]
    assert float(tr.total_variation(uniform, uniform)) == 0.0
    assert float(tr.total_variation(uniform, peaked)) == pytest.approx(0.75)
    assert float(tr.total_variation(peaked, torch.eye(4)[1:])) == pytest.approx(1.0)  # disjoint rows
    assert tr.head_disagreement(torch.stack([uniform, uniform])) == 0.0
    assert tr.head_disagreement(torch.stack([uniform, peaked, peaked])) == pytest.approx(0.5)
