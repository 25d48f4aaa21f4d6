#!/usr/bin/env python
"""Measure speed and memory against Stable-Baselines3 in the same run, as ratios:
`python scripts/bench.py atari` or `python scripts/bench.py blackjack`; the agents with memory
against RecurrentPPO and POPGym's published figures: `python scripts/bench.py memory`; finished
Boxing sweeps beside the Atari 100k literature: `python scripts/bench.py atari100k --from DIR`."""

from __future__ import annotations

import sys

from lab.cli import make_parser, run_main
from lab.i18n import tr

from agents.bench import ATARI_PARTS, MEMORY_PARTS


def main(argv: list[str] | None = None) -> int:
    parser = make_parser("bench.py", __doc__)
    parser.add_argument("suite", choices=["atari", "atari100k", "blackjack", "memory"], help=tr("which comparison to run"))
    parser.add_argument("--steps", type=int, default=None,
                        help=tr("agent steps per training measurement (atari default 20000)"))
    parser.add_argument("--seed", type=int, default=0, help=tr("random seed"))
    parser.add_argument("--device", default="cpu", help="auto | cpu | cuda")
    parser.add_argument("--quiet", action="store_true", help=tr("no progress bars"))
    parser.add_argument("--only", default=None,
                        help=tr("comma-separated subset of the table's parts (atari: {atari}; memory: {memory})").format(
                            atari=",".join(ATARI_PARTS), memory=",".join(MEMORY_PARTS)))
    parser.add_argument("--seeds", default=None, help=tr("memory suite: comma-separated seeds (default 0,1,2)"))
    parser.add_argument("--workers", type=int, default=1,
                        help=tr("memory suite: trainings run at once, one torch thread each"))
    parser.add_argument("--from", dest="sources", action="append", default=None, metavar="DIR",
                        help=tr("atari100k: a finished sweep or run directory to list (repeatable)"))
    args = parser.parse_args(argv)

    if args.suite == "atari100k" or args.sources:
        return _literature_table(parser, args)
    from agents.bench import suites
    table = suites.run(args.suite, steps=args.steps, seed=args.seed, device=args.device,
                      quiet=args.quiet, only=args.only, seeds=args.seeds, workers=args.workers)
    print(table)
    return 0


def _literature_table(parser, args) -> int:
    """atari100k trains nothing: it reads the sweeps or runs given with --from."""
    if args.suite != "atari100k":
        parser.error(tr("--from DIR is what the atari100k suite reads (a finished sweep or run), and only it"))
    if not args.sources:
        parser.error(tr("bench atari100k reads finished runs: give --from DIR (a sweep directory or a run "
                        "directory), e.g. --from runs/boxing-100k/sweep-..."))
    from agents.sweeps import atari100k
    print(atari100k.table(args.sources))
    return 0


if __name__ == "__main__":
    run_main(main, sys.argv[1:])
