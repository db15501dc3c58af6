"""Figures of a finished DADIN run: loss curves (paper Fig. 8) and interest weights (Fig. 7).

    python benchmarks/dadin_figures.py RUN_DIR --out docs/results --prefix dadin_ml1m

Writes PREFIX_losses.png (L_y, L_d and the intra-class loss per training step)
and PREFIX_interest_weights.png (mean v_u, v_t, v_s of Eq. 6 on the test
split's positive and negative instances, per domain), and prints the table of
weights as Markdown.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd

from tfxdr.experiment import load_run
from tfxdr.report import pyplot, loss_curve_plot

WEIGHTS = ("v_u", "v_t", "v_s")


def interest_weights(run, part: str = "test") -> pd.DataFrame:
    """One row per instance: domain name, label and the three interest weights."""
    instances = run.prepared.parts[part]
    rows = []
    for request, label in instances.dataset(4096, shuffle=False):
        _, _, weights = run.model.features(run.model.indices(request), training=False)
        rows.append(pd.DataFrame({
            "domain": request["domain"].numpy().astype(str),
            "label": label.numpy().astype(int),
            **{name: np.asarray(w).reshape(-1) for name, w in zip(WEIGHTS, weights)},
        }))
    return pd.concat(rows, ignore_index=True)


def weights_table(weights: pd.DataFrame) -> str:
    grouped = weights.groupby(["domain", "label"])[list(WEIGHTS)]
    means, stds = grouped.mean(), grouped.std()
    lines = ["| domain | label | " + " | ".join(WEIGHTS) + " |",
             "|---|---|" + "---|" * len(WEIGHTS)]
    for (domain, label), row in means.iterrows():
        kind = "positive" if label == 1 else "negative"
        cells = [f"{row[w]:.3f} ± {stds.loc[(domain, label), w]:.3f}" for w in WEIGHTS]
        lines.append(f"| {domain} | {kind} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def weights_plot(weights: pd.DataFrame, path: Path) -> None:
    plt = pyplot()
    domains = list(dict.fromkeys(weights["domain"]))
    figure, axes = plt.subplots(1, len(domains), figsize=(4.5 * len(domains), 3.4),
                                squeeze=False, sharey=True)
    for axis, domain in zip(axes[0], domains):
        rows = weights[weights["domain"] == domain]
        x = np.arange(len(WEIGHTS))
        for offset, (label, name) in zip((-0.2, 0.2), ((1, "positive"), (0, "negative"))):
            means = rows.loc[rows["label"] == label, list(WEIGHTS)].mean()
            axis.bar(x + offset, means, width=0.4, label=name)
        axis.set_xticks(x, WEIGHTS)
        axis.set_title(f"{domain} test instances")
        axis.grid(alpha=0.3, axis="y")
    axes[0][0].set_yscale("log")  # the weights can differ by orders of magnitude
    axes[0][0].set_ylabel("mean interest weight (Eq. 6, log scale)")
    axes[0][0].legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("run_dir")
    parser.add_argument("--out", default=".", help="directory for the PNG files")
    parser.add_argument("--prefix", default="dadin")
    parser.add_argument("--window", type=int, default=50, help="steps in the moving average")
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    steps = pd.read_csv(Path(args.run_dir) / "steps.csv")
    loss_curve_plot(steps, ["ctr_loss", "domain_loss", "intra_loss"],
                    out / f"{args.prefix}_losses.png", args.window)
    weights = interest_weights(load_run(args.run_dir))
    weights_plot(weights, out / f"{args.prefix}_interest_weights.png")
    print(weights_table(weights))


if __name__ == "__main__":
    main()
