"""Chapter 33 (Por que as Redes Neurais Profundas São Difíceis de Treinar?): deep vs shallow circuits.

With AND gates of any number of inputs and an OR (or NAND gates of any fan-in), any function
can be computed by a circuit only two layers deep (ch033.md:25). But for some functions a
shallow circuit needs exponentially more gates than a deep one: computing the parity of a set
of bits with a shallow circuit takes exponentially many gates (ch033.md:46), while a deep
circuit computes it with a small circuit - the parity of pairs of bits, then of pairs of pairs,
and so on (ch033.md:49).

The demo builds both circuits for n bits and checks them on every one of the 2^n inputs:
* shallow (depth 2): one AND gate for each input pattern with an odd number of ones (each AND
  reads all n bits, some negated), then one OR: 2^(n-1) + 1 gates;
* deep: a tree of 2-input XOR gates, pairs, then pairs of pairs: n - 1 gates in ceil(log2 n)
  layers (4 NAND gates each if only NAND is allowed: 4 (n - 1)).
It counts the gates from the circuits it built, not from the formulas.
"""

from __future__ import annotations

import itertools
import math

import matplotlib.pyplot as plt
import numpy as np

from lab.i18n import tr
from supervised.demos import Setting, register
from supervised.demos._training import setting


def all_inputs(n: int) -> np.ndarray:
    """Every n-bit input, one per row (2^n rows)."""
    return np.array(list(itertools.product((0, 1), repeat=n)), dtype=bool)


def shallow_parity_circuit(n: int) -> list[np.ndarray]:
    """Depth-2 circuit: one AND gate per odd-weight pattern, given as the pattern it matches;
    the OR of them is the output."""
    return [np.array(p, dtype=bool) for p in itertools.product((0, 1), repeat=n) if sum(p) % 2 == 1]


def run_shallow(and_gates: list[np.ndarray], inputs: np.ndarray) -> np.ndarray:
    """AND gate k fires when the input equals its pattern (the bits that are 0 there enter negated)."""
    patterns = np.stack(and_gates)  # (gates, n)
    fires = (inputs[:, None, :] == patterns[None, :, :]).all(axis=2)  # the AND layer
    return fires.any(axis=1)  # the OR gate


def deep_parity_circuit(n: int) -> list[list[tuple[int, int]]]:
    """Layers of 2-input XOR gates over wire indices: wires 0..n-1 are the inputs, each gate
    adds a wire; an odd wire out at a layer passes through to the next."""
    layers, wires, next_wire = [], list(range(n)), n
    while len(wires) > 1:
        layer, carried = [], []
        for a, b in zip(wires[0::2], wires[1::2]):
            layer.append((a, b))
            carried.append(next_wire)
            next_wire += 1
        if len(wires) % 2:
            carried.append(wires[-1])
        layers.append(layer)
        wires = carried
    return layers


def run_deep(layers: list[list[tuple[int, int]]], inputs: np.ndarray) -> np.ndarray:
    wires = [inputs[:, i] for i in range(inputs.shape[1])]
    for layer in layers:
        for a, b in layer:
            wires.append(wires[a] ^ wires[b])  # XOR = 4 NAND gates
    return wires[-1] if layers else wires[0]


@register("ch33", "Por que as Redes Neurais Profundas São Difíceis de Treinar?",
          "Why deep networks are hard to train: deep vs shallow circuits for parity",
          settings=(Setting("max_bits", 14, 10, low=2, high=16),))
def demo(ctx) -> None:
    largest = setting(ctx, "max_bits")
    sizes = list(range(2, largest + 1))
    shallow_gates, deep_gates, deep_depths, correct = [], [], [], True
    for n in sizes:
        inputs = all_inputs(n)
        parity = inputs.sum(axis=1) % 2 == 1
        shallow = shallow_parity_circuit(n)
        deep = deep_parity_circuit(n)
        correct &= bool(np.array_equal(run_shallow(shallow, inputs), parity))
        correct &= bool(np.array_equal(run_deep(deep, inputs), parity))
        shallow_gates.append(len(shallow) + 1)  # the AND gates and the OR
        deep_gates.append(sum(len(layer) for layer in deep))
        deep_depths.append(len(deep))
        ctx.logger.scalars(n, {"parity/shallow_gates": shallow_gates[-1], "parity/deep_gates": deep_gates[-1],
                               "parity/deep_layers": deep_depths[-1]})
    data = tr("circuits built for n = 2..{largest} bits, checked on all 2^n inputs").format(largest=largest)
    ctx.report(tr("both circuits compute parity on every input"), tr("any function in 2 layers (ch033.md:25)"),
               tr("yes") if correct else tr("no"), data=data, matches=correct, reason=tr("a circuit gave a wrong parity"))
    growth = [b / a for a, b in zip(shallow_gates, shallow_gates[1:])]
    exponential = all(1.9 < g <= 2.1 for g in growth[3:]) and deep_gates == [n - 1 for n in sizes]
    ctx.report(tr("gates for n = {first}..{largest}: shallow (depth 2) vs deep").format(first=sizes[0], largest=largest),
               tr("shallow: exponentially many; deep: a small circuit"),  # ch033.md:46, :49
               tr("shallow {first} .. {last:,} (x{growth:.2f} per bit); deep {deep_first} .. {deep_last} in {layers} "
                  "layers").format(first=shallow_gates[0], last=shallow_gates[-1], growth=growth[-1],
                                   deep_first=deep_gates[0], deep_last=deep_gates[-1], layers=deep_depths[-1]),
               data=data, matches=exponential, reason=tr("the counts do not grow as described"))
    depth_ok = deep_depths == [math.ceil(math.log2(n)) for n in sizes]
    ctx.report(tr("layers of the deep circuit for {largest} bits (pairs, pairs of pairs, ...)").format(largest=largest),
               tr("pairs, then pairs of pairs, and so on"),  # ch033.md:49
               tr("{layers} layers (ceil(log2 {largest}))").format(layers=deep_depths[-1], largest=largest), data=data,
               matches=depth_ok, reason=tr("the depth is not ceil(log2 n)"))
    ctx.table("parity_gates", [tr("bits"), tr("shallow gates (depth 2)"), tr("deep XOR gates"), tr("deep layers")],
              [[n, s, d, k] for n, s, d, k in zip(sizes, shallow_gates, deep_gates, deep_depths)])

    fig, ax = plt.subplots(figsize=(6, 4))
    ax.semilogy(sizes, shallow_gates, "o-", label=tr("shallow: 2^(n-1) ANDs + 1 OR (depth 2)"))
    ax.semilogy(sizes, deep_gates, "s-", label=tr("deep: n - 1 XORs (depth ceil(log2 n))"))
    ax.set(xlabel=tr("bits n"), ylabel=tr("gates"), title=tr("parity: shallow vs deep circuits"))
    ax.legend(fontsize=8)
    ctx.plot("parity_gates", fig)
    plt.close(fig)
