"""Teachers: fitting them, asking them once, and aligning their classes by label."""

import warnings

import numpy as np
import torch
from scipy.special import log_softmax
from sklearn.base import clone
from sklearn.frozen import FrozenEstimator
from sklearn.model_selection import cross_val_predict
from sklearn.utils.validation import check_array, has_fit_parameter

# Floor for probabilities before the log: 0 becomes log(1e-30) = -69, which
# stays negligible after any temperature a user would pick (1e-30 ** (1/10) = 1e-3).
_PROBA_FLOOR = 1e-30


def _is_estimator(teacher):
    return hasattr(teacher, "fit") and hasattr(teacher, "get_params")


def check_teacher(teacher):
    """Raise a ``TypeError`` unless ``teacher`` can give soft labels."""
    teachers = teacher if isinstance(teacher, (list, tuple)) else [teacher]
    if not teachers:
        raise TypeError("teacher is an empty list; give at least one teacher.")
    for one in teachers:
        if isinstance(one, torch.nn.Module):
            continue
        if not (hasattr(one, "predict_proba") or hasattr(one, "decision_function")):
            raise TypeError(
                f"The teacher {one!r} has neither predict_proba nor decision_function; "
                "a teacher must give class probabilities or scores."
            )


def fit_teacher(teacher, X, y, sample_weight=None):
    """Return the fitted teacher(s) that give the soft labels.

    An estimator is cloned and fitted on ``X, y`` (``FrozenEstimator`` clones
    to itself and its ``fit`` does nothing); anything else (a torch module, an
    object with ``predict_proba`` and ``classes_``) is used as it is.
    """
    if isinstance(teacher, (list, tuple)):
        return [fit_teacher(one, X, y, sample_weight) for one in teacher]
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
    return clone(teacher).fit(X, y, **fit_params)


def _scores(teacher, X, X_float32):
    """Log-probabilities (or logits) of one teacher and the labels of its columns."""
    if isinstance(teacher, torch.nn.Module):
        # A network's outputs are logits over the student's classes, in order.
        device = next(teacher.parameters(), torch.empty(0)).device
        modes = [m.training for m in teacher.modules()]
        teacher.eval()
        try:
            with torch.no_grad():
                logits = teacher(torch.tensor(X_float32, device=device)).cpu().numpy()
        except RuntimeError as exc:
            raise ValueError(
                f"The teacher network failed on input of shape {X_float32.shape}: {exc}"
            ) from exc
        finally:
            for m, mode in zip(teacher.modules(), modes, strict=True):
                m.training = mode
        return logits.astype(np.float64), None
    if not hasattr(teacher, "classes_"):
        raise TypeError(f"The teacher {teacher!r} has no classes_; is it fitted?")
    method = _output_method(teacher)
    return _as_logits(getattr(teacher, method)(X), method), np.asarray(teacher.classes_)


def _output_method(teacher):
    """``predict_proba`` when the teacher has it, else ``decision_function``."""
    return "predict_proba" if hasattr(teacher, "predict_proba") else "decision_function"


def _as_logits(output, method):
    """Logits, one column per class, from the output of ``method``."""
    output = np.asarray(output, dtype=np.float64)
    if method == "predict_proba":
        # log p equals the logits up to a per-row constant, which softmax ignores.
        return np.log(np.maximum(output, _PROBA_FLOOR))
    if output.ndim == 1:  # binary decision_function: one score s for classes_[1]
        return np.column_stack([np.zeros_like(output), output])
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
    if len(teacher_classes) > len(classes):
        warnings.warn(
            f"The teacher knows classes absent from y "
            f"({sorted(set(position) - set(classes.tolist()))}); its probabilities are "
            "renormalised over the classes of y.",
            UserWarning,
            stacklevel=4,
        )
    return scores[:, [position[label] for label in classes.tolist()]]


def _combine(log_probas, weights):
    """One teacher's log-probabilities, or the weighted mean of several in probability."""
    if len(log_probas) == 1:
        return log_probas[0].astype(np.float32)
    mean_proba = np.average([np.exp(lp) for lp in log_probas], axis=0, weights=weights)
    return np.log(np.maximum(mean_proba, _PROBA_FLOOR)).astype(np.float32)


def teacher_logits(teacher, X, X_float32, classes, weights=None):
    """Teacher logits for every row of ``X``, columns in the order of ``classes``.

    Several teachers are averaged in probability space, with ``weights``.
    """
    teachers = teacher if isinstance(teacher, list) else [teacher]
    log_probas = [
        log_softmax(_align(*_scores(t, X, X_float32), classes, t), axis=1) for t in teachers
    ]
    return _combine(log_probas, weights)


def out_of_fold_logits(teacher, X, y, cv, sample_weight=None, weights=None):
    """Logits of each row from a clone of the teacher that never saw it.

    ``cross_val_predict`` refits a clone per fold of ``cv``; its columns are
    the sorted classes of ``y``, as the student's.
    """
    teachers = teacher if isinstance(teacher, (list, tuple)) else [teacher]
    log_probas = []
    for one in teachers:
        if not _is_estimator(one) or isinstance(one, FrozenEstimator):
            raise ValueError(
                f"teacher_cv refits the teacher on folds, but {one!r} cannot be refitted "
                "(a FrozenEstimator or an object without fit); use teacher_cv=None."
            )
        method = _output_method(one)
        params = None if sample_weight is None else {"sample_weight": sample_weight}
        out = cross_val_predict(one, X, y, cv=cv, method=method, params=params)
        log_probas.append(log_softmax(_as_logits(out, method), axis=1))
    return _combine(log_probas, weights)


def check_teacher_proba(teacher_proba, n_samples, classes):
    """Validate recorded soft labels and return their logits."""
    proba = check_array(teacher_proba, dtype=np.float64, input_name="teacher_proba")
    expected = (n_samples, len(classes))
    if proba.shape != expected:
        raise ValueError(
            f"teacher_proba has shape {proba.shape}, expected {expected}: one row per "
            f"sample and one column per class of y, in the order {list(classes)}."
        )
    if (proba < 0).any():
        raise ValueError("teacher_proba has negative entries; rows must be probabilities.")
    sums = proba.sum(axis=1)
    if not np.allclose(sums, 1.0, rtol=0, atol=1e-3):
        bad = int(np.argmax(np.abs(sums - 1.0)))
        raise ValueError(
            f"The rows of teacher_proba must sum to 1; row {bad} sums to {sums[bad]:.6g}."
        )
    return np.log(np.maximum(proba, _PROBA_FLOOR)).astype(np.float32)
