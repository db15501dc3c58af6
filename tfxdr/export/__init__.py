"""SavedModel export with explicit, named serving signatures, one module per task.

``model.export`` on a subclassed model would derive its signature from the
training inputs; here every signature is written out: raw ids in (the model's
own preprocessing layer maps them to indices inside the graph), raw ids and
scores out.
"""

from tfxdr.export.clicks import ClickTranslationServing
from tfxdr.export.common import EXPORT_DIR, next_version, save_module
from tfxdr.export.ctr import CtrServing
from tfxdr.export.sequences import SequenceServing

__all__ = ["EXPORT_DIR", "ClickTranslationServing", "CtrServing", "SequenceServing",
           "next_version", "save_module"]
