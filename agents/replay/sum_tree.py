"""The sum tree of prioritized replay (Schaul et al. 2016; docs/design.md: rooms; chapter 70)."""

from __future__ import annotations

import numpy as np


class SumTree:
    """A binary tree whose nodes hold the sums of their leaves' priorities.

    Leaves live at ``nodes[size + i]``, the root at ``nodes[1]``.  Updates and prefix-sum
    searches take whole index arrays at once: ``log2(size)`` numpy operations per call, no
    Python loop per element.
    """

    def __init__(self, num_leaves: int) -> None:
        self.size = 1 << max(0, int(num_leaves - 1).bit_length())
        self.depth = self.size.bit_length() - 1
        self.nodes = np.zeros(2 * self.size, dtype=np.float64)

    @property
    def total(self) -> float:
        """Sum of all leaves."""
        return float(self.nodes[1])

    def leaves(self, indices: np.ndarray) -> np.ndarray:
        """The values of the given leaves."""
        return self.nodes[self.size + np.asarray(indices, dtype=np.int64)]

    def set(self, indices: np.ndarray, values: np.ndarray) -> None:
        """Set leaves (the last value wins for repeated indices) and refresh their ancestors."""
        nodes = np.asarray(indices, dtype=np.int64) + self.size
        if nodes.size == 0:
            return
        self.nodes[nodes] = values
        nodes = np.unique(nodes)
        for _ in range(self.depth):
            nodes = nodes // 2
            # Sorted input stays sorted under // 2, so duplicates are neighbours.
            nodes = nodes[np.concatenate(([True], nodes[1:] != nodes[:-1]))]
            # Recomputing each parent from its children (never adding deltas) keeps the
            # sums free of accumulated rounding error.
            self.nodes[nodes] = self.nodes[2 * nodes] + self.nodes[2 * nodes + 1]

    def find(self, targets: np.ndarray) -> np.ndarray:
        """For each target in ``[0, total)``, the leaf whose cumulative range contains it.

        The search only ever enters a subtree with a positive sum (a positive node always has
        a positive child), so rounding at a boundary can never land on a zero leaf.
        """
        remaining = np.asarray(targets, dtype=np.float64).copy()
        nodes = np.ones(remaining.shape, dtype=np.int64)
        for _ in range(self.depth):
            left = self.nodes[2 * nodes]
            right = self.nodes[2 * nodes + 1]
            go_right = (right > 0.0) & ((remaining >= left) | (left <= 0.0))
            remaining = np.where(go_right, remaining - left, remaining)
            nodes = 2 * nodes + go_right
        return nodes - self.size

    def rebuild(self, leaf_values: np.ndarray) -> None:
        """Replace every leaf (the first ``len(leaf_values)``) and recompute all sums."""
        self.nodes[:] = 0.0
        self.nodes[self.size : self.size + len(leaf_values)] = leaf_values
        for level in range(self.depth - 1, -1, -1):
            first, last = 1 << level, 2 << level
            parents = np.arange(first, last)
            self.nodes[parents] = self.nodes[2 * parents] + self.nodes[2 * parents + 1]
