"""Chapter 15 (Backpropagation Parte 2 – Treinamento de Redes Neurais): the chapter's XOR network.

The chapter feeds XOR through a network with two inputs and one sigmoid output, with the biases
folded into the weights by a column of ones ("bias column"): each input row is (x1, x2, 1), so
the "2-2-1" network is built as 3-3-1 - three hidden sigmoid neurons, each with a weight for
x1, x2 and the bias column - and the output neuron has no bias (ch015.md:70). For the input
(0, 1, 1), target 1, the chapter computes (ch015.md:79-103):

    hidden 1: s(0 x 0.351 + 1 x 1.076 + 1 x 1.116) = 0.899
    hidden 2: s(0 x 0.097 + 1 x 0.165 + 1 x 0.542) = 0.593
    hidden 3: s(0 x 0.457 + 1 x 0.165 + 1 x 0.331) = 0.378
    output:   s(0.899 x 0.383 + 0.593 x -0.327 + 0.378 x -0.329) = 0.506

Two printed signs were lost: s(0.165 + 0.542) would be 0.670 and s(0.165 + 0.331) 0.621; the
chapter's 0.593 and 0.378 are s(-0.165 + 0.542) and s(-0.165 - 0.331), so hidden 2 and 3 weigh
x2 by -0.165 and hidden 3's bias weight is -0.331 (0.097 and 0.457 meet x1 = 0, so their signs
do not matter here). With those weights the four figures come out as printed.

The demo then does what the chapter is for: it trains this network on XOR by backpropagation
(quadratic cost, full batch, starting from the chapter's weights) and shows that a hidden layer
makes a function learnable that no single perceptron can compute (chapter 7).
"""

from __future__ import annotations

import math

import numpy as np
import torch

from lab.i18n import N_, decimal, tr
from supervised.demo_context import in_parentheses
from supervised.demos import register

XOR_INPUTS = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=float)
XOR_TARGETS = np.array([0, 1, 1, 0], dtype=float)
#: One row per hidden neuron; columns: weight of x1, weight of x2, bias (the bias column's weight).
HIDDEN_WEIGHTS = np.array([[0.351, 1.076, 1.116],     # ch015.md:79
                           [0.097, -0.165, 0.542],    # ch015.md:82 (sign of 0.165 restored)
                           [0.457, -0.165, -0.331]])  # ch015.md:85 (signs of 0.165, 0.331 restored)
#: The output neuron's weights for hidden 1, 2, 3; no bias (ch015.md:70, :103).
OUTPUT_WEIGHTS = np.array([0.383, -0.327, -0.329])
BOOK_INPUT = (0, 1)  # ch015.md:76, the feature vector (0, 1, 1)
BOOK_HIDDEN = (0.899, 0.593, 0.378)  # ch015.md:79, :82, :85
BOOK_OUTPUT = 0.506  # ch015.md:103
#: The data of the forward-pass figures, and why one would differ.
CHAPTER_WEIGHTS = N_("the chapter's weights; printed cut to 3 decimals")
NOT_PRINTED = N_("the weights do not give the printed value")


def with_bias_column(inputs: np.ndarray) -> np.ndarray:
    """Append the column of ones that carries the biases: (x1, x2) -> (x1, x2, 1)."""
    inputs = np.atleast_2d(np.asarray(inputs, dtype=float))
    return np.hstack([inputs, np.ones((len(inputs), 1))])


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def hidden_layer(inputs, weights: np.ndarray = HIDDEN_WEIGHTS) -> np.ndarray:
    """sigmoid(X_with_bias @ W^T): one row per input, one column per hidden neuron."""
    return sigmoid(with_bias_column(inputs) @ np.asarray(weights).T)


def printed(value: float) -> float:
    """The value as the chapter prints it: cut (not rounded) to 3 decimals - s(2.192) = 0.89955
    appears as 0.899 and the output 0.50650 as 0.506."""
    return math.floor(value * 1000 + 1e-9) / 1000


def output_layer(hidden: np.ndarray, weights: np.ndarray = OUTPUT_WEIGHTS) -> np.ndarray:
    """sigmoid(H @ w): the output neuron, which has no bias (the chapter's network)."""
    return sigmoid(np.asarray(hidden) @ np.asarray(weights))


