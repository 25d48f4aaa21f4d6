"""Environments made by name (chapters 66-75): ``envs.make("five-rooms")`` and friends.

Registered here: ``five-rooms`` (chapters 67-68), ``tictactoe`` (chapter 66) and
``blackjack`` (chapters 71-75, Gymnasium's Blackjack-v1 with the book's rules; its exact
optimum is in :mod:`envs.blackjack_solver`).  Other modules add names with
:func:`register` (``envs.atari`` is imported lazily the first time an unknown name is asked
for).  Any Gymnasium id such as ``"FrozenLake-v1"`` also works with :func:`make`.
"""

from envs.blackjack import make_blackjack
from envs.five_rooms import FiveRoomsEnv, make_five_rooms
from envs.partial import make_cartpole_novel, make_popgym
from envs.registry import accepted_options, available, check, make, make_vector, register, register_vector
from envs.tictactoe import TicTacToeEnv, make_tictactoe

register(
    "five-rooms",
    make_five_rooms,
    "The book's five-rooms building (ch. 67-68): move room to room, 100 for reaching outside (5).",
)
register(
    "tictactoe",
    make_tictactoe,
    "Tic-tac-toe as X vs an O that plays minimax with probability opponent_skill (ch. 66).",
)
register(
    "blackjack",
    make_blackjack,
    "Gymnasium Blackjack-v1 with natural=False, sab=False: infinite deck, dealer stands on 17 "
    "(ch. 71-75).",
)
register(
    "cartpole-novel",
    make_cartpole_novel,
    "CartPole-v1 observing cart position and pole angle only (velocities hidden): needs memory; "
    "frame_stack=k for memory-less agents.",
)
register(
    "popgym",
    make_popgym,
    "A POPGym memory task (Morad et al. 2023; pip install popgym): task=RepeatPrevious|"
    "StatelessCartPole|HigherLower|..., level=easy|medium|hard; returns normalised to [-1, 1].",
)

__all__ = [
    "FiveRoomsEnv",
    "TicTacToeEnv",
    "available",
    "make",
    "make_blackjack",
    "make_five_rooms",
    "make_tictactoe",
    "make_vector",
    "register",
    "register_vector",
]
