"""Evaluator: the candidate SavedModel scored on the raw test split, then blessed or not.

Scoring goes through the exported signatures with raw ids, exactly as a
client's requests would, so it checks the artifact that will be pushed, and
it scores the model currently pushed (or, before the first push, popularity)
the same way on the same rows.  The metric is tfxdr's click-translation
recall@K: for each test user with items in both domains of an ordered pair,
the user's source items are the request and their target items (less any
item of the request) the relevant set; recall is hits over the relevant
set's size (an item the model cannot know counts as a miss), averaged over
users, then over pairs.

The candidate is blessed when its metric is at least the baseline's minus
``margin``.  TensorFlow Model Analysis is not used: its evaluators score one
prediction per example against a label, and these models rank a whole
catalogue per user from a bag of items, which TFMA's metrics do not express.
"""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import numpy as np

from tfxdr.features import domain_slug
from tfxdr_pipelines.component import Component, Context, files_hash, latest
from tfxdr_pipelines.config import PipelineConfig
from tfxdr_pipelines.errors import PipelineError

BLESSING_FILE = "blessing.json"
BATCH_USERS = 256


def user_bags(frame, domains) -> dict:
    """user -> domain -> the user's raw items there, for users with items in every domain."""
    bags: dict = {}
    for user, domain, item in frame[["user_id", "domain", "item_id"]].itertuples(index=False):
        bags.setdefault(user, {}).setdefault(domain, []).append(item)
    return {user: bag for user, bag in sorted(bags.items()) if all(d in bag for d in domains)}


def recall_at(ranked: list, request: list, relevant: list, k: int) -> float:
    """Hits of the first ``k`` ranked items among ``relevant`` (less the request's
    items), over the relevant set's size."""
    wanted = set(relevant) - set(request)
    return len(set(ranked[:k]) & wanted) / len(wanted)


def evaluate_ranker(rank, bags: dict, domains, k: int) -> dict:
    """``{"<s>-><t>": recall@k}`` and ``"mean"`` for ``rank(pair, requests) -> top ids``."""
    metrics = {}
    for s, t in itertools.permutations(domains, 2):
        users = [u for u in bags if set(bags[u][t]) - set(bags[u][s])]
        values = []
        for start in range(0, len(users), BATCH_USERS):
            batch = users[start:start + BATCH_USERS]
            ranked = rank((s, t), [bags[u][s] for u in batch])
            values += [recall_at(list(r), bags[u][s], bags[u][t], k)
                       for r, u in zip(ranked, batch)]
        metrics[f"{s}->{t}"] = float(np.mean(values)) if values else 0.0
    metrics["mean"] = float(np.mean(list(metrics.values())))
    return metrics


def saved_model_ranker(path: Path):
    """A ranker from an exported SavedModel's ``<source>_to_<target>`` signatures."""
    import tensorflow as tf

    loaded = tf.saved_model.load(str(path))

    def rank(pair, requests):
        width = max(1, max(len(r) for r in requests))
        padded = np.full((len(requests), width), "", dtype=object)
        for i, request in enumerate(requests):
            padded[i, :len(request)] = request
        signature = loaded.signatures[f"{domain_slug(pair[0])}_to_{domain_slug(pair[1])}"]
        top = signature(item_ids=tf.constant(padded.astype(str)))["top_k_ids"].numpy()
        return [[i.decode("utf-8") for i in row] for row in top]

    rank.model = loaded  # keeps the tables alive
    return rank


def popularity_ranker(train_frame, k: int):
    """The ``k`` items most clicked in train in the target domain, less the request's."""
    counts = train_frame.groupby(["domain", "item_id"]).size().reset_index(name="n")
    ordered = {d: list(group.sort_values(["n", "item_id"], ascending=[False, True])["item_id"])
               for d, group in counts.groupby("domain")}

    def rank(pair, requests):
        ranked = ordered.get(pair[1], [])
        out = []
        for request in requests:
            have = set(request)
            out.append([item for item in ranked if item not in have][:k])
        return out

    return rank


