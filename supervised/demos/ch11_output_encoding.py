"""Chapter 11 (Design de uma rede neural para reconhecimento de dígitos): 10 outputs or a 4-bit code?

The chapter's network reads a 28 x 28 image as 28 x 28 = 784 input neurons (ch011.md:64), has a
hidden layer of n = 15 neurons in its example (ch011.md:67) and 10 output neurons, one per digit
(ch011.md:70). Four outputs would be enough to encode the answer in binary, since 2^4 = 16 > 10;
the book's answer to "why 10?" is empirical: try both, and the 10-output network learns to
recognise digits better (ch011.md:73).

The demo tries both: [784, 15, 10] with one-hot targets (the answer is the most active output)
and [784, 15, 4] with the digit's 4-bit code as target (the answer is the code read off the
outputs rounded to 0/1; codes 10-15 are wrong answers), trained the same way - the book's
chapter 13 recipe: sigmoid neurons, N(0, 1) weights, quadratic cost, SGD with eta = 3.0 on
mini-batches of 10 - from the same seed, on the same images, for the same epochs.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import torch

from lab.i18n import N_, number, tr
from supervised.demos import Setting, register
from supervised.demos._training import data_reason, describe, mlp, percent, setting

BOOK_INPUTS = 784  # ch011.md:64 (28 x 28)
BOOK_HIDDEN = 15  # ch011.md:67
BOOK_CODES = 16  # ch011.md:73 (2^4 = 16 > 10)
BITS = 4
#: code -> how the output names it
CODE_NAMES = {"one-hot": N_("one-hot"), "4-bit": N_("4-bit")}


def binary_targets(labels: torch.Tensor, bits: int = BITS) -> torch.Tensor:
    """The digit's code, most significant bit first: 6 -> (0, 1, 1, 0)."""
    powers = 2 ** torch.arange(bits - 1, -1, -1, device=labels.device)
    return ((labels[:, None] // powers) % 2).to(torch.float32)


def decode_binary(outputs: torch.Tensor) -> torch.Tensor:
    """The number whose code the outputs (activations in [0, 1]) are closest to, bit by bit."""
    bits = (outputs > 0.5).to(torch.int64)
    powers = 2 ** torch.arange(bits.shape[1] - 1, -1, -1, device=outputs.device)
    return (bits * powers).sum(dim=1)


def train_code(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, x_test: torch.Tensor,
               y_test: torch.Tensor, code: str, epochs: int, lr: float = 3.0, batch: int = 10,
               seed: int = 0) -> list[float]:
    """SGD on the quadratic cost of sigmoid outputs against one-hot or 4-bit targets; the test
    accuracy after each epoch."""
    targets = torch.nn.functional.one_hot(y, 10).float() if code == "one-hot" else binary_targets(y)
    decode = (lambda a: a.argmax(dim=1)) if code == "one-hot" else decode_binary
    generator = np.random.default_rng(seed)
    accuracies = []
    for _ in range(epochs):
        order = torch.from_numpy(generator.permutation(len(y)))
        for index in order.split(batch):
            output = torch.sigmoid(model(x[index]))
            cost = 0.5 * (output - targets[index]).square().sum() / len(index)  # C = 1/2n sum ||a - y||^2
            grads = torch.autograd.grad(cost, list(model.parameters()))
            with torch.no_grad():
                torch._foreach_add_(list(model.parameters()), list(grads), alpha=-lr)
        with torch.no_grad():
            accuracies.append(float((decode(torch.sigmoid(model(x_test))) == y_test).float().mean()))
    return accuracies


@register("ch11", "Design de uma Rede Neural Para Reconhecimento de Dígitos",
          "Designing a network to recognise digits: 10 outputs or a 4-bit code",
          settings=(Setting("epochs", 30, 4, low=1),
                    Setting("train_size", None, 3_000, kind=int, low=100),
                    Setting("hidden", BOOK_HIDDEN, low=1)))
def demo(ctx) -> None:
    dataset = ctx.dataset()
    epochs = setting(ctx, "epochs")
    n_train = setting(ctx, "train_size")
    hidden = setting(ctx, "hidden")
    pixels = dataset.input_size
    ctx.report(tr("input neurons for a 28 x 28 image"), BOOK_INPUTS, pixels, data=dataset.name,
               matches=pixels == BOOK_INPUTS, reason=tr("other data: {shape} images").format(shape=dataset.image_shape))
    codes = len(set(decode_binary(binary_targets(torch.arange(16))).tolist()))
    ctx.report(tr("codes 4 binary outputs can express (enough for 10 digits)"), BOOK_CODES, codes,
               data=tr("computed"), matches=codes == BOOK_CODES,
               reason=tr("the 4-bit encoding does not round-trip 16 codes"))

    x, y = (torch.as_tensor(a[:n_train]) for a in dataset.train)
    x_test, y_test = (torch.as_tensor(a) for a in dataset.test)
    curves = {}
    for code, outputs in (("one-hot", 10), ("4-bit", BITS)):
        model = mlp(ctx, [pixels, hidden, outputs])  # same seed: same first-layer start for both
        ctx.say(tr("[{pixels}, {hidden}, {outputs}] with {code} targets, quadratic cost, eta 3.0, mini-batch 10, "
                   "{epochs} epochs").format(pixels=pixels, hidden=hidden, outputs=outputs, code=tr(CODE_NAMES[code]),
                                             epochs=epochs))
        previous = torch.get_num_threads()
        torch.set_num_threads(1)  # mini-batches of 10: one thread is fastest (see training_threads)
        try:
            curves[code] = train_code(model, x, y, x_test, y_test, code, epochs, seed=ctx.seed)
        finally:
            torch.set_num_threads(previous)
        for epoch, accuracy in enumerate(curves[code], start=1):
            ctx.logger.scalars(epoch, {f"{code}/test/accuracy": accuracy})
    better = curves["one-hot"][-1] > curves["4-bit"][-1]
    data = describe(dataset, n_train, tr("[{pixels}, {hidden}, 10 or 4], {epochs} epochs").format(
        pixels=pixels, hidden=hidden, epochs=epochs))
    ctx.report(tr("test accuracy: 10 one-hot outputs vs 4-bit code"),
               tr("10 outputs learn better"),
               f"{number(percent(curves['one-hot'][-1]), 2)}% vs {number(percent(curves['4-bit'][-1]), 2)}%",
               data=data, matches=better,
               reason="" if better else tr("the 4-bit code did as well or better here; {why}").format(
                   why=data_reason(ctx, dataset, n_train) or tr("the book's data")))
    ctx.table("output_encoding", [tr("epoch"), tr("10 outputs (one-hot)"), tr("4 outputs (binary code)")],
              [[e + 1, percent(a), percent(b)] for e, (a, b) in enumerate(zip(curves["one-hot"], curves["4-bit"]))])

    fig, ax = plt.subplots(figsize=(6, 4))
    for code, values in curves.items():
        ax.plot(range(1, len(values) + 1), [100 * v for v in values], marker="o", label=tr(CODE_NAMES[code]))
    ax.set(xlabel=tr("epoch"), ylabel=tr("test accuracy (%)"),
           title=f"[{pixels}, {hidden}, 10] vs [{pixels}, {hidden}, 4]")
    ax.legend()
    ctx.plot("outputs_10_vs_4", fig)
    plt.close(fig)
