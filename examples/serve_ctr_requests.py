"""Serve one held-out request per domain from a CTR run's exported SavedModel.

Loads ``RUN/export/VERSION`` the way a serving process would (no tfxdr model
code: the SavedModel alone), sends it the first test instance of each domain
as raw ids (user, candidate, domain and one history per domain), and prints the
served click probability beside the reloaded run's own score of the same row.

    tfxdr export runs/three-cnan_at
    python examples/serve_ctr_requests.py runs/three-cnan_at
"""

from __future__ import annotations

import argparse

import numpy as np
import tensorflow as tf

from tfxdr import experiment


def _shown(value: tf.Tensor, last: int = 3) -> str:
    """A request field for printing: a name, or the last few ids of a history."""
    row = value.numpy()[0]
    if value.shape.rank == 1:
        return row.decode() if isinstance(row, bytes) else str(row)
    ids = [x.decode() if isinstance(x, bytes) else str(x) for x in row]
    ids = [x for x in ids if x not in ("", "-1")]
    return ", ".join(ids[-last:]) or "-"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("run_dir")
    parser.add_argument("--version", type=int, default=1)
    args = parser.parse_args(argv)

    run = experiment.load_run(args.run_dir)
    served = tf.saved_model.load(f"{args.run_dir}/export/{args.version}")
    serve = served.signatures["serving_default"]
    instances = run.prepared.parts["test"]
    features, labels = next(iter(instances.dataset(len(instances), shuffle=False)))
    for domain in run.prepared.spec.domains:
        (row,) = np.flatnonzero(instances.columns["domain"] == domain)[:1]
        request = {name: tf.gather(value, [row]) for name, value in features.items()}
        ctr = float(serve(**request)["ctr"].numpy()[0])
        score = float(np.asarray(run.model(request, training=False))[0])
        fields = "; ".join(f"{name}: {_shown(value)}" for name, value in request.items())
        print(f"{domain}: {fields}; served ctr {ctr:.4f}, run's score {score:.4f}, "
              f"label {int(np.asarray(labels)[row])}")


if __name__ == "__main__":
    main()