def train_xor(lr: float = 2.0, epochs: int = 3000, hidden_weights: np.ndarray = HIDDEN_WEIGHTS,
              output_weights: np.ndarray = OUTPUT_WEIGHTS) -> tuple[np.ndarray, list[float], int | None]:
    """Full-batch gradient descent with backpropagation (autograd) on the quadratic cost
    C = 1/2 sum_x (a(x) - y(x))^2, from the chapter's weights.

    Returns (final outputs for the four XOR inputs, cost per epoch, first epoch after which
    every output is within 0.1 of its target, or None).
    """
    x = torch.tensor(with_bias_column(XOR_INPUTS))
    y = torch.tensor(XOR_TARGETS)
    hidden = torch.tensor(hidden_weights, dtype=torch.float64, requires_grad=True)
    output = torch.tensor(output_weights, dtype=torch.float64, requires_grad=True)  # h1, h2, h3; no bias
    costs, solved_at = [], None
    for epoch in range(1, epochs + 1):
        h = torch.sigmoid(x @ hidden.T)
        a = torch.sigmoid(h @ output)
        cost = 0.5 * ((a - y) ** 2).sum()
        hidden.grad = output.grad = None
        cost.backward()
        with torch.no_grad():
            hidden -= lr * hidden.grad
            output -= lr * output.grad
        costs.append(float(cost.detach()))
        if solved_at is None and bool(((a - y).abs() < 0.1).all()):
            solved_at = epoch
    with torch.no_grad():
        h = torch.sigmoid(x @ hidden.T)
        a = torch.sigmoid(h @ output)
    return a.numpy(), costs, solved_at


@register("ch15", "Algoritmo Backpropagation Parte 2 – Treinamento de Redes Neurais",
          "Backpropagation part 2: training neural networks")
def demo(ctx) -> None:
    hidden = hidden_layer([BOOK_INPUT])[0]
    ctx.say(tr("hidden weights (rows: neurons; columns: x1, x2, bias):") + "\n" + decimal(str(HIDDEN_WEIGHTS))
            + "\n" + tr("output weights (h1, h2, h3; no bias): {weights}").format(
                weights=decimal(str(OUTPUT_WEIGHTS))))
    for index, (book, measured) in enumerate(zip(BOOK_HIDDEN, hidden), start=1):
        same = printed(float(measured)) == book
        ctx.report(tr("hidden neuron {index} for XOR input (0, 1)").format(index=index), book,
                   round(float(measured), 5), matches=same, data=tr(CHAPTER_WEIGHTS),
                   reason="" if same else tr(NOT_PRINTED))
    output = float(output_layer(hidden))
    same = printed(output) == BOOK_OUTPUT
    ctx.report(tr("output for XOR input (0, 1)"), BOOK_OUTPUT, round(output, 5), matches=same,
               data=tr(CHAPTER_WEIGHTS), reason="" if same else tr(NOT_PRINTED))
    table = hidden_layer(XOR_INPUTS)
    rows = [[f"({x[0]}, {x[1]})", *np.round(h, 3), round(float(output_layer(h)), 3)]
            for x, h in zip(XOR_INPUTS.astype(int), table)]
    for row in rows:
        ctx.say(tr("  input {input} -> hidden {hidden} -> output {output:.3f}").format(
            input=row[0], hidden=in_parentheses(decimal(f"{h:.3f}") for h in row[1:4]), output=row[4]))
    ctx.table("forward_pass_book_weights", [tr("input"), tr("hidden 1"), tr("hidden 2"), tr("hidden 3"), tr("output")],
              rows)

    outputs, costs, solved_at = train_xor(epochs=1500 if ctx.quick else 5000)
    learned = bool(np.all(np.abs(outputs - XOR_TARGETS) < 0.1))
    for epoch in range(0, len(costs), max(1, len(costs) // 100)):
        ctx.logger.scalars(epoch + 1, {"xor/cost": costs[epoch]})
    ctx.report(tr("2-2-1 network trained by backpropagation on XOR"), tr("learns XOR (0, 1, 1, 0)"),
               tr("{outputs} after {epochs} epochs").format(
                   outputs=in_parentheses(decimal(f"{a:.3f}") for a in outputs), epochs=len(costs))
               + (tr("; all within 0.1 from epoch {epoch}").format(epoch=solved_at) if solved_at else ""),
               matches=learned, reason="" if learned else tr("not every output within 0.1 of its target"))
    ctx.plot("xor_training", _figure(costs, outputs))


def _figure(costs: list[float], outputs: np.ndarray):
    from lab.plots import new_figure

    fig, (ax_cost, ax_out) = new_figure(1, 2, figsize=(10, 4))
    ax_cost.semilogy(costs)
    ax_cost.set_xlabel(tr("epoch (full batch, eta = 2)"))
    ax_cost.set_ylabel(tr("quadratic cost"))
    ax_cost.set_title(tr("XOR: backpropagation from the chapter's hidden weights"))
    ax_cost.grid(True, alpha=0.3)
    labels = [f"{int(a)}{int(b)}" for a, b in XOR_INPUTS]
    positions = np.arange(4)
    ax_out.bar(positions - 0.2, XOR_TARGETS, width=0.4, label=tr("target"))
    ax_out.bar(positions + 0.2, outputs, width=0.4, label=tr("network"))
    ax_out.set_xticks(positions, labels)
    ax_out.set_xlabel(tr("input x1 x2"))
    ax_out.set_title(tr("outputs after training"))
    ax_out.legend()
    return fig
