"""The matching task on planted clicks of three domains, scored by known scorers."""

import numpy as np
import pytest

from tfxdr.data.domains import select_domains
from tfxdr.data.splits import SplitSpec, make_split
from tfxdr.data.synthetic import planted_matching
from tfxdr.data.table import RawDataset
from tfxdr.features import clicked_key, items_input, positives_key
from tfxdr.tasks import MatchingTask
from tfxdr.tasks.matching import MEAN

DOMAINS = ("books", "games", "music")
GROUPS, BLOCK, CLICKS = 4, 10, 6


def _clicks():
    """User u (group u % 4) clicks 6 of the 10 items of block u % 4 in every domain."""
    frame = planted_matching(num_users=80, domains=DOMAINS, num_groups=GROUPS, block=BLOCK,
                             clicks=CLICKS)
    return select_domains(RawDataset("planted", frame, None, None, {}), DOMAINS)


class _GroupScorer:
    """Scores 1 the items of the user's block (sign -1: the reverse), 0 the rest."""

    def __init__(self, spec, sign=1.0):
        self.spec, self.sign = spec, sign

    def next_item_scorer(self, k):
        items = np.array(self.spec[items_input(DOMAINS[k])].vocabulary)
        block = np.array([int(i[1:]) // BLOCK for i in items])

        def score(requests):
            groups = np.array([int(u.decode()[1:]) % GROUPS
                               for u in requests["user_id"].numpy()])
            return self.sign * (block[None, :] == groups[:, None]).astype(np.float32)

        return score


class _Config:
    max_len, num_positives = 5, 3


def _prepared():
    interactions = _clicks()
    split = make_split(interactions, SplitSpec(kind="chronological",
                                               fractions=(0.5, 0.25, 0.25)))
    task = MatchingTask()
    spec = task.feature_spec(interactions, split, _Config)
    return task, split, spec, task.prepare(split, spec, _Config)


def test_the_users_block_is_retrieved_whole_and_its_reverse_never():
    task, _, spec, data = _prepared()
    assert all(len(spec[items_input(d)].vocabulary) == GROUPS * BLOCK for d in DOMAINS)
    # Every held-out click is in the block; its clicks before the part are masked, so
    # the block's other items (at most 10) lead the ranking. The 34 negatives are the
    # 30 items of other blocks (scored 0) and the 4 never clicked in the block (1, a tie).
    metrics = task.evaluate(_GroupScorer(spec), data, "test")
    for domain in DOMAINS:
        assert metrics[domain]["recall@20"] == 1.0
        assert metrics[domain]["auc"] == pytest.approx(32 / 34)
        assert metrics[domain]["users"] == len(data.held_out["test"][domain])
    reverse = task.evaluate(_GroupScorer(spec, sign=-1.0), data, "test")
    for domain in DOMAINS:
        assert reverse[domain]["recall@20"] == 0.0  # the 30 other items fill the top 20
        assert reverse[domain]["auc"] == pytest.approx(2 / 34)
    expected = np.mean([reverse[d]["recall@200"] for d in DOMAINS])
    assert reverse[MEAN]["recall@200"] == pytest.approx(expected)
    assert task.selection_score(reverse, data) == reverse[MEAN]["recall@50"]
    assert "users" not in reverse[MEAN]


def test_training_batches_hold_earlier_clicks_as_inputs_and_later_ones_as_positives():
    task, split, _, data = _prepared()
    time = dict(zip(zip(split["user_id"], split["item_id"]), split["timestamp"]))
    held_out = set(zip(*split.loc[split["split"] != "train", ["user_id", "item_id"]].T.values))
    rows = 0
    for batch in task.train_dataset(data, batch_size=16, seed=3):
        for row, user in enumerate(batch["user_id"].numpy()):
            user = user.decode()
            inputs = [(user, i.decode()) for d in DOMAINS
                      for i in batch[items_input(d)].numpy()[row] if i]
            positives = [(user, i.decode()) for d in DOMAINS
                         for i in batch[positives_key(d)].numpy()[row] if i]
            assert inputs and positives
            assert max(time[c] for c in inputs) < min(time[c] for c in positives)
            assert not (set(inputs) | set(positives)) & held_out
            clicked = {(user, i.decode()) for d in DOMAINS
                       for i in batch[clicked_key(d)].numpy()[row] if i}
            assert clicked == set(zip(*split.loc[(split["user_id"] == user)
                                                 & (split["split"] == "train"),
                                                 ["user_id", "item_id"]].T.values))
            rows += 1
    assert rows == task.num_train_examples(data) == 80  # 9 training clicks per user


def test_every_held_out_item_training_never_saw_counts_as_a_miss():
    task, split, spec, data = _prepared()
    held = data.held_out["test"]["books"]
    # Give the first user two test clicks of books no one trained on: its recall@20
    # falls from 1 to |known| / (|known| + 2), not to |known| / (|known| + 1).
    known = len(held.targets[0])
    held.targets[0] = np.concatenate([held.targets[0], ["new1", "new2"]])
    data.scoring.clear()
    metrics = task.evaluate(_GroupScorer(spec), data, "test")
    users = len(held.users)
    assert metrics["books"]["recall@20"] == pytest.approx(
        (users - 1 + known / (known + 2)) / users)


def test_the_printed_summary_leaves_the_means_user_count_blank():
    from tfxdr.experiment import format_metrics

    text = format_metrics({"books": {"recall@20": 0.5, "users": 10.0},
                           MEAN: {"recall@20": 0.25}})
    assert text.splitlines() == [
        "                   recall@20        users",
        "books                 0.5000      10.0000",
        "mean of domains       0.2500"]
