"""The feature spec: one typed description of a run's features.

The data layer writes it from the training rows (vocabularies, bucket
boundaries, the tables of user and item attributes); the preprocessing layer
(:class:`tfxdr.layers.FeaturePreprocessor`) turns raw requests into indices
from it, and models size their embeddings from it.  It is plain data: it
serialises to JSON with the run and inside every saved model.

Index convention of every categorical feature: 0 is padding or a missing
value, 1 is an id or value that training never saw (the "unknown" index, whose
embedding is trained), and the known values follow from 2 in vocabulary order.
A continuous feature's index is 0 when the value is missing, else its bucket
plus 1.  The domain feature maps a domain name to its position in ``domains``.
"""

from __future__ import annotations

import dataclasses
import json
import math
import re
from pathlib import Path
from typing import Iterable, Literal


from tfxdr.errors import DataError, RunDirError

FeatureKind = Literal["categorical", "multi_valued", "continuous", "history", "domain"]
KINDS = ("categorical", "multi_valued", "continuous", "history", "domain")
PAD_INDEX = 0
UNKNOWN_INDEX = 1
NUM_RESERVED = 2  # padding and unknown
SPEC_FILE = "features.json"


@dataclasses.dataclass(frozen=True)
class Feature:
    """One feature of a request and how it becomes indices.

    Args:
        name: input name (a request key, or an output of an entity table).
        kind: ``categorical`` (one value per row), ``multi_valued`` (a bag of
            values per row), ``continuous`` (a number, bucketed), ``history``
            (a user's clicked ids in one domain, most recent last) or ``domain``.
        vocabulary: known raw values, in index order (categorical, multi-valued).
        boundaries: ascending bucket edges (continuous).
        width: values kept per row of a history (its most recent ``width`` ids) or
            of a multi-valued entity attribute; a multi-valued request input keeps
            every value it is sent.
        entity: what the feature describes, ``user`` or ``item`` ("" for
            neither); models group fields by it.
        key: the id feature whose entity table holds this feature's raw values
            ("": the feature is a request input itself).
        table: a history's id feature, whose vocabulary and embedding it shares.
        domain: the domain of a history or of a per-domain bag.
        dtype: ``string`` or ``int64``: how a request carries the raw values
            (ids that are all integers may be sent as int64, -1 for padding).
    """

    name: str
    kind: FeatureKind
    vocabulary: tuple[str, ...] = ()
    boundaries: tuple[float, ...] = ()
    width: int = 0
    entity: str = ""
    key: str = ""
    table: str = ""
    domain: str = ""
    dtype: Literal["string", "int64"] = "string"

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"feature {self.name!r}: kind {self.kind!r} is invalid: expected "
                             f"one of {', '.join(KINDS)}")
        if self.dtype not in ("string", "int64"):
            raise ValueError(f"feature {self.name!r}: dtype {self.dtype!r} is invalid: expected "
                             "string or int64")

    def to_dict(self) -> dict:
        out = {"name": self.name, "kind": self.kind}
        for field in dataclasses.fields(self)[2:]:
            value = getattr(self, field.name)
            if value != field.default:
                out[field.name] = list(value) if isinstance(value, tuple) else value
        return out

    @classmethod
    def from_dict(cls, values: dict) -> "Feature":
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in values.items()})


@dataclasses.dataclass(frozen=True)
class EntityTable:
    """Raw attribute values of the users or items a request names by id.

    ``columns[name][row]`` is the raw value of feature ``name`` for the entity
    ``keys[row]``: a string ("" when missing), a tuple of strings for a
    multi-valued feature, or a float (NaN when missing) for a continuous one.
    Entities need not be in the id's vocabulary: a user that training never saw
    still has a profile.
    """

    keys: tuple[str, ...]
    columns: dict

    def to_dict(self) -> dict:
        def plain(value):
            if isinstance(value, tuple):
                return list(value)
            if isinstance(value, float) and math.isnan(value):
                return None
            return value

        return {"keys": list(self.keys),
                "columns": {name: [plain(v) for v in values]
                            for name, values in self.columns.items()}}

    @classmethod
    def from_dict(cls, values: dict) -> "EntityTable":
        def typed(value):
            if isinstance(value, list):
                return tuple(value)
            return math.nan if value is None else value

        return cls(tuple(values["keys"]),
                   {name: tuple(typed(v) for v in column)
                    for name, column in values["columns"].items()})


