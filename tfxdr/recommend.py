"""Batch recommendations: the top K items of each user in each target domain, or
the click probabilities of given candidates, from a run or an export.

Every family answers through its serving signatures (a run is exported to a
scratch directory first, with its top-k set to K), so a batch job ranks
exactly as a served model does:

- matching (``retrieve_<domain>``) and sequences (``next_item_<domain>``): the
  user's clicks of every domain, or of the target domain;
- click translation (``<source>_to_<target>``): the user's clicks in the
  source domain (``from_domain``, ``--source-domain``; needed only when more than
  one domain translates into the target);
- CTR (``serving_default``): each candidate (user, item, domain) with the
  user's clicks of every domain, ranked per user and domain by probability.

Histories are the users' clicks, oldest first: from a run, every click of its
saved split (train, validation and test: what is known once the run is over);
from an export, an interactions file.  Users are read in batches, each batch's
rows written as one Parquet row group, so memory stays bounded by the batch
and the histories.  Items scored -inf (a user's own clicks, padding where
fewer than K items are left) are never written: such a user has fewer than K
rows.
"""

from __future__ import annotations

import re
import tempfile
from pathlib import Path
from typing import Iterator, Sequence

import numpy as np
import pandas as pd

from tfxdr.errors import ConfigError, DataError
from tfxdr.features import domain_slug

COLUMNS = ("user_id", "domain", "rank", "item_id", "score")


def read_users(path: Path) -> np.ndarray:
    """The ``user_id`` column of a CSV or Parquet file, every id once."""
    from tfxdr.data.table import as_text, first_data_line
    from tfxdr.data.tabular import read_table

    table = read_table(Path(path))
    if "user_id" not in table.columns:
        raise DataError(f"{path}: missing column 'user_id'; expected a table of user ids")
    users = as_text(table["user_id"]).str.strip()
    empty = np.flatnonzero(users.to_numpy() == "")
    if empty.size:
        raise DataError(f"{path}: column 'user_id' line {empty[0] + first_data_line(True)}: "
                        "empty, expected a user id")
    repeated = np.flatnonzero(users.duplicated().to_numpy())
    if repeated.size:
        raise DataError(f"{path}: column 'user_id' line {repeated[0] + first_data_line(True)}: "
                        f"{users.iloc[repeated[0]]!r} is listed twice")
    return users.to_numpy(dtype=object)


def histories(clicks: pd.DataFrame, domains: Sequence[str]) -> dict[str, dict[str, list]]:
    """``{domain: {user: [raw item ids, oldest first]}}`` of a table of clicks."""
    order = ["user_id", "timestamp"] if "timestamp" in clicks.columns else ["user_id"]
    clicks = clicks.sort_values(order, kind="stable")
    out = {d: {} for d in domains}
    for (domain, user), items in clicks.groupby(["domain", "user_id"], sort=False)["item_id"]:
        if domain in out:
            out[domain][user] = items.astype(str).tolist()
    return out


def padded_ids(rows: Sequence[Sequence[str]], dtype) -> np.ndarray:
    """Rows of raw ids as one [B, T] input of ``dtype`` (at least one column), padded
    with -1 or "" on the left."""
    from tfxdr.export.warmup import raw_ids

    width = max([1] + [len(r) for r in rows])
    out = np.full((len(rows), width), "", dtype=object)
    for number, row in enumerate(rows):
        if row:
            out[number, width - len(row):] = row
    return raw_ids(out.astype(str), dtype)


