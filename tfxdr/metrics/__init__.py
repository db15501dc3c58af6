"""Ranking and click-through-rate metrics computed on model scores.

Everything here works on NumPy arrays (TensorFlow eager tensors are accepted
and converted with ``np.asarray``) so that evaluation is exact, deterministic
and independent of the training framework.  One module per concern:

* :mod:`~tfxdr.metrics.ranking`: full ranking over the whole catalogue, the
  user's known items masked (:func:`top_k_items`, :func:`ranking_metrics_per_user`,
  :class:`RankingAccumulator`) and each user's AUC against the unclicked items
  (:func:`per_user_auc`);
* :mod:`~tfxdr.metrics.sampled`: one held-out positive against negatives drawn
  once and saved (:func:`draw_sampled_negatives`, :func:`sampled_ranking_metrics`);
* :mod:`~tfxdr.metrics.ctr`: :func:`auc` and :func:`logloss`.
"""

from tfxdr.metrics._checks import DEFAULT_KS, RANKING_METRICS
from tfxdr.metrics.ctr import auc, logloss
from tfxdr.metrics.ranking import (RankingAccumulator, per_user_auc, ranking_metrics_per_user,
                                  top_k_items)
from tfxdr.metrics.sampled import (SAMPLING_STRATEGIES, draw_sampled_negatives, load_negatives,
                                   save_negatives, sampled_ranking_metrics)

__all__ = ["DEFAULT_KS", "RANKING_METRICS", "SAMPLING_STRATEGIES", "RankingAccumulator", "auc",
           "draw_sampled_negatives", "load_negatives", "logloss", "per_user_auc",
           "ranking_metrics_per_user", "save_negatives", "sampled_ranking_metrics", "top_k_items"]
