"""The parameter documentation the three estimators share (they differ only in their
targets), kept in one place so the docstrings cannot drift apart."""

SOLVER_PARAMETERS = """\
    solver : {"adam", "sgd", "lbfgs"}, default "adam"
        "lbfgs" is SciPy's L-BFGS-B over all rows at once, as scikit-learn drives it (no
        ``partial_fit`` then); ``max_iter`` counts its iterations and ``tol`` is its gtol.
    alpha : float, default 0.0001
        L2 penalty, scaled as scikit-learn's (``alpha · ||W||² / 2`` per batch, divided by the
        batch's total sample weight: its size without ``sample_weight``).
    batch_size : int or "auto", default "auto"
        ``min(200, n_samples)`` for "auto"; larger values are clipped with a warning.
    learning_rate : {"constant", "invscaling", "adaptive"}, default "constant"
        With ``solver="sgd"`` only, as scikit-learn: "invscaling" sets the rate after each
        epoch to ``learning_rate_init / (t + 1) ** power_t`` (``t``: samples seen);
        "adaptive" divides it by 5 each time ``n_iter_no_change`` epochs pass without an
        improvement of ``tol``, and stops below 1e-6.
    learning_rate_init : float, default 0.001
    power_t : float, default 0.5
    max_iter : int, default 200
        Epochs. Reaching it without converging gives a ``ConvergenceWarning``.
    shuffle : bool, default True
    random_state : int, RandomState or None, default None
        Seeds the initial weights, the shuffling and the early-stopping split.
    tol : float, default 1e-4
    verbose : bool, default False
        Prints scikit-learn's per-epoch lines.
    warm_start : bool, default False
        ``fit`` continues from the current weights (with a fresh optimizer, as scikit-learn).
    momentum : float, default 0.9
    nesterovs_momentum : bool, default True
    early_stopping : bool, default False
        Holds out ``validation_fraction`` of the data (stratified for binary classification)
        and stops when its score has not improved by ``tol`` for ``n_iter_no_change``
        epochs; the weights of the best epoch are kept.
    validation_fraction : float, default 0.1
    beta_1, beta_2, epsilon : float, default 0.9, 0.999, 1e-8
        Adam's parameters.
    n_iter_no_change : int or np.inf, default 10
    l1 : float, default 0
        L1 penalty on the weights, scaled like ``alpha`` (``l1 · |W|`` per batch, divided by
        the batch size), a proximal step with sgd and adam, so that weights reach exact zeros
        (lbfgs adds its subgradient). Not in scikit-learn.
    dtype : {None, "float32", "float64"}, default None
        The precision of every computation. None follows scikit-learn: float32 data trains in
        float32, any other data in float64. "float32" forces the faster float32 path (inputs
        converted, outputs in float32).
    n_threads : int or None, default None
        Threads for fit and predict, for the calling thread only (other estimators fitting
        at once keep theirs, and :func:`steepest.set_num_threads`'s setting is untouched);
        None uses that setting. Results do not depend on it.
    diagnostics : bool, default False
        Gather the native loop's per-layer training diagnostics (gradient norms, update
        ratios, dead ReLU and saturated units) into ``history_``.
    precision : {None, "bfloat16"}, default None
        "bfloat16" trains with mixed precision (:class:`steepest.Sequential`'s ``precision``):
        a float32 model (float32 unless ``dtype`` says otherwise; float64 is refused) whose
        dense products take bfloat16 operands, on CPUs with fast bfloat16 products; elsewhere
        ``fit`` warns and trains in float32.
"""

#: scikit-learn's MLPs have it; the autoencoder, which has no scikit-learn twin, does not.
MAX_FUN_PARAMETER = """\
    max_fun : int, default 15000
        With "lbfgs": the most loss and gradient evaluations.
"""

FITTED_ATTRIBUTES = """\
    loss_ : float
        The last epoch's loss, on scikit-learn's scale (half squared error for regression,
        log loss for classification, plus the penalty).
    loss_curve_ : list of float
    best_loss_ : float or None
        None with ``early_stopping``.
    validation_scores_ : list of float or None
        With ``early_stopping``: the held-out score after each epoch.
    validation_loss_curve_ : list of float or None
        With ``early_stopping``: the held-out loss after each epoch, on ``loss_``'s scale
        without the penalty (not in scikit-learn).
    best_validation_score_ : float or None
    n_iter_ : int
        Epochs run by the last fit.
    t_ : int
        Training samples seen.
    coefs_, intercepts_ : list of ndarray
        Per layer, weights ``(in, out)`` and biases: writable views onto ``model_``.
    n_features_in_ : int
    feature_names_in_ : ndarray of str
        When ``X`` has column names.
    n_layers_, n_outputs_ : int
    out_activation_ : str
    model_ : steepest.Sequential
        The trained network.
    history_ : steepest.History or None
        The native loop's per-epoch record of the last ``fit``.
"""