class Recommender:
    """The signatures of one export, and how to fill their inputs."""

    def __init__(self, export_dir: Path):
        import tensorflow as tf

        self.loaded = tf.saved_model.load(str(export_dir))
        self.signatures = dict(self.loaded.signatures)

    def inputs(self, signature: str) -> dict:
        """``{input name: dtype}`` of a signature."""
        return {name: spec.dtype for name, spec in
                self.signatures[signature].structured_input_signature[1].items()}

    def family(self) -> str:
        names = set(self.signatures)
        if any(n.startswith("retrieve_") for n in names):
            return "matching"
        if any(n.startswith("next_item_") for n in names):
            return "sequences"
        if any("_to_" in n for n in names):
            return "clicks"
        if "item_id" in self.inputs("serving_default"):
            return "ctr"
        raise ConfigError("the export has none of the signatures recommend reads "
                          "(retrieve_*, next_item_*, *_to_*, or a CTR serving_default)")

    def signature_of(self, target: str, domains: Sequence[str], source: str | None) -> str:
        """The signature that recommends items of ``target``."""
        slug = domain_slug(target)
        for name in (f"retrieve_{slug}", f"next_item_{slug}"):
            if name in self.signatures:
                return name
        sources = [d for d in domains if f"{domain_slug(d)}_to_{slug}" in self.signatures]
        if source is None and len(sources) == 1:
            source = sources[0]
        if source is None or source not in sources:
            if not sources:
                raise ConfigError(f"the export recommends no items of domain {target!r}",
                                  field="domains")
            raise ConfigError(f"items of {target!r} are recommended from one "
                              f"domain's clicks; choose one of {', '.join(sources)}",
                              field="source")
        return f"{domain_slug(source)}_to_{slug}"

    def run(self, signature: str, filled: dict) -> dict[str, np.ndarray]:
        outputs = self.signatures[signature](**filled)
        return {key: value.numpy() for key, value in outputs.items()}


def fill(recommender: Recommender, signature: str, users: np.ndarray,
         history: dict[str, dict[str, list]], domains: Sequence[str], own: str | None = None,
         given: Sequence[str] = ()) -> dict:
    """The history inputs of ``signature`` for ``users``: the clicks of the domain
    each input names (``items_<d>``, ``history_<d>``), or for ``item_ids`` those of
    the signature's own domain ``own`` (the target of ``next_item``, the source of
    a translation); the inputs ``given`` are left to the caller."""
    by_slug = {domain_slug(d): d for d in domains}
    filled = {}
    for name, dtype in recommender.inputs(signature).items():
        prefix, _, slug = name.partition("_")
        if name in given:
            continue
        if name == "item_ids" and own is not None:
            domain = own
        elif prefix in ("items", "history") and slug in by_slug:
            domain = by_slug[slug]
        else:
            raise ConfigError(f"signature {signature} takes input {name!r}, which recommend "
                              "cannot fill from histories")
        filled[name] = padded_ids([history[domain].get(u, []) for u in users], dtype)
    return filled


def top_rows(users: np.ndarray, target: str, ids: np.ndarray, scores: np.ndarray,
             k: int) -> pd.DataFrame:
    """The long table of the first ``k`` columns of ``top_k_ids`` / ``top_k_scores``,
    without the items scored -inf."""
    ids, scores = ids[:, :k], scores[:, :k]
    keep = ~(np.isneginf(scores))
    rows, ranks = np.nonzero(keep)
    item_ids = ids[keep]
    if item_ids.dtype == object:
        item_ids = np.array([v.decode() if isinstance(v, bytes) else str(v) for v in item_ids],
                            dtype=object)
    else:
        item_ids = item_ids.astype(str).astype(object)
    return pd.DataFrame({"user_id": users[rows], "domain": target,
                         "rank": (ranks + 1).astype(np.int32), "item_id": item_ids,
                         "score": scores[keep].astype(np.float32)})


def ranked_batches(recommender: Recommender, users: np.ndarray, targets: Sequence[str],
                   history: dict, domains: Sequence[str], k: int, batch_size: int,
                   source: str | None = None, progress=None) -> Iterator[pd.DataFrame]:
    """The top-k table of each batch of users, target domain by target domain."""
    by_slug = {domain_slug(d): d for d in domains}
    for target in targets:
        signature = recommender.signature_of(target, domains, source)
        own = by_slug[signature.split("_to_")[0]] if "_to_" in signature else target
        for start in range(0, len(users), batch_size):
            batch = users[start:start + batch_size]
            out = recommender.run(signature, fill(recommender, signature, batch, history,
                                                  domains, own))
            if out["top_k_ids"].shape[1] < k and start == 0 and target == targets[0]:
                raise ConfigError(f"{k} is more than the {out['top_k_ids'].shape[1]} items "
                                  "the export returns per request (its top_k); export again "
                                  f"with --set top_k={k} or recommend from the run", field="k")
            if progress is not None:
                progress.add(len(batch))
            yield top_rows(batch, target, out["top_k_ids"], out["top_k_scores"], k)


