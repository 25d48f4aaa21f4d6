"""Shared command-line conventions (docs/design.md: CLI conventions).

Every script: `--help` lists each option with its default; common flags `--seed`, `--device`,
`--run-dir`, `--set key=value` (repeatable), `--quiet`, `--lang pt|en`; a user mistake prints ONE
line on stderr naming the bad input and what would be valid, exit 2; a failed run exits 1.

Everything a script says is in the language lab.i18n chooses: `run_main` reads `--lang` off the
command line before the script builds its parser (help texts are translated as they are added),
and argparse's own words go through the same catalogue.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Callable

from lab.errors import CheckpointError, StorageError
from lab.config import ConfigError
from lab.i18n import LANGUAGES, ngettext, requested_language, set_language, tr

# argparse says its own words (usage, section titles, its error messages) through gettext's
# global domain; routed through the project's catalogue, `--lang pt` changes them too.
argparse._ = tr
argparse.ngettext = ngettext


class UsageError(ValueError):
    """A user mistake on the command line: exit status 2, one line on stderr."""


class RunFailed(RuntimeError):
    """The command was valid but the run failed: exit status 1."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, exit 2, like every other usage error
        self.exit(2, tr("{prog}: error: {message} (see --help)").format(prog=self.prog, message=message) + "\n")


class _HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """The description as written (whole sentences, the script's own line breaks); each
    option's default added once, and only where its help does not already say it."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        unshown = action.default is None or action.default is False or action.default is argparse.SUPPRESS
        if any(word in text for word in ("default", tr("default"))) or unshown or action.default == []:
            return text  # (identity checks: a default of 0 equals False but is worth showing)
        return text + tr(" (default: %(default)s)")


def make_parser(prog: str, description: str) -> argparse.ArgumentParser:
    """A parser whose --help shows `description` whole (a script's docstring: its first
    paragraph, or all of it) and each option's default once."""
    parser = _Parser(
        prog=prog,
        description=tr(description.strip()),
        formatter_class=_HelpFormatter,
    )
    parser.add_argument("--lang", choices=LANGUAGES, default=None,
                        help=tr("language of the output: en or pt (default: the environment's, pt when "
                                "LANGUAGE, LC_ALL, LC_MESSAGES or LANG starts with pt)"))
    return parser


def add_common_arguments(parser: argparse.ArgumentParser, run_dir_help: str | None = None,
                         resumable: bool = False) -> None:
    if resumable:  # left out, --seed is absent from args: 0 for a new run, the stored one on --resume
        parser.add_argument("--seed", type=int, default=argparse.SUPPRESS,
                            help=tr("random seed (python, numpy, torch, env); --resume keeps the run's own "
                                    "(default: 0)"))
    else:
        parser.add_argument("--seed", type=int, default=0, help=tr("random seed (python, numpy, torch, env)"))
    parser.add_argument("--device", default="auto", help="auto | cpu | cuda | cuda:N")
    parser.add_argument(
        "--run-dir", default=None,
        help=run_dir_help or tr("write this run exactly into DIR instead of runs/<preset>/<time>-s<seed>"),
    )
    parser.add_argument(
        "--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
        help=tr("override a config value, e.g. --set agent.lr=0.001 (repeatable)"),
    )
    parser.add_argument("--quiet", action="store_true", help=tr("no progress bar, only the summary"))


def flags_given(parser: argparse.ArgumentParser, argv: list[str] | None, dests: tuple[str, ...]) -> list[str]:
    """Which of the options `dests` the command line typed (a default is not typed, even when
    the value typed equals it): argparse fills in a default only where the namespace has none."""
    unset = object()
    typed = parser.parse_args(argv, namespace=argparse.Namespace(**{dest: unset for dest in dests}))
    return [dest for dest in dests if getattr(typed, dest) is not unset]


def run_main(main: Callable[[list[str] | None], int | None], argv: list[str] | None = None) -> None:
    """Run a script's main in the language `--lang` asks for (else the environment's), turning
    known errors into the one-line, exit-code convention."""
    language = requested_language(sys.argv[1:] if argv is None else argv)
    set_language(language if language in LANGUAGES else None)  # a bad --lang: the parser says so
    try:
        code = main(argv)
    except (UsageError, ConfigError, StorageError) as err:
        print(tr("error: {message}").format(message=err), file=sys.stderr)
        sys.exit(2)
    except (RunFailed, CheckpointError) as err:
        print(tr("error: {message}").format(message=err), file=sys.stderr)
        sys.exit(1)
    except KeyboardInterrupt:
        print(tr("interrupted: the last checkpoint is kept"), file=sys.stderr)
        sys.exit(130)
    except BrokenPipeError:
        # the reader went away (`... | head`): no traceback, and none from the exit's flush either
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(141)  # 128 + SIGPIPE, as a shell reports a piped command cut short
    sys.exit(code or 0)
