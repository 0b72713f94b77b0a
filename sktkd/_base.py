"""What all estimators share: parameters, data checks, seeding, the net.

Task-agnostic: what a target is (a class, a value) is the task's part,
:mod:`sktkd._classifier` or :mod:`sktkd._regressor`, which each estimator
puts before this base. Prediction, shared too, is in :mod:`sktkd._predict`.
"""

import contextlib
import copy
import copyreg
import functools
import threading
from numbers import Integral, Real

import numpy as np
import torch
from sklearn.base import BaseEstimator, clone
from sklearn.utils import _safe_indexing, check_random_state
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.validation import _check_sample_weight, validate_data
from skorch.callbacks import Callback
from skorch.helper import predefined_split
from torch import nn

from ._accelerate import (
    ACCELERATED,
    check_accelerator,
    check_training_scores,
    forgetting,
    net_options,
    plain,
    same_in_all_processes,
)
from ._batches import TensorDataset
from ._keras import is_keras_model, keras_body
from ._modules import MLP, Standardize, whole_network
from ._net import Net, carry_schedule
from ._persist import check_attributes, from_plain, to_plain
from ._predict import _PREDICT_BATCH_SIZE, Prediction, untensor
from ._preprocess import (
    fit_preprocessor,
    raw_rows,
    resolve_preprocessor,
    student_rows,
)
from ._threads import torch_threads
from ._training import (
    check_callbacks,
    copy_callbacks,
    drop_training_data,
    fitted_curves,
    stopping,
    validation_rows,
    validation_scoring,
)

# Parameters routed skorch-style to the module and optimizer constructors and
# to the callbacks (``callbacks__<name>__<param>``, or ``callbacks__<name>``).
_ROUTED_PREFIXES = ("module__", "optimizer__", "callbacks__")


# torch's random generator is one per process: seeded fits take turns.
_TORCH_RNG_LOCK = threading.RLock()


def _is_fitted_attribute(name):
    return name.endswith("_") and not name.startswith("__")


def loss_weights(sample_weight):
    """Row weights of the loss: float32 with mean 1, or ``None``.

    Scaled in float64 (by the largest weight first, so the sum cannot
    overflow) so that a batch's loss stays comparable to the unweighted mean,
    whatever the units of the weights.
    """
    if sample_weight is None:
        return None
    sample_weight = sample_weight / sample_weight.max()
    return (sample_weight / sample_weight.mean()).astype(np.float32)


def drop_zero_weights(sample_weight, *arrays):
    """The rows of ``arrays`` with a positive weight, and their weights.

    A weight of 0 is the same as leaving the row out, in the input statistics
    and in the batches alike.
    """
    if sample_weight is None or sample_weight.all():
        return sample_weight, *arrays
    keep = sample_weight > 0
    return sample_weight[keep], *(a[keep] for a in arrays)


def row_indices(sample_weight, valid):
    """Indices into ``X`` of the training rows and of the validation rows.

    Rows of weight 0 are in neither; ``valid`` masks the rows of ``X``.
    ``None`` stands for every row of ``X``, and for no validation rows. Fits
    read ``X`` through these indices, a chunk at a time, so that no copy of
    ``X`` is made but the standardised one.
    """
    kept = np.ones(len(valid), dtype=bool) if sample_weight is None else sample_weight > 0
    train, held_out = kept & ~valid, kept & valid
    return (
        None if train.all() else np.flatnonzero(train),
        np.flatnonzero(held_out) if held_out.any() else None,
    )


def training_rows(valid, *arrays):
    """The rows of ``arrays`` outside the validation mask ``valid`` (``None`` stays
    ``None``); without validation rows, the arrays themselves, not copies."""
    if not valid.any():
        return arrays
    train = ~valid
    return tuple(None if a is None else a[train] for a in arrays)


def describe(value):
    """``repr(value)``, but a module-level function or class by its name: its repr
    holds an address that changes from one process to the next. (A lambda or a
    closure keeps its repr: two of them may share a name.)"""
    if is_keras_model(value):  # its repr gives only its name
        return f"keras:{value.to_json()}"
    if isinstance(value, functools.partial):
        return f"partial({describe(value.func)}, {value.args!r}, {value.keywords!r})"
    name = getattr(value, "__qualname__", None)
    if callable(value) and isinstance(name, str) and "<" not in name:
        return f"{getattr(value, '__module__', '')}.{name}"
    return repr(value)