def ctr_batches(recommender: Recommender, candidates: pd.DataFrame, history: dict,
                domains: Sequence[str], k: int | None, batch_size: int,
                progress=None) -> Iterator[pd.DataFrame]:
    """Each candidate's click probability, ranked per user and domain (the top ``k``
    of each when set), in batches of whole users."""
    candidates = candidates.sort_values(["user_id", "domain"], kind="stable")
    user_of = candidates["user_id"].to_numpy()
    inputs = recommender.inputs("serving_default")
    for begin, end in _whole_users(user_of, batch_size):
        part = candidates.iloc[begin:end]
        users = part["user_id"].to_numpy(dtype=object)
        filled = fill(recommender, "serving_default", users, history, domains,
                      given=("user_id", "item_id", "domain"))
        for name in ("user_id", "item_id"):
            filled[name] = padded_ids([[v] for v in part[name]], inputs[name])[:, -1]
        filled["domain"] = part["domain"].to_numpy(dtype=object)
        scores = recommender.run("serving_default", filled)["ctr"].reshape(-1)
        table = pd.DataFrame({"user_id": users, "domain": part["domain"].to_numpy(),
                              "item_id": part["item_id"].astype(str).to_numpy(dtype=object),
                              "score": scores.astype(np.float32)})
        table = table.sort_values(["user_id", "domain", "score"], ascending=[True, True, False],
                                  kind="stable")
        table.insert(2, "rank", (table.groupby(["user_id", "domain"]).cumcount() + 1)
                     .astype(np.int32))
        if k is not None:
            table = table[table["rank"] <= k]
        if progress is not None:
            progress.add(len(np.unique(users)))
        yield table[list(COLUMNS)]


def _whole_users(user_of: np.ndarray, batch_size: int) -> Iterator[tuple[int, int]]:
    """``(begin, end)`` of batches of about ``batch_size`` rows of sorted ``user_of``,
    never splitting a user's rows."""
    begin = 0
    for boundary in list(np.flatnonzero(user_of[1:] != user_of[:-1]) + 1) + [len(user_of)]:
        if boundary - begin >= batch_size or boundary == len(user_of):
            if boundary > begin:
                yield begin, int(boundary)
            begin = int(boundary)


