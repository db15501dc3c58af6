"""The sequence task: leave-one-out examples, negatives drawn once and saved, both
protocols scored exactly (a scorer that knows the planted order hits every time)."""

import dataclasses

import numpy as np
import pandas as pd
import pytest

from tfxdr.data import make_split, select_domains
from tfxdr.data.synthetic import planted_sequences
from tfxdr.data.table import RawDataset
from tfxdr.errors import RunDirError
from tfxdr.metrics import load_negatives
from tfxdr.hparams import SASRecConfig
from tfxdr.tasks import SequenceTask
from tfxdr.tasks.sequences import NEGATIVES_DIR, NUM_NEGATIVES

DOMAINS = ("books", "movies")
ITEMS = (40, 30)
CONFIG = SASRecConfig(max_len=6)


def _successor(raw: str, domain: int) -> str:
    """The planted next item: the successor of ``raw`` in its block (see planted_sequences)."""
    number = int(raw[1:])
    block = next(b for b in np.array_split(np.arange(ITEMS[domain]), 4) if number in b)
    return f"{raw[0]}{block[(list(block).index(number) + 1) % len(block)]}"


class PlantedOrderScorer:
    """Scores 1 the planted successor of the user's last item, 0 the rest (or the
    reverse with ``worst``): a scorer whose metrics are known by hand."""

    def __init__(self, spec, worst: bool = False):
        self.spec, self.worst = spec, worst

    def next_item_scorer(self, domain: int):
        vocabulary = self.spec[f"items_{DOMAINS[domain]}"].vocabulary

        def score(inputs):
            rows = inputs[f"items_{DOMAINS[domain]}"].numpy().astype(str)
            scores = np.zeros((len(rows), len(vocabulary)), np.float32)
            for row, history in enumerate(rows):
                scores[row, vocabulary.index(_successor(history[-1], domain))] = 1.0
            return -scores if self.worst else scores

        return score


def _prepared(tmp_path, frame=None, seed=0):
    frame = planted_sequences(items_per_domain=ITEMS, seed=1) if frame is None else frame
    task = SequenceTask()
    interactions = select_domains(RawDataset("planted", frame, None, None, {}), DOMAINS)
    split = make_split(interactions, dataclasses.replace(task.default_split, seed=seed))
    spec = task.feature_spec(interactions, split, CONFIG)
    task.write_inputs(tmp_path, split, spec, CONFIG, seed)
    return task, split, spec, task.prepare(split, spec, CONFIG, tmp_path)


def test_training_rows_hold_the_last_max_len_plus_one_training_items(tmp_path):
    _, split, _, data = _prepared(tmp_path)
    assert len(data.users) == 400
    row = data.train["items_books"][0]
    train = split[(split["user_id"] == data.users[0]) & (split["domain"] == "books")
                  & (split["split"] == "train")].sort_values("timestamp")
    np.testing.assert_array_equal(row, ["", *train["item_id"]])  # 6 of 8 train, 7 columns
    assert list(data.train["items_movies"][0][:5]) == [""] * 5  # 4 movies: 2 train


def test_a_scorer_that_knows_the_order_hits_every_time_and_its_reverse_never(tmp_path):
    task, _, spec, data = _prepared(tmp_path)
    for part in ("val", "test"):
        best = task.evaluate(PlantedOrderScorer(spec), data, part)
        worst = task.evaluate(PlantedOrderScorer(spec, worst=True), data, part)
        for domain in DOMAINS:
            assert best[domain]["users"] == 400
            for k in (5, 10, 20):
                for metric in (f"hr@{k}", f"ndcg@{k}", f"full_hr@{k}", f"full_ndcg@{k}"):
                    assert best[domain][metric] == 1.0
                    assert worst[domain][metric] == 0.0
    assert task.selection_score(best, data) == best["movies"]["full_ndcg@10"]


def test_an_item_training_never_saw_is_a_miss_under_both_protocols(tmp_path):
    frame = planted_sequences(items_per_domain=ITEMS, seed=1)
    last = frame[(frame["user_id"] == "u0") & (frame["domain"] == "movies")].index[-1]
    frame.loc[last, "item_id"] = "m999"  # u0's test item in movies: never trained on
    task, _, spec, data = _prepared(tmp_path, frame)
    assert "m999" not in spec["items_movies"].vocabulary
    result = task.evaluate(PlantedOrderScorer(spec), data, "test")["movies"]
    for metric in ("hr@5", "ndcg@20", "full_hr@5", "full_ndcg@20"):
        assert result[metric] == pytest.approx(399 / 400)
    assert (data.negatives["test"]["movies"][list(data.held_out["test"]["movies"].users)
                                               .index("u0")] == -1).all()

    users = data.held_out["test"]["movies"].users
    alone = data.held_out_rows("test", "movies", users == "u0")
    others = data.held_out_rows("test", "movies", users != "u0")
    assert task.evaluate(PlantedOrderScorer(spec), alone, "test") == {
        "movies": {**{m: 0.0 for m in result if m != "users"}, "users": 1.0}}
    rest = task.evaluate(PlantedOrderScorer(spec), others, "test")
    assert list(rest) == ["movies"]  # the other domain has no rows left to score
    assert rest["movies"]["users"] == 399 and rest["movies"]["full_hr@5"] == 1.0
    assert rest["movies"]["hr@5"] == 1.0


