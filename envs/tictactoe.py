"""Tic-tac-toe against an imperfect opponent (chapter 66, the value-function agent).

The book's first reinforcement-learning agent learns, by playing, the probability of winning
from each board position, and it needs an opponent that makes mistakes.  Here the agent plays
X and moves first; the opponent plays O.  With probability ``opponent_skill`` (p in [0, 1])
the opponent plays a minimax-optimal move (chosen uniformly among the optimal ones) and
otherwise a uniformly random legal move: p = 0 is a uniformly random player, p = 1 a perfect
player that never loses.

Board: 9 cells numbered 0-8 row by row, each 0 (empty), 1 (X) or 2 (O).  Observation: by
default the base-3 code ``sum(cell[i] * 3**i)`` as ``Discrete(3**9)`` (an int, hashable by a
tabular agent); ``observation="cells"`` gives the 9 cells as ``MultiDiscrete([3]*9)``.
Action: the cell to mark (Discrete(9)); ``info["action_mask"]`` (np.int8, 9) marks the
empty cells.

Rewards, the book's framing: win 1, draw ``draw_reward`` (0.0), loss ``loss_reward`` (0.0).
At the end ``info["outcome"]`` is "win", "draw" or "loss".  An illegal move (an occupied
cell) is masked; taken anyway it ends the episode as a loss (``info["illegal_move"] = True``)
or, with ``illegal_move="raise"``, raises ValueError.

For a value-function agent the module also gives :func:`afterstates` (the board after each
legal move), :func:`board_key` (the exact base-3 code) and :func:`canonical_key` (the smallest
code over the board's 8 rotations and reflections, so symmetric positions share a value).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any, Sequence

import gymnasium
import numpy as np
from gymnasium import spaces

from lab.checks import one_of, within

EMPTY, X, O = 0, 1, 2
N_CELLS = 9
N_BOARDS = 3**N_CELLS
LINES: tuple[tuple[int, int, int], ...] = (
    (0, 1, 2), (3, 4, 5), (6, 7, 8),  # rows
    (0, 3, 6), (1, 4, 7), (2, 5, 8),  # columns
    (0, 4, 8), (2, 4, 6),  # diagonals
)
Board = tuple[int, ...]

# The 8 symmetries of the square as cell permutations: new_board[i] = board[perm[i]].
_ROTATE = (6, 3, 0, 7, 4, 1, 8, 5, 2)
_REFLECT = (2, 1, 0, 5, 4, 3, 8, 7, 6)


def _compose(first: Sequence[int], second: Sequence[int]) -> tuple[int, ...]:
    return tuple(first[second[i]] for i in range(N_CELLS))


def _symmetries() -> tuple[tuple[int, ...], ...]:
    identity = tuple(range(N_CELLS))
    perms, current = [], identity
    for _ in range(4):
        perms.append(current)
        perms.append(_compose(current, _REFLECT))
        current = _compose(current, _ROTATE)
    return tuple(perms)


SYMMETRIES = _symmetries()


def as_board(board: Sequence[int] | np.ndarray) -> Board:
    """Validate ``board`` (9 cells of 0/1/2) and return it as a tuple of ints."""
    cells = tuple(int(cell) for cell in np.asarray(board).reshape(-1))
    if len(cells) != N_CELLS or any(cell not in (EMPTY, X, O) for cell in cells):
        raise ValueError(f"a board is 9 cells of 0 (empty), 1 (X) or 2 (O), got {board!r}")
    return cells


def board_key(board: Sequence[int]) -> int:
    """The exact base-3 code of a board: sum(cell[i] * 3**i), in [0, 3**9)."""
    return sum(int(cell) * 3**i for i, cell in enumerate(board))


def decode_board(key: int) -> Board:
    """Inverse of :func:`board_key`."""
    if not 0 <= int(key) < N_BOARDS:
        raise ValueError(f"board key must be in [0, {N_BOARDS}), got {key!r}")
    key, cells = int(key), []
    for _ in range(N_CELLS):
        key, cell = divmod(key, 3)
        cells.append(cell)
    return tuple(cells)


def canonical_key(board: Sequence[int]) -> int:
    """Smallest :func:`board_key` over the 8 rotations/reflections of ``board``."""
    return min(board_key([board[perm[i]] for i in range(N_CELLS)]) for perm in SYMMETRIES)


def winner(board: Sequence[int]) -> int:
    """1 if X has three in a line, 2 if O has, 0 otherwise."""
    for a, b, c in LINES:
        if board[a] != EMPTY and board[a] == board[b] == board[c]:
            return int(board[a])
    return EMPTY


def legal_moves(board: Sequence[int]) -> list[int]:
    """Empty cells (none once somebody has won)."""
    if winner(board) != EMPTY:
        return []
    return [i for i, cell in enumerate(board) if cell == EMPTY]


def is_terminal(board: Sequence[int]) -> bool:
    """True when somebody has won or the board is full."""
    return winner(board) != EMPTY or all(cell != EMPTY for cell in board)


def player_to_move(board: Sequence[int]) -> int:
    """X moves first, so X is to move when both have the same number of marks."""
    n_x = sum(cell == X for cell in board)
    n_o = sum(cell == O for cell in board)
    return X if n_x == n_o else O


def play(board: Sequence[int], cell: int, player: int) -> Board:
    """The board after ``player`` marks ``cell`` (which must be empty)."""
    if board[cell] != EMPTY:
        raise ValueError(f"cell {cell} is occupied; empty cells: {legal_moves(board)}")
    cells = list(board)
    cells[cell] = player
    return tuple(cells)


def afterstates(board: Sequence[int], player: int = X) -> list[tuple[int, Board]]:
    """``(cell, board after player marks cell)`` for every legal move, in cell order."""
    board = as_board(board)
    return [(cell, play(board, cell, player)) for cell in legal_moves(board)]


@lru_cache(maxsize=None)
def minimax_value(board: Board, player: int) -> int:
    """Game value for ``player`` who is to move on ``board``: +1 win, 0 draw, -1 loss."""
    won = winner(board)
    if won != EMPTY:
        return 1 if won == player else -1
    moves = legal_moves(board)
    if not moves:
        return 0
    other = O if player == X else X
    return max(-minimax_value(play(board, cell, player), other) for cell in moves)


@lru_cache(maxsize=None)
def optimal_moves(board: Board, player: int) -> tuple[int, ...]:
    """All moves that achieve the minimax value for ``player`` on ``board``."""
    other = O if player == X else X
    moves = legal_moves(board)
    scores = [-minimax_value(play(board, cell, player), other) for cell in moves]
    best = max(scores)
    return tuple(cell for cell, score in zip(moves, scores) if score == best)


class TicTacToeEnv(gymnasium.Env):
    """The agent plays X against an O of given skill; see the module docstring for rules.

    ``reset(options={"board": cells})`` starts from a given position with X to move (for
    tests and curricula).
    """

    metadata = {"render_modes": ["ansi"]}

    def __init__(
        self,
        opponent_skill: float = 0.0,
        draw_reward: float = 0.0,
        loss_reward: float = 0.0,
        illegal_move: str = "lose",
        observation: str = "index",
        render_mode: str | None = None,
    ) -> None:
        within("opponent_skill", opponent_skill, 0, 1)
        one_of("illegal_move", illegal_move, ("lose", "raise"))
        one_of("observation", observation, ("index", "cells"))
        one_of("render_mode", render_mode, (None, "ansi"))
        self.opponent_skill = float(opponent_skill)
        self.win_reward = 1.0
        self.draw_reward = float(draw_reward)
        self.loss_reward = float(loss_reward)
        self.illegal_move = illegal_move
        self.observation_mode = observation
        self.render_mode = render_mode
        self.action_space = spaces.Discrete(N_CELLS)
        if observation == "index":
            self.observation_space = spaces.Discrete(N_BOARDS)
        else:
            self.observation_space = spaces.MultiDiscrete([3] * N_CELLS)
        self.board: Board = (EMPTY,) * N_CELLS

    # -- what a value-function agent needs -------------------------------------------------
    def afterstates(self) -> list[tuple[int, Board]]:
        """``(cell, board after X marks cell)`` for each legal X move on the current board."""
        return afterstates(self.board, X)

    def action_mask(self) -> np.ndarray:
        mask = np.zeros(N_CELLS, dtype=np.int8)
        mask[legal_moves(self.board)] = 1
        return mask

    # -- gymnasium API ---------------------------------------------------------------------
    def _observation(self) -> int | np.ndarray:
        if self.observation_mode == "index":
            return board_key(self.board)
        return np.array(self.board, dtype=np.int64)

    def _opponent_move(self) -> int:
        if self.np_random.random() < self.opponent_skill:
            choices = optimal_moves(self.board, O)
        else:
            choices = tuple(legal_moves(self.board))
        return int(choices[int(self.np_random.integers(len(choices)))])

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[int | np.ndarray, dict[str, Any]]:
        super().reset(seed=seed)
        options = dict(options or {})
        board = options.pop("board", None)
        if options:
            raise ValueError(f"unknown reset option(s) {sorted(options)}; valid: ['board']")
        if board is None:
            self.board = (EMPTY,) * N_CELLS
        else:
            board = as_board(board)
            if player_to_move(board) != X:
                raise ValueError(f"start board must have X to move (equal X and O counts), got {board}")
            if is_terminal(board):
                raise ValueError(f"start board is already finished: {board}")
            self.board = board
        return self._observation(), {"action_mask": self.action_mask()}

    def _finish(self, outcome: str, **extra: Any) -> tuple[Any, float, bool, bool, dict[str, Any]]:
        reward = {"win": self.win_reward, "draw": self.draw_reward, "loss": self.loss_reward}[outcome]
        info = {"action_mask": self.action_mask(), "outcome": outcome, **extra}
        return self._observation(), reward, True, False, info

    def step(self, action: int) -> tuple[Any, float, bool, bool, dict[str, Any]]:
        if not self.action_space.contains(action):
            raise ValueError(f"action must be a cell 0-8, got {action!r}")
        cell = int(action)
        if self.board[cell] != EMPTY:
            if self.illegal_move == "raise":
                raise ValueError(f"cell {cell} is occupied; legal cells: {legal_moves(self.board)}")
            return self._finish("loss", illegal_move=True)
        self.board = play(self.board, cell, X)
        if winner(self.board) == X:
            return self._finish("win", illegal_move=False)
        if is_terminal(self.board):
            return self._finish("draw", illegal_move=False)
        self.board = play(self.board, self._opponent_move(), O)
        if winner(self.board) == O:
            return self._finish("loss", illegal_move=False)
        if is_terminal(self.board):  # unreachable (X fills the 9th cell) but kept for safety
            return self._finish("draw", illegal_move=False)
        return self._observation(), 0.0, False, False, {"action_mask": self.action_mask()}

    def render(self) -> str | None:
        if self.render_mode != "ansi":
            return None
        symbols = {EMPTY: ".", X: "X", O: "O"}
        rows = ["".join(symbols[self.board[3 * r + c]] for c in range(3)) for r in range(3)]
        return "\n".join(rows)


def make_tictactoe(
    opponent_skill: float = 0.0,
    draw_reward: float = 0.0,
    loss_reward: float = 0.0,
    illegal_move: str = "lose",
    observation: str = "index",
    render_mode: str | None = None,
) -> TicTacToeEnv:
    """Factory used by ``envs.make("tictactoe", ...)``; see :class:`TicTacToeEnv`."""
    return TicTacToeEnv(
        opponent_skill=opponent_skill,
        draw_reward=draw_reward,
        loss_reward=loss_reward,
        illegal_move=illegal_move,
        observation=observation,
        render_mode=render_mode,
    )
