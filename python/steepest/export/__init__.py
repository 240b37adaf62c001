"""Models that leave Python: steepest models as ONNX graphs, for onnxruntime and every other
ONNX runtime.

- :mod:`steepest.export.onnx` builds the graphs from public facts of a model (each dense
  layer's ``weight``, ``bias`` and ``activation``, and the dtype); ``model.to_onnx()`` of the
  core models and of the scikit-learn estimators calls it. Needs ``pip install 'steepest[onnx]'``.
- :mod:`steepest.export.skl2onnx` registers the estimators' converters with skl2onnx when
  skl2onnx is imported, so that ``skl2onnx.to_onnx(pipeline, X)`` converts pipelines that hold
  them.

Neither imports a steepest model: they sit below :mod:`steepest.nn` and read only what the
models show to everyone.
"""
