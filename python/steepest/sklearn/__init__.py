"""scikit-learn estimators trained by steepest's native loop.

:class:`MLPClassifier` and :class:`MLPRegressor` replace ``sklearn.neural_network``'s by
changing one import; :class:`AutoencoderTransformer` compresses features inside pipelines.
Needs scikit-learn (``pip install steepest[sklearn]``).

Differences from scikit-learn, all raised as clear errors rather than silently changed:
``solver="lbfgs"``, ``loss="poisson"``, ``sample_weight`` and sparse inputs are not
supported. Computation is in ``dtype`` (float32 by default), and Ctrl-C during ``fit``
stops at the next batch with the weights kept and raises KeyboardInterrupt (scikit-learn
swallows it with a warning).
"""

from steepest.sklearn.autoencoder import AutoencoderTransformer
from steepest.sklearn.classifier import MLPClassifier
from steepest.sklearn.regressor import MLPRegressor

__all__ = ["AutoencoderTransformer", "MLPClassifier", "MLPRegressor"]
