"""scikit-learn estimators trained by steepest's native loop.

:class:`MLPClassifier` and :class:`MLPRegressor` replace ``sklearn.neural_network``'s by
changing one import; :class:`AutoencoderTransformer` compresses features inside pipelines.
Needs scikit-learn (``pip install steepest[sklearn]``).

They start from scikit-learn's initial weights, visit the rows in its order and take its
steps, for every solver ("adam", "sgd", "lbfgs"), loss, ``sample_weight`` and sparse input:
a float64 fit gives scikit-learn's ``coefs_`` to rounding. The one difference: Ctrl-C
during ``fit`` stops at the next batch with the weights kept and raises KeyboardInterrupt
(scikit-learn swallows it with a warning).

Each estimator exports itself to ONNX (``to_onnx``), and once skl2onnx is imported,
``skl2onnx.to_onnx`` converts pipelines that hold one (see :mod:`steepest.export.skl2onnx`).
"""

from steepest.export.skl2onnx import Convertible, register_when_imported
from steepest.sklearn.autoencoder import AutoencoderTransformer
from steepest.sklearn.classifier import MLPClassifier
from steepest.sklearn.regressor import MLPRegressor

register_when_imported(
    [
        Convertible(MLPClassifier, MLPClassifier._onnx_facts, classifier=True),
        Convertible(MLPRegressor, MLPRegressor._onnx_facts, classifier=False),
        Convertible(AutoencoderTransformer, AutoencoderTransformer._onnx_facts, classifier=False),
    ]
)

__all__ = ["AutoencoderTransformer", "MLPClassifier", "MLPRegressor"]
