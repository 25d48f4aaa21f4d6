#!/usr/bin/env python
"""Evaluate a trained run: `python scripts/evaluate.py RUN_DIR` plays its agent and prints the
mean return, std and a 95% CI beside the training's own final evaluation. The result is written
beside the training's eval.json (which is kept) as eval-s<seed>-n<episodes>-<checkpoint>.json,
with -eps<epsilon> added when the exploration differs from the run's protocol."""

from __future__ import annotations

import sys

from lab.cli import make_parser, run_main
from lab.i18n import tr
from lab.rundir import RunDir


def main(argv: list[str] | None = None) -> int:
    parser = make_parser("evaluate.py", __doc__)
    parser.add_argument("run_dir", metavar="RUN_DIR", help=tr("a run directory made by train.py; or a sweep "
                        "directory made by sweep.py, whose finished trials are then aggregated across seeds "
                        "(mean, median, IQM, 95%% intervals, summary.csv; the other options do not apply)"))
    parser.add_argument("--checkpoint", choices=["best", "latest"], default="best",
                        help=tr("which checkpoint to load"))
    parser.add_argument("--episodes", type=int, default=None,
                        help=tr("episodes to play (default: the preset's evaluation episodes)"))
    parser.add_argument("--epsilon", type=float, default=None,
                        help=tr("exploration during evaluation (default: the preset's protocol, e.g. 0.05 on Atari)"))
    parser.add_argument("--seed", type=int, default=12345, help=tr("seed of the evaluation episodes"))
    parser.add_argument("--device", default="auto", help="auto | cpu | cuda | cuda:N")
    parser.add_argument("--quiet", action="store_true", help=tr("no progress bar"))
    args = parser.parse_args(argv)

    from agents.sweeps.manifest import is_sweep_dir

    if is_sweep_dir(args.run_dir):
        from agents.sweeps.aggregate import summarize_sweep

        print(summarize_sweep(args.run_dir).table())
        return 0
    RunDir.open(args.run_dir)  # a folder that is no run, or a bad option, is refused before PyTorch is loaded
    from agents.playing import check_play_options

    check_play_options(args.episodes, args.epsilon, args.seed)
    from agents import evaluation

    report = evaluation.evaluate_run(
        args.run_dir, checkpoint=args.checkpoint, episodes=args.episodes, epsilon=args.epsilon,
        seed=args.seed, device=args.device, quiet=args.quiet,
    )
    print(report)
    return 0


if __name__ == "__main__":
    run_main(main, sys.argv[1:])
