"""Teachers: fitting them, asking them once, and aligning their classes by label.

A classifier's teacher gives logits (:func:`teacher_logits`), a regressor's
its predictions (:func:`teacher_predictions`); both are fitted, cached,
asked a chunk of rows at a time and refitted on folds by the same code.
"""

import itertools
import pickle
import threading
import warnings
from numbers import Integral

import numpy as np
import torch
from joblib.hashing import NumpyHasher
from scipy.special import log_softmax
from sklearn.base import clone, is_classifier
from sklearn.exceptions import NotFittedError
from sklearn.frozen import FrozenEstimator
from sklearn.model_selection import cross_val_predict
from sklearn.utils import _safe_indexing, get_tags
from sklearn.utils.validation import check_array, has_fit_parameter
from skorch import NeuralNet, NeuralNetRegressor

from ._modules import row_chunks

# Rows of probabilities may sum to 1 within this tolerance (float32 models).
_SUM_TOLERANCE = 1e-3

# A teacher network is set to eval mode while asked, then given its modes back:
# fits in threads sharing it take turns, or one would hand back the other's.
_NETWORK_MODES_LOCK = threading.RLock()


def _is_estimator(teacher):
    return hasattr(teacher, "fit") and hasattr(teacher, "get_params")


def is_refittable(teacher):
    """Whether ``teacher`` can be cloned and fitted again (``teacher_cv``)."""
    return _is_estimator(teacher) and not isinstance(teacher, FrozenEstimator)


def teacher_list(teacher):
    """The teachers of ``teacher``: the list or tuple given, or ``[teacher]``."""
    return list(teacher) if isinstance(teacher, (list, tuple)) else [teacher]


def _given_teachers(teacher):
    """``teacher_list(teacher)``; a ``TypeError`` for an empty list."""
    teachers = teacher_list(teacher)
    if not teachers:
        raise TypeError("teacher is an empty list; give at least one teacher.")
    return teachers


def check_teacher(teacher):
    """Raise a ``TypeError`` unless ``teacher`` can give soft labels."""
    for one in _given_teachers(teacher):
        if isinstance(one, torch.nn.Module):
            continue
        if not (hasattr(one, "predict_proba") or hasattr(one, "decision_function")):
            raise TypeError(
                f"The teacher {one!r} has neither predict_proba nor decision_function; "
                "a teacher must give class probabilities or scores."
            )


def _skorch_net(teacher):
    """The skorch net ``teacher`` is (perhaps frozen), or ``None``."""
    net = teacher.estimator if isinstance(teacher, FrozenEstimator) else teacher
    return net if isinstance(net, NeuralNet) else None


def _teacher_input(teacher, X):
    """``X`` as ``teacher`` takes it: a skorch net, like a torch module, computes in float32.

    A skorch net itself gets a float32 array from any numbers (a frame too: it
    would take its columns for keyword arguments); a pipeline ending in one gets
    an array of other numbers as float32, and a frame as it is (its steps may
    select columns by name).
    """
    if not isinstance(_final_estimator(teacher), NeuralNet):
        return X
    if _skorch_net(teacher) is None and not isinstance(X, np.ndarray):
        return X
    array = np.asarray(X)
    numeric = np.issubdtype(array.dtype, np.number) or array.dtype == bool
    return array.astype(np.float32, copy=False) if numeric else X


def _teacher_target(teacher, y):
    """``y`` as ``teacher`` trains on it: a skorch regressor on float32 columns (its
    loss would broadcast a 1-D ``y`` against its ``(n, 1)`` outputs)."""
    if isinstance(_final_estimator(teacher), NeuralNetRegressor):
        return np.asarray(y, dtype=np.float32).reshape(len(y), -1)
    return y


