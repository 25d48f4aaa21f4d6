"""Chapter 14 (Backpropagation Parte 1 – Grafos Computacionais e Chain Rule).

The chapter's graph: c = a + b, d = b + 1, e = c * d. At a = 2, b = 1 it gives c = 3, d = 2,
e = 6, and the derivatives along the edges are de/dc = d = 2, de/dd = c = 3, dc/da = dc/db = 1,
dd/db = 1. The chain rule sums over paths: de/da = 2 and de/db = 2*1 + 3*1 = 5.

The same numbers three ways:
* by hand, summing the products along every path (the chapter's method);
* reverse mode (backpropagation, torch autograd): one backward pass from e gives de/dx for
  every input x at once;
* forward mode (torch.func.jvp, and a ten-line dual-number class): one forward pass per input
  gives the derivative of every node with respect to that one input.
With one output and many inputs - a cost and a million weights - reverse mode wins, which is
why networks are trained by backpropagation.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch.func import jvp

from lab.i18n import N_, tr
from supervised.demos import register

BOOK_POINT = (2.0, 1.0)  # ch014.md:77
BOOK_E = 6.0  # ch014.md:89
#: The derivatives are in the chapter's figures only (ch014.md:241), not its text: the reference
#: for them is the chain rule by hand over the chapter's graph.
HAND = N_("by hand: chain rule over the chapter's graph")
#: "For this graph that is only a factor of two" - forward mode needs a pass per input, reverse
#: mode one pass from the output (ch014.md:247-250).
BOOK_PASSES = {"reverse": 1, "forward": 2}
#: The four ways the derivatives are computed, as the output names them.
BY_HAND, REVERSE, FORWARD_JVP, FORWARD_DUAL = (N_("by hand (sum over paths)"), N_("reverse mode (autograd)"),
                                               N_("forward mode (torch.func.jvp)"), N_("forward mode (dual numbers)"))


class PassCounter:
    """Counts how often the graph is evaluated (forward passes) and how often a gradient flows
    back into its output e (backward passes)."""

    def __init__(self) -> None:
        self.forward = self.backward = 0

    def graph(self, a, b):
        self.forward += 1
        e = graph(a, b)
        if isinstance(e, torch.Tensor) and e.requires_grad:
            e.register_hook(self._count_backward)
        return e

    def _count_backward(self, grad):
        self.backward += 1
        return grad


def graph(a, b):
    """e = (a + b)(b + 1), written node by node as in the chapter's figure."""
    c = a + b
    d = b + 1
    return c * d


def by_hand(a: float, b: float) -> dict[str, float]:
    """Sum over paths of the product of the edge derivatives."""
    c, d = a + b, b + 1
    de_dc, de_dd = d, c  # e = c * d
    dc_da, dc_db, dd_db = 1.0, 1.0, 1.0
    return {"e": c * d, "de/da": de_dc * dc_da, "de/db": de_dc * dc_db + de_dd * dd_db}


def by_reverse_mode(a: float, b: float) -> tuple[dict[str, float], int]:
    """torch autograd: (values, backward passes counted by a hook on e)."""
    counter = PassCounter()
    ta = torch.tensor(a, dtype=torch.float64, requires_grad=True)
    tb = torch.tensor(b, dtype=torch.float64, requires_grad=True)
    e = counter.graph(ta, tb)
    de_da, de_db = torch.autograd.grad(e, (ta, tb))
    return {"e": float(e.detach()), "de/da": float(de_da), "de/db": float(de_db)}, counter.backward


def by_forward_mode(a: float, b: float) -> tuple[dict[str, float], int]:
    """torch.func.jvp, one input direction at a time: (values, graph evaluations counted)."""
    counter = PassCounter()
    point = (torch.tensor(a, dtype=torch.float64), torch.tensor(b, dtype=torch.float64))
    derivatives = {}
    for name, direction in (("de/da", (1.0, 0.0)), ("de/db", (0.0, 1.0))):
        e, derivatives[name] = jvp(counter.graph, point, tuple(torch.tensor(v, dtype=torch.float64)
                                                               for v in direction))
    return {"e": float(e), **{k: float(v) for k, v in derivatives.items()}}, counter.forward


@dataclass(frozen=True)
class Dual:
    """A number value + eps * derivative with eps^2 = 0: arithmetic carries the derivative along."""

    value: float
    derivative: float = 0.0

    def __add__(self, other: Dual | float) -> Dual:
        other = other if isinstance(other, Dual) else Dual(float(other))
        return Dual(self.value + other.value, self.derivative + other.derivative)

    __radd__ = __add__

    def __mul__(self, other: Dual | float) -> Dual:
        other = other if isinstance(other, Dual) else Dual(float(other))
        return Dual(self.value * other.value, self.derivative * other.value + self.value * other.derivative)

    __rmul__ = __mul__


