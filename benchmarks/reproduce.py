"""Regenerates the results pages' generated sections: every table a suite lists.

    python benchmarks/reproduce.py --suite quick|full [--pages docs/results]
        [--only NAME] [--list]

A section of a page lies between ``<!-- NAME: begin -->`` and ``<!-- NAME: end -->``;
the prose around it is written by hand and kept.  Each step of a suite is one
command: a ``tfxdr bench`` (its summary without the timing table, which is all that
depends on the machine) or the leaderboard, each with its runs in a directory of its
own under ``runs/``; finished runs of the same settings and code are read back, so a
stopped suite continues where it stopped.  Everything else in a section depends only
on the settings, the seeds and the code: run again after its runs directory is
removed, a suite writes the same pages, byte for byte (``--pages`` writes them
elsewhere, to compare; the leaderboard's section then names that page).  The
``quick`` suite is MovieLens-100K (about two hours on 2 CPU cores), ``full``
MovieLens-1M (many hours).
"""

from __future__ import annotations

import argparse
import dataclasses
import shutil
import sys
from pathlib import Path

from tfxdr import report
from tfxdr.cli import explain
from tfxdr.cli import main as tfxdr_main
from tfxdr.errors import TfxdrError
from tfxdr.io import write_text

OUT = "runs/reproduce"  # the benches' runs; the leaderboards' are in runs/leaderboard-*
CLICK_MODELS = "d2dtm,d2dtm_paper,ridge,ease,itemknn,multivae,pop"  # paired against the first
CTR_MODELS = "dadin,din,lr,fm_ctr,deepfm"
LEADERBOARD_MODELS = ("pop,ridge,ease,itemknn,multivae,d2dtm,d2dtm_paper,"
                      "d2dtm_cond=d2dtm_paper,lr,din,dcn,dadin,cnan_at,pop_seq,sasrec,recguru,"
                      "pop_match,two_tower,mmoe,aft")


def directory_name(name: str) -> str:
    """A section's runs directory: its name without spaces or commas."""
    return name.replace(" ", "-").replace(",", "-")


@dataclasses.dataclass(frozen=True)
class Step:
    """One command and the section it writes.  ``argv`` is a ``tfxdr`` command line
    (``tfxdr`` left out: a bench, whose summary is the section, or a study, which
    writes none: ``page`` empty) or, with ``leaderboard``, the leaderboard's (its
    ``--page`` is added)."""

    name: str
    page: str
    argv: tuple[str, ...]
    leaderboard: bool = False


def bench_step(name: str, page: str, models: str, dataset: str, domains: str) -> Step:
    return Step(name, page, (
        "bench", "--models", models, "--dataset", dataset, "--domains", domains,
        "--seeds", "0,1,2", "--out", f"{OUT}/{directory_name(name)}", "--no-timing"))


def click_bench(name: str, dataset: str, domains: str) -> Step:
    return bench_step(name, "closed_form.md", CLICK_MODELS, dataset, domains)


def leaderboard(name: str, dataset: str, domains: str, out: str,
                models: str = LEADERBOARD_MODELS) -> Step:
    section = () if name == "leaderboard table" else ("--section", name)
    return Step(name, "leaderboard.md", (
        "--dataset", dataset, "--domains", domains, "--out", out,
        "--models", models, "--set", "d2dtm_cond:discriminator_input=conditional",
        *section), leaderboard=True)


#: Equal budgets: each paper model's variant and its strongest baselines get the same
#: number of trials on the development pair, seed 0's validation users.
TUNED = (("d2dtm", "d2dtm", ()), ("d2dtm_paper", "d2dtm_paper", ()),
         ("d2dtm_cond", "d2dtm_paper", ("--set", "discriminator_input=conditional")),
         ("multivae", "multivae", ()), ("ridge", "ridge", ()))
TRIALS = 20


def study(label: str, model: str, extra: tuple, dataset: str, domains: str) -> Step:
    return Step(f"tune {label} {dataset} {domains}", "", (
        "tune", model, "--dataset", dataset, "--domains", domains, "--trials", str(TRIALS),
        "--out", f"runs/tune-{dataset}/{label}", *extra, "--quiet"))


