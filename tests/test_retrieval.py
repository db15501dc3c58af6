"""faiss indexes over item vectors against brute force, and against the exported retrieval."""

import numpy as np
import pytest
import tensorflow as tf

pytest.importorskip("faiss")

from tfxdr.retrieval import ItemIndex  # noqa: E402


def _vectors(num_items=2000, dim=16, seed=0):
    rng = np.random.default_rng(seed)
    centers = rng.normal(size=(20, dim))  # clustered, as learned item vectors are
    return (centers[rng.integers(20, size=num_items)]
            + 0.3 * rng.normal(size=(num_items, dim))).astype(np.float32)


def test_a_flat_index_is_exact_and_leaves_out_each_rows_items():
    vectors = _vectors()
    ids = np.array([f"i{n}" for n in range(len(vectors))], dtype=object)
    queries = np.random.default_rng(1).normal(size=(50, 16)).astype(np.float32)
    exact = np.argsort(-(queries @ vectors.T), axis=1, kind="stable")
    found, scores = ItemIndex(ids, vectors, "flat").search(queries, 10)
    np.testing.assert_array_equal(found, ids[exact[:, :10]])
    np.testing.assert_allclose(scores, np.take_along_axis(queries @ vectors.T,
                                                          exact[:, :10], 1), rtol=1e-5)
    exclude = [ids[exact[b, :3]] for b in range(50)]  # each row's 3 best
    found, _ = ItemIndex(ids, vectors, "flat").search(queries, 10, exclude=exclude)
    np.testing.assert_array_equal(found, ids[exact[:, 3:13]])


@pytest.mark.parametrize("kind", ["hnsw", "ivf"])
def test_approximate_indexes_find_most_of_the_exact_top_k(kind):
    vectors = _vectors()
    ids = np.arange(len(vectors))
    queries = np.random.default_rng(2).normal(size=(100, 16)).astype(np.float32)
    exact = np.argsort(-(queries @ vectors.T), axis=1)[:, :50]
    found, _ = ItemIndex(ids, vectors, kind).search(queries, 50)
    recall = np.mean([len(set(f) & set(e)) / 50 for f, e in zip(found, exact)])
    assert recall >= 0.95, recall


def test_an_unknown_kind_and_mismatched_vectors_are_refused():
    with pytest.raises(ValueError, match="kind='lsh' is invalid: expected one of flat, hnsw, "
                                         "ivf"):
        ItemIndex([1, 2], np.zeros((2, 4)), "lsh")
    with pytest.raises(ValueError, match=r"vectors of shape \(3, 4\) do not match 2 ids"):
        ItemIndex([1, 2], np.zeros((3, 4)))


def test_a_flat_index_of_a_models_items_returns_what_its_export_retrieves():
    from tfxdr.export.matching import MatchingServing
    from tfxdr.models import MODELS
    from test_aft import TINY, _batch, _spec

    registered = MODELS.get("aft")
    model = registered.create(registered.config_cls(**TINY), _spec(), seed=3)
    module = MatchingServing(model, top_k=4)
    request = {k: v for k, v in _batch().items() if k.startswith("items_")}
    served = module.retrieve_books(*request.values())
    users = module.user_embedding_books(*request.values())["embedding"].numpy()
    vocabulary = np.array(model.spec["items_books"].vocabulary, dtype=object)
    own = [[i.decode() for i in row if i] for row in request["items_books"].numpy()]
    found, scores = ItemIndex(vocabulary, np.asarray(model.item_matrix(1)), "flat").search(
        users, 4, exclude=own)
    # u2 has 4 of the 6 books: two are left, then padding in both.
    served_ids = np.array([[i.decode() or "-1" for i in row]
                           for row in served["top_k_ids"].numpy()])
    np.testing.assert_array_equal(found.astype(str), served_ids)
    assert list(found[2, 2:]) == [-1, -1]
    np.testing.assert_allclose(scores, served["top_k_scores"].numpy(), rtol=1e-5, atol=1e-6)
    assert tf.is_tensor(served["top_k_ids"])


def test_the_latency_benchmark_refuses_sizes_that_are_not_positive_integers(capsys,
                                                                             monkeypatch):
    from scripts import load_benchmark

    benchmark = load_benchmark("retrieval_latency")
    assert benchmark.positive_ints("10,2000") == [10, 2000]
    for argv, name, bad in ((["--sizes", "10000,10k"], "--sizes", "10k"),
                            (["--queries", "0"], "--queries", "0")):
        monkeypatch.setattr("sys.argv", ["retrieval_latency.py", *argv])
        with pytest.raises(SystemExit) as stop:
            benchmark.main()
        assert stop.value.code == 2
        assert capsys.readouterr().err.splitlines()[-1] == (
            f"retrieval_latency.py: error: argument {name}: expected a positive integer, "
            f"got '{bad}'")
