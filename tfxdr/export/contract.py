"""The signature contract of an export: what a client may rely on.

Per signature: each input's dtype and rank, each output's dtype and shape
(``None`` for a dimension that varies, such as the batch).  The dtypes and
output shapes are the SignatureDef's, as TF Serving reports them; an input's
rank is checked at run time rather than declared (a declared rank would let a
request of another rank broadcast), so it is read from the export's own warmup
requests, which the export replayed before it was published.
"""

from __future__ import annotations

from pathlib import Path

from tfxdr.export.warmup import WARMUP_FILE, read_warmup


def describe(saved_model_dir: str | Path) -> dict:
    """``{signature: {"inputs": {name: {"dtype", "rank"}}, "outputs": {name:
    {"dtype", "shape"}}}}`` of a SavedModel, signatures and names sorted."""
    import tensorflow as tf
    from tensorflow.core.protobuf import saved_model_pb2

    path = Path(saved_model_dir)
    proto = saved_model_pb2.SavedModel()
    proto.ParseFromString((path / "saved_model.pb").read_bytes())
    signatures = proto.meta_graphs[0].signature_def
    ranks = {}
    warmup = path / "assets.extra" / WARMUP_FILE
    for signature, inputs in read_warmup(warmup) if warmup.is_file() else []:
        for name, value in inputs.items():
            ranks[(signature, name)] = value.ndim

    def shape(info):
        if info.tensor_shape.unknown_rank:
            return None
        return [None if d.size < 0 else d.size for d in info.tensor_shape.dim]

    return {key: {
        "inputs": {name: {"dtype": tf.as_dtype(info.dtype).name,
                          "rank": ranks.get((key, name))}
                   for name, info in sorted(signatures[key].inputs.items())},
        "outputs": {name: {"dtype": tf.as_dtype(info.dtype).name, "shape": shape(info)}
                    for name, info in sorted(signatures[key].outputs.items())}}
        for key in sorted(signatures) if not key.startswith("__")}
