#!/usr/bin/env python
"""Record gameplay of a trained run: `python scripts/record.py RUN_DIR` writes one MP4 (or GIF)
per episode (for Blackjack, one file of several hands) to RUN_DIR/videos/, headless, and shows
it in TensorBoard."""

from __future__ import annotations

import sys

from lab.cli import make_parser, run_main
from lab.i18n import tr
from lab.rundir import RunDir


def main(argv: list[str] | None = None) -> int:
    parser = make_parser("record.py", __doc__)
    parser.add_argument("run_dir", metavar="RUN_DIR", help=tr("a run directory made by train.py"))
    parser.add_argument("--episodes", type=int, default=1, help=tr("episodes to record (one file each)"))
    parser.add_argument("--format", choices=["mp4", "gif"], default="mp4", help=tr("video container"))
    parser.add_argument("--overlay", action="store_true",
                        help=tr("draw the step, the action and the Q-values on each frame"))
    parser.add_argument("--checkpoint", choices=["best", "latest"], default="best",
                        help=tr("which checkpoint to load"))
    parser.add_argument("--epsilon", type=float, default=None,
                        help=tr("exploration while recording (default: the evaluation protocol's)"))
    parser.add_argument("--fps", type=int, default=None, help=tr("frames per second (default: per game)"))
    parser.add_argument("--seed", type=int, default=777, help=tr("seed of the recorded episodes"))
    parser.add_argument("--device", default="auto", help="auto | cpu | cuda | cuda:N")
    args = parser.parse_args(argv)

    RunDir.open(args.run_dir)  # a folder that is no run, or a bad option, is refused before PyTorch is loaded
    from agents.watch.options import check_record_options

    check_record_options(args.episodes, args.format, args.fps, args.epsilon, args.seed)
    from agents.watch.recording import record_run

    paths = record_run(
        args.run_dir, episodes=args.episodes, fmt=args.format, overlay=args.overlay,
        checkpoint=args.checkpoint, epsilon=args.epsilon, fps=args.fps, seed=args.seed,
        device=args.device,
    )
    for path in paths:
        print(path)
    return 0


if __name__ == "__main__":
    run_main(main, sys.argv[1:])
