"""Chapter 84: CLIP (Contrastive Language-Image Pre-training), connecting text and images.

The chapter only narrates CLIP (ch084.md:7-13: contrastive pre-training on image-text pairs,
then zero-shot classification that matches a supervised ResNet-50 on ImageNet without its
1.28M labelled examples, and closes up to 75% of the "robustness gap"). The mechanism comes
from the paper (Radford et al. 2021), labelled as such:

* two encoders, one per modality, each ending in a projection to a shared space whose vectors
  are L2-normalised: the image encoder is an MLP on the pixels (nets "mlp"), the text encoder
  a character-level transformer (nets "transformer", mean-pooled);
* for a matrix of N images and their N captions, logits = exp(s) * I T^T and the symmetric
  cross-entropy (rows: which caption goes with this image; columns: which image with this
  caption), with the learnable temperature exp(-s) initialised at 0.07 and the logit scale
  clipped at 100 (the paper's values);
* zero-shot classification: embed one prompt per class ("a photo of the number seven") and
  give each image the class of its most similar prompt; against a linear probe (logistic
  regression on the frozen image features, which does use the labels).

Zero-shot to classes never seen (Socher et al. 2013, the proof of concept the chapter cites at
ch084.md:48: trained on 8 of CIFAR-10's classes, it predicted the 2 left out through a space of
word vectors learnt from text). Here a second contrastive model is trained on 8 digits only,
with captions that describe each digit's strokes ("a closed loop on top and a straight vertical
line" for a 9); the images and captions of two digits are held out. Their captions are new
combinations of stroke words seen with other digits, which is what Socher's word vectors give:
knowledge of the unseen classes from text alone. Measured: test images of the two unseen digits
given the nearer of the two unseen captions, against 50% for a guess.

The pairing is made locally: the digit images that ship (or full MNIST where present) with
captions that spell the digit's name in English or Portuguese ("seven", "o dígito sete", ...).
The zero-shot prompts use templates held out of training; the English and Portuguese names
are never paired with each other, only with images. Unlike CLIP's internet captions, these
name the class, so they carry what a label carries: the demo shows the mechanism, not
CLIP's scale (400M pairs).
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn

import nets
from lab.i18n import N_, decimal, language, tr
from lab.plots import new_figure
from supervised.data import rotate_images
from supervised.demos import Setting, register
from supervised.demos._training import linear_probe, setting

CLIP_INITIAL_TEMPERATURE = 0.07  # Radford et al. 2021, section 2.5: initialised to 0.07
CLIP_MAX_LOGIT_SCALE = 100.0  # Radford et al. 2021, section 2.5: clipped so logits scale by at most 100
BOOK_IMAGENET_LABELS = "1.28M"  # ch084.md:13 "sem usar nenhum dos os exemplos rotulados de 1,28M originais"
BOOK_ROBUSTNESS_GAP_CLOSED = 0.75  # ch084.md:13 "fecha essa 'lacuna de robustez' em até 75%"
BOOK_LI_ZERO_SHOT = 0.115  # ch084.md:51 "alcançar 11,5% de precisão no ImageNet tiro zero" (Li et al. 2016)

#: digit -> (English, Portuguese) name.
DIGIT_NAMES = (("zero", "zero"), ("one", "um"), ("two", "dois"), ("three", "três"), ("four", "quatro"),
               ("five", "cinco"), ("six", "seis"), ("seven", "sete"), ("eight", "oito"), ("nine", "nove"))
LANGUAGES = ("en", "pt")
#: Captions seen in training, per language.
TRAIN_TEMPLATES = {"en": ("{}", "the digit {}", "a handwritten {}", "number {}", "this is a {}",
                          "a picture of {}", "the number {} by hand", "an image of the digit {}"),
                   "pt": ("{}", "o dígito {}", "um {} escrito à mão", "número {}", "isto é um {}",
                          "uma imagem de {}", "o número {} à mão", "uma figura do dígito {}")}
#: Zero-shot prompts: templates never seen in training.
PROMPTS = {"en": "a photo of the number {}", "pt": "uma foto do número {}"}
#: The names alone: a wording that training did see, to measure what the held-out one costs.
BARE_NAMES = {"en": "{}", "pt": "{}"}
#: Characters of the text encoder (id 0 is padding): any lowercase caption in either language.
ALPHABET = " abcdefghijklmnopqrstuvwxyzàáâãçéêíóôõú"
#: The longest caption or prompt (padding is masked, but still computed).
MAX_CHARS = max(len(template.format(name)) for names in DIGIT_NAMES for lang, name in zip(LANGUAGES, names)
                for template in (*TRAIN_TEMPLATES[lang], PROMPTS[lang]))
#: Socher et al. 2013's setting: digit -> a caption of its strokes; two digits are held out of
#: training, images and captions, and each of their captions combines words seen with others.
STROKES = ("a closed loop", "a straight vertical line", "a curve on top and a flat line at the bottom",
           "a curve on top and a curve at the bottom", "a straight vertical line and a flat line in the middle",
           "a flat line on top and a curve at the bottom", "a curve on top and a closed loop at the bottom",
           "a flat line on top and a straight vertical line", "a closed loop on top and a closed loop at the bottom",
           "a closed loop on top and a straight vertical line")
UNSEEN = (3, 7)  # "curve on top" is seen in 2 and 6, "curve at the bottom" in 5; "flat line on top" in 5, ...
STROKE_TEMPLATES = ("{}", "a digit with {}", "it is drawn with {}", "this one has {}")
STROKE_CHARS = max(len(t.format(strokes)) for strokes in STROKES for t in STROKE_TEMPLATES)
BOOK_UNSEEN_CLASSES = N_("Socher et al. 2013: a model trained on CIFAR-10 predicts two unseen classes")  # ch084.md:48
#: Added to a reason when --quick shrank the run.
REDUCED_UNDER_QUICK = N_("; reduced size under --quick")
EMBEDDING = 64
ROTATION_DEGREES = 30.0


def encode_text(captions: list[str], width: int = MAX_CHARS) -> torch.Tensor:
    """(N, width) character ids, 0-padded; a character outside ALPHABET is an error."""
    ids = torch.zeros(len(captions), width, dtype=torch.long)
    for row, caption in enumerate(captions):
        unknown = sorted(set(caption) - set(ALPHABET))
        if unknown or len(caption) > width:
            raise ValueError(f"caption {caption!r}: characters {unknown} not in the alphabet or longer "
                             f"than {width}")
        ids[row, :len(caption)] = torch.tensor([ALPHABET.index(c) + 1 for c in caption])
    return ids


def caption(digit: int, language: str, template: str) -> str:
    return template.format(DIGIT_NAMES[digit][LANGUAGES.index(language)])


class ContrastivePair(nn.Module):
    """An image encoder and a text encoder projecting to one space, and CLIP's learnable
    logit scale s (temperature exp(-s))."""

    def __init__(self, pixels: int, embedding: int = EMBEDDING, max_chars: int = MAX_CHARS) -> None:
        super().__init__()
        self.max_chars = max_chars
        self.image_encoder = nets.build("mlp", sizes=[pixels, 256, embedding], activation="relu")
        self.text_encoder = nets.build("transformer", mode="encoder", vocab_size=len(ALPHABET) + 1,
                                       d_model=64, n_heads=4, n_layers=2, max_len=max_chars, pool="mean",
                                       pad_id=0, n_outputs=embedding)
        self.logit_scale = nn.Parameter(torch.tensor(math.log(1 / CLIP_INITIAL_TEMPERATURE)))

    @property
    def temperature(self) -> float:
        return float(torch.exp(-self.logit_scale.detach()))

    def embed_images(self, images: torch.Tensor) -> torch.Tensor:
        return nn.functional.normalize(self.image_encoder(images), dim=-1)

    def embed_text(self, ids: torch.Tensor) -> torch.Tensor:
        return nn.functional.normalize(self.text_encoder(ids), dim=-1)

    def clip_scale_(self) -> None:
        with torch.no_grad():
            self.logit_scale.clamp_(max=math.log(CLIP_MAX_LOGIT_SCALE))


def symmetric_cross_entropy(image_embeddings: torch.Tensor, text_embeddings: torch.Tensor,
                            logit_scale: torch.Tensor) -> torch.Tensor:
    """CLIP's loss over (G, N, d) groups of N matched pairs: the mean of the image->text and
    text->image cross-entropies of each N x N matrix, the diagonal being the true pairs."""
    logits = logit_scale.exp() * image_embeddings @ text_embeddings.transpose(-1, -2)  # (G, N, N)
    groups, n = logits.shape[:2]
    targets = torch.arange(n).repeat(groups)
    image_to_text = nn.functional.cross_entropy(logits.reshape(-1, n), targets)
    text_to_image = nn.functional.cross_entropy(logits.transpose(-1, -2).reshape(-1, n), targets)
    return (image_to_text + text_to_image) / 2


def by_digit(labels: np.ndarray) -> list[np.ndarray]:
    return [np.flatnonzero(labels == digit) for digit in range(len(DIGIT_NAMES))]


def name_captions() -> list[list[str]]:
    """Per digit, every training caption that names it (both languages, every template)."""
    return [[caption(d, lang, t) for lang in LANGUAGES for t in TRAIN_TEMPLATES[lang]] for d in range(len(DIGIT_NAMES))]


def train_contrastive(ctx, images: np.ndarray, labels: np.ndarray, steps: int, groups: int,
                      captions: list[list[str]] | None = None, digits: tuple[int, ...] | None = None,
                      max_chars: int = MAX_CHARS, tag: str = "ch84"):
    """Returns the model, (loss, temperature) per step and the temperature before training.

    Each step: `groups` matrices of one pair per digit of `digits` (default: all ten), an image
    of that digit with one of its `captions` (default: `name_captions()`) drawn at random, so no
    caption in a matrix fits two of its images."""
    digits = tuple(range(len(DIGIT_NAMES))) if digits is None else digits
    torch.manual_seed(ctx.seed)
    model = ContrastivePair(images.shape[1], max_chars=max_chars)
    # Weight decay would pull the logit scale towards 0 (temperature 1); CLIP decays weights only.
    weights = [p for name, p in model.named_parameters() if name != "logit_scale"]
    optimizer = torch.optim.AdamW([{"params": weights, "weight_decay": 0.01},
                                   {"params": [model.logit_scale], "weight_decay": 0.0}], lr=2e-3)
    rng = np.random.default_rng(ctx.seed)
    pools = by_digit(labels)
    pixels = torch.from_numpy(images)
    all_captions = name_captions() if captions is None else captions
    caption_ids = [encode_text(all_captions[d], max_chars) for d in digits]
    initial_temperature = model.temperature
    curve = []
    for step in range(steps):
        rows = np.stack([rng.choice(pools[d], groups) for d in digits], axis=1)  # (G, digits)
        picks = rng.integers(len(all_captions[digits[0]]), size=rows.shape)
        text = torch.stack([caption_ids[i][picks[:, i]] for i in range(len(digits))], dim=1)
        image_embeddings = model.embed_images(pixels[torch.from_numpy(rows.reshape(-1))])
        text_embeddings = model.embed_text(text.reshape(-1, max_chars))
        loss = symmetric_cross_entropy(image_embeddings.reshape(groups, len(digits), -1),
                                       text_embeddings.reshape(groups, len(digits), -1), model.logit_scale)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        model.clip_scale_()
        curve.append((loss.item(), model.temperature))
        if step % 20 == 0 or step == steps - 1:
            ctx.logger.scalars(step, {f"{tag}/contrastive_loss": loss.item(), f"{tag}/temperature": model.temperature})
    return model, curve, initial_temperature


@torch.no_grad()
def prompt_embeddings(model: ContrastivePair, languages: tuple[str, ...],
                      templates: dict[str, str] = PROMPTS) -> torch.Tensor:
    """(10, d): each digit's prompt (by default the held-out ones) embedded; several languages
    are averaged and renormalised (the paper's prompt ensembling)."""
    model.eval()
    embedded = [model.embed_text(encode_text([caption(d, lang, templates[lang]) for d in range(len(DIGIT_NAMES))]))
                for lang in languages]
    return nn.functional.normalize(torch.stack(embedded).mean(0), dim=-1)


@torch.no_grad()
def zero_shot(model: ContrastivePair, images: np.ndarray, languages: tuple[str, ...],
              templates: dict[str, str] = PROMPTS) -> np.ndarray:
    """Predicted digit per image: the prompt most similar to the image."""
    model.eval()
    similarity = model.embed_images(torch.from_numpy(images)) @ prompt_embeddings(model, languages, templates).T
    return similarity.argmax(-1).numpy()


@torch.no_grad()
def nearest_caption(model: ContrastivePair, images: np.ndarray, digits: tuple[int, ...], captions: list[str],
                    max_chars: int) -> np.ndarray:
    """For each image, the digit of `digits` whose caption (captions[i] for digits[i]) is the most similar."""
    model.eval()
    text = model.embed_text(encode_text(captions, max_chars))
    similarity = model.embed_images(torch.from_numpy(images)) @ text.T
    return np.asarray(digits)[similarity.argmax(-1).numpy()]


def unseen_classes(ctx, train_images, train_labels, test_images, test_labels, steps: int, groups: int) -> None:
    """Socher et al. 2013's setting on digits: train on 8 digits described by their strokes, then
    tell apart the 2 held-out digits by their never-seen stroke captions."""
    seen = tuple(d for d in range(len(DIGIT_NAMES)) if d not in UNSEEN)
    captions = [[template.format(strokes) for template in STROKE_TEMPLATES] for strokes in STROKES]
    kept = np.isin(train_labels, seen)
    model, curve, _ = train_contrastive(ctx, train_images[kept], train_labels[kept], steps, groups, captions, seen,
                                        STROKE_CHARS, tag="ch84_unseen")
    unseen_rows, seen_rows = np.isin(test_labels, UNSEEN), np.isin(test_labels, seen)
    predicted = nearest_caption(model, test_images[unseen_rows], UNSEEN, [STROKES[d] for d in UNSEEN], STROKE_CHARS)
    truth = test_labels[unseen_rows]
    counts = [int((truth == d).sum()) for d in UNSEEN]
    # Balanced: the mean of the two digits' recalls, 50% for a guess or a constant answer whatever
    # the two digits' shares; its two standard errors for a guess.
    accuracy = float(np.mean([(predicted[truth == d] == d).mean() for d in UNSEEN]))
    noise = 2 * math.sqrt(sum(0.25 / c for c in counts)) / 2
    seen_accuracy = float((nearest_caption(model, test_images[seen_rows], seen, [STROKES[d] for d in seen], STROKE_CHARS)
                           == test_labels[seen_rows]).mean())
    above = accuracy - 0.5 > noise
    names = tr(" and ").join(f"{d} ('{STROKES[d]}')" for d in UNSEEN)  # the captions as the model reads them
    ctx.report(tr("test digits {first} and {second}, never seen in training, each given the nearer of their two "
                  "never-seen stroke captions (seen digits among their {seen} captions)").format(
                   first=UNSEEN[0], second=UNSEEN[1], seen=len(seen)), tr(BOOK_UNSEEN_CLASSES),
               tr("{accuracy:.1f}% balanced over {first} + {second} images (a guess: 50% +- {noise:.1f}); "
                  "seen digits {seen:.1f}%").format(accuracy=100 * accuracy, first=counts[0], second=counts[1],
                                                    noise=100 * noise, seen=100 * seen_accuracy),
               data=tr("{digits} digits x {images:,} train images on average, captions made for the demo describing "
                       "strokes; held out: {names}; {steps} steps of {groups} matrices").format(
                   digits=len(seen), images=int(kept.sum() / len(seen)), names=names, steps=steps, groups=groups),
               matches=above, reason="" if above else tr("not above a guess by two standard errors")
               + (tr(REDUCED_UNDER_QUICK) if ctx.quick else ""))
    ctx.logger.scalars(steps, {"ch84/unseen_classes_accuracy": accuracy, "ch84/seen_stroke_accuracy": seen_accuracy,
                               "ch84/unseen_final_loss": curve[-1][0]})


def train_supervised(ctx, images: np.ndarray, labels: np.ndarray, steps: int, batch: int) -> nn.Module:
    """The same image encoder plus a 10-way layer, trained on the labels with the same steps
    and images per step as the contrastive model: the 'ImageNet model' of the comparison."""
    torch.manual_seed(ctx.seed)
    model = nn.Sequential(nets.build("mlp", sizes=[images.shape[1], 256, EMBEDDING], activation="relu"),
                          nn.ReLU(), nn.Linear(EMBEDDING, len(DIGIT_NAMES)))
    optimizer = torch.optim.AdamW(model.parameters(), lr=2e-3, weight_decay=0.01)
    generator = torch.Generator().manual_seed(ctx.seed)
    x, y = torch.from_numpy(images), torch.from_numpy(labels)
    for step in range(steps):
        rows = torch.randint(len(x), (batch,), generator=generator)
        loss = nn.functional.cross_entropy(model(x[rows]), y[rows])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        if step % 20 == 0 or step == steps - 1:
            ctx.logger.scalars(step, {"ch84/supervised_loss": loss.item()})
    return model.eval()


def rotated(images: np.ndarray, shape: tuple[int, int], seed: int) -> np.ndarray:
    """Every image turned by ROTATION_DEGREES, clockwise or counter-clockwise at random."""
    signs = np.random.default_rng(seed).choice([-1.0, 1.0], len(images))
    turned = rotate_images(images.reshape(-1, *shape), signs * ROTATION_DEGREES)
    return turned.reshape(len(images), -1).astype(np.float32)


def confusion(labels: np.ndarray, predicted: np.ndarray) -> np.ndarray:
    matrix = np.zeros((len(DIGIT_NAMES), len(DIGIT_NAMES)), dtype=int)
    np.add.at(matrix, (labels, predicted), 1)
    return matrix


@register("ch84", "CLIP (Contrastive Language Image Pre-training): Conectando Texto e Imagens",
          "CLIP: contrastive image-text pre-training and zero-shot classification by prompts",
          settings=(Setting("steps", 1500, 200, low=1), Setting("groups", 8, low=1),
                    Setting("unseen_steps", 1500, 200, low=1)))
def clip(ctx) -> None:
    steps = setting(ctx, "steps")
    groups = setting(ctx, "groups")
    unseen_steps = setting(ctx, "unseen_steps")
    dataset = ctx.dataset()
    train_images, train_labels = (np.ascontiguousarray(a) for a in dataset.train)
    test_images, test_labels = (np.ascontiguousarray(a) for a in dataset.test)
    train_images, test_images = train_images.astype(np.float32), test_images.astype(np.float32)
    n_test = len(test_labels)
    data = tr("{dataset}: {train:,} train / {test:,} test digits, each paired with a caption made for the demo that "
              "spells its name in English or Portuguese").format(dataset=dataset.name, train=len(train_labels),
                                                                 test=n_test)
    # The captions and prompts are quoted as the model reads them, in both languages.
    ctx.say(tr("data: {data}; e.g. '{english}', '{portuguese}'; zero-shot prompts (never trained on): "
               "'{english_prompt}', '{portuguese_prompt}'").format(
        data=data, english=caption(7, "en", TRAIN_TEMPLATES["en"][2]), portuguese=caption(7, "pt", TRAIN_TEMPLATES["pt"][1]),
        english_prompt=PROMPTS["en"].format("..."), portuguese_prompt=PROMPTS["pt"].format("...")))
    quick_note = tr(REDUCED_UNDER_QUICK) if ctx.quick else ""

    model, curve, initial = train_contrastive(ctx, train_images, train_labels, steps, groups)
    losses, temperatures = zip(*curve)
    ctx.report(tr("temperature exp(-s) of the softmax over pairs at initialisation (learnable)"),
               CLIP_INITIAL_TEMPERATURE, round(initial, 6), by_construction=True,
               source=tr("Radford et al. 2021 (CLIP), section 2.5"),
               reason=tr("the module's logit scale is set to log(1 / 0.07); read back, not measured"))
    chance = math.log(len(DIGIT_NAMES))
    first, last = float(np.mean(losses[:10])), float(np.mean(losses[-20:]))
    ctx.report(tr("symmetric cross-entropy, first 10 / last 20 steps ({groups} matrices of 10 pairs a step; "
                  "ln 10 = {chance:.2f} is a blind guess)").format(groups=groups, chance=chance), tr("not given"),
               tr("{first:.2f} / {last:.3f}").format(first=first, last=last), data=data,
               matches=None, reason=tr("the book only narrates CLIP's training"))
    ctx.report(tr("learned temperature after {steps} steps").format(steps=steps), tr("not given"),
               tr("{temperature:.4f}").format(temperature=temperatures[-1]), data=data, matches=None,
               reason=tr("the book gives none; the paper gives only its start (0.07) and the clip at "
                         "1/{scale:.0f}").format(scale=CLIP_MAX_LOGIT_SCALE))

    # Zero-shot: held-out prompts in each language, and the two averaged.
    accuracy = {}
    for name, languages in (("English", ("en",)), ("Portuguese", ("pt",)), ("both", LANGUAGES)):
        predicted = zero_shot(model, test_images, languages)
        accuracy[name] = float((predicted == test_labels).mean())
    best_predictions = zero_shot(model, test_images, LANGUAGES)
    ctx.report(tr("zero-shot test accuracy by held-out prompts: English / Portuguese / both averaged"),
               tr("{accuracy:.1f}% zero-shot on ImageNet by Li et al. 2016 (ch084.md:51)").format(
                   accuracy=100 * BOOK_LI_ZERO_SHOT),
               " / ".join(decimal(f"{100 * a:.1f}%") for a in accuracy.values()), data=data, matches=None,
               reason=tr("10 digit classes (chance 10%) with captions that name them, not ImageNet's 1,000 classes "
                         "and Flickr text"))
    ctx.logger.scalars(steps, {f"ch84/zero_shot_accuracy_{k}": v for k, v in accuracy.items()})
    seen = float((zero_shot(model, test_images, LANGUAGES, BARE_NAMES) == test_labels).mean())
    ctx.say(tr("  with the bare names as prompts (a wording seen in training): {seen:.1f}%; the held-out "
               "wording costs {cost:.1f} points").format(seen=100 * seen, cost=100 * (seen - accuracy["both"])))

    with torch.no_grad():
        prompts = {lang: prompt_embeddings(model, (lang,)) for lang in LANGUAGES}
        nearest = (prompts["en"] @ prompts["pt"].T).argmax(-1)
    aligned = int((nearest == torch.arange(len(DIGIT_NAMES))).sum())
    ctx.report(tr("English prompt whose nearest Portuguese prompt names the same digit (never paired with "
                  "each other, only with images)"), tr("not given"),
               tr("{count} of {total}").format(count=aligned, total=len(DIGIT_NAMES)), data=data,
               matches=None, reason=tr("the book only narrates; a check of the shared space made for the demo"))

    # Against a linear probe, which sees the labels.
    with torch.no_grad():
        model.eval()
        train_features = model.image_encoder(torch.from_numpy(train_images)).numpy()
        test_features = model.image_encoder(torch.from_numpy(test_images)).numpy()
    probe = float((linear_probe(train_features, train_labels, test_features, ctx.seed, len(DIGIT_NAMES)) == test_labels).mean())
    pixel_probe = float((linear_probe(train_images, train_labels, test_images, ctx.seed, len(DIGIT_NAMES)) == test_labels).mean())
    # Two standard errors of the difference of two accuracies near p on this test set.
    noise = 2 * math.sqrt(2 * probe * (1 - probe) / n_test)
    on_par = accuracy["both"] >= probe - noise
    # Why not, when not: the same zero-shot with a wording seen in training (the bare names).
    wording = (tr("; with the bare names as prompts (a wording seen in training) it is within two standard errors "
                  "of the probe: the gap is the held-out wording, not the missing labels")
               if seen >= probe - noise else
               tr("; with the bare names as prompts (a wording seen in training) it is below the probe too"))
    ctx.report(tr("zero-shot by held-out prompts (0 labels) vs linear probe on the same image features "
                  "({labels:,} labels); probe on raw pixels").format(labels=len(train_labels)),
               tr("zero-shot CLIP matches a supervised ResNet-50 without its {labels} labelled images "
                  "(ch084.md:13)").format(labels=decimal(BOOK_IMAGENET_LABELS)),
               tr("{zero_shot:.1f}% (bare names as prompts: {bare:.1f}%) vs {probe:.1f}% (pixels: {pixels:.1f}%)").format(
                   zero_shot=100 * accuracy["both"], bare=100 * seen, probe=100 * probe, pixels=100 * pixel_probe),
               data=data, matches=on_par,
               reason=tr("zero-shot with the held-out prompts more than two standard errors ({noise:.1f} points) "
                         "below the probe").format(noise=100 * noise) + wording + quick_note)
    ctx.logger.scalars(steps, {"ch84/linear_probe_accuracy": probe, "ch84/pixel_probe_accuracy": pixel_probe})

    # Robustness: accuracy lost on rotated digits, supervised vs zero-shot.
    supervised = train_supervised(ctx, train_images, train_labels, steps, groups * len(DIGIT_NAMES))
    turned = rotated(test_images, dataset.image_shape, ctx.seed)
    with torch.no_grad():
        supervised_plain = float((supervised(torch.from_numpy(test_images)).argmax(-1).numpy() == test_labels).mean())
        supervised_turned = float((supervised(torch.from_numpy(turned)).argmax(-1).numpy() == test_labels).mean())
    zero_shot_turned = float((zero_shot(model, turned, LANGUAGES) == test_labels).mean())
    supervised_drop, zero_shot_drop = supervised_plain - supervised_turned, accuracy["both"] - zero_shot_turned
    closed = 1 - zero_shot_drop / supervised_drop if supervised_drop > 0 else float("nan")
    # The per cent signs stay outside the messages: "% of", "% closed" would read as %-conversions.
    ctx.report(tr("accuracy lost on test digits turned {degrees:.0f} degrees: supervised net vs zero-shot, "
                  "and the share of the gap closed").format(degrees=ROTATION_DEGREES),
               tr("up to {share} of the robustness gap closed (ch084.md:13)").format(
                   share=f"{100 * BOOK_ROBUSTNESS_GAP_CLOSED:.0f}%"),
               tr("{supervised:.1f}->{supervised_turned:.1f}% vs {zero_shot:.1f}->{zero_shot_turned:.1f}%; "
                  "{closed} closed").format(supervised=100 * supervised_plain, supervised_turned=100 * supervised_turned,
                                            zero_shot=100 * accuracy["both"], zero_shot_turned=100 * zero_shot_turned,
                                            closed=f"{100 * closed:.0f}%"),
               data=data, matches=None,
               reason=tr("CLIP's robustness comes from 400M varied internet pairs (Radford et al. 2021); here both "
                         "models learn from the same digits, so no such effect is expected"))
    ctx.logger.scalars(steps, {"ch84/supervised_accuracy": supervised_plain,
                               "ch84/supervised_rotated_accuracy": supervised_turned,
                               "ch84/zero_shot_rotated_accuracy": zero_shot_turned})

    unseen_classes(ctx, train_images, train_labels, test_images, test_labels, unseen_steps, groups)
    _plot_training(ctx, losses, temperatures, groups)
    _plot_zero_shot(ctx, model, test_images, test_labels, best_predictions, dataset.image_shape, accuracy["both"])


def _plot_training(ctx, losses, temperatures, groups: int) -> None:
    fig, (ax_loss, ax_temperature) = new_figure(1, 2, figsize=(11, 3.8))
    ax_loss.plot(losses, lw=0.8)
    ax_loss.axhline(math.log(len(DIGIT_NAMES)), color="grey", ls=":", label=tr("ln 10 (a blind guess)"))
    ax_loss.set_yscale("log")
    ax_loss.set(xlabel=tr("step ({groups} matrices of 10 image-caption pairs)").format(groups=groups),
                ylabel=tr("symmetric cross-entropy"), title=tr("contrastive training"))
    ax_loss.legend()
    ax_temperature.plot(temperatures)
    ax_temperature.axhline(CLIP_INITIAL_TEMPERATURE, color="grey", ls=":",
                           label=tr("CLIP's initial {temperature:g}").format(temperature=CLIP_INITIAL_TEMPERATURE))
    ax_temperature.axhline(1 / CLIP_MAX_LOGIT_SCALE, color="red", ls=":",
                           label=tr("clip at 1/{scale:.0f}").format(scale=CLIP_MAX_LOGIT_SCALE))
    ax_temperature.set(xlabel=tr("step"), ylabel=tr("temperature exp(-s)"), title=tr("the learnable temperature"))
    ax_temperature.legend()
    ctx.plot("ch84_training", fig)


def _plot_zero_shot(ctx, model, images, labels, predicted, shape, accuracy: float) -> None:
    first = [int(np.flatnonzero(labels == digit)[0]) for digit in range(len(DIGIT_NAMES))]
    with torch.no_grad():
        model.eval()
        similarity = (model.embed_images(torch.from_numpy(images[first])) @ prompt_embeddings(model, LANGUAGES).T).numpy()
    fig, (ax_strip, ax_similarity, ax_confusion) = new_figure(
        1, 3, figsize=(15, 5.2), gridspec_kw={"width_ratios": [0.45, 4, 4]})
    ax_strip.imshow(np.concatenate([images[i].reshape(shape) for i in first]), cmap="gray_r")
    ax_strip.axis("off")
    ax_strip.set_title(tr("test image"), fontsize=9)
    image = ax_similarity.imshow(similarity, cmap="viridis")
    names = [f"{en} / {pt}" for en, pt in DIGIT_NAMES]  # the prompts of both languages are averaged
    ax_similarity.set_xticks(range(len(names)), names, rotation=60, fontsize=8)
    ax_similarity.set_yticks(range(len(names)), [tr("image of {digit}").format(digit=d) for d in range(len(names))],
                             fontsize=8)
    ax_similarity.set(title=tr("cosine: image vs prompt '{english}' / '{portuguese}'").format(
                          english=PROMPTS["en"].format("..."), portuguese=PROMPTS["pt"].format("...")),
                      xlabel=tr("prompt (English and Portuguese averaged)"))
    ax_similarity.title.set_fontsize(9)
    fig.colorbar(image, ax=ax_similarity, fraction=0.046)
    matrix = confusion(labels, predicted)
    ax_confusion.imshow(matrix, cmap="Blues")
    for (row, column), count in np.ndenumerate(matrix):
        if count:
            ax_confusion.text(column, row, str(count), ha="center", va="center", fontsize=7,
                              color="white" if count > matrix.max() / 2 else "black")
    ax_confusion.set_xticks(range(len(names)), [pair[LANGUAGES.index(language())] for pair in DIGIT_NAMES],
                            rotation=60, fontsize=8)
    ax_confusion.set_yticks(range(len(names)), range(len(names)), fontsize=8)
    ax_confusion.set(xlabel=tr("zero-shot prediction (most similar prompt)"), ylabel=tr("true digit"),
                     title=tr("zero-shot confusion matrix, {count:,} test digits ({right} right)").format(
                         count=len(labels), right=decimal(f"{100 * accuracy:.1f}%")))
    ax_confusion.title.set_fontsize(9)
    ctx.plot("ch84_zero_shot", fig)
