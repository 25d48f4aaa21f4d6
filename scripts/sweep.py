#!/usr/bin/env python
"""Many seeds, a grid or a search of one preset on Ray Tune, aggregated across seeds.

`python scripts/sweep.py PRESET --seeds 0-9 [--grid key=v1,v2] [--search optuna --trials N]`:

Each trial is an ordinary run directory under runs/<preset>/sweep-<time>/; the table (mean,
median, IQM with stratified-bootstrap 95% intervals, rliable) is printed and written as
summary.csv. Needs the scale extra: pip install -e ".[scale]".
"""

from __future__ import annotations

import os
import sys

from lab.cli import flags_given, make_parser, run_main
from lab.i18n import tr


def main(argv: list[str] | None = None) -> int:
    parser = make_parser("sweep.py", __doc__)
    parser.add_argument("preset", nargs="?", default=None, help=tr("preset name (see train.py --list)"))
    parser.add_argument("--seeds", default="0", help=tr("seeds of every configuration: 0-9, 0,3,7 or 0-4,9"))
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help=tr("override a config value in every trial, e.g. --set total_episodes=20000 (repeatable)"))
    parser.add_argument("--grid", action="append", default=[], metavar="KEY=V1,V2",
                        help=tr("one configuration per value, every combination of every --grid (repeatable)"))
    parser.add_argument("--search", choices=["optuna"], default=None,
                        help=tr("sample configurations with Optuna (one seed each) from the --range and --grid values"))
    parser.add_argument("--range", dest="ranges", action="append", default=[], metavar="KEY=LOW:HIGH[:log]",
                        help=tr("with --search: an interval to sample, e.g. agent.lr=1e-4:1e-2:log (repeatable)"))
    parser.add_argument("--trials", type=int, default=None, help=tr("with --search: configurations to sample"))
    parser.add_argument("--metric", default=None,
                        help=tr("what the search and ASHA compare: eval/mean_return, or for Blackjack eval/regret "
                             "(its default) or eval/exact_return"))
    parser.add_argument("--scheduler", choices=["asha", "none"], default=None,
                        help=tr("asha stops poor trials at their periodic evaluations (default: asha with --search, "
                             "else none)"))
    parser.add_argument("--cpus-per-trial", type=float, default=1.0,
                        help=tr("CPUs Ray gives each trial; its torch threads are the same number"))
    parser.add_argument("--gpus-per-trial", type=float, default=0.0, help=tr("GPUs Ray gives each trial"))
    parser.add_argument("--cpus", type=int, default=os.cpu_count() or 1,
                        help=tr("CPUs a local Ray may use (ignored with --address)"))
    parser.add_argument("--address", default=None,
                        help=tr("join a running Ray cluster: auto (this machine's) or HOST:PORT of `ray start --head`"))
    parser.add_argument("--device", default="auto", help=tr("device of every trial: auto | cpu | cuda"))
    parser.add_argument("--sweep-dir", default=None,
                        help=tr("write this sweep exactly into DIR instead of runs/<preset>/sweep-<time>"))
    parser.add_argument("--max-failures", type=int, default=2,
                        help=tr("times a trial whose process dies is started again (from its last checkpoint)"))
    parser.add_argument("--resume", metavar="SWEEP_DIR", default=None,
                        help=tr("continue an interrupted sweep with its own settings; finished trials are not "
                                "run again"))
    parser.add_argument("--quiet", action="store_true", help=tr("only the table, no line per trial"))
    args = parser.parse_args(argv)

    from lab.cli import UsageError

    from agents import presets
    from agents.sweeps.manifest import Manifest, require

    if args.resume is not None:
        given = [flag for flag, value in (("PRESET", args.preset), ("--set", args.overrides), ("--grid", args.grid),
                                          ("--sweep-dir", args.sweep_dir), ("--search", args.search),
                                          ("--range", args.ranges), ("--trials", args.trials),
                                          ("--metric", args.metric), ("--scheduler", args.scheduler)) if value]
        # flags with a default: given only if typed (the sweep's own value is in sweep.json)
        given += [f"--{dest.replace('_', '-')}" for dest in flags_given(
            parser, argv, ("seeds", "device", "cpus_per_trial", "gpus_per_trial", "max_failures"))]
        if given:
            raise UsageError(tr("--resume continues a sweep with its own settings; leave out {choices}").format(
                choices=', '.join(given)))
        resumed = Manifest.read(args.resume)  # a folder that is no sweep is refused before Ray and PyTorch load
    elif args.preset is None:
        raise UsageError(tr('give a PRESET (see scripts/train.py --list) or --resume SWEEP_DIR'))
    else:
        presets.load(args.preset)  # an unknown name is said before Ray and PyTorch are loaded
    require("ray.tune", tr("sweep.py (trials run on Ray Tune)"))
    require("rliable.library", tr("sweep.py (seeds are aggregated with rliable)"))
    from agents.sweeps.plan import check_resumable, make_manifest

    if args.resume is not None:
        # a damaged sweep.json or a trial config this version refuses stops here, before Ray starts
        check_resumable(resumed)
        from agents.sweeps import aggregate, tuning

        outcome = tuning.resume_sweep(args.resume, args.address, args.cpus, quiet=args.quiet)
        return report(outcome, aggregate)
    manifest = make_manifest(args.preset, args.seeds, args.overrides, args.grid, args.ranges, args.search,
                             args.trials, args.scheduler, args.metric, args.cpus_per_trial, args.gpus_per_trial,
                             args.cpus, args.device, args.max_failures, args.address)
    if manifest.search:
        require("optuna", "--search optuna")
    from agents.sweeps import aggregate, tuning

    outcome = tuning.run_sweep(manifest, args.sweep_dir, args.cpus, quiet=args.quiet)
    return report(outcome, aggregate)


def report(outcome, aggregate) -> int:
    """The table of what finished, then one line per failed trial; the exit status says how it ended."""
    from lab.cli import UsageError

    try:
        print(aggregate.summarize_sweep(outcome.sweep_dir).table())
    except UsageError as err:  # no trial finished
        print(tr("no table: {err}").format(err=err), file=sys.stderr)
    for line in outcome.errors:
        print(line, file=sys.stderr)
    if outcome.unfinished:
        print(tr("interrupted with {count} trials unfinished; continue with: {command}").format(
            count=outcome.unfinished, command=f"python scripts/sweep.py --resume {outcome.sweep_dir}"), file=sys.stderr)
    print(tr("watch: tensorboard --logdir {logdir}").format(logdir=outcome.sweep_dir))
    return outcome.exit_code


if __name__ == "__main__":
    run_main(main, sys.argv[1:])
