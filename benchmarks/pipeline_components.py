"""Each pipeline component's wall time on a named dataset, from a fresh output root.

    python benchmarks/pipeline_components.py --dataset ml-1m --domains Drama,Comedy \
        --output runs/pipeline_ml1m [--epochs N] [Beam options ...]

Writes the pipeline's config into the output root, runs every component once
(nothing cached: the root must not exist), then a second time (everything
cached), and prints a markdown table: component, seconds (from its lineage),
and the rows it handled where that is known.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from tfxdr_pipelines.component import latest
from tfxdr_pipelines.config import load_config
from tfxdr_pipelines.runner import COMPONENTS, run_pipeline
from tfxdr_pipelines.statistics import read_statistics


def write_config(root: Path, dataset: str, domains: list[str], epochs: int) -> Path:
    names = ", ".join(f'"{d}"' for d in domains)
    path = root / "pipeline.toml"
    path.write_text(f'[pipeline]\nname = "bench"\n[data]\ndataset = "{dataset}"\n'
                    f"domains = [{names}]\n[trainer]\nmodel = \"multivae\"\nepochs = {epochs}\n")
    return path


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="ml-1m")
    parser.add_argument("--domains", default="Drama,Comedy")
    parser.add_argument("--output", type=Path, required=True)
    parser.add_argument("--epochs", type=int, default=0, help="0: Multi-VAE's own")
    args, beam_args = parser.parse_known_args(argv)
    if args.output.exists():
        parser.error(f"{args.output} exists; the benchmark needs a fresh output root")
    args.output.mkdir(parents=True)
    config = load_config(write_config(args.output, args.dataset, args.domains.split(","),
                                      args.epochs))
    started = time.perf_counter()
    run_pipeline(config, args.output, beam_args)
    first = time.perf_counter() - started
    started = time.perf_counter()
    run_pipeline(config, args.output, beam_args, log=lambda line: None)
    cached = time.perf_counter() - started
    statistics = read_statistics(latest(args.output, "StatisticsGen").output("statistics"))
    rows = {d.name: d.num_examples for d in statistics.datasets}
    shown = f"{sum(rows.values()):,} rows ({', '.join(f'{k} {v:,}' for k, v in rows.items())})"
    print(f"\n{args.dataset} {args.domains}: {shown}; Beam options: "
          f"{' '.join(beam_args) or '(DirectRunner defaults)'}\n")
    print("| component | seconds |\n|---|---|")
    for component in COMPONENTS:
        lineage = latest(args.output, component.name).lineage
        print(f"| {component.name} | {lineage['seconds']:.1f} |")
    print(f"| whole pipeline, first run | {first:.1f} |")
    print(f"| whole pipeline, second run (all cached) | {cached:.2f} |")
    blessing = latest(args.output, "Evaluator").lineage
    print(f"\nEvaluator: {json.dumps(blessing['reason'])}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
