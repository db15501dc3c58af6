"""The leaderboard: every family's models on the same held-out users (see tfxdr.leaderboard).

    python benchmarks/leaderboard.py --dataset ml-1m --domains Drama,Comedy \
        --out runs/leaderboard [--models LABEL=MODEL,...] [--set LABEL:KEY=VALUE ...] \
        [--config LABEL:STUDY/best_config.json] [--seeds 0,1,2] [--fraction 0.25] \
        [--page docs/results/leaderboard.md]

For each seed, ``--fraction`` of the users who clicked in both domains lose their
target-domain (second domain's) rows; every model trains on what is left with that
seed, by its own task's protocol and validation selection (``OUT/seed-N/LABEL``, a
normal run directory); then the held-out users rank every target item through the
model's serving signatures and their per-user Recall / NDCG at 10 and 50 are kept
(``OUT/seed-N/LABEL/held_out_users.csv``).  Finished runs and scores are read back, so an
interrupted leaderboard continues where it stopped; a finished run made with other
settings is refused.  Writes ``OUT/leaderboard.md`` (and ``--page``, with the plot
beside it): how each model's settings were chosen (its defaults, a grid on validation,
or a study's ``--config``, with its number of trials), mean ± std over seeds, and
paired comparisons with the best model, by seed and by user.  A study's config was
chosen on its own split, in which some of these held-out users may have trained or
validated with their target rows: study the held-out protocol's training users only
(a ``--dataset`` file without the held-out rows) for a clean comparison.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import shlex
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from tfxdr import experiment, report, rundir
from tfxdr.cli import entry_settings, explain
from tfxdr.data import make_split
from tfxdr.errors import RunDirError, TfxdrError
from tfxdr.io import atomic_file, write_text
from tfxdr.leaderboard import KS, METRICS, HeldOut, hold_out, recommend_held_out, score
from tfxdr.registry import MODELS
from tfxdr.rundir import read_json
from tfxdr.tuning import settings_note

USER_SCORES = "held_out_users.csv"
DEFAULT_MODELS = ("pop,ridge,ease,itemknn,multivae,d2dtm,d2dtm_paper,"
                  "lr,din,dcn,dadin,cnan_at,"
                  "pop_seq,sasrec,recguru,"
                  "pop_match,two_tower,mmoe,aft")
FAMILY_NAMES = {"clicks": "click translation", "ctr": "CTR", "sequences": "sequences",
                "matching": "matching"}
COLUMNS = [f"{m}@{k}" for m in METRICS for k in KS]


def entries(text: str) -> list[tuple[str, str]]:
    """``LABEL=MODEL`` or ``MODEL`` entries, each model checked against the registry."""
    out = []
    for entry in text.split(","):
        label, _, model = entry.strip().rpartition("=")
        MODELS.get(model)
        out.append((label or model, model))
    return out


def held_out_record(data: experiment.DataConfig, seed: int, fraction: float) -> dict:
    """What identifies the rows a leaderboard run trains on, in its ``config.json``."""
    from tfxdr.data import sources

    return {"leaderboard": {"seed": seed, "fraction": fraction, "target": data.domains[-1]},
            **sources.fingerprint(data.dataset, data.user_features, data.item_features)}


def train_run(label: str, model: str, overrides: list[str], values: dict | None,
              held: HeldOut, data: experiment.DataConfig, seed: int, fraction: float,
              run_dir: Path) -> None:
    """Trains one model on the training rows by its task's own split, its config
    ``values`` (a study's best) then ``overrides`` over the defaults, unless finished
    with the same settings (a finished run of other settings is refused)."""
    record = held_out_record(data, seed, fraction)
    planned = experiment.plan_run(model, data, seed, overrides, given={"sources": record},
                                  config_values=values)
    if rundir.is_complete(run_dir):
        found = experiment.difference(read_json(run_dir / rundir.CONFIG_FILE),
                                      planned.record)
        if found:
            raise RunDirError(f"{run_dir}: a finished run of other settings ({found}); "
                              "choose another --out, or remove it to train it again")
        print(f"leaderboard: {label} seed {seed}: finished, read back", flush=True)
        return
    task = planned.task
    restricted = task.restrict(held.training)
    split_spec = dataclasses.replace(planned.split, kind=task.default_split.kind)
    split = make_split(restricted, split_spec)
    print(f"leaderboard: {label} ({model}) seed {seed} -> {run_dir}", flush=True)
    result = experiment.train(model, data, run_dir, seed=seed, overrides=overrides, verbose=0,
                              interactions=dataclasses.replace(restricted, frame=split),
                              sources_record=record, config_values=values)
    print(f"leaderboard: {label} seed {seed}: best epoch {result['validation']['best_epoch']} "
          f"of {result['epochs_run']}, {result['train_seconds']:.0f} s of training", flush=True)


def user_scores(run_dir: Path, held: HeldOut) -> pd.DataFrame:
    """The held-out users' metrics from a run, computed once and kept in the run's
    directory (so that they go with it when it is removed or trained again)."""
    path = run_dir / USER_SCORES
    if path.is_file():
        return pd.read_csv(path, dtype={"user_id": str})
    recommended = recommend_held_out(run_dir, held)
    table = pd.DataFrame({"user_id": held.users, **score(recommended, held)})
    with atomic_file(path) as scratch:
        table.to_csv(scratch, index=False)
    return table


def summary(results: dict[str, dict[int, pd.DataFrame]], families: dict[str, str],
            tuning: dict[str, str], command: str, plot_name: str | None) -> str:
    """The page: the command, the table, the paired comparisons with the best model."""
    means = {label: {seed: table[COLUMNS].mean() for seed, table in by_seed.items()}
             for label, by_seed in results.items()}
    key = "recall@50"
    order = sorted(results, key=lambda label: -np.mean([m[key] for m in means[label].values()]))
    best = order[0]
    lines = ["Regenerate (finished runs and scores are read back):", "", "```bash",
             command, "```", "",
             "Held-out users' test metrics; mean ± sample std over seeds; sorted by "
             "recall@50; the paired columns compare recall@50 with the best model's "
             f"(`{best}`): the mean difference, the paired t over seeds, and the paired t "
             "over every held-out user of every seed.", "",
             "| model | family | settings | seeds | " + " | ".join(COLUMNS)
             + " | Δ recall@50 | t (seeds) | t (users) |",
             "|---|---|---|---|" + "---|" * (len(COLUMNS) + 3)]
    for label in order:
        seeds = sorted(means[label])
        cells = [report.stat_cell([means[label][s][c] for s in seeds]) for c in COLUMNS]
        if label == best:
            paired = ["", "", ""]
        else:
            by_seed = report.paired_differences({s: means[label][s][key] for s in seeds},
                                                {s: means[best][s][key] for s in means[best]})
            users = np.concatenate([
                (results[label][s][key] - results[best][s][key]).to_numpy()
                for s in seeds if s in results[best]])
            users = users[~np.isnan(users)]
            t_users = (users.mean() / (users.std(ddof=1) / math.sqrt(len(users)))
                       if len(users) > 1 and users.std(ddof=1) > 0 else float("nan"))
            paired = [f"{by_seed['mean_difference']:+.4f}", f"{by_seed['t']:.2f}",
                      f"{t_users:.1f}"]
        lines.append(f"| {label} | {FAMILY_NAMES[families[label]]} | {tuning[label]} | "
                     f"{len(seeds)} | "
                     + " | ".join(cells + paired) + " |")
    if plot_name:
        lines += ["", f"![recall@50 by model]({plot_name})"]
    return "\n".join(lines) + "\n"


SECTION = "leaderboard table"


def with_section(page: Path, text: str, section: str = SECTION) -> str:
    """The page with its section ``section`` replaced (the prose around it kept), or a
    new page of the section alone."""
    if not page.is_file():
        begin, end = report.section_markers(section)
        return f"{begin}\n{text.rstrip()}\n{end}\n"
    try:
        return report.replace_section(page.read_text(), section, text, str(page))
    except ValueError as error:
        raise TfxdrError(str(error)) from None


def plot(results, families, path: Path) -> None:
    plt = report.pyplot()
    key = "recall@50"
    stats = {label: report.mean_std([table[key].mean() for table in by_seed.values()])
             for label, by_seed in results.items()}
    order = sorted(stats, key=lambda label: stats[label][0])
    colours = {family: f"C{k}" for k, family in enumerate(FAMILY_NAMES)}
    figure, axes = plt.subplots(figsize=(7, 0.32 * len(order) + 1.2))
    axes.barh(order, [stats[label][0] for label in order],
              xerr=[stats[label][1] for label in order],
              color=[colours[families[label]] for label in order])
    from matplotlib.patches import Patch

    axes.set_xlabel("held-out users' recall@50 (mean ± std over seeds)")
    axes.legend(handles=[Patch(color=colour, label=FAMILY_NAMES[family])
                         for family, colour in colours.items() if family in families.values()],
                loc="lower right", fontsize=8)
    figure.tight_layout()
    with atomic_file(path) as scratch:
        figure.savefig(scratch, format="png", dpi=120)
    plt.close(figure)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dataset", required=True)
    parser.add_argument("--domains", required=True, help="SOURCE,TARGET")
    parser.add_argument("--out", required=True)
    parser.add_argument("--models", default=DEFAULT_MODELS)
    parser.add_argument("--set", dest="overrides", action="append", default=[],
                        metavar="LABEL:KEY=VALUE")
    parser.add_argument("--config", dest="configs", action="append", default=[],
                        metavar="LABEL:FILE", help="a study's best_config.json for an entry "
                        "(its table row says how many trials chose it)")
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--fraction", type=float, default=0.25,
                        help="share of the users who clicked in both domains held out")
    parser.add_argument("--page", help="also write the page's section here, the plot beside "
                                       "it")
    parser.add_argument("--section", default=SECTION,
                        help="the name of the page's section to replace")
    args = parser.parse_args(argv)
    command = "python benchmarks/leaderboard.py " + shlex.join(
        argv if argv is not None else sys.argv[1:])
    try:
        chosen = entries(args.models)
        overrides, studies, values, configs = entry_settings(chosen, args.overrides,
                                                             args.configs)
        try:
            seeds = [int(s) for s in args.seeds.split(",")]
        except ValueError:
            raise TfxdrError(f"--seeds {args.seeds!r}: expected comma-separated integers"
                             ) from None
        page = Path(args.page) if args.page else None
        if page is not None and page.is_file() and not report.has_section(page.read_text(),
                                                                          args.section):
            begin, end = report.section_markers(args.section)  # found before any training
            raise TfxdrError(f"{page}: has no {begin} ... {end} section to replace")
        data = experiment.DataConfig(dataset=args.dataset,
                                     domains=tuple(args.domains.split(",")))
        out = Path(args.out)
        results: dict[str, dict[int, pd.DataFrame]] = {label: {} for label, _ in chosen}
        for seed in seeds:
            held = hold_out(experiment.load_interactions(data), seed, args.fraction)
            print(f"leaderboard: seed {seed}: {len(held.users)} held-out users, "
                  f"{len(held.hidden)} hidden {held.target} clicks, "
                  f"{len(held.catalogue)} {held.target} items", flush=True)
            for label, model in chosen:
                run_dir = out / f"seed-{seed}" / label
                train_run(label, model, overrides.get(label, []), values.get(label), held,
                          data, seed, args.fraction, run_dir)
                results[label][seed] = user_scores(run_dir, held)
        families = {label: MODELS.get(model).task for label, model in chosen}
        tuning = {label: settings_note(configs[label], studies.get(label),
                                       overrides.get(label, ()))
                  for label, _ in chosen}
        plot_name = None
        if page is not None:
            # One plot per section: a page may hold leaderboards of several datasets.
            suffix = args.section.removeprefix(SECTION).removeprefix("leaderboard").strip()
            suffix = "_" + suffix.replace(" ", "_") if suffix else ""
            plot_name = f"{page.stem}{suffix}.png"
            plot(results, families, page.with_name(plot_name))
        text = summary(results, families, tuning, command, plot_name)
        write_text(out / "leaderboard.md", text)
        if page is not None:
            write_text(page, with_section(page, text, args.section))
    except TfxdrError as error:
        print(f"leaderboard.py: error: {explain(error)}", file=sys.stderr)
        return 2
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