def resolve_device(device):
    """The torch device a fit runs on: CPU or an available CUDA device."""
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    try:
        resolved = torch.device(device)
    except RuntimeError as exc:
        raise ValueError(f"device={device!r} is not a torch device: {exc}") from exc
    if resolved.type not in ("cpu", "cuda"):
        raise ValueError(
            f"device={device!r} is not supported; use 'cpu', 'cuda', 'cuda:<index>' or 'auto'."
        )
    if resolved.type == "cuda":
        if not torch.cuda.is_available():
            raise ValueError(
                f"device={device!r} was requested, but CUDA is not available on this "
                "machine; use device='cpu' or device='auto'."
            )
        if resolved.index is not None and resolved.index >= torch.cuda.device_count():
            raise ValueError(
                f"device={device!r}: this machine has {torch.cuda.device_count()} CUDA devices."
            )
    return str(resolved)


class NeuralBase(Prediction, BaseEstimator):
    """Base of the sktkd estimators: a private skorch net built in ``fit``.

    Subclasses list every parameter in their own ``__init__`` and store their
    ``**kwargs`` (``module__*`` and ``optimizer__*``) with ``vars(self).update``.
    The task part before it (:class:`~sktkd._classifier.ClassifierTask`,
    :class:`~sktkd._regressor.RegressorTask`) says what the targets and the
    network's outputs are.
    """

    # Estimators pickled before these parameters existed.
    n_threads = accelerator = None
    preprocessor = "auto"

    _parameter_constraints: dict = {
        "module": [None, callable],
        "hidden_layer_sizes": ["array-like"],
        "max_epochs": [Interval(Integral, 1, None, closed="left")],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "lr": [Interval(Real, 0, None, closed="neither")],
        "optimizer": [callable],
        "device": [str, torch.device],
        "accelerator": [None, HasMethods(["prepare", "autocast", "backward"])],
        "n_threads": [None, Interval(Integral, 1, 4096, closed="both")],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
        "callbacks": [None, list],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left")],
        "warm_start": ["boolean"],
        "preprocessor": [None, StrOptions({"auto"}), HasMethods(["fit", "transform"])],
    }

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        # A preprocessor ("auto" imputes) takes NaN; the network alone does not.
        tags.input_tags.allow_nan = self.preprocessor is not None
        return tags

    # --- skorch-style routed parameters -------------------------------------
    # The **kwargs of __init__ are stored as attributes and reported by
    # get_params, so clone and grid searches see them; fit rejects any that
    # is not routed to a constructor.

    @classmethod
    @functools.cache
    def _get_param_names(cls):
        # scikit-learn inspects the signature on every call; a fit asks a few times.
        return super()._get_param_names()

    def _extra_params(self):
        names = self._get_param_names()
        return {
            key: value
            for key, value in vars(self).items()
            if key not in names and not key.startswith("_") and not key.endswith("_")
        }

    def _check_params(self):
        """Rules that parameter constraints cannot state: routed names, callbacks."""
        if isinstance(self.n_threads, (bool, np.bool_)):
            raise TypeError(
                f"n_threads must be None or an int in [1, 4096]; got {self.n_threads!r}."
            )
        for entry in self.callbacks or ():
            # skorch takes a callback, a callback class, or a (name, either) pair.
            name, callback = entry if isinstance(entry, tuple) and len(entry) == 2 else ("", entry)
            is_class = isinstance(callback, type) and issubclass(callback, Callback)
            if not isinstance(name, str) or not (isinstance(callback, Callback) or is_class):
                raise TypeError(
                    f"callbacks must hold skorch callbacks or (name, callback) pairs; got "
                    f"{entry!r}."
                )
        for key in vars(self):
            if key.startswith(_ROUTED_PREFIXES) and key.endswith("_"):
                raise TypeError(
                    f"{type(self).__name__} got the parameter {key!r}: names ending in '_' "
                    "are fitted attributes, not parameters."
                )
        for key in self._extra_params():
            if not key.startswith(_ROUTED_PREFIXES):
                raise TypeError(
                    f"{type(self).__name__} got an unexpected parameter {key!r}; extra "
                    "parameters must be module__<name>, optimizer__<name> or "
                    "callbacks__<callback name>__<name>."
                )

    # Parameters a clone shares instead of copying: fit never modifies them,
    # and a callback may hold what cannot be copied (a file, a lock); an
    # accelerator is the process's one (accelerate keeps its state per process).
    _SHARED_ON_CLONE = ("callbacks", "accelerator")

    def __sklearn_clone__(self):
        params = self.get_params(deep=False)
        shared = {k: params.pop(k) for k in self._SHARED_ON_CLONE}
        if shared["callbacks"] is not None:
            shared["callbacks"] = list(shared["callbacks"])
        new = type(self)(**shared, **{k: clone(v, safe=False) for k, v in params.items()})
        for attr in ("_metadata_request", "_sklearn_output_config"):  # as clone keeps them
            if attr in vars(self):
                setattr(new, attr, copy.deepcopy(getattr(self, attr)))
        return new

    def _routed(self, prefix):
        extra = self._extra_params()
        return {k[len(prefix) :]: v for k, v in extra.items() if k.startswith(prefix)}

    def get_params(self, deep=True):
        return {**super().get_params(deep=deep), **self._extra_params()}

    def set_params(self, **params):
        """Set parameters; ``module__*``, ``optimizer__*`` and ``callbacks__*`` are routed ones.

        Any other name must be a parameter (or ``<parameter>__<name>`` of an
        estimator-valued one): fitted attributes and typos are refused with
        scikit-learn's ``ValueError``.
        """
        fitted = sorted(k for k in params if k.startswith(_ROUTED_PREFIXES) and k.endswith("_"))
        if fitted:
            raise ValueError(
                f"Invalid parameter {fitted[0]!r} for estimator {type(self).__name__}: names "
                "ending in '_' are fitted attributes, not parameters."
            )
        nested = sorted(k for k in params if k.startswith("preprocessor__"))
        preprocessor = params.get("preprocessor", self.preprocessor)
        if nested and not hasattr(preprocessor, "set_params"):
            raise ValueError(
                f"Cannot set {nested}: preprocessor={preprocessor!r} is chosen in fit, from "
                "the data. To search its parameters, pass the transformer itself, e.g. "
                "preprocessor=ColumnTransformer([...]) (see preprocessor_ of a fitted model "
                "for the one 'auto' builds)."
            )
        routed = {k: params.pop(k) for k in list(params) if k.startswith(_ROUTED_PREFIXES)}
        super().set_params(**params)
        vars(self).update(routed)
        return self

    # --- persistence: pickle and skops ---------------------------------------

    # pickle and copy call __reduce_ex__: the attributes as they are. skops calls
    # __getstate__: torch objects as arrays and types (see Net and sktkd._persist).
    def __reduce_ex__(self, protocol):
        return copyreg.__newobj__, (type(self),), super().__getstate__()

    def __getstate__(self):
        return to_plain(super().__getstate__())

    def __setstate__(self, state):
        check_attributes(type(self), state)
        super().__setstate__(from_plain(state))

    # --- fit helpers ----------------------------------------------------------

    def _validate_input(self, X, reset):
        """``X`` checked by ``validate_data`` (sets or checks ``n_features_in_`` and
        ``feature_names_in_``, those of ``X`` as given).

        A first fit (``reset``) chooses ``preprocessor_`` (unfitted; see
        :func:`sktkd._preprocess.auto_preprocessor`). ``X`` is returned as
        :meth:`_checked_rows` returns it: numbers for the network, or the rows
        the preprocessor takes, which :meth:`_student_input` turns into numbers.
        """
        X = untensor(X)
        if reset:
            self.preprocessor_ = None
            if self.preprocessor is not None:
                plain = isinstance(X, np.ndarray) and X.ndim == 2 and X.dtype.kind in "biuf"
                rows = X if plain else raw_rows(X)
                self.preprocessor_ = self._new_preprocessor(rows)
                if self.preprocessor_ is not None:  # the rows are checked already
                    validate_data(self, X, skip_check_array=True, reset=True)
                    return rows
        return self._checked_rows(X, reset)

    def _new_preprocessor(self, X):
        """The unfitted ``preprocessor_`` for the rows ``X``, or ``None``."""
        return resolve_preprocessor(self.preprocessor, X)

    def _student_input(self, X, y, labelled, rows, continues):
        """The student's numbers for ``X`` (checked by :meth:`_validate_input`).

        A first fit fits ``preprocessor_`` on the training rows ``X[rows]``, ``y[rows]``
        (all for ``None``), not on the validation rows, as a ``Pipeline`` fits its
        steps (with unlabelled rows, see :func:`sktkd._preprocess.fit_preprocessor`);
        a continued fit keeps it.
        """
        preprocessor = getattr(self, "preprocessor_", None)
        if preprocessor is None:
            return X
        if not continues:
            auto = isinstance(self.preprocessor, str)
            if rows is None:
                fit_preprocessor(preprocessor, X, y, labelled, auto)
            else:
                X_rows = _safe_indexing(X, rows)
                fit_preprocessor(preprocessor, X_rows, y[rows], labelled[rows], auto)
        return student_rows(preprocessor, X)

    @staticmethod
    def _checked_weights(sample_weight, X):
        """``sample_weight`` checked as scikit-learn does (float64, non-negative, one per
        row of ``X``), with at least one positive weight; ``None`` stays ``None``."""
        if sample_weight is None:
            return None
        sample_weight = _check_sample_weight(
            sample_weight, X, dtype=np.float64, ensure_non_negative=True
        )
        if not sample_weight.any():
            raise ValueError("Sample weights must contain at least one non-zero number.")
        return sample_weight

    def _continues(self, incremental):
        """Whether this fit continues the fitted network (``partial_fit``, ``warm_start``)."""
        return (incremental or self.warm_start) and hasattr(self, "net_")

    def _check_hidden_layer_sizes(self):
        sizes = tuple(self.hidden_layer_sizes)
        if not all(isinstance(s, Integral) and s >= 1 for s in sizes):
            raise ValueError(
                f"hidden_layer_sizes must be a tuple of positive ints, got "
                f"{self.hidden_layer_sizes!r}."
            )
        return sizes

    def _build_body(self, n_features, n_outputs):
        """The network from ``module``, sized by the data."""
        params = self._routed("module__")
        if self.module is None:
            return MLP(n_features, n_outputs, self._check_hidden_layer_sizes(), **params)
        if isinstance(self.module, nn.Module) or is_keras_model(self.module):
            if params:
                raise ValueError(
                    f"module is an instance, so the parameters {sorted(params)} cannot "
                    "reach its constructor; pass the module class instead."
                )
            if is_keras_model(self.module):  # Keras's layers ignore torch's train(): a copy
                return keras_body(self.module)
            return copy.deepcopy(self.module).float()  # never train the user's instance
        sizes = {"n_features_in": n_features, self._OUTPUT_ARG: n_outputs}
        try:
            body = self.module(**sizes, **params)
        except TypeError as exc:
            raise TypeError(
                f"Could not build module {self.module!r} with "
                f"{', '.join(f'{k}={v}' for k, v in sizes.items())} and {params}: {exc}"
            ) from exc
        if not isinstance(body, nn.Module):
            raise TypeError(
                f"module {self.module!r} built a {type(body).__name__}, not a torch.nn.Module."
            )
        return body.float()  # the network computes in float32, whatever it was built in

    def _first_output(self, body, Z):
        """The body's output on two standardised rows of ``Z``, so that a module that
        does not fit the data fails here, clearly (the task checks its shape)."""
        device = next(body.parameters(), torch.empty(0)).device
        try:
            # Two rows are small work (and a lazy module has no parameters to count yet).
            with torch_threads(self.n_threads or 1), torch.no_grad():
                return body.eval()(torch.tensor(Z[:2], device=device))
        except RuntimeError as exc:
            raise ValueError(
                f"The module cannot take input with {Z.shape[1]} features: {exc}"
            ) from exc

    def _build_network(self, X, n_outputs, sample_weight=None, rows=None):
        """Input standardisation (training-row statistics) followed by the body.

        Returns the network and the standardised float32 rows the body trains
        on: ``X[rows]`` (all of ``X`` for ``None``), with weights ``sample_weight``.
        """
        standardize = Standardize.from_data(X, sample_weight, rows)
        Z = standardize.transform(X, rows)
        body = self._build_body(X.shape[1], n_outputs)
        self._check_output(body, Z, n_outputs)
        return whole_network(standardize, body), Z

    def _seed(self):
        seed = int(check_random_state(self.random_state).randint(np.iinfo(np.int32).max))
        # Processes of data parallelism split the same batches of the same rows.
        return same_in_all_processes(self.accelerator, seed)

    def _held_out(self, targets, weight, seed, incremental):
        """Mask of the validation rows: with ``early_stopping``, a share of the
        labelled rows of positive weight (none for ``partial_fit``), stratified
        for a classifier.

        ``seed`` is the fit's first draw, so a warm start holds out the same rows.
        """
        if not self.early_stopping or incremental:
            return np.zeros(len(targets), dtype=bool)
        candidates = self._labelled(targets) & (True if weight is None else weight > 0)
        return validation_rows(candidates, self.validation_fraction, seed, **self._strata(targets))

    def _validation_set(self, standardize, X, rows, targets, weight, valid, device, **extras):
        """The held-out rows as a dataset, and their float64 weights (for the scores).

        ``X[rows]`` are the held-out rows; ``valid`` masks them in ``targets``,
        ``weight`` and ``extras``.
        """
        if not valid.any():
            return None, None
        weights = None if weight is None else weight[valid]
        extras = {k: None if v is None else v[valid] for k, v in extras.items()}
        dataset = self._dataset(
            standardize.transform(X, rows),
            targets[valid],
            device,
            sample_weight=loss_weights(weights),
            **extras,
        )
        return dataset, weights

    def _training_seed(self, seed, continues):
        """The seed of the network and batch order; a continued fit draws new orders."""
        return (seed + len(self.net_.history)) % np.iinfo(np.int32).max if continues else seed

    def _architecture(self):
        """What shapes the network: a continued fit must find it unchanged."""
        routed = {f"module__{k}": v for k, v in self._routed("module__").items()}
        sizes = self.hidden_layer_sizes
        sizes = tuple(sizes) if isinstance(sizes, (list, tuple)) else sizes  # [8] is (8,)
        params = {"module": self.module, "hidden_layer_sizes": sizes, **routed}
        return {k: describe(v) for k, v in params.items()}

    def _check_architecture(self, incremental):
        """Refuse to continue a network whose shaping parameters changed since it was built."""
        built, now = self.net_.architecture_, self._architecture()
        changed = sorted(k for k in built.keys() | now.keys() if built.get(k) != now.get(k))
        if changed:
            how = "partial_fit" if incremental else "warm_start"
            raise ValueError(
                f"{how} continues the fitted network, but {changed} changed since it was "
                "built; fit with warm_start=False to build a new network."
            )

    def _fit_device(self):
        """The device a fit trains on: ``device``'s, or the accelerator's when it
        places the network (``accelerator.device_placement``)."""
        accelerator = self.accelerator
        check_accelerator(accelerator, self.batch_size)
        if accelerator is None or not accelerator.device_placement:
            return resolve_device(self.device)
        placed = torch.device(accelerator.device)
        if self.device not in ("cpu", "auto"):
            asked = torch.device(resolve_device(self.device))
            indices = {asked.index, placed.index} - {None}
            if asked.type != placed.type or len(indices) > 1:
                raise ValueError(
                    f"device={self.device!r}, but the accelerator places the network on "
                    f"{placed}; leave device='cpu' (the default) or 'auto' with an accelerator."
                )
        return str(placed)

    @contextlib.contextmanager
    def _fork_rng(self, device):
        """Global torch RNG state, restored on exit, so fits leave no trace.

        torch has one random generator per process: fits in threads (joblib's
        threading backend) take turns in here, so each draws only from its own
        seed, as a sequential fit would.
        """
        dev = torch.device(device)
        devices = []
        if dev.type == "cuda":
            devices = [dev.index if dev.index is not None else torch.cuda.current_device()]
        with _TORCH_RNG_LOCK, torch.random.fork_rng(devices=devices):
            yield

    @contextlib.contextmanager
    def _atomic_fit(self):
        """Fitted attributes change only when fit succeeds.

        On any exception, a ``KeyboardInterrupt`` included, the estimator is
        left exactly as it was before the fit (fitted or not), and the
        exception reaches the caller.
        """
        before = {k: v for k, v in vars(self).items() if _is_fitted_attribute(k)}
        try:
            with forgetting(self.accelerator):
                yield
        except BaseException:
            for key in [k for k in vars(self) if _is_fitted_attribute(k)]:
                delattr(self, key)
            vars(self).update(before)
            raise

    def _make_net(
        self,
        body,
        criterion,
        device,
        seed,
        *,
        net_class=Net,
        rows_per_epoch=None,
        valid=None,
        valid_weights=None,
        valid_teacher_targets=None,
        incremental=False,
        unlabelled_rows=False,
    ):
        """The skorch net that trains ``body`` on standardised rows.

        ``valid``, a :class:`TensorDataset`, is its validation split (rows
        weighted by ``valid_weights`` in its scores); its
        callbacks are the validation scores, copies of the user's
        ``callbacks`` and the stopping rule (see :mod:`sktkd._training`),
        which ``partial_fit`` (``incremental``) goes without, as
        ``MLPClassifier``'s does. ``unlabelled_rows``: some training rows have
        the label ``-1`` (unlabelled or synthetic).
        """
        callbacks = copy_callbacks(self.callbacks)
        if valid is not None:
            scores = validation_scoring(
                self._VALID_SCORES, self._VALID_METRIC, valid_weights, valid_teacher_targets
            )
            callbacks = [*scores, *callbacks]
        if not incremental:
            callbacks.append(
                stopping(valid is not None, self.n_iter_no_change, self.tol, self._VALID_SCORES[0])
            )
        routed = self._routed("callbacks__")
        placement = {"device": device, "verbose": self.verbose}
        if self.accelerator is not None:
            net_class = ACCELERATED[net_class]
            placement = net_options(self.accelerator, device, self.verbose, routed)
        net = net_class(
            iterator_train__rows_per_epoch=rows_per_epoch,
            module=body,
            criterion=criterion,
            optimizer=self.optimizer,
            lr=self.lr,
            max_epochs=self.max_epochs,
            batch_size=self.batch_size,
            iterator_train__generator=torch.Generator().manual_seed(seed),
            iterator_valid__batch_size=_PREDICT_BATCH_SIZE,
            train_split=None if valid is None else predefined_split(valid),
            callbacks=callbacks,
            **placement,
            **{f"optimizer__{k}": v for k, v in self._optimizer_params().items()},
            **{f"callbacks__{k}": v for k, v in routed.items()},
        )
        net.classes_ = self._net_classes()  # None for a regressor
        net.architecture_ = self._architecture()
        net.n_threads = self.n_threads
        net = check_callbacks(
            net.initialize(), valid is not None, routed, unlabelled_rows, incremental
        )
        check_training_scores(self.accelerator, net.callbacks_)
        return net

    def _resume(self, net, incremental):
        """Give ``net`` (initialised) the fitted net's history (and optimizer state).

        As ``MLPClassifier``'s: a warm-start ``fit`` starts a fresh optimizer
        (so a new ``lr`` or ``optimizer__*`` applies), ``partial_fit`` goes on
        with the optimizer as it is. An optimizer over other parameters (a
        strategy changed since) starts afresh. The fitted net is left
        untouched, so a failed continued fit leaves the estimator as it was.
        """
        if incremental:
            try:
                net.optimizer_.load_state_dict(copy.deepcopy(self.net_.optimizer_.state_dict()))
            except ValueError:
                pass
        carry_schedule(net.optimizer_, self.net_.optimizer_)  # a schedule resumes
        net.history_ = copy.deepcopy(self.net_.history_)
        return net

    def _set_fitted_curves(self, net, incremental=False):
        """``n_iter_``, ``loss_curve_`` and the scores, as ``MLPClassifier`` names them.

        ``partial_fit`` keeps the best validation score of the fit before. The
        net then forgets its validation rows (see ``drop_training_data``).
        """
        curves = fitted_curves(net, self.early_stopping and not incremental, self._VALID_SCORES[0])
        plain(net)  # from here on, nothing of the accelerator
        drop_training_data(net)
        if incremental:
            curves["best_validation_score_"] = getattr(self, "best_validation_score_", None)
        vars(self).update(curves)

    def _optimizer_params(self):
        params = self._routed("optimizer__")
        # Adam's fused kernel (CPU and CUDA, torch >= 2.4) makes the same
        # updates in half the time of the default per-tensor loop.
        if self.optimizer in (torch.optim.Adam, torch.optim.AdamW) and not (
            {"fused", "foreach"} & params.keys()
        ):
            params["fused"] = True
        return params

    @staticmethod
    def _dataset(Z, targets=None, device="cpu", **extras):
        """Standardised rows ``Z``, their ``targets`` (class indices or standardised
        values) and the loss's ``extras``."""

        def tensor(a):
            return None if a is None else torch.as_tensor(a).to(device)

        # Z is ours: standardised, float32.
        return TensorDataset(tensor(Z), tensor(targets), {k: tensor(v) for k, v in extras.items()})