class SeenFirstScorer(PlantedOrderScorer):
    """Scores every item the user had before (``seen``, beyond the request's window too)
    above the planted successor, and the rest below it."""

    def __init__(self, spec, data, part):
        super().__init__(spec)
        self.data, self.part = data, part

    def next_item_scorer(self, domain: int):
        planted = super().next_item_scorer(domain)
        held = self.data.held_out[self.part][DOMAINS[domain]]
        vocabulary = self.spec[f"items_{DOMAINS[domain]}"].vocabulary
        row_of = {user: row for row, user in enumerate(held.users)}

        def score(inputs):
            scores = 0.5 * planted(inputs)
            for row, user in enumerate(inputs["user_id"].numpy().astype(str)):
                scores[row, [vocabulary.index(i) for i in held.seen[row_of[user]]]] = 1.0
            return scores

        return score


def test_every_item_a_user_had_is_masked_and_never_a_negative_beyond_the_window(tmp_path):
    # 10 distinct books per user (a walk round a block of 10), the window 7.
    frame = planted_sequences(items_per_domain=ITEMS, lengths=(10, 4), seed=1)
    task, split, spec, data = _prepared(tmp_path, frame)
    for part, before in (("val", 8), ("test", 9)):
        held = data.held_out[part]["books"]
        # 8 (9) items before the part, of which the request's window holds 7.
        assert {len(items) for items in held.seen} == {before}
        assert {int((row != "").sum()) for row in held.histories["books"]} == {7}
        vocabulary = spec["items_books"].vocabulary
        for items, negatives in zip(held.seen, data.negatives[part]["books"]):
            assert not {vocabulary.index(i) for i in items} & set(negatives.tolist())
        # Ranked above the successor but all masked: the successor is first.
        result = task.evaluate(SeenFirstScorer(spec, data, part), data, part)["books"]
        assert result["full_ndcg@5"] == 1.0 and result["ndcg@5"] == 1.0


def test_negatives_are_drawn_once_by_training_popularity_and_saved(tmp_path):
    task, split, spec, data = _prepared(tmp_path)
    for part in ("val", "test"):
        for k, domain in enumerate(DOMAINS):
            negatives = data.negatives[part][domain]
            held = data.held_out[part][domain]
            saved, meta = load_negatives(tmp_path / NEGATIVES_DIR / f"{part}-{domain}.npz")
            np.testing.assert_array_equal(saved, negatives)
            assert meta == {"seed": 0, "strategy": "popularity"}
            # 200 negatives where the catalogue allows; here fewer, the same for every user.
            eligible = ITEMS[k] - (7 if part == "test" and domain == "books" else
                                   6 if domain == "books" else 3 if part == "test" else 2) - 1
            assert negatives.shape == (400, min(NUM_NEGATIVES, eligible))
            vocabulary = spec[f"items_{domain}"].vocabulary
            for row, target, history in zip(negatives, held.targets, held.histories[domain]):
                drawn = {vocabulary[i] for i in row}
                assert len(drawn) == len(row)  # without replacement
                assert target not in drawn and not drawn & set(history)


def test_the_same_seed_loads_the_same_draw_and_another_seed_draws_anew(tmp_path):
    frame = planted_sequences(num_users=400, items_per_domain=(400, 300), lengths=(8, 4),
                              seed=2)
    *_, first = _prepared(tmp_path / "a", frame, seed=0)
    *_, again = _prepared(tmp_path / "b", frame, seed=0)
    *_, other = _prepared(tmp_path / "c", frame, seed=1)
    np.testing.assert_array_equal(first.negatives["val"]["books"],
                                  again.negatives["val"]["books"])
    assert not np.array_equal(first.negatives["val"]["books"], other.negatives["val"]["books"])


def test_a_missing_or_foreign_negatives_file_is_named(tmp_path):
    task, split, spec, _ = _prepared(tmp_path)
    path = tmp_path / NEGATIVES_DIR / "test-movies.npz"
    path.unlink()
    with pytest.raises(RunDirError, match="test-movies.npz: missing"):
        task.prepare(split, spec, CONFIG, tmp_path)


def test_negatives_follow_training_popularity(tmp_path):
    rng = np.random.default_rng(0)
    weights = 1.0 / np.arange(1, 601)
    rows = []
    for user in range(400):
        for domain, letter in zip(DOMAINS, "bm"):
            items = rng.choice(600, size=10, replace=False, p=weights / weights.sum())
            rows += [(f"u{user}", f"{letter}{i}", domain, t) for t, i in enumerate(items)]
    frame = pd.DataFrame(rows, columns=["user_id", "item_id", "domain", "timestamp"])
    _, split, spec, data = _prepared(tmp_path, frame)
    train = split[(split["split"] == "train") & (split["domain"] == "books")]
    counts = train["item_id"].value_counts().reindex(spec["items_books"].vocabulary).to_numpy()
    negatives = data.negatives["test"]["books"]
    drawn = np.bincount(negatives[negatives >= 0], minlength=len(counts))  # -1: unknown target
    assert data.negatives["test"]["books"].shape == (400, NUM_NEGATIVES)
    assert np.corrcoef(np.log(counts), np.log(drawn + 1))[0, 1] > 0.8