def by_dual_numbers(a: float, b: float) -> dict[str, float]:
    """Forward mode by hand: seed the input of interest with derivative 1."""
    wrt_a = graph(Dual(a, 1.0), Dual(b, 0.0))
    wrt_b = graph(Dual(a, 0.0), Dual(b, 1.0))
    return {"e": wrt_a.value, "de/da": wrt_a.derivative, "de/db": wrt_b.derivative}


@register("ch14", "Algoritmo Backpropagation Parte 1 – Grafos Computacionais e Chain Rule",
          "Backpropagation part 1: computational graphs and the chain rule")
def demo(ctx) -> None:
    a, b = BOOK_POINT
    reverse, backward_passes = by_reverse_mode(a, b)
    forward, forward_passes = by_forward_mode(a, b)
    methods = {BY_HAND: by_hand(a, b), REVERSE: reverse, FORWARD_JVP: forward, FORWARD_DUAL: by_dual_numbers(a, b)}
    hand = methods[BY_HAND]
    rows = []
    for method, values in methods.items():
        ctx.report(tr("e at a=2, b=1, {method}").format(method=tr(method)), BOOK_E, values["e"],
                   matches=values["e"] == BOOK_E, reason=tr("another value"))
        for name in ("de/da", "de/db"):
            if method != BY_HAND:
                ctx.report(tr("{name} at a=2, b=1, {method}").format(name=name, method=tr(method)), hand[name],
                           values[name], source=tr(HAND), matches=values[name] == hand[name],
                           reason=tr("disagrees with the chain rule by hand"))
        rows.append([tr(method), values["e"], values["de/da"], values["de/db"]])
    ctx.say(tr("by hand: de/da = {de_da:g}, de/db = {de_db:g} (the book shows these in a figure)").format(
        de_da=hand["de/da"], de_db=hand["de/db"]))
    ctx.report(tr("passes for both derivatives: reverse mode (counted by a hook on e)"),
               tr("{count} backward pass").format(count=BOOK_PASSES["reverse"]),
               tr("{count} backward pass").format(count=backward_passes),
               matches=backward_passes == BOOK_PASSES["reverse"], reason=tr("another count"))
    ctx.report(tr("passes for both derivatives: forward mode (graph evaluations counted)"),
               tr("1 per input ({count})").format(count=BOOK_PASSES["forward"]),
               tr("{count} forward passes").format(count=forward_passes),
               matches=forward_passes == BOOK_PASSES["forward"], reason=tr("another count"))
    ctx.table("derivatives_by_method", [tr("method"), "e", "de/da", "de/db"], rows)
    ctx.table("passes", [tr("mode"), tr("passes counted")], [[tr("reverse (backward passes)"), backward_passes],
                                                              [tr("forward (graph evaluations)"), forward_passes]])
    ctx.logger.scalars(0, {"ch14/e": hand["e"], "ch14/de_da": hand["de/da"], "ch14/de_db": hand["de/db"],
                           "ch14/reverse_passes": backward_passes, "ch14/forward_passes": forward_passes})
    ctx.plot("computational_graph", _figure(a, b, methods[BY_HAND]))


def _figure(a: float, b: float, values: dict[str, float]):
    from lab.plots import new_figure

    c, d = a + b, b + 1
    nodes = {"a": (0, 0, f"a = {a:g}"), "b": (2, 0, f"b = {b:g}"), "c": (0, 1, f"c = a + b = {c:g}"),
             "d": (2, 1, f"d = b + 1 = {d:g}"), "e": (1, 2, f"e = c * d = {values['e']:g}")}
    edges = [("a", "c", "dc/da = 1"), ("b", "c", "dc/db = 1"), ("b", "d", "dd/db = 1"),
             ("c", "e", f"de/dc = d = {d:g}"), ("d", "e", f"de/dd = c = {c:g}")]
    fig, ax = new_figure(figsize=(6, 5))
    for start, end, label in edges:
        (x0, y0, _), (x1, y1, _) = nodes[start], nodes[end]
        ax.annotate("", xy=(x1, y1 - 0.12), xytext=(x0, y0 + 0.12),
                    arrowprops={"arrowstyle": "->", "color": "gray"})
        ax.text((x0 + x1) / 2 + 0.05, (y0 + y1) / 2, label, fontsize=9, color="tab:blue")
    for x, y, label in nodes.values():
        ax.text(x, y, label, ha="center", va="center", bbox={"boxstyle": "round", "fc": "lightyellow"})
    ax.text(1, -0.55, tr("chain rule: de/da = {de_da:g},  de/db = 2*1 + 3*1 = {de_db:g}").format(
        de_da=values["de/da"], de_db=values["de/db"]), ha="center")
    ax.set_xlim(-0.7, 2.7)
    ax.set_ylim(-0.8, 2.4)
    ax.axis("off")
    return fig