class _TeacherHasher(NumpyHasher):
    """joblib's hasher, with torch tensors hashed by their values: their own pickle
    holds the address of their storage, a key that never serves again."""

    def reducer_override(self, obj):
        if isinstance(obj, torch.Tensor):
            data = obj.detach().cpu()
            data = data.float() if data.dtype in (torch.float16, torch.bfloat16) else data
            return _tensor_key, (data.numpy(), str(obj.dtype), obj.requires_grad)
        if isinstance(obj, torch.Generator):
            return _tensor_key, (obj.get_state().numpy(), "generator", False)
        if isinstance(obj, torch.optim.Optimizer):  # its state is keyed by tensors
            return _tensor_key, (type(obj), obj.state_dict())
        if isinstance(obj, NeuralNet):  # skorch pickles its network into bytes: its attributes
            caches = getattr(obj, "_CACHES", ())
            return _tensor_key, (type(obj), {k: v for k, v in vars(obj).items() if k not in caches})
        return NotImplemented


def _tensor_key(*args):  # what a hashed tensor stands for; never called
    return args


def _cached(memory, func, teacher, *args, **kwargs):
    """``func(key, teacher, *args)`` through ``memory`` (a ``joblib.Memory``; ``None``:
    no cache), keyed by ``key``, the teacher's hash, and the other arguments;
    without the cache, with a warning, when the teacher cannot be pickled into a key."""
    if memory is None:
        return func(None, teacher, *args, **kwargs)
    try:
        key = _TeacherHasher(hash_name="md5").hash(teacher)
        try:
            cached = memory.cache(func, ignore=["teacher", *kwargs])
        except TypeError:  # an object with joblib.Memory's cache, without its options
            cached = memory.cache(func)
    except (pickle.PicklingError, TypeError, AttributeError) as exc:
        # A class defined in a script's __main__ does not pickle in a worker process.
        warnings.warn(
            "teacher_memory cannot make a key of this teacher, since it could not be "
            f"pickled ({str(exc)[:200]}); it is fitted and asked without the cache.",
            UserWarning,
            stacklevel=5,
        )
        return func(None, teacher, *args, **kwargs)
    return cached(key, teacher, *args, **kwargs)


def _fit_clone(key, teacher, X, y, fit_params):
    return clone(teacher).fit(X, y, **fit_params)


def fit_teacher(teacher, X, y, sample_weight=None, memory=None):
    """Return the fitted teacher(s) that give the soft labels.

    An estimator is cloned and fitted on ``X, y`` (``FrozenEstimator`` clones
    to itself and its ``fit`` does nothing); anything else (a torch module, an
    object with ``predict_proba`` and ``classes_``) is used as it is.
    ``memory`` (a ``joblib.Memory``) caches the fits.
    """
    if isinstance(teacher, (list, tuple)):
        return [fit_teacher(one, X, y, sample_weight, memory) for one in teacher]
    if not _is_estimator(teacher):
        return teacher
    fit_params = {}
    if sample_weight is not None and not isinstance(teacher, FrozenEstimator):
        if not has_fit_parameter(teacher, "sample_weight"):
            raise ValueError(
                f"sample_weight was given, but the teacher {teacher!r} does not take "
                "sample_weight in fit. Fit it yourself and pass "
                "FrozenEstimator(fitted_teacher)."
            )
        fit_params["sample_weight"] = sample_weight
    memory = memory if is_refittable(teacher) else None
    X, y = _teacher_input(teacher, X), _teacher_target(teacher, y)
    return _cached(memory, _fit_clone, teacher, X, y, fit_params)


def _describe(teacher):
    """A short name of a teacher for messages."""
    text = repr(teacher)
    return text if len(text) <= 80 else text[:77] + "..."