def tuned_bench(name: str, dataset: str, domains: str) -> Step:
    configs = [arg for label, _, _ in TUNED
               for arg in ("--config", f"{label}:runs/tune-{dataset}/{label}/best_config.json")]
    models = ",".join(label if label == model else f"{label}={model}"
                      for label, model, _ in TUNED) + ",pop"
    return Step(name, "d2dtm_ml1m.md", (
        "bench", "--models", models, *configs, "--dataset", dataset, "--domains", domains,
        "--seeds", "0,1,2", "--out", f"{OUT}/{directory_name(name)}", "--no-timing"))


SUITES = {
    "quick": (
        click_bench("clicks ml-100k Drama,Comedy", "ml-100k", "Drama,Comedy"),
        click_bench("clicks ml-100k Romance,Thriller", "ml-100k", "Romance,Thriller"),
        bench_step("ctr ml-100k Drama,Comedy", "dadin_ml1m.md", CTR_MODELS, "ml-100k",
                   "Drama,Comedy"),
        *(study(label, model, extra, "ml-100k", "Drama,Comedy") for label, model, extra in TUNED),
        tuned_bench("tuned ml-100k Drama,Comedy", "ml-100k", "Drama,Comedy"),
        leaderboard("leaderboard table", "ml-100k", "Drama,Comedy", "runs/leaderboard-100k"),
    ),
    "full": (
        click_bench("clicks ml-1m Drama,Comedy", "ml-1m", "Drama,Comedy"),
        click_bench("clicks ml-1m Action,Romance", "ml-1m", "Action,Romance"),
        leaderboard("leaderboard ml-1m", "ml-1m", "Drama,Comedy", "runs/leaderboard-1m",
                    LEADERBOARD_MODELS + ",fm_ctr,deepfm"),
    ),
}


def missing_sections(steps, pages: Path) -> list[str]:
    """A line for each step whose page lacks its section's markers."""
    missing = []
    for step in steps:
        if not step.page:
            continue
        page = pages / step.page
        if not report.has_section(page.read_text() if page.is_file() else "", step.name):
            begin, end = report.section_markers(step.name)
            missing.append(f"{page}: has no {begin} ... {end} section for step {step.name!r}")
    return missing


def run_step(step: Step, pages: Path) -> None:
    """Runs the step's command and replaces its section of its page in ``pages``."""
    argv = list(step.argv)
    page = pages / step.page
    if not step.page:
        code = tfxdr_main(argv)
    elif step.leaderboard:
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        import leaderboard as board

        code = board.main([*argv, "--page", str(page)])
    else:
        code = tfxdr_main(argv)
        if code == 0:
            summary = (Path(argv[argv.index("--out") + 1]) / "summary.md").read_text()
            try:
                text = report.replace_section(page.read_text(), step.name, summary, str(page))
            except ValueError as error:
                raise TfxdrError(str(error)) from None
            write_text(page, text)
    if code:
        raise TfxdrError(f"step {step.name!r} failed (exit status {code})")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--suite", choices=sorted(SUITES), required=True)
    parser.add_argument("--pages", default="docs/results",
                        help="the pages to update; another directory gets copies of "
                             "docs/results's pages first")
    parser.add_argument("--only", action="append", metavar="NAME",
                        help="a step of the suite to run (repeatable; names hold commas)")
    parser.add_argument("--list", action="store_true", help="print the steps and stop")
    args = parser.parse_args(argv)
    steps = SUITES[args.suite]
    if args.only:
        wanted = args.only
        unknown = sorted(set(wanted) - {s.name for s in steps})
        if unknown:
            parser.error(f"--only: {unknown[0]!r} is not a section of the {args.suite} suite; "
                         f"expected some of {', '.join(s.name for s in steps)}")
        steps = tuple(s for s in steps if s.name in wanted)
    if args.list:
        for step in steps:
            print(f"{step.page or '(no page)'}: {step.name}")
        return 0
    pages = Path(args.pages)
    source = Path(__file__).resolve().parents[1] / "docs" / "results"
    if pages.resolve() != source.resolve():
        pages.mkdir(parents=True, exist_ok=True)
        for step in steps:
            if step.page and not (pages / step.page).is_file():
                shutil.copy(source / step.page, pages / step.page)
    missing = missing_sections(steps, pages)
    if missing:  # found now, not after hours of training
        print(f"reproduce.py: error: {missing[0]}", file=sys.stderr)
        return 2
    try:
        for step in steps:
            print(f"reproduce: {step.page}: {step.name}", flush=True)
            run_step(step, pages)
    except TfxdrError as error:
        print(f"reproduce.py: error: {explain(error)}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
