#!/usr/bin/env python
"""Run a chapter demo of the book: `python scripts/demo.py ch18` reproduces the chapter's
experiment and prints `book: X | measured: Y | data: D` for each figure the chapter gives."""

from __future__ import annotations

import sys
from pathlib import Path

from lab.cli import UsageError, add_common_arguments, make_parser, run_main
from lab.i18n import language, tr


#: Chapters 62-75 are reinforcement learning: scripts/train.py runs them from a preset
#: (agents/presets/*.yaml), as the README's chapter table says.
PRESET_FOR_CHAPTER = {**dict.fromkeys(range(62, 66), "rooms-q"), 66: "tictactoe-value", 67: "rooms-q",
                      68: "rooms-q", 69: "boxing-fast", 70: "boxing-fast",
                      **dict.fromkeys(range(71, 76), "blackjack-dqn")}


def _chosen_demo(name: str) -> str:
    """The key of the demo `name` means (`ch6` is ch06, `ch45` is part of ch44), or a one-line
    UsageError: the train.py preset for an RL chapter, else the nearest demos."""
    from supervised.demos import catalogue

    number = catalogue.chapter_number(name)
    if number in PRESET_FOR_CHAPTER:
        raise UsageError(tr("chapter {number} is reinforcement learning, run by train.py from a preset: "
                            "python scripts/train.py {preset}").format(number=number, preset=PRESET_FOR_CHAPTER[number]))
    return catalogue.resolve(name).key


def main(argv: list[str] | None = None) -> int:
    parser = make_parser("demo.py", __doc__)
    parser.add_argument("demo", nargs="?", help=tr("chapter key, e.g. ch18 (see --list)"))
    parser.add_argument("--list", action="store_true", help=tr("list the demos: chapter, Portuguese and English title"))
    parser.add_argument("--all", action="store_true", help=tr("run every demo in chapter order"))
    parser.add_argument("--quick", action="store_true", help=tr("reduced size (fewer images and epochs)"))
    parser.add_argument("--data", default="auto",
                        help=tr("dataset: auto | mnist | fashion-mnist | mnist-subset | digits-8x8"))
    parser.add_argument("--data-dir", default=None, help=tr("folder with IDX files (else $DLBOOK_DATA, the cache)"))
    parser.add_argument("--download", action="store_true", help=tr("download MNIST if it is not found (needs internet)"))
    add_common_arguments(parser, run_dir_help=tr("write this demo's outputs exactly into DIR instead of runs/<demo>/<time>-s<seed> "
                                                    "(with --all: DIR/<demo>)"))
    args = parser.parse_args(argv)

    # the list and the demo's name come from the catalogue, before PyTorch is loaded
    from supervised.demos import catalogue

    if args.list:
        for demo in catalogue.entries():  # Portuguese output: the book's own titles only
            print(f"{demo.key:8s} {demo.title_pt}" if language() == "pt" else
                  f"{demo.key:8s} {demo.title_pt} | {demo.title_en}")
        return 0
    if args.all == bool(args.demo):
        raise UsageError(tr("name one demo (e.g. ch18) or pass --all; --list shows them"))
    keys = [demo.key for demo in catalogue.entries()] if args.all else [_chosen_demo(args.demo)]
    from lab.device import resolve_device
    from supervised import demos
    from supervised.data import DATASET_NAMES

    if args.data not in DATASET_NAMES:
        raise UsageError(tr("--data {value} is not valid; choose one of: {choices}").format(
            value=repr(args.data), choices=", ".join(DATASET_NAMES)))
    if args.seed < 0:
        raise UsageError(tr("--seed must be >= 0, got {value}").format(value=args.seed))
    try:
        resolve_device(args.device)
    except ValueError as err:
        raise UsageError(str(err)) from None
    demos.check_overrides(keys, args.overrides)
    asked = None if args.all else catalogue.chapter_number(args.demo)
    if asked is not None and asked != catalogue.chapter_number(keys[0]):
        print(tr("chapter {number} is part of demo {key}: running {key}").format(number=asked, key=keys[0]), flush=True)
    results = []
    for key in keys:
        results.append(demos.run(
            key, data=args.data, data_dir=args.data_dir, download=args.download, quick=args.quick,
            seed=args.seed, device=args.device,
            run_dir=args.run_dir and (str(Path(args.run_dir) / key) if args.all else args.run_dir),
            overrides=args.overrides, quiet=args.quiet, shared_overrides=args.all,
        ))
    if args.all:
        print(demos.tally(results))
    return 0


if __name__ == "__main__":
    run_main(main, sys.argv[1:])