def _final_estimator(teacher):
    """The estimator that decides, inside wrappers, searches and pipelines.

    Looks through ``FrozenEstimator``, fitted searches (``best_estimator_``)
    and meta-estimators (``estimator_``, or ``estimator`` before fitting),
    and the last step of a ``Pipeline``.
    """
    while True:
        if isinstance(teacher, FrozenEstimator):
            teacher = teacher.estimator
        elif hasattr(teacher, "best_estimator_"):
            teacher = teacher.best_estimator_
        elif hasattr(teacher, "estimator_"):
            teacher = teacher.estimator_
        elif hasattr(teacher, "_final_estimator"):
            teacher = teacher._final_estimator
        elif _is_estimator(getattr(teacher, "estimator", None)):
            teacher = teacher.estimator
        else:
            return teacher


def _scores(teacher, X, X_array, row_numbers=None):
    """Logits (or log-probabilities) of one teacher and the labels of its columns.

    ``X`` goes to scikit-learn teachers as given; ``X_array``, its validated
    array, to a torch module in the dtype of the module's parameters.
    ``row_numbers``: those of the rows in the user's ``X``, for messages.
    """
    net = _skorch_net(teacher)
    if net is not None and not hasattr(net, "classes_"):  # a plain NeuralNet: its network
        if not getattr(net, "initialized_", False):
            raise NotFittedError(f"The teacher skorch net {_describe(net)} is not fitted.")
        teacher = net.module_
    if isinstance(teacher, torch.nn.Module):
        return _network_logits(teacher, X_array, row_numbers), None
    if not hasattr(teacher, "classes_"):
        raise TypeError(f"The teacher {teacher!r} has no classes_; is it fitted?")
    classes = np.asarray(teacher.classes_)
    method = _output_method(teacher, len(classes))
    try:
        output = getattr(teacher, method)(_teacher_input(teacher, X))
    except RuntimeError as exc:  # torch's, from a network inside
        raise ValueError(f"The teacher {_describe(teacher)}.{method} failed: {exc}") from exc
    output = check_output(output, method, teacher, len(X_array), len(classes), row_numbers)
    return _as_logits(output, method), classes


