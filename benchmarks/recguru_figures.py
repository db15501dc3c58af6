"""Training curves of a finished RecGURU run (the paper's Figure 2), from its steps.csv.

    python benchmarks/recguru_figures.py RUN_DIR --out docs/results --prefix recguru_ml1m

Writes PREFIX_critic.png (the Wasserstein estimate, the critic's loss, the
gradient penalty and the l2 distance of common users' two representations over
the adversarial phase's steps), PREFIX_reconstruction.png (over pre-training
and the adversarial phase) and PREFIX_finetune.png (the fine-tuning loss,
``bpr`` in the logs: Eq. 12 or per-negative cross-entropy, per ``finetune_loss``), and prints
each phase's first and last epoch means as Markdown.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pandas as pd

from tfxdr.report import loss_curve_plot

CRITIC = ("wasserstein", "critic_loss", "gradient_penalty", "l2")


def phase_of(steps: pd.DataFrame, config: dict) -> pd.Series:
    """Each step's phase, from the run's pretrain_epochs and adversarial_epochs."""
    first, second = config["pretrain_epochs"], config["pretrain_epochs"] + \
        config["adversarial_epochs"]
    return pd.Series(np.select([steps["epoch"] <= first, steps["epoch"] <= second],
                               ["pretrain", "adversarial"], "finetune"), index=steps.index)


def epoch_means(steps: pd.DataFrame, phases: pd.Series) -> str:
    """First and last epoch means of each phase's terms, as a Markdown table."""
    terms = {"pretrain": ("reconstruction",), "adversarial": ("reconstruction",) + CRITIC,
             "finetune": ("bpr",)}
    columns = list(dict.fromkeys(t for ts in terms.values() for t in ts))
    lines = ["| phase | epoch | " + " | ".join(columns) + " |"]
    lines.append("|---|---|" + "---|" * len(columns))
    for phase, names in terms.items():
        part = steps[phases == phase]
        if part.empty:
            continue
        for epoch in sorted({part["epoch"].min(), part["epoch"].max()}):
            means = part[part["epoch"] == epoch].mean(numeric_only=True)
            cells = [f"{means[c]:.4f}" if c in names else "" for c in columns]
            lines.append(f"| {phase} | {epoch} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir")
    parser.add_argument("--out", required=True)
    parser.add_argument("--prefix", default="recguru")
    args = parser.parse_args()
    run = Path(args.run_dir)
    config = json.loads((run / "config.json").read_text())["config"]
    steps = pd.read_csv(run / "steps.csv")
    phases = phase_of(steps, config)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    loss_curve_plot(steps[phases == "adversarial"], CRITIC, out / f"{args.prefix}_critic.png",
                    window=10)
    loss_curve_plot(steps[phases != "finetune"], ("reconstruction",),
                    out / f"{args.prefix}_reconstruction.png", window=10)
    loss_curve_plot(steps[phases == "finetune"], ("bpr",), out / f"{args.prefix}_finetune.png",
                    window=10)
    print(epoch_means(steps, phases))


if __name__ == "__main__":
    main()