@dataclasses.dataclass(frozen=True)
class FeatureSpec:
    """The features of a run, its domains and its entity tables.

    Args:
        domains: the run's domain names, in order.
        features: every feature, request inputs and table lookups alike.
        tables: id feature name -> :class:`EntityTable` of its entities' attributes.
    """

    domains: tuple[str, ...]
    features: tuple[Feature, ...]
    tables: dict = dataclasses.field(default_factory=dict)

    def __post_init__(self):
        names = [f.name for f in self.features]
        if len(set(names)) != len(names):
            raise ValueError(f"feature names must be unique: {names}")
        slugs = [domain_slug(d) for d in self.domains]
        if len(set(slugs)) != len(slugs):
            raise DataError(f"domains {', '.join(self.domains)}: two names give the same input "
                            f"name ({', '.join(slugs)}); rename one", field="domains")

    def __getitem__(self, name: str) -> Feature:
        for feature in self.features:
            if feature.name == name:
                return feature
        raise KeyError(name)

    @property
    def names(self) -> list[str]:
        return [f.name for f in self.features]

    def select(self, kind: str | None = None, entity: str | None = None,
               request: bool | None = None) -> list[Feature]:
        """Features of a ``kind`` and/or ``entity``; ``request=True`` keeps the request
        inputs, ``False`` the table lookups."""
        return [f for f in self.features
                if (kind is None or f.kind == kind) and (entity is None or f.entity == entity)
                and (request is None or (f.key == "") == request)]

    def size(self, name: str) -> int:
        """Rows of the feature's index space (its embedding table's height)."""
        feature = self[name]
        if feature.kind == "history":
            return self.size(feature.table)
        if feature.kind == "domain":
            return len(self.domains)
        if feature.kind == "continuous":
            return len(feature.boundaries) + NUM_RESERVED
        return len(feature.vocabulary) + NUM_RESERVED

    def history(self, domain: str) -> Feature:
        """The history feature of ``domain``."""
        for feature in self.select(kind="history"):
            if feature.domain == domain:
                return feature
        raise KeyError(f"no history feature for domain {domain!r}")

    def to_dict(self) -> dict:
        return {"domains": list(self.domains),
                "features": [f.to_dict() for f in self.features],
                "tables": {name: table.to_dict() for name, table in self.tables.items()}}

    @classmethod
    def from_dict(cls, values: dict) -> "FeatureSpec":
        return cls(tuple(values["domains"]),
                   tuple(Feature.from_dict(f) for f in values["features"]),
                   {name: EntityTable.from_dict(t) for name, t in values.get("tables", {}).items()})

    def save(self, run_dir: Path) -> None:
        (Path(run_dir) / SPEC_FILE).write_text(json.dumps(self.to_dict()))

    @classmethod
    def load(cls, run_dir: Path) -> "FeatureSpec":
        path = Path(run_dir) / SPEC_FILE
        if not path.is_file():
            raise RunDirError(f"{path}: missing; the run directory is incomplete or was written "
                              "by an older tfxdr (train it again)")
        return cls.from_dict(json.loads(path.read_text()))


def domain_slug(domain: str) -> str:
    """A domain name as part of an input name: letters, digits and ``_`` only."""
    return re.sub(r"[^0-9A-Za-z_]", "_", domain)


def items_input(domain: str) -> str:
    """The request key of a user's items in ``domain`` (clicked, or most recent)."""
    return "items_" + domain_slug(domain)


def positives_key(domain: str) -> str:
    """The training-batch key of a user's positives in ``domain``: a target, never a
    request feature, so no serving signature reads it."""
    return "positives_" + domain_slug(domain)


def clicked_key(domain: str) -> str:
    """The training-batch key of every item a user clicked in ``domain`` in training,
    at any time: items never taught as negatives, never a request feature."""
    return "clicked_" + domain_slug(domain)


def vocabulary(values: Iterable) -> tuple[str, ...]:
    """The sorted distinct non-empty raw values: a feature's vocabulary."""
    return tuple(sorted({str(v) for v in values} - {""}))


def integer_ids(values: Iterable[str]) -> bool:
    """Whether every raw id is a canonical non-negative integer (``"7"``, not ``"07"``,
    ``"7.0"`` or ``"-7"``), so requests may carry them as int64, with -1 for padding."""
    return all(raw.isdigit() and str(int(raw)) == raw for raw in map(str, values))
