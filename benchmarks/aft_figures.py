"""Training curves of a finished AFT run, from its steps.csv.

    python benchmarks/aft_figures.py RUN_DIR --out docs/results --prefix aft_ml1m

Writes PREFIX_losses.png: L_D (the discriminator's cross-entropy), L_G (minus
the generator's expected reward), L_MMD (minus the discrepancy between the
fakes and the real clicks) and the mean reward p_d(fake) over the training
steps, the epochs marked; and prints each epoch's means as Markdown.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

from tfxdr.report import loss_curve_plot

TERMS = ("l_d", "l_g", "l_mmd", "reward")


def epoch_means(steps: pd.DataFrame) -> str:
    """Each epoch's mean of every term, as a Markdown table."""
    means = steps.groupby("epoch")[list(TERMS)].mean()
    lines = ["| epoch | " + " | ".join(TERMS) + " |", "|---|" + "---|" * len(TERMS)]
    lines += [f"| {epoch} | " + " | ".join(f"{row[t]:.4f}" for t in TERMS) + " |"
              for epoch, row in means.iterrows()]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir")
    parser.add_argument("--out", required=True)
    parser.add_argument("--prefix", default="aft")
    args = parser.parse_args()
    path = Path(args.run_dir) / "steps.csv"
    if not path.is_file():
        parser.error(f"{path}: missing; expected a finished or interrupted aft run")
    steps = pd.read_csv(path)
    missing = [t for t in TERMS if t not in steps.columns]
    if missing:
        parser.error(f"{path}: no column {missing[0]!r}; expected the steps of an aft run")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    loss_curve_plot(steps, TERMS, out / f"{args.prefix}_losses.png", window=10)
    print(epoch_means(steps))


if __name__ == "__main__":
    main()