def _numbers(network, X):
    """``X`` (rows as given: a frame, an array of objects) as the numbers a
    network takes, or a ``ValueError`` saying that it holds other values."""
    if isinstance(X, np.ndarray) and X.dtype.kind in "biuf":
        return X
    try:
        return np.asarray(X, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(
            f"The teacher network {_describe(network)} takes numbers, but X holds other "
            f"values (strings, categories): {exc}. Give it numeric columns, or use a "
            "scikit-learn teacher that takes X as it is."
        ) from exc


def _network_output(network, X_array):
    """A teacher network's output on ``X_array`` (eval mode, no gradient), as numpy,
    and the tolerance of a row of probabilities in its type; its modes are left
    as they were.

    A network returning a dict (or an object) holding ``logits``, as Hugging
    Face models do, gives those.
    """
    X_array = _numbers(network, X_array)
    # Inputs take the device and floating type of its weights (or buffers).
    tensors = itertools.chain(network.parameters(), network.buffers())
    weight = next((t for t in tensors if t.is_floating_point()), torch.empty(0))
    with _NETWORK_MODES_LOCK:  # its modes are shared by the fits in threads
        modes = [m.training for m in network.modules()]
        network.eval()
        try:
            with torch.no_grad():
                out = network(torch.tensor(X_array, dtype=weight.dtype, device=weight.device))
            out = out.get("logits", out) if isinstance(out, dict) else getattr(out, "logits", out)
            if not isinstance(out, torch.Tensor):
                raise ValueError(
                    f"The teacher network {_describe(network)} returned a {type(out).__name__}; "
                    "it must return a tensor (or a dict holding 'logits')."
                )
            # Rows of probabilities sum to 1 up to the rounding of the output's type.
            tolerance = (
                max(1e-5, torch.finfo(out.dtype).eps * out.shape[-1])
                if out.is_floating_point()
                else 0
            )
            low_precision = out.dtype in (torch.float16, torch.bfloat16)  # numpy lacks bfloat16
            return (out.float() if low_precision else out).cpu().numpy(), tolerance
        except RuntimeError as exc:
            raise ValueError(
                f"The teacher network failed on input of shape {X_array.shape}: {exc}"
            ) from exc
        finally:
            for m, mode in zip(network.modules(), modes, strict=True):
                m.training = mode


def _network_logits(network, X_array, row_numbers=None):
    """The logits of a teacher network, checked (see :func:`_network_output`)."""
    logits, tolerance = _network_output(network, X_array)
    if logits.ndim == 1 or logits.shape[1:] == (1,):  # one logit s of the second class
        score = logits.reshape(len(logits))
        if len(score) >= 10 and ((score >= 0) & (score <= 1)).all():
            raise ValueError(
                f"The teacher network {_describe(network)} returns one value in [0, 1] "
                "per row: a probability (a final sigmoid), not a logit. Remove the "
                "final sigmoid, or pass its probabilities as fit(X, y, teacher_proba=P)."
            )
        logits = np.column_stack([np.zeros_like(score), score])  # [0, s], as a binary score
    logits = check_output(logits, "forward", network, len(X_array), row_numbers=row_numbers)
    # A final softmax would make probabilities pass for logits: soft labels far
    # flatter than the teacher's. (A final log-softmax is fine: log-probabilities
    # are logits up to a constant per row.)
    if (logits >= 0).all() and np.allclose(logits.sum(axis=1), 1, atol=tolerance):
        raise ValueError(
            f"The teacher network {_describe(network)} returns probabilities (a final "
            "softmax); it must return logits or log-probabilities. Remove the final "
            "softmax, or pass its probabilities as fit(X, y, teacher_proba=P)."
        )
    return logits


def _output_method(teacher, n_classes):
    """``predict_proba`` when the teacher has it, else ``decision_function``."""
    if hasattr(teacher, "predict_proba"):
        return "predict_proba"
    final = _final_estimator(teacher)
    if getattr(final, "decision_function_shape", None) == "ovo" and n_classes != 2:
        raise ValueError(
            f"The teacher {_describe(teacher)} has decision_function_shape='ovo': its "
            "decision_function has one column per pair of classes, not per class, so it "
            "gives no logits. Use decision_function_shape='ovr' (or probability=True)."
        )
    return "decision_function"


def check_output(output, method, teacher, n_rows, n_classes=None, row_numbers=None):
    """A teacher's output as a float64 array, checked like ``teacher_proba``.

    Finite; one row per input row; one column per class of the teacher
    (``n_classes``; a binary ``decision_function`` may return one score per
    row); probabilities non-negative with rows summing to 1. Raises a
    ``ValueError`` naming the teacher and the method otherwise, and the first
    bad row by its number in ``row_numbers`` (default: its position).
    """

    def number(row):
        return int(row if row_numbers is None else row_numbers[row])

    source = "teacher_proba" if teacher is None else f"{_describe(teacher)}.{method}"
    try:
        output = np.asarray(output, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{source} did not return an array of numbers: {exc}") from exc
    binary_scores = method == "decision_function" and n_classes == 2 and output.ndim == 1
    columns = 1 if binary_scores else n_classes
    if (
        output.ndim != (1 if binary_scores else 2)
        or len(output) != n_rows
        or (columns is not None and output.shape[1:] != (() if binary_scores else (columns,)))
    ):
        expected = (n_rows,) if binary_scores else (n_rows, columns or "n_classes")
        pairs = n_classes is not None and n_classes > 3 and output.ndim == 2
        pairs = pairs and len(output) == n_rows
        pairs = pairs and output.shape[1] == n_classes * (n_classes - 1) // 2
        hint = (
            " It looks like one column per pair of classes (one-vs-one); use a "
            "teacher with one column per class."
            if pairs
            else ""
        )
        raise ValueError(
            f"{source} returned an array of shape {output.shape} for {n_rows} rows; "
            f"expected {expected}: one row per sample, one column per class.{hint}"
        )
    # Logits may rule a class out with -inf, as log-probabilities do with log(0);
    # a binary score may be infinite either way (a certain decision).
    rows = output.reshape(len(output), -1)
    if binary_scores:
        rows = np.column_stack([np.zeros(len(output)), np.where(np.isinf(output), 0.0, output)])
    ruled_out = np.isneginf(rows) if method != "predict_proba" else False
    bad = ~(np.isfinite(rows) | ruled_out).all(axis=1) | ~np.isfinite(rows).any(axis=1)
    if bad.any():
        raise ValueError(
            f"{source} returned NaN or infinite values in {int(bad.sum())} rows (first: "
            f"row {number(np.argmax(bad))}); soft labels must be finite."
        )
    if method == "predict_proba":
        if (output < 0).any():
            raise ValueError(f"{source} has negative entries; rows must be probabilities.")
        sums = output.sum(axis=1)
        if not np.allclose(sums, 1.0, rtol=0, atol=_SUM_TOLERANCE):
            row = int(np.argmax(np.abs(sums - 1.0)))
            raise ValueError(
                f"The rows of {source} must sum to 1; row {number(row)} sums to {sums[row]:.6g}."
            )
    return output


def _as_logits(output, method):
    """Logits, one column per class, from checked output of ``method``."""
    if method == "predict_proba":
        # log p equals the logits up to a per-row constant, which softmax
        # ignores; p = 0 stays 0 at every temperature, as logit -inf.
        with np.errstate(divide="ignore"):
            return np.log(output)
    if output.ndim == 1:  # binary decision_function: one score s for classes_[1]
        certain = output == np.inf  # [0, inf] is [-inf, 0] up to a constant
        return np.column_stack([np.where(certain, -np.inf, 0.0), np.where(certain, 0.0, output)])
    return output


def _align(scores, teacher_classes, classes, teacher):
    """Columns of ``scores`` reordered to ``classes``, matched by label."""
    if teacher_classes is None:
        if scores.shape[1] != len(classes):
            raise ValueError(
                f"The teacher network returns {scores.shape[1]} outputs, but y has "
                f"{len(classes)} classes; its outputs must be the logits of the sorted "
                f"classes {list(classes)}."
            )
        return scores
    position = {label: i for i, label in enumerate(teacher_classes.tolist())}
    missing = [label for label in classes.tolist() if label not in position]
    if missing:
        raise ValueError(
            f"The teacher {teacher!r} does not know the classes {missing} found in y; "
            f"its classes_ are {teacher_classes.tolist()}."
        )
    return scores[:, [position[label] for label in classes.tolist()]]


def _warn_if_extra_classes(teacher_classes, classes):
    extra = sorted(set(teacher_classes.tolist()) - set(classes.tolist()))
    if extra and not set(classes.tolist()) - set(teacher_classes.tolist()):
        warnings.warn(
            f"The teacher knows classes absent from y ({extra}); its probabilities are "
            "renormalised over the classes of y.",
            UserWarning,
            stacklevel=4,
        )


def _combine(log_probas, weights):
    """One teacher's log-probabilities, or the weighted mean of several in probability."""
    if len(log_probas) == 1:
        return log_probas[0].astype(np.float32)
    mean_proba = np.average([np.exp(lp) for lp in log_probas], axis=0, weights=weights)
    with np.errstate(divide="ignore"):
        return np.log(mean_proba).astype(np.float32)


def teacher_logits(teacher, X, X_array, classes, weights=None, memory=None, rows=None):
    """Teacher logits for the rows ``rows`` of ``X`` (all: ``None``), columns in the
    order of ``classes``.

    Several teachers are averaged in probability space, with ``weights``. A
    class of probability 0 has the logit ``-inf``. The teachers are asked a
    chunk of rows at a time (see :func:`sktkd._modules.row_chunks`), taken
    from ``X`` as they are asked, so that neither copies of ``X`` nor the
    teachers' temporaries nor a network's device memory grow with ``X``.
    ``memory`` (a ``joblib.Memory``) caches the logits, keyed by the teachers
    and the rows. Messages number rows as in ``X``.
    """
    teachers = teacher_list(teacher)
    for one in teachers:  # said on every fit, also when the logits come from the cache
        known = getattr(_skorch_net(one) or one, "classes_", None)
        if known is not None and not isinstance(one, torch.nn.Module):
            _warn_if_extra_classes(np.asarray(known), classes)
    return _cached(memory, _teacher_logits, teachers, X, X_array, classes, weights, rows)


def _in_chunks(ask, X, X_array, rows, width, dtype):
    """``ask(X_rows, X_array_rows, numbers)`` for the rows ``rows`` of ``X`` (all:
    ``None``), a chunk at a time, gathered into an array of ``width`` columns."""
    n_rows = len(X_array) if rows is None else len(rows)
    out = np.empty((n_rows, width), dtype=dtype)
    chunks = row_chunks(n_rows, X_array.shape[1])
    rows = None if rows is None else np.asarray(rows)
    for chunk in chunks:
        # A slice of X (a view) when all rows are asked; the rows' numbers for messages.
        if rows is None:
            take, numbers = chunk, np.arange(chunk.start, min(chunk.stop, n_rows))
        else:
            take = numbers = rows[chunk]
        whole = rows is None and len(chunks) == 1
        X_rows, X_array_rows = (
            (X, X_array) if whole else (_safe_indexing(X, take), _safe_indexing(X_array, take))
        )
        out[chunk] = ask(X_rows, X_array_rows, numbers)
    return out


def _teacher_logits(key, teacher, X, X_array, classes, weights, rows):
    def ask(X_rows, X_array_rows, numbers):
        log_probas = [
            log_softmax(_align(*_scores(t, X_rows, X_array_rows, numbers), classes, t), axis=1)
            for t in teacher
        ]
        return _combine(log_probas, weights)

    return _in_chunks(ask, X, X_array, rows, len(classes), np.float32)


def _out_of_fold(key, teacher, X, y, cv, method, params, n_jobs=None):
    return cross_val_predict(teacher, X, y, cv=cv, method=method, params=params, n_jobs=n_jobs)


def _fold_outputs(teacher, X, y, cv, method, sample_weight, memory, n_jobs):
    """``method``'s output of each row from a clone of ``teacher`` fitted on the other
    folds (``cross_val_predict``), through ``memory``."""
    if not is_refittable(teacher):
        raise ValueError(
            f"teacher_cv refits the teacher on folds, but {teacher!r} cannot be refitted "
            "(a FrozenEstimator or an object without fit); use teacher_cv=None."
        )
    params = None if sample_weight is None else {"sample_weight": sample_weight}
    # A generator of splits is used once, and cannot be part of a key.
    fold_memory = memory if isinstance(cv, Integral) or hasattr(cv, "split") else None
    args = teacher, _teacher_input(teacher, X), _teacher_target(teacher, y), cv, method, params
    return _cached(fold_memory, _out_of_fold, *args, n_jobs=n_jobs)


def out_of_fold_logits(
    teacher,
    X,
    y,
    cv,
    sample_weight=None,
    weights=None,
    classes=None,
    memory=None,
    n_jobs=None,
    row_numbers=None,
):
    """Logits of each row from a clone of the teacher that never saw it.

    ``cross_val_predict`` refits a clone per fold of ``cv`` (``n_jobs`` in
    parallel; ``memory``, a ``joblib.Memory``, caches the result); its columns
    are the sorted classes of ``y``. They are matched to ``classes`` (the
    student's) by label: a class without rows here (all of weight 0) gets
    probability 0, a logit of ``-inf``.
    """
    teachers = teacher_list(teacher)
    present = np.unique(y)
    n_classes = len(present)
    log_probas = []
    for one in teachers:
        if isinstance(_final_estimator(one), NeuralNet) and not is_classifier(one):
            raise ValueError(
                f"teacher_cv needs a classifier to refit on folds; the skorch net "
                f"{_describe(one)} is a plain NeuralNet (no classes_): use a "
                "NeuralNetClassifier, or teacher_cv=None."
            )
        method = _output_method(one, n_classes)
        out = _fold_outputs(one, X, y, cv, method, sample_weight, memory, n_jobs)
        out = check_output(out, method, one, len(y), n_classes, row_numbers)
        log_probas.append(log_softmax(_as_logits(out, method), axis=1))
    logits = _combine(log_probas, weights)
    if classes is None or len(classes) == n_classes:
        return logits
    full = np.full((len(y), len(classes)), -np.inf, dtype=logits.dtype)
    full[:, np.searchsorted(classes, present)] = logits
    return full


def check_teacher_proba(teacher_proba, n_samples, classes, rows=None):
    """Validate recorded soft labels and return their logits (``-inf`` for 0).

    Only ``rows`` (a boolean mask; default: all) are checked and returned: a
    row of weight 0 counts as absent.
    """
    proba = check_array(
        teacher_proba, dtype=np.float64, ensure_all_finite=False, input_name="teacher_proba"
    )
    expected = (n_samples, len(classes))
    if proba.shape != expected:
        raise ValueError(
            f"teacher_proba has shape {proba.shape}, expected {expected}: one row per "
            f"sample and one column per class of y, in the order {list(classes)}."
        )
    if rows is not None:
        proba = proba[rows]
    proba = check_output(proba, "predict_proba", None, len(proba), len(classes))
    return _as_logits(proba, "predict_proba").astype(np.float32)


# --- a regressor's teacher: its predictions -------------------------------------


def _estimator_type(teacher):
    """scikit-learn's ``estimator_type`` tag; ``None`` for objects without tags."""
    try:
        return get_tags(teacher).estimator_type
    except (AttributeError, TypeError):
        return None


# What the predict of estimators that are not regressors gives.
_NOT_VALUES = {
    "classifier": "class labels",
    "clusterer": "cluster labels",
    "outlier_detector": "inlier or outlier flags",
}


def check_regression_teacher(teacher):
    """Raise unless ``teacher`` can give predictions of values: a ``TypeError`` for
    an object without ``predict``, a ``ValueError`` for a classifier, a
    clusterer or an outlier detector (their ``predict`` gives labels)."""
    for one in _given_teachers(teacher):
        if isinstance(one, torch.nn.Module):
            continue
        kinds = {_estimator_type(one), _estimator_type(_final_estimator(one))}
        kind = next((k for k in _NOT_VALUES if k in kinds), None)
        if kind is not None:
            raise ValueError(
                f"The teacher {_describe(one)} is a {kind.replace('_', ' ')}, not a "
                f"regressor: its predict gives {_NOT_VALUES[kind]}, not values. "
                "DistilledRegressor needs a regressor"
                + (
                    "; distil a classifier with DistilledClassifier."
                    if kind == "classifier"
                    else "."
                )
            )
        if not hasattr(one, "predict"):
            raise TypeError(
                f"The teacher {one!r} has no predict; a teacher of a regressor must give "
                "predictions."
            )


def check_predictions(output, teacher, n_rows, n_outputs, row_numbers=None):
    """A regressor teacher's predictions as a float64 array of shape
    ``(n_rows, n_outputs)``, finite; else a ``ValueError`` naming the teacher
    (``None``: ``teacher_pred``), its method and the first bad row."""
    method = "forward" if isinstance(teacher, torch.nn.Module) else "predict"
    source = "teacher_pred" if teacher is None else f"{_describe(teacher)}.{method}"
    try:
        output = np.asarray(output, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{source} did not return an array of numbers: {exc}") from exc
    if output.ndim == 1 and n_outputs == 1:
        output = output.reshape(-1, 1)
    if output.shape != (n_rows, n_outputs):
        raise ValueError(
            f"{source} returned an array of shape {output.shape} for {n_rows} rows; "
            f"expected ({n_rows}, {n_outputs}): one row per sample, one column per "
            "output of y."
        )
    bad = ~np.isfinite(output).all(axis=1)
    if bad.any():
        first = int(np.argmax(bad))
        first = first if row_numbers is None else int(row_numbers[first])
        raise ValueError(
            f"{source} returned NaN or infinite values in {int(bad.sum())} rows (first: "
            f"row {first}); predictions must be finite."
        )
    return output


def _predictions(teacher, X, X_array, n_outputs, row_numbers=None):
    """One teacher's checked predictions: a torch module's output, else ``predict``."""
    if isinstance(teacher, torch.nn.Module):
        output = _network_output(teacher, X_array)[0]
    else:
        try:
            output = teacher.predict(_teacher_input(teacher, X))
        except RuntimeError as exc:  # torch's, from a network inside
            raise ValueError(f"The teacher {_describe(teacher)}.predict failed: {exc}") from exc
    return check_predictions(output, teacher, len(X_array), n_outputs, row_numbers)


def teacher_predictions(teacher, X, X_array, n_outputs, weights=None, memory=None, rows=None):
    """Teacher predictions (float64, ``(n_rows, n_outputs)``) for the rows ``rows``
    of ``X`` (all: ``None``), asked as :func:`teacher_logits` asks; several
    teachers are averaged with ``weights``."""
    teachers = teacher_list(teacher)
    return _cached(memory, _teacher_predictions, teachers, X, X_array, n_outputs, weights, rows)


def _teacher_predictions(key, teacher, X, X_array, n_outputs, weights, rows):
    def ask(X_rows, X_array_rows, numbers):
        outputs = [_predictions(t, X_rows, X_array_rows, n_outputs, numbers) for t in teacher]
        return np.average(outputs, axis=0, weights=weights)

    return _in_chunks(ask, X, X_array, rows, n_outputs, np.float64)


def out_of_fold_predictions(
    teacher, X, y, cv, sample_weight=None, weights=None, memory=None, n_jobs=None, row_numbers=None
):
    """Predictions of each row from clones of the teachers that never saw it
    (``cross_val_predict``, as :func:`out_of_fold_logits`), averaged with ``weights``."""
    teachers = teacher_list(teacher)
    n_outputs = 1 if np.ndim(y) == 1 else np.shape(y)[1]
    outputs = [
        check_predictions(
            _fold_outputs(one, X, y, cv, "predict", sample_weight, memory, n_jobs),
            one,
            len(y),
            n_outputs,
            row_numbers,
        )
        for one in teachers
    ]
    return np.average(outputs, axis=0, weights=weights)


def check_teacher_pred(teacher_pred, n_samples, n_outputs, rows=None):
    """Validate recorded predictions ``teacher_pred``, of shape ``(n_samples,)`` or
    ``(n_samples, n_outputs)``, in ``y``'s units; only ``rows`` (a boolean mask)
    are checked and returned."""
    pred = check_array(
        teacher_pred,
        dtype=np.float64,
        ensure_2d=False,
        ensure_all_finite=False,
        input_name="teacher_pred",
    )
    pred = pred.reshape(-1, 1) if pred.ndim == 1 else pred
    if pred.shape != (n_samples, n_outputs):
        raise ValueError(
            f"teacher_pred has shape {pred.shape}, expected ({n_samples}, {n_outputs}) "
            "(or one value per row for one output): one row per sample, one column per "
            "output of y."
        )
    if rows is None:
        return check_predictions(pred, None, n_samples, n_outputs)
    return check_predictions(pred[rows], None, int(np.sum(rows)), n_outputs, np.flatnonzero(rows))
