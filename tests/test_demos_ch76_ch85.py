"""Tests for the chapter 76 and 85 demos. ch76 (BERT is "deeply bidirectional"): the toy corpus
hides the sense from the words before the ambiguous word where it says it does, the two readers
are one network with and without the causal mask, and in quick mode the encoder names the senses
decided after the word while the causal model stays at chance. ch85: a decoder without attention
sees the source only through the last state, the counted steps are the computation's, and in
quick mode attention copies long sequences better."""

from __future__ import annotations

import math
from collections import Counter

import torch
from demo_checks import one_figure, run_quick

from supervised.demos import ch76_bidirectional as ch76
from supervised.demos import ch85_attention as ch85


def _run(key: str, tmp_path, overrides: list[str] | None = None) -> dict[str, dict]:
    return run_quick(key, tmp_path / key, overrides)


def test_words_before_a_sense_decided_after_say_nothing_of_the_sense():
    corpus = ch76.make_corpus()
    for word in ("banco", "para"):
        rows = [r for r in corpus if r["word"] == word and r["cue"] == "after"]
        assert rows and all(r["words"][r["position"]] == word for r in rows)
        by_sense = {}
        for row in rows:
            by_sense.setdefault(row["label"], Counter())[tuple(row["words"][:row["position"] + 1])] += 1
        assert len(by_sense) == 2
        first, second = by_sense.values()
        assert first == second  # the same left contexts, as often, for both senses
    before = [r for r in corpus if r["cue"] == "before"]
    right_sides = {}
    for row in before:
        right_sides.setdefault(row["label"], Counter())[tuple(row["words"][row["position"]:])] += 1
    first, second = right_sides.values()
    assert first == second  # and where the words before decide, the words after are shared


def test_the_readers_are_one_network_with_and_without_the_causal_mask():
    readers = ch76.build_pair(vocab_size=30, seed=3)
    encoder, causal = readers["bidirectional"].eval(), readers["left-to-right"].eval()
    assert list(encoder.state_dict()) == list(causal.state_dict())
    assert all(torch.equal(a, b) for a, b in zip(encoder.state_dict().values(), causal.state_dict().values()))
    sentence = torch.randint(1, 30, (1, 7))
    changed = sentence.clone()
    changed[0, 5:] = (sentence[0, 5:] % 29) + 1  # other words after position 4
    with torch.no_grad():
        assert (encoder(sentence)[0, 4] - encoder(changed)[0, 4]).abs().max() > 1e-4
        assert torch.equal(causal(sentence)[0, :5], causal(changed)[0, :5])


def test_ch76_the_encoder_reads_the_sense_from_the_words_after_and_the_causal_model_cannot(tmp_path):
    figures = _run("ch76", tmp_path)
    for word in ("'banco'", "'para'"):
        figure = one_figure(figures, f"sense of {word} (")
        bidirectional, causal = (float(v.split("%")[0]) for v in figure["measured"].split(" vs "))
        n = int(figure["label"].split("(")[-1].split(" test")[0])
        assert figure["verdict"] == "match"
        assert bidirectional >= 90
        assert causal < 50 + 100 * 2 * math.sqrt(0.25 / n)
    before = one_figure(figures, "sense of 'banco' decided by the words BEFORE")
    assert before["verdict"] == "match"
    assert all(float(v.rstrip("%")) >= 90 for v in before["measured"].split(" vs "))
    late = one_figure(figures, "the causal model asked at the LAST word")
    assert late["verdict"] == "not comparable" and float(late["measured"].rstrip("%")) >= 90
    assert (tmp_path / "ch76" / "plots" / "ch76_bidirectional.png").stat().st_size > 0


# -- chapter 85: attention against the last state vector; what runs in sequence ------------------

def test_longest_chain_counts_the_operations_that_must_run_one_after_another():
    x = torch.ones(3, requires_grad=True)
    assert ch85.longest_chain(x * 2) == 2  # the multiplication, then the leaf's gradient store
    chained = x
    for _ in range(5):
        chained = chained * 2
    side = x + 1  # one operation beside the chain does not lengthen it
    assert ch85.longest_chain(chained + side) == ch85.longest_chain(chained) + 1 == 7


def test_the_unrolled_cell_is_the_lstm_and_runs_once_per_token():
    torch.manual_seed(0)
    model = ch85.LSTMEncoderDecoder(16, attention=False)
    counted = ch85.sequential_steps((3, 7), model)
    assert counted["lstm_calls"] == [3, 7] and counted["attention_calls"] == [1, 1]
    assert max(counted["equal"]) < 1e-5
    assert counted["lstm_chain"][1] > counted["lstm_chain"][0]
    assert counted["attention_chain"][0] == counted["attention_chain"][1]


def test_the_decoder_without_attention_sees_the_source_only_through_the_last_state():
    torch.manual_seed(0)
    plain, attending = ch85.LSTMEncoderDecoder(16, False), ch85.LSTMEncoderDecoder(16, True)
    source = torch.randint(0, ch85.SYMBOLS, (1, 6))
    target = torch.randint(0, ch85.SYMBOLS, (1, 6))
    for model in (plain, attending):
        model.eval()
        memory, last = model.encode(source)
        # Replace every encoder state but the last by noise: only the attending model changes.
        noisy = torch.randn_like(memory)
        noisy[:, -1] = memory[:, -1]
        model.encode = lambda _source, m=noisy, s=last: (m, s)
        with torch.no_grad():
            changed = model(source, target)
        del model.encode
        with torch.no_grad():
            same = model(source, target)
        gap = float((changed - same).abs().max())
        assert gap < 1e-6 if model is plain else gap > 1e-3


def test_ch85_attention_copies_long_sequences_better_and_the_steps_are_counted(tmp_path):
    figures = _run("ch85", tmp_path)
    longest = one_figure(figures, "digits copied right at length 16")
    plain, attended = (float(v.split("%")[0]) for v in longest["measured"].split(" vs "))
    assert longest["verdict"] == "match" and attended > plain + 10
    by_length = one_figure(figures, "copy accuracy by length")["measured"].split(", ")
    plain_by_length = [float(entry.split(": ")[1].split("%")[0]) for entry in by_length]
    assert plain_by_length[0] >= 90 and plain_by_length[-1] < plain_by_length[0] - 20
    steps = one_figure(figures, "the trained LSTM encoder's output for T = 8, 16, 32 tokens rebuilt")
    assert steps["verdict"] == "match" and "8/16/32 cell calls; self-attention: 1/1/1 call" in steps["label"]
    chain = one_figure(figures, "longest chain of dependent operations")
    lstm, block = (part.split(" ")[-1].split("/") for part in chain["measured"].split(" vs "))
    assert chain["verdict"] == "match" and len(set(block)) == 1 and int(lstm[2]) > 3 * int(lstm[0])
    assert {"ch85_attention.png", "ch85_training.png"} <= {p.name for p in (tmp_path / "ch85" / "plots").glob("*.png")}
