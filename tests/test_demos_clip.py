"""Tests for the chapter 84 demo (CLIP): the contrastive loss, the learnable temperature and the
captions are what the paper (Radford et al. 2021) defines, and the demo learns a zero-shot classifier
with every figure judged."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest
import torch
from demo_checks import one_figure, run_quick

from supervised.demos import ch84_clip as clip


def _run(key: str, tmp_path, overrides: list[str] | None = None) -> dict[str, dict]:
    return run_quick(key, tmp_path / key, overrides, data="mnist-subset")


def _percentages(text: str) -> list[float]:
    return [float(number) for number in re.findall(r"([\d.]+)%", text)]


# -- chapter 84: CLIP ----------------------------------------------------------------------------------

def test_symmetric_cross_entropy_is_the_mean_of_both_directions():
    generator = torch.Generator().manual_seed(0)
    images = torch.nn.functional.normalize(torch.randn(3, 5, 8, generator=generator), dim=-1)
    texts = torch.nn.functional.normalize(torch.randn(3, 5, 8, generator=generator), dim=-1)
    scale = torch.tensor(math.log(1 / 0.07))
    loss = clip.symmetric_cross_entropy(images, texts, scale)
    by_hand = []
    for group in range(3):
        logits = images[group] @ texts[group].T / 0.07
        rows = -torch.log_softmax(logits, dim=1).diagonal().mean()
        columns = -torch.log_softmax(logits, dim=0).diagonal().mean()
        by_hand.append((rows + columns) / 2)
    assert float(loss) == pytest.approx(float(torch.stack(by_hand).mean()), rel=1e-5)
    assert float(clip.symmetric_cross_entropy(texts, images, scale)) == pytest.approx(float(loss), rel=1e-5)


def test_contrastive_loss_is_ln_n_for_indistinct_pairs_and_near_zero_for_matched_ones():
    same = torch.nn.functional.normalize(torch.ones(2, 10, 4), dim=-1)
    assert float(clip.symmetric_cross_entropy(same, same, torch.tensor(0.0))) == pytest.approx(math.log(10))
    basis = torch.eye(10).expand(2, 10, 10)
    assert float(clip.symmetric_cross_entropy(basis, basis, torch.tensor(math.log(100.0)))) < 1e-3


def test_temperature_starts_at_clips_value_and_the_scale_is_clipped_at_100():
    torch.manual_seed(0)
    model = clip.ContrastivePair(pixels=12)
    assert model.temperature == pytest.approx(0.07, abs=1e-7)
    with torch.no_grad():
        model.logit_scale.fill_(10.0)
    model.clip_scale_()
    assert model.temperature == pytest.approx(0.01, rel=1e-6)


def test_captions_fit_the_text_encoder_and_stray_characters_are_refused():
    every = [clip.caption(d, lang, t) for d in range(10) for lang in clip.LANGUAGES
             for t in (*clip.TRAIN_TEMPLATES[lang], clip.PROMPTS[lang])]
    assert max(map(len, every)) == clip.MAX_CHARS
    ids = clip.encode_text(every)
    assert ids.shape == (len(every), clip.MAX_CHARS) and int(ids.min()) == 0
    assert clip.caption(7, "pt", clip.PROMPTS["pt"]) == "uma foto do número sete"
    assert not {clip.PROMPTS[lang] for lang in clip.LANGUAGES} & {t for ts in clip.TRAIN_TEMPLATES.values() for t in ts}
    with pytest.raises(ValueError, match="alphabet"):
        clip.encode_text(["Seven!"])


def test_unseen_digits_captions_are_new_combinations_of_words_seen_with_other_digits():
    seen_words = {w for d, strokes in enumerate(clip.STROKES) if d not in clip.UNSEEN for w in strokes.split()}
    for d in clip.UNSEEN:
        assert set(clip.STROKES[d].split()) <= seen_words  # every word known from text about other digits
        assert clip.STROKES[d] not in {clip.STROKES[o] for o in range(10) if o != d}
    ids = clip.encode_text([t.format(s) for s in clip.STROKES for t in clip.STROKE_TEMPLATES], clip.STROKE_CHARS)
    assert ids.shape[1] == clip.STROKE_CHARS and int((ids[:, -1] > 0).sum()) >= 1  # the longest fills the width


def test_nearest_caption_answers_among_the_given_digits_only():
    torch.manual_seed(0)
    model = clip.ContrastivePair(4, max_chars=clip.STROKE_CHARS)
    images = np.random.default_rng(0).random((6, 4)).astype(np.float32)
    predicted = clip.nearest_caption(model, images, clip.UNSEEN, [clip.STROKES[d] for d in clip.UNSEEN],
                                     clip.STROKE_CHARS)
    assert set(predicted.tolist()) <= set(clip.UNSEEN) and len(predicted) == 6


def test_linear_probe_separates_separable_features_and_confusion_counts_every_image():
    rng = np.random.default_rng(0)
    labels = np.arange(200) % 10
    features = np.eye(10)[labels] * 3 + rng.normal(0, 0.1, (200, 10))
    assert (clip.linear_probe(features, labels, features, seed=0) == labels).all()
    matrix = clip.confusion(labels, (labels + 1) % 10)
    assert matrix.sum() == 200 and matrix.trace() == 0 and matrix[0, 1] == 20


def test_ch84_short_run_learns_a_zero_shot_classifier(tmp_path):
    figures = _run("ch84", tmp_path, ["steps=60", "unseen_steps=30"])
    assert one_figure(figures, "temperature exp(-s)")["verdict"] == "by construction"  # set, then read back
    first, last = (float(v) for v in one_figure(figures, "symmetric cross-entropy")["measured"].split(" / "))
    assert last < first / 2
    english, portuguese, both = _percentages(one_figure(figures, "zero-shot test accuracy")["measured"])
    assert min(english, portuguese, both) > 40  # chance is 10%
    assert {"ch84_training.png", "ch84_zero_shot.png"} <= {p.name for p in (tmp_path / "ch84" / "plots").glob("*.png")}
    unseen = one_figure(figures, "test digits 3 and 7, never seen in training")
    assert unseen["verdict"] in ("match", "differs") and "balanced" in unseen["measured"]


@pytest.mark.slow
def test_ch84_quick_zero_shot_near_the_probe(tmp_path):
    figures = _run("ch84", tmp_path)
    zero_shot, bare, probe, pixels = _percentages(one_figure(figures, "zero-shot by held-out prompts (0 labels)")["measured"])
    assert zero_shot > 75 and probe > 85 and bare > zero_shot  # the held-out wording costs points
    aligned = int(one_figure(figures, "English prompt whose nearest")["measured"].split(" of ")[0])
    assert aligned >= 5  # the two languages meet through the images alone
