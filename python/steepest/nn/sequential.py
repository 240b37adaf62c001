"""The general model: a stack of layers with one parameter block in the engine, trained in
the native loop (:mod:`steepest.train`), saved through :mod:`steepest.nn.saving`."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, Callable, Dict, List, Optional, Sequence, Tuple, Type, TypeVar, Union, cast

import numpy as np

from steepest._validation import as_array, as_input, as_real, float_dtype, positive_int
from steepest.engine import Engine
from steepest.nn import saving
from steepest.nn.layers import Dense, Dropout, Layer, chain_widths
from steepest.train import loop, lr_range
from steepest.train.callbacks import Callback
from steepest.train.full_batch import FullBatch
from steepest.train.history import History
from steepest.train.objective import Objective, check_noise
from steepest.train.optimizers import Optimizer
from steepest.train.state import TrainingState

if TYPE_CHECKING:
    import onnx

_PREDICT_BATCH = 1024

Model = TypeVar("Model", bound="Sequential")


@saving.register
class Sequential:
    """Layers applied one after the other, with every weight in one contiguous block.

    Parameters
    ----------
    layers : sequence of Dense and Dropout
        Each Dense layer's ``in_features`` must equal the previous one's ``out_features``.
    seed : int, default 0
        Seeds the initial weights, the shuffling and dropout: the same seed, data and
        settings give bitwise identical weights after training, for any thread count.
    dtype : {"float32", "float64"}, default "float32"
    precision : {None, "bfloat16"}, default None
        None computes everything in ``dtype``. "bfloat16" (float32 models only) is mixed
        precision: training rounds the operands of the dense layers' forward and backward
        products to bfloat16 and accumulates them in float32, while the weights, the
        optimizer's state, the activations, losses and updates stay float32 (``predict`` is
        float32). It needs a CPU with fast bfloat16 products
        (:func:`steepest.runtime.bfloat16_level`); elsewhere ``fit`` warns and trains in
        float32. Results stay bitwise identical for any thread count.

    Attributes
    ----------
    metadata : dict
        Yours to fill: any JSON object (str keys; lists, str, finite numbers, bool, None)
        saved in the model's file and kept by ``load`` and pickle. ``steepest train`` keeps
        a classifier's classes and the feature scaling here, for ``steepest predict``.

    Examples
    --------
    >>> import numpy as np, steepest
    >>> model = steepest.Sequential([steepest.Dense(2, 8, "tanh"), steepest.Dense(8, 1, "identity")], seed=0)
    >>> X = np.random.default_rng(0).random((128, 2)).astype(np.float32)
    >>> y = X.sum(axis=1, keepdims=True)
    >>> history = model.fit(X, y, epochs=20, optimizer=steepest.SGD(lr=0.1), verbose=0)
    >>> history["loss"][-1] < history["loss"][0]
    True
    >>> model.predict(X[:2]).shape
    (2, 1)
    """

    def __init__(self, layers: Sequence[Layer], *, seed: int = 0, dtype: Any = "float32", precision: Optional[str] = None) -> None:
        if isinstance(layers, Layer) or not isinstance(layers, Iterable):
            raise TypeError(f"layers must be a list of steepest layers, got {type(layers).__name__}; wrap a single layer in a list")
        layers = list(layers)
        if not layers:
            raise ValueError("a model needs at least one layer")
        chain_widths(layers)
        if not any(isinstance(layer, Dense) for layer in layers):
            raise ValueError("a model needs at least one Dense layer")
        self._start(layers, seed, dtype, precision)

    def _start(self, layers: List[Layer], seed: Any, dtype: Any, precision: Optional[str] = None) -> None:
        """Build a new model of ``layers`` (already checked to chain) and draw its weights."""
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
            raise ValueError(f"seed must be an int >= 0, got {seed!r}")
        dtype = float_dtype(dtype)
        bfloat16 = uses_bfloat16(precision, dtype)
        self.seed = int(seed)
        self._attach(_engine_of(layers, dtype), layers)
        self._engine.bfloat16 = bfloat16
        rng = np.random.default_rng(self.seed)
        for layer in self.layers:
            if isinstance(layer, Dense):
                layer.initialize(rng)

    def _attach(self, engine: Engine, layers: List[Layer]) -> None:
        for index, layer in enumerate(layers):
            layer._bind(engine, index)
        self._engine = engine
        self.layers = layers
        self.metadata: Dict[str, Any] = {}
        self.stop_training = False
        self._state = TrainingState()

    @classmethod
    def _assemble(cls: Type[Model], layers: List[Layer], engine: Engine, seed: int) -> Model:
        """A model of this class over ``engine`` (whose layers are ``layers``), its parameters
        as they are: for loading and for parts sharing another model's weights."""
        model = cls.__new__(cls)
        model.seed = seed
        model._attach(engine, layers)
        return model

    @classmethod
    def _from_saved(cls: Type[Model], layers: List[Layer], dtype: np.dtype, seed: int, config: Dict[str, Any]) -> Model:
        """A model of this class as a file describes it, parameters still zero (see
        :mod:`steepest.nn.saving`); ValueError if the layers do not suit the class."""
        if not all(isinstance(layer, (Dense, Dropout)) for layer in layers):
            raise ValueError(f"a {cls.__name__} has dense and dropout layers only")
        return cls._build(layers, dtype, seed)

    @classmethod
    def _build(cls: Type[Model], layers: List[Layer], dtype: Any, seed: int) -> Model:
        """A model of this class over a new engine of ``layers``, its parameters zero."""
        return cls._assemble(layers, _engine_of(layers, dtype), seed)

    def _part(self, first: int, last: int) -> "Sequential":
        """Layers [first, last), all dense, as a model of their own sharing this model's
        weights (no copy): an autoencoder's encoder and decoder."""
        layers: List[Layer] = [Dense(layer.in_features, layer.out_features, cast(Dense, layer).activation) for layer in self.layers[first:last]]
        return Sequential._assemble(layers, self._engine.part(first, last), self.seed)

    @property
    def history_(self) -> Optional[History]:
        """The History of the last ``fit`` (up to the last finished epoch after Ctrl-C)."""
        return self._state.history

    # ------------------------------------------------------------------ description ----

    @property
    def dtype(self) -> np.dtype:
        """The precision every computation of this model runs in."""
        return self._engine.dtype

    @property
    def precision(self) -> str:
        """ "bfloat16" for mixed precision (see the class's parameters), else the dtype's name."""
        return "bfloat16" if self._engine.bfloat16 else self.dtype.name

    def _set_precision(self, precision: Optional[str]) -> None:
        self._engine.bfloat16 = uses_bfloat16(precision, self.dtype)

    @property
    def input_features(self) -> int:
        return self._engine.input_features

    @property
    def output_features(self) -> int:
        return self._engine.output_features

    @property
    def output_activation(self) -> str:
        return [layer for layer in self.layers if isinstance(layer, Dense)][-1].activation

    @property
    def parameter_count(self) -> int:
        return self._engine.parameter_count

    def summary(self) -> str:
        """A table of the layers with their output shapes and parameter counts.

        Examples
        --------
        >>> import steepest
        >>> print(steepest.MLP([4, 8, 2]).summary())
        MLP (float32)
          #  layer                               output      parameters
          0  Dense(4, 8, activation='relu')      (None, 8)           40
          1  Dense(8, 2, activation='identity')  (None, 2)           18
        total parameters: 58
        """
        rows = [(str(i), repr(layer), f"(None, {layer.out_features})", str(layer.parameter_count)) for i, layer in enumerate(self.layers)]
        width = max(len("layer"), max(len(r[1]) for r in rows))
        lines = [f"{type(self).__name__} ({self.dtype.name})", f"  #  {'layer':<{width}}  {'output':<10}  parameters"]
        lines += [f"{i:>3}  {name:<{width}}  {shape:<10}  {count:>10}" for i, name, shape, count in rows]
        lines.append(f"total parameters: {self.parameter_count}")
        return "\n".join(lines)

    def __repr__(self) -> str:
        inner = ",\n".join(f"    {layer!r}" for layer in self.layers)
        precision = ", precision='bfloat16'" if self._engine.bfloat16 else ""
        return f"{type(self).__name__}([\n{inner}\n], seed={self.seed}, dtype={self.dtype.name!r}{precision})"

    # -------------------------------------------------------------------- parameters ----

    def get_parameters(self) -> np.ndarray:
        """A copy of all parameters as one flat array (layer by layer: weight, then bias)."""
        return self._engine.get_parameters()

    def set_parameters(self, values: Any) -> None:
        """Overwrite all parameters from a flat array of :attr:`parameter_count` finite values."""
        array = as_array(values, "parameters")
        if array.shape != (self.parameter_count,):
            raise ValueError(f"parameters must have shape ({self.parameter_count},), got {array.shape}")
        self._engine.set_parameters(as_real(array, "parameters", self.dtype.type))

    # ----------------------------------------------------------------------- running ----

    def predict(self, X: Any, *, batch_size: int = _PREDICT_BATCH) -> np.ndarray:
        """The model's output for each row of ``X`` (dropout off), computed in batches with
        the GIL released.

        ``X`` is converted to the model's dtype (no copy when it already matches and is
        C-contiguous; a memmap is read batch by batch). A SciPy sparse matrix or array is
        read as it is (CSR), never made dense, when the first layer is Dense.
        """
        return self._predict(X, batch_size)

    def _predict(self, X: Any, batch_size: int = _PREDICT_BATCH, name: str = "X") -> np.ndarray:
        return self._engine.predict(as_input(X, name, self.dtype.type, features=self.input_features), positive_int(batch_size, "batch_size"))

    def fit(
        self,
        X: Any,
        y: Any = None,
        *,
        epochs: int = 10,
        batch_size: int = 32,
        optimizer: Optional[Optimizer] = None,
        loss: str = "mse",
        shuffle: Union[bool, Callable[[int], Any]] = True,
        validation_data: Optional[Tuple[Any, Any]] = None,
        validation_split: float = 0.0,
        callbacks: Sequence[Callback] = (),
        verbose: int = 1,
        diagnostics: bool = True,
        noise: Optional[Tuple[str, float]] = None,
        sample_weight: Any = None,
        penalty_per_weight: bool = False,
    ) -> History:
        """Train with mini-batch gradient descent; the whole epoch runs natively.

        Parameters
        ----------
        X : array-like or SciPy sparse matrix/array, shape (samples, features)
            A sparse X (any format; read as CSR in O(nnz) memory, never made dense) needs a
            Dense first layer and no ``noise``; its ``validation_data`` may be sparse too.
        y : array-like
            ``(samples, outputs)`` targets; for ``softmax_cross_entropy`` integer labels
            ``(samples,)`` or one-hot rows.
        epochs : int, default 10
        batch_size : int, default 32
            With ``shuffle=False`` batches are taken in order and the last, smaller batch is
            kept (as PyTorch's DataLoader with ``drop_last=False``).
        optimizer : steepest.SGD or steepest.Adam, default ``SGD(lr=0.01)``
        loss : {"mse", "binary_cross_entropy", "binary_cross_entropy_with_logits", "softmax_cross_entropy", "poisson"}
            A sigmoid output with binary cross entropy, a softmax output with softmax
            cross entropy and an exp output with the poisson loss (half the Poisson
            deviance) are computed from the logits for stability.
        shuffle : bool or callable, default True
            A callable takes the epoch (0 for this fit's first) and gives that epoch's order
            of the rows, a permutation of ``range(len(X))``.
        validation_data : (X_val, y_val), optional
        validation_split : float, default 0
            Fraction of the last rows of ``X`` held out for validation.
        callbacks : sequence of Callback
        verbose : {0, 1, 2}
            0 silent; 1 a progress bar on a terminal (one line per epoch otherwise); 2 one
            line per epoch.
        diagnostics : bool, default True
            Gather per-layer training diagnostics into the History.
        noise : ("gaussian", std) or ("mask", rate), optional
            Corrupt each batch's inputs while training, drawn natively from the seed:
            Gaussian noise of that standard deviation added, or each input zeroed with that
            probability. The targets stay as given (an autoencoder's: the clean input).
        sample_weight : array-like, shape (samples,), optional
            Each row's weight (finite, >= 0): a batch's loss is ``Σ w·loss / Σ w``, so an
            integer weight counts a row as that many copies of it within its batch.
        penalty_per_weight : bool, default False
            Divide the optimizer's ``l1`` and ``l2`` at each step by the batch's total
            weight (its row count without ``sample_weight``): scikit-learn's ``alpha / n``.

        Returns
        -------
        History

        Raises
        ------
        TrainingDivergedError
            The loss became NaN or infinite; the model is back to the last weights that gave a finite loss.
        """
        return self._fit(
            X,
            y,
            epochs=epochs,
            batch_size=batch_size,
            optimizer=optimizer,
            loss=loss,
            shuffle=shuffle,
            validation_data=validation_data,
            validation_split=validation_split,
            callbacks=callbacks,
            verbose=verbose,
            diagnostics=diagnostics,
            objective=Objective(noise=check_noise(noise), penalty_per_weight=bool(penalty_per_weight)),
            sample_weight=sample_weight,
        )

    def partial_fit(
        self,
        X: Any,
        y: Any = None,
        *,
        batch_size: int = 32,
        optimizer: Optional[Optimizer] = None,
        loss: str = "mse",
        sample_weight: Any = None,
        order: Any = None,
        penalty_per_weight: bool = False,
        metrics: bool = False,
    ) -> Any:
        """One pass over the chunk ``(X, y)``, in order (or in ``order``, a permutation of
        its rows), each row weighted by ``sample_weight`` if given (``penalty_per_weight`` as
        in :meth:`fit`); returns its mean loss, or with ``metrics=True`` the dict of what
        ``fit`` logs for an epoch (``loss``, and ``penalty`` per sample with l1 or l2).

        Optimizer state (momentum, Adam's moments) carries over between calls with the same
        settings, so a stream of chunks trains like one long epoch.
        """
        logs = self._partial_fit(
            X,
            y,
            batch_size=batch_size,
            optimizer=optimizer,
            loss=loss,
            sample_weight=sample_weight,
            order=order,
            objective=Objective(penalty_per_weight=bool(penalty_per_weight)),
        )
        return logs if metrics else logs["loss"]

    def full_batch(self, X: Any, y: Any = None, *, loss: str = "mse", sample_weight: Any = None, batch_size: int = 4096) -> FullBatch:
        """The loss over all of ``(X, y)`` and its gradient as one function of the
        parameters, ``f(parameters) -> (loss, gradient)``, each call one native pass (for
        full-batch optimizers: ``scipy.optimize.minimize(f, model.get_parameters(),
        jac=True, method="L-BFGS-B")``); see :class:`steepest.train.full_batch.FullBatch`.

        Examples
        --------
        >>> import numpy as np, steepest
        >>> model = steepest.MLP([3, 4, 1], seed=0, dtype="float64")
        >>> f = model.full_batch(np.ones((5, 3)), np.zeros((5, 1)))
        >>> loss, gradient = f(model.get_parameters())
        >>> gradient.shape == (model.parameter_count,)
        True
        """
        return FullBatch(self, self._engine, X, y, loss=loss, sample_weight=sample_weight, batch_size=batch_size)

    def _partial_fit(self, X: Any, y: Any, **settings: Any) -> Dict[str, float]:
        """One partial pass (settings as :func:`steepest.train.loop.partial_fit` takes
        them); the pass's metrics, its loss and penalty per sample."""
        return loop.partial_fit(self, self._engine, self._state, X, y, **settings)

    def _fit(self, X: Any, y: Any, **settings: Any) -> History:
        """The fit loop over this model (settings as :func:`steepest.train.loop.fit` takes them)."""
        return loop.fit(self, self._engine, self._state, X, y, **settings)

    def lr_range_test(
        self,
        X: Any,
        y: Any = None,
        *,
        start: float = 1e-7,
        end: float = 10.0,
        steps: int = 100,
        batch_size: int = 32,
        optimizer: Optional[Optimizer] = None,
        loss: str = "mse",
        shuffle: bool = True,
    ) -> lr_range.RangeTest:
        """The learning-rate range test's curve: ``steps`` batches at rates growing
        exponentially from ``start`` to ``end``, stopped when the smoothed loss passes four
        times its best; the parameters are put back bit for bit. :func:`steepest.tune.lr_find`
        adds the suggested rates and a plot."""
        return lr_range.range_test(
            self, self._engine, X, y, start=start, end=end, steps=steps, batch_size=batch_size, optimizer=optimizer, loss=loss, shuffle=shuffle
        )

    # ------------------------------------------------------------------- persistence ----

    def save(self, path: Any) -> None:
        """Write the model to one file, atomically (see :func:`steepest.load`)."""
        saving.save(self, path)

    def to_onnx(self, path: Any = None, *, opset: Optional[int] = None) -> "onnx.ModelProto":
        """The model as an ONNX graph, for onnxruntime or any other ONNX runtime; written
        atomically to ``path`` too when it is given. Needs ``pip install 'steepest[onnx]'``.

        The graph takes ``input`` ``(batch, input_features)`` and gives ``output`` ``(batch,
        output_features)`` in the model's dtype, as :meth:`predict` does: a ``Gemm`` per dense
        layer, then its activation; dropout, the identity at inference, leaves no node. An
        autoencoder's ``encoder`` and ``decoder`` export alone the same way.

        Parameters
        ----------
        path : str or os.PathLike, optional
            The folder must exist; a failed export leaves no partial file.
        opset : int, default 17
            The ONNX operator set, 13 or newer.

        Returns
        -------
        onnx.ModelProto
            See the README's "Use the model elsewhere" for a run through onnxruntime.
        """
        from steepest.export import onnx as onnx_export  # onnx is optional: imported when used

        dense = [layer for layer in self.layers if isinstance(layer, Dense)]
        return onnx_export.dense_model(dense, self.dtype, opset=opset, path=path, name=type(self).__name__)

    def __reduce__(self) -> Tuple[Any, Tuple[bytes]]:
        # Pickles through the same versioned format as save(): no code in the payload.
        return (saving.model_from_bytes, (saving.model_to_bytes(self),))

    def _config(self) -> Dict[str, Any]:
        return {}


def uses_bfloat16(precision: Optional[str], dtype: Any) -> bool:
    """Whether ``precision`` asks for bfloat16 products; ValueError unless it is None, the
    dtype's name, or "bfloat16" for a float32 model."""
    dtype = np.dtype(dtype)
    if precision is None or precision == dtype.name:
        return False
    if precision == "bfloat16":
        if dtype != np.float32:
            raise ValueError(
                f"precision='bfloat16' is for float32 models (its products accumulate in float32, its weights "
                f"stay float32); this model's dtype is {dtype.name}: use dtype='float32'"
            )
        return True
    raise ValueError(f"precision must be None, {dtype.name!r} or 'bfloat16', got {precision!r}")


def _engine_of(layers: Sequence[Layer], dtype: Any) -> Engine:
    """A new engine for ``layers``, every parameter zero."""
    return Engine.build([layer._spec() for layer in layers], dtype, sum(layer.parameter_count for layer in layers))
