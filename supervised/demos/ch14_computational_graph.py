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

from supervised.demos import register

BOOK_POINT = (2.0, 1.0)
BOOK_VALUES = {"e": 6.0, "de/da": 2.0, "de/db": 5.0}


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
    """torch autograd: (values, number of backward passes used = 1)."""
    ta = torch.tensor(a, dtype=torch.float64, requires_grad=True)
    tb = torch.tensor(b, dtype=torch.float64, requires_grad=True)
    e = graph(ta, tb)
    de_da, de_db = torch.autograd.grad(e, (ta, tb))
    return {"e": float(e.detach()), "de/da": float(de_da), "de/db": float(de_db)}, 1


def by_forward_mode(a: float, b: float) -> tuple[dict[str, float], int]:
    """torch.func.jvp, one pass per input direction: (values, number of passes = 2)."""
    point = (torch.tensor(a, dtype=torch.float64), torch.tensor(b, dtype=torch.float64))
    e, de_da = jvp(graph, point, (torch.tensor(1.0, dtype=torch.float64), torch.tensor(0.0, dtype=torch.float64)))
    _, de_db = jvp(graph, point, (torch.tensor(0.0, dtype=torch.float64), torch.tensor(1.0, dtype=torch.float64)))
    return {"e": float(e), "de/da": float(de_da), "de/db": float(de_db)}, 2


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
    methods = {
        "by hand (sum over paths)": by_hand(a, b),
        "reverse mode (autograd)": reverse,
        "forward mode (torch.func.jvp)": forward,
        "forward mode (dual numbers)": by_dual_numbers(a, b),
    }
    for method, values in methods.items():
        for name, book in BOOK_VALUES.items():
            ctx.report(f"{name} at a=2, b=1, {method}", book, values[name], matches=values[name] == book)
    ctx.report("passes for both derivatives: reverse mode", "1 backward pass", f"{backward_passes} backward pass",
               matches=backward_passes == 1)
    ctx.report("passes for both derivatives: forward mode", "1 forward pass per input (2)",
               f"{forward_passes} forward passes", matches=forward_passes == 2)
    ctx.plot("computational_graph", _figure(a, b, methods["by hand (sum over paths)"]))


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
    ax.text(1, -0.55, f"chain rule: de/da = {values['de/da']:g},  de/db = 2*1 + 3*1 = {values['de/db']:g}",
            ha="center")
    ax.set_xlim(-0.7, 2.7)
    ax.set_ylim(-0.8, 2.4)
    ax.axis("off")
    return fig
