"""Chapter 15 (Backpropagation Parte 2 – Treinamento de Redes Neurais): a 2-2-1 XOR network.

The chapter feeds XOR through a network with two inputs, two sigmoid hidden neurons and one
sigmoid output, with the biases folded into the weights by a column of ones ("bias column"):
each input row is (x1, x2, 1). The printed weights lost their minus signs; the layout that
reproduces the chapter's hidden activations to 3 decimals is

    hidden neuron 1: w_x1 = 0.097, w_x2 = -0.165, w_bias = 0.542
    hidden neuron 2: w_x1 = 0.457, w_x2 = -0.165, w_bias = -0.331

(one row per hidden neuron, columns x1, x2, bias). For the XOR input (0, 1) - row (0, 1, 1),
target 1 - the hidden layer gives sigmoid(-0.165 + 0.542) = sigmoid(0.377) = 0.593 and
sigmoid(-0.165 - 0.331) = sigmoid(-0.496) = 0.378, the chapter's two values. Trying all 720
placements of the six signed numbers in the 2x3 matrix, bias column first or last, on all four
XOR inputs: every placement that gives both values is this one relabelled - neuron 1 adds
-0.165 and 0.542, neuron 2 adds -0.165 and -0.331, and 0.097 and 0.457 meet an input of 0.
Keeping the printed order (x1, x2, bias), the input is (0, 1).

Not reproduced: the chapter's 0.899 (hidden) and 0.506 (output). 0.899 = sigmoid(2.186), and
no sum of these six weights with input coefficients 0-3 reaches 2.186, so it needs weights
that are not in this list. The output also needs the output neuron's weights, which are not in
it either. The demo says so (matches=None) instead of inventing weights.

The demo then does what the chapter is for: it trains this network on XOR by backpropagation
(quadratic cost, full batch, starting from the chapter's hidden weights and zero output
weights) and shows that two hidden neurons are enough for a function no single perceptron can
compute (chapter 7).
"""

from __future__ import annotations

import numpy as np
import torch

from supervised.demos import register

XOR_INPUTS = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=float)
XOR_TARGETS = np.array([0, 1, 1, 0], dtype=float)
#: One row per hidden neuron; columns: weight of x1, weight of x2, bias (the bias column's weight).
HIDDEN_WEIGHTS = np.array([[0.097, -0.165, 0.542],
                           [0.457, -0.165, -0.331]])
BOOK_INPUT = (0, 1)
BOOK_HIDDEN = (0.593, 0.378)
BOOK_UNREPRODUCED = {"hidden activation 0.899": 0.899, "output": 0.506}


def with_bias_column(inputs: np.ndarray) -> np.ndarray:
    """Append the column of ones that carries the biases: (x1, x2) -> (x1, x2, 1)."""
    inputs = np.atleast_2d(np.asarray(inputs, dtype=float))
    return np.hstack([inputs, np.ones((len(inputs), 1))])


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def hidden_layer(inputs, weights: np.ndarray = HIDDEN_WEIGHTS) -> np.ndarray:
    """sigmoid(X_with_bias @ W^T): one row per input, one column per hidden neuron."""
    return sigmoid(with_bias_column(inputs) @ np.asarray(weights).T)


def train_xor(lr: float = 2.0, epochs: int = 3000, hidden_weights: np.ndarray = HIDDEN_WEIGHTS
              ) -> tuple[np.ndarray, list[float], int | None]:
    """Full-batch gradient descent with backpropagation (autograd) on the quadratic cost
    C = 1/2 sum_x (a(x) - y(x))^2, from the chapter's hidden weights and zero output weights.

    Returns (final outputs for the four XOR inputs, cost per epoch, first epoch after which
    every output is within 0.1 of its target, or None).
    """
    x = torch.tensor(with_bias_column(XOR_INPUTS))
    y = torch.tensor(XOR_TARGETS)
    hidden = torch.tensor(hidden_weights, dtype=torch.float64, requires_grad=True)
    output = torch.zeros(3, dtype=torch.float64, requires_grad=True)  # weights of h1, h2, bias
    costs, solved_at = [], None
    for epoch in range(1, epochs + 1):
        h = torch.sigmoid(x @ hidden.T)
        a = torch.sigmoid(torch.cat([h, torch.ones(len(h), 1, dtype=h.dtype)], dim=1) @ output)
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
        a = torch.sigmoid(torch.cat([h, torch.ones(len(h), 1, dtype=h.dtype)], dim=1) @ output)
    return a.numpy(), costs, solved_at


@register("ch15", "Algoritmo Backpropagation Parte 2 – Treinamento de Redes Neurais",
          "Backpropagation part 2: training neural networks")
def demo(ctx) -> None:
    hidden = hidden_layer([BOOK_INPUT])[0]
    ctx.say("hidden weights (rows: neurons; columns: x1, x2, bias):\n" + str(HIDDEN_WEIGHTS))
    for index, (book, measured) in enumerate(zip(BOOK_HIDDEN, hidden), start=1):
        ctx.report(f"hidden neuron {index} for XOR input (0, 1)", book, round(float(measured), 4),
                   matches=round(float(measured), 3) == book)
    for label, book in BOOK_UNREPRODUCED.items():
        ctx.report(label, book, "not reproducible from the listed weights (see the module docstring)",
                   matches=None)
    table = hidden_layer(XOR_INPUTS)
    for x, h in zip(XOR_INPUTS.astype(int), table):
        ctx.say(f"  input ({x[0]}, {x[1]}) -> hidden ({h[0]:.3f}, {h[1]:.3f})")

    outputs, costs, solved_at = train_xor(epochs=1500 if ctx.quick else 5000)
    learned = bool(np.all(np.abs(outputs - XOR_TARGETS) < 0.1))
    ctx.report("2-2-1 network trained by backpropagation on XOR", "learns XOR (0, 1, 1, 0)",
               "(" + ", ".join(f"{a:.3f}" for a in outputs) + f") after {len(costs)} epochs"
               + (f"; all within 0.1 from epoch {solved_at}" if solved_at else ""), matches=learned)
    ctx.plot("xor_training", _figure(costs, outputs))


def _figure(costs: list[float], outputs: np.ndarray):
    from lab.plots import new_figure

    fig, (ax_cost, ax_out) = new_figure(1, 2, figsize=(10, 4))
    ax_cost.semilogy(costs)
    ax_cost.set_xlabel("epoch (full batch, eta = 2)")
    ax_cost.set_ylabel("quadratic cost")
    ax_cost.set_title("XOR: backpropagation from the chapter's hidden weights")
    ax_cost.grid(True, alpha=0.3)
    labels = [f"{int(a)}{int(b)}" for a, b in XOR_INPUTS]
    positions = np.arange(4)
    ax_out.bar(positions - 0.2, XOR_TARGETS, width=0.4, label="target")
    ax_out.bar(positions + 0.2, outputs, width=0.4, label="network")
    ax_out.set_xticks(positions, labels)
    ax_out.set_xlabel("input x1 x2")
    ax_out.set_title("outputs after training")
    ax_out.legend()
    return fig
