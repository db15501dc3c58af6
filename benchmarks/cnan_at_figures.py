"""Attention gates of a finished CNAN-AT run, per field and network (the paper's Fig. 4).

    python benchmarks/cnan_at_figures.py RUN_DIR --out docs/results --prefix cnan_at_ml1m

Writes PREFIX_gates.png: the mean gate a_j (Eq. 1) of every field in the
shared network and in each domain's network, over the test instances of each
domain (the shared network's gates per domain, a domain network's gates on
its own domain), and prints the same table as Markdown.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd

from tfxdr.experiment import load_run
from tfxdr.report import pyplot


def mean_gates(run, part: str = "test") -> pd.DataFrame:
    """Rows: "shared on D" and "D network" for each domain D; columns: fields."""
    sums: dict[str, np.ndarray] = {}
    counts: dict[str, int] = {}
    for request, _ in run.prepared.parts[part].dataset(4096, shuffle=False):
        gates = run.model.field_gates(request)
        if gates["shared"] is None:
            raise SystemExit("this run has no attention gates (ablation cnan2)")
        domain = request["domain"].numpy().astype(str)
        shared = np.asarray(gates["shared"])
        for d, name in enumerate(run.domains):
            rows = {f"shared on {name}": shared[domain == name],
                    f"{name} network": np.asarray(gates["domains"][d])}
            for key, values in rows.items():
                sums[key] = sums.get(key, 0) + values.sum(axis=0)
                counts[key] = counts.get(key, 0) + len(values)
    order = [f"shared on {d}" for d in run.domains] + [f"{d} network" for d in run.domains]
    histories = {run.spec.history(d).name: d for d in run.domains}
    columns = [f"{histories[f]} history" if f in histories else f
               for f in run.model.embedding.fields]
    return pd.DataFrame([sums[k] / max(counts[k], 1) for k in order], index=order,
                        columns=columns)


def gates_table(gates: pd.DataFrame) -> str:
    lines = ["| network | " + " | ".join(gates.columns) + " |",
             "|---|" + "---|" * len(gates.columns)]
    for name, row in gates.iterrows():
        lines.append(f"| {name} | " + " | ".join(f"{v:.3f}" for v in row) + " |")
    return "\n".join(lines)


def gates_plot(gates: pd.DataFrame, path: Path) -> None:
    plt = pyplot()
    figure, axis = plt.subplots(figsize=(1.0 + 0.75 * len(gates.columns), 0.6 + 0.5 * len(gates)))
    image = axis.imshow(gates.to_numpy(), cmap="Reds", aspect="auto")
    axis.set_xticks(range(len(gates.columns)), gates.columns, rotation=45, ha="right")
    axis.set_yticks(range(len(gates)), gates.index)
    for (i, j), value in np.ndenumerate(gates.to_numpy()):
        axis.text(j, i, f"{value:.2f}", ha="center", va="center", fontsize=8)
    figure.colorbar(image, ax=axis, label="mean gate a_j")
    axis.set_title("CNAN-AT attention gates per field")
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run")
    parser.add_argument("--out", default=".")
    parser.add_argument("--prefix", default="cnan_at")
    args = parser.parse_args()
    run = load_run(args.run)
    gates = mean_gates(run)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    gates_plot(gates, out / f"{args.prefix}_gates.png")
    print(gates_table(gates))


if __name__ == "__main__":
    main()
