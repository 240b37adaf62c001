"""scikit-learn's own conformance suite (check_estimator) on the three estimators, with their
default parameters, as scikit-learn runs it on third-party estimators."""

import pytest

pytest.importorskip("sklearn")

from sklearn.utils.estimator_checks import parametrize_with_checks  # noqa: E402

from steepest.sklearn import AutoencoderTransformer, MLPClassifier, MLPRegressor  # noqa: E402


# Several checks train for the full max_iter on tiny data, where scikit-learn's MLPs warn
# too; the warning is tested on its own in test_sklearn_estimators.py.
@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@parametrize_with_checks([MLPClassifier(), MLPRegressor(), AutoencoderTransformer()])
def test_scikit_learn_conformance(estimator, check):
    check(estimator)
