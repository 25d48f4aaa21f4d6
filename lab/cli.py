"""Shared command-line conventions (DESIGN.md: CLI conventions).

Every script: `--help` lists each option with its default; common flags `--seed`, `--device`,
`--run-dir`, `--set key=value` (repeatable), `--quiet`; a user mistake prints ONE line on
stderr naming the bad input and what would be valid, exit 2; a failed run exits 1.
"""

from __future__ import annotations

import argparse
import sys
from typing import Callable

from lab.checkpoint import CheckpointError, StorageError
from lab.config import ConfigError


class UsageError(ValueError):
    """A user mistake on the command line: exit status 2, one line on stderr."""


class RunFailed(RuntimeError):
    """The command was valid but the run failed: exit status 1."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, exit 2, like every other usage error
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


class _HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """The description as written (whole sentences, the script's own line breaks); each
    option's default added once, and only where its help does not already say it."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        unshown = action.default is None or action.default is False or action.default is argparse.SUPPRESS
        if "default" in text or unshown or action.default == []:
            return text  # (identity checks: a default of 0 equals False but is worth showing)
        return f"{text} (default: %(default)s)"


def make_parser(prog: str, description: str) -> argparse.ArgumentParser:
    """A parser whose --help shows `description` whole (a script's docstring: its first
    paragraph, or all of it) and each option's default once."""
    return _Parser(
        prog=prog,
        description=description.strip(),
        formatter_class=_HelpFormatter,
    )


def add_common_arguments(parser: argparse.ArgumentParser, run_dir_help: str | None = None,
                         resumable: bool = False) -> None:
    if resumable:  # left out, --seed is absent from args: 0 for a new run, the stored one on --resume
        parser.add_argument("--seed", type=int, default=argparse.SUPPRESS,
                            help="random seed (python, numpy, torch, env); --resume keeps the run's own (default: 0)")
    else:
        parser.add_argument("--seed", type=int, default=0, help="random seed (python, numpy, torch, env)")
    parser.add_argument("--device", default="auto", help="auto | cpu | cuda | cuda:N")
    parser.add_argument(
        "--run-dir", default=None,
        help=run_dir_help or "write this run exactly into DIR instead of runs/<preset>/<time>-s<seed>",
    )
    parser.add_argument(
        "--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
        help="override a config value, e.g. --set agent.lr=0.001 (repeatable)",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bar, only the summary")


def run_main(main: Callable[[list[str] | None], int | None], argv: list[str] | None = None) -> None:
    """Run a script's main, turning known errors into the one-line, exit-code convention."""
    try:
        code = main(argv)
    except (UsageError, ConfigError, StorageError) as err:
        print(f"error: {err}", file=sys.stderr)
        sys.exit(2)
    except (RunFailed, CheckpointError) as err:
        print(f"error: {err}", file=sys.stderr)
        sys.exit(1)
    except KeyboardInterrupt:
        print("interrupted: the last checkpoint is kept", file=sys.stderr)
        sys.exit(130)
    sys.exit(code or 0)
