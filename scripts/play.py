#!/usr/bin/env python
"""Watch a trained agent play live, or play with it: `python scripts/play.py RUN_DIR`.

--mode watch (any run): the agent plays in real time with its Q-values. --mode play
(a tictactoe-value run): you play O against chapter 66's player. --mode beside (a Blackjack
run): you play the hands, the agent's Q(stick), Q(hit) and advice are shown. A pygame window
opens when there is a display; otherwise (or with --terminal) the game is played in the
terminal, moves typed on stdin.
"""

from __future__ import annotations

import sys

from lab.cli import make_parser, run_main
from lab.i18n import tr
from lab.rundir import RunDir


def main(argv: list[str] | None = None) -> int:
    parser = make_parser("play.py", __doc__)
    parser.add_argument("run_dir", metavar="RUN_DIR", help=tr("a run directory made by train.py"))
    parser.add_argument("--mode", default="watch", help=tr("watch | play (tic-tac-toe) | beside (Blackjack)"))
    parser.add_argument("--terminal", action="store_true", help=tr("play in the terminal even when a window could open"))
    parser.add_argument("--episodes", type=int, default=None,
                        help=tr("episodes, games or hands to show (default: watch 3, or 8 Blackjack hands; "
                                "play and beside: until you quit)"))
    parser.add_argument("--delay", type=float, default=None,
                        help=tr("seconds each decision stays on screen (default: the game's pace, real time for Atari)"))
    parser.add_argument("--seed", type=int, default=None,
                        help=tr("seed of the first episode (default: a fresh one, printed at the end)"))
    parser.add_argument("--checkpoint", choices=["best", "latest"], default="best", help=tr("which checkpoint to load"))
    parser.add_argument("--device", default="auto", help="auto | cpu | cuda | cuda:N")
    args = parser.parse_args(argv)

    RunDir.open(args.run_dir)  # a folder that is no run, or a bad option, is refused before PyTorch is loaded
    from agents.watch.options import check_live_options

    check_live_options(args.mode, args.episodes, args.delay, args.seed)
    from agents.watch import live
    print(live.play_run(args.run_dir, mode=args.mode, terminal=args.terminal, episodes=args.episodes,
                        delay=args.delay, seed=args.seed, checkpoint=args.checkpoint, device=args.device))
    return 0


if __name__ == "__main__":
    run_main(main, sys.argv[1:])
