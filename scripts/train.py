#!/usr/bin/env python
"""Train an agent from a preset: `python scripts/train.py [PRESET] [--set key=value ...]`.

With no preset it trains blackjack-dqn, the book's Blackjack project (chapters 71-75).
"""

from __future__ import annotations

import sys

from lab.cli import UsageError, add_common_arguments, make_parser, run_main
from lab.i18n import tr

DEFAULT_PRESET = "blackjack-dqn"


def main(argv: list[str] | None = None) -> int:
    from agents.presets import BACKENDS, SB3_ALGOS

    parser = make_parser("train.py", __doc__)
    parser.add_argument("preset", nargs="?", default=DEFAULT_PRESET, help=tr("preset name (see --list)"))
    parser.add_argument("--list", action="store_true", help=tr("list the presets with one line each and exit"))
    parser.add_argument("--resume", metavar="RUN_DIR", default=None,
                        help=tr("continue a run from its checkpoints/latest (counters, epsilon, optimizer, networks)"))
    parser.add_argument("--save-replay", action="store_true",
                        help=tr("also store the replay memory with each checkpoint (else it is refilled on resume); "
                                "the same as --set replay.saved=true"))
    parser.add_argument("--backend", choices=BACKENDS, default="native",
                        help=tr("train with this project's agents or with Stable-Baselines3"))
    parser.add_argument("--algo", choices=SB3_ALGOS, default=None,
                        help=tr("SB3 algorithm for --backend sb3 (default: dqn)"))
    add_common_arguments(parser, resumable=True)
    args = parser.parse_args(argv)

    from agents import presets

    if args.list:
        listed = presets.available()
        budgets = {name: presets.budget_line(name) for name in listed}
        width, budget_width = max(map(len, listed)), max(map(len, budgets.values()))
        for name, description in listed.items():  # the budget says which key --set must change
            print(f"{name:{width}s}  {budgets[name]:>{budget_width}s}  {tr(description)}")
        return 0
    if args.algo and args.backend != "sb3":
        raise UsageError(tr("--algo only applies with --backend sb3"))
    if args.save_replay:  # the flag is the config key, so config.yaml keeps it for --resume
        args.overrides = [*(args.overrides or []), "replay.saved=true"]
    if not args.resume:
        presets.load(args.preset)  # an unknown name is said before PyTorch is loaded
    from agents import runner

    result = runner.train(
        preset=args.preset, overrides=args.overrides, seed=getattr(args, "seed", None), device=args.device,
        run_dir=args.run_dir, quiet=args.quiet, resume=args.resume,
        backend=args.backend, algo=args.algo,
    )
    print(result.summary())
    return 0


if __name__ == "__main__":
    run_main(main, sys.argv[1:])