def baseline_version(base: Path, candidate_sha256: str | None) -> Path | None:
    """The newest version under a serving base path that is not the candidate
    itself (a rerun after the candidate was pushed compares with what it
    replaced, and so reaches the same verdict)."""
    from tfxdr_pipelines.pusher import provenance

    versions = sorted((int(p.name) for p in Path(base).glob("*")
                       if p.is_dir() and p.name.isdigit()), reverse=True)
    for version in versions:
        directory = Path(base) / str(version)
        if provenance(directory).get("model_sha256") != candidate_sha256:
            return directory
    return None


def _candidate_sha256(output_root: Path) -> str | None:
    try:
        return latest(output_root, "Trainer").lineage["outputs"]["model"]["sha256"]
    except PipelineError:
        return None


def _baseline_fingerprint(config: PipelineConfig, output_root: Path) -> dict:
    """The baseline as an input: the version compared with (by content), or popularity."""
    from tfxdr_pipelines.pusher import base_path, provenance

    version = baseline_version(base_path(config, output_root), _candidate_sha256(output_root))
    if version is None:
        return {"baseline": "popularity"}
    return {"baseline": provenance(version).get("model_sha256") or files_hash(version)}


def metric_k(metric: str) -> int:
    return int(metric.split("@", 1)[1])


def _parameters(config: PipelineConfig) -> dict:
    return {"metric": config.evaluator.metric, "margin": config.evaluator.margin}


def _run(context: Context) -> None:
    from tfxdr_pipelines.pusher import base_path
    from tfxdr_pipelines.trainer import MODEL_VERSION, read_examples

    config = context.config
    k = metric_k(config.evaluator.metric)
    domains = tuple(context.upstream["model"]["domains"])
    columns = {"user_id": "bytes", "item_id": "bytes", "domain": "bytes"}
    test = read_examples(context.inputs["examples"], "test", columns)
    bags = user_bags(test[test["domain"].isin(domains)], domains)
    candidate = evaluate_ranker(saved_model_ranker(context.inputs["model"] / str(MODEL_VERSION)),
                                bags, domains, k)
    pushed = baseline_version(base_path(config, context.output_root),
                              context.upstream["model"]["outputs"]["model"]["sha256"])
    if pushed is not None:
        baseline_name = f"pushed version {pushed.name} ({pushed})"
        baseline = evaluate_ranker(saved_model_ranker(pushed), bags, domains, k)
    else:
        baseline_name = "popularity in train (nothing pushed yet)"
        train = read_examples(context.inputs["examples"], "train", columns)
        baseline = evaluate_ranker(popularity_ranker(train, k), bags, domains, k)
    margin = config.evaluator.margin
    blessed = candidate["mean"] >= baseline["mean"] - margin
    verdict = {
        "blessed": blessed, "metric": config.evaluator.metric, "margin": margin,
        "test_users": len(bags), "candidate": candidate,
        "baseline": {"name": baseline_name, **baseline},
        "reason": (f"candidate {config.evaluator.metric} {candidate['mean']:.4f} "
                   f"{'>=' if blessed else '<'} {baseline_name} {baseline['mean']:.4f} "
                   f"- margin {margin:g}")}
    (context.outputs["blessing"] / BLESSING_FILE).write_text(json.dumps(verdict, indent=2) + "\n")
    context.notes["blessed"] = blessed
    context.notes["reason"] = verdict["reason"]
    context.log(f"Evaluator: {'blessed' if blessed else 'NOT blessed'}: {verdict['reason']}")


EVALUATOR = Component(
    name="Evaluator",
    inputs={"model": "Trainer.model", "examples": "ExampleGen.examples"},
    outputs=("blessing",), parameters=_parameters, run=_run, external=_baseline_fingerprint)
