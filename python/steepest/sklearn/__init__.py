"""scikit-learn estimators trained by steepest's native loop.

:class:`MLPClassifier` and :class:`MLPRegressor` replace ``sklearn.neural_network``'s by
changing one import; :class:`AutoencoderTransformer` compresses features inside pipelines.
Needs scikit-learn (``pip install steepest[sklearn]``).

They start from scikit-learn's initial weights, visit the rows in its order and take its
steps, for every solver ("adam", "sgd", "lbfgs"), loss, ``sample_weight`` and sparse input:
a float64 fit gives scikit-learn's ``coefs_`` to rounding. The one difference: Ctrl-C
during ``fit`` stops at the next batch with the weights kept and raises KeyboardInterrupt
(scikit-learn swallows it with a warning).
"""

from steepest.sklearn.autoencoder import AutoencoderTransformer
from steepest.sklearn.classifier import MLPClassifier
from steepest.sklearn.regressor import MLPRegressor

__all__ = ["AutoencoderTransformer", "MLPClassifier", "MLPRegressor"]