def write_parquet(batches: Iterator[pd.DataFrame], out: Path) -> int:
    """Writes ``batches`` to ``out`` (one row group each, in one rename); returns the
    row count."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from tfxdr.io import atomic_file

    schema = pa.schema([("user_id", pa.string()), ("domain", pa.string()),
                        ("rank", pa.int32()), ("item_id", pa.string()), ("score", pa.float32())])
    rows = 0
    with atomic_file(out) as scratch:
        with pq.ParquetWriter(scratch, schema) as writer:
            for table in batches:
                writer.write_table(pa.Table.from_pandas(table, schema=schema,
                                                        preserve_index=False))
                rows += len(table)
    return rows


def recommend(source: str | Path, users_file: Path, out: Path, k: int | None = None,
              domains: Sequence[str] | None = None, history_file: Path | None = None,
              candidates_file: Path | None = None, from_domain: str | None = None,
              batch_size: int = 256, verbose: bool = True) -> int:
    """Writes the recommendations of ``source`` (a run directory or an export) for the
    users of ``users_file`` to ``out``; returns the rows written.  See the module
    docstring.

    Raises:
        ConfigError: a bad option (``--k``, ``--domains``, ``--source``, ``--out``).
        DataError: a bad users, history or candidates file.
    """
    out = Path(out)
    if out.exists():
        raise ConfigError(f"{out} exists; remove it or choose another", field="out")
    if k is not None and k < 1:
        raise ConfigError(f"expected an integer >= 1, got {k}", field="k")
    users = read_users(users_file)
    source = Path(source)
    with tempfile.TemporaryDirectory(prefix="tfxdr-recommend-") as scratch:
        if (source / "saved_model.pb").is_file():
            if history_file is None:
                raise ConfigError("recommending from an export needs the users' clicks "
                                  "(an interactions file)", field="history")
            clicks = _history_clicks(history_file)
            recommender = Recommender(source)
        else:
            clicks, recommender = _from_run(source, k, Path(scratch))
            if history_file is not None:
                clicks = _history_clicks(history_file)
        known = sorted(clicks["domain"].unique())
        family = recommender.family()
        all_domains = export_domains(recommender, known)
        targets = list(domains) if domains else all_domains
        for target in targets:
            if target not in all_domains:
                raise ConfigError(f"{target!r} is not a domain of the model; "
                                  f"expected some of {', '.join(all_domains)}", field="domains")
        history = histories(clicks, all_domains)
        if family == "ctr":
            if candidates_file is None:
                raise ConfigError("a CTR model scores candidates: a file of "
                                  "user_id,item_id,domain is needed", field="candidates")
            candidates = _candidates(candidates_file, set(users), targets)
            bar = _progress(candidates["user_id"].nunique(), verbose)
            batches = ctr_batches(recommender, candidates, history, all_domains, k,
                                  batch_size, bar)
        else:
            if k is None:
                raise ConfigError("how many items to recommend per user and domain is needed",
                                  field="k")
            bar = _progress(len(users) * len(targets), verbose)
            batches = ranked_batches(recommender, users, targets, history, all_domains, k,
                                     batch_size, from_domain, bar)
        return write_parquet(batches, out)


def _progress(total: int, verbose: bool):
    import keras

    return keras.utils.Progbar(total, unit_name="user") if verbose else None


def export_domains(recommender: Recommender, known: Sequence[str]) -> list[str]:
    """The model's domains, named as the histories name them (by their slug where
    the histories have no clicks of one)."""
    slugs = []
    for signature in recommender.signatures:
        names = [signature] + list(recommender.inputs(signature))
        for name in names:
            for pattern in (r"(?:retrieve|next_item|user_embedding|items|history)_(\w+)",
                            r"(\w+?)_to_(\w+)"):
                for found in re.findall(rf"^{pattern}$", name):
                    slugs += [found] if isinstance(found, str) else list(found)
    names = {domain_slug(d): d for d in known}
    return [names.get(slug, slug) for slug in dict.fromkeys(slugs)]


def _from_run(run_dir: Path, k: int | None, scratch: Path):
    from tfxdr.data.splits import load_split
    from tfxdr.experiment import load_run

    run = load_run(run_dir)
    frame, _ = load_split(run_dir)
    return run.task.clicks(frame), export_run(run, k, scratch)


def export_run(run, k: int | None, scratch: Path) -> Recommender:
    """The signatures of a loaded run (:func:`tfxdr.experiment.load_run`), exported to
    ``scratch`` with their top-k set to ``k``."""
    import tensorflow as tf

    module, signatures = run.task.serving_module(run.model, run.prepared, top_k=k)
    tf.saved_model.save(module, str(scratch / "export"), signatures=signatures)
    return Recommender(scratch / "export")


def _history_clicks(path: Path) -> pd.DataFrame:
    """An interactions file's clicks (its rows labelled 1 when it has a label column)."""
    from tfxdr.data.tabular import read_interactions

    frame = read_interactions(Path(path)).interactions
    return frame[frame["label"] == 1] if "label" in frame.columns else frame


def _candidates(path: Path, users: set, domains: Sequence[str]) -> pd.DataFrame:
    """The candidates file's rows of the listed users."""
    from tfxdr.data.table import as_text, first_data_line
    from tfxdr.data.tabular import read_table

    table = read_table(Path(path))
    for column in ("user_id", "item_id", "domain"):
        if column not in table.columns:
            raise DataError(f"{path}: missing column {column!r}; expected columns "
                            "user_id,item_id,domain")
    table = pd.DataFrame({c: as_text(table[c]).str.strip()
                          for c in ("user_id", "item_id", "domain")})
    unknown = np.flatnonzero(~table["domain"].isin(list(domains)).to_numpy())
    if unknown.size:
        raise DataError(f"{path}: column 'domain' line {unknown[0] + first_data_line(True)}: "
                        f"{table['domain'].iloc[unknown[0]]!r}, expected one of "
                        f"{', '.join(domains)}")
    return table[table["user_id"].isin(users)]
