"""Fidelity of a distilled student to its teacher.

Both functions have the signature of a scikit-learn scorer, ``(estimator, X,
y=None)``, and take a fitted :class:`~sktkd.DistilledClassifier`, or a
``Pipeline`` ending in one (``X`` then goes through the earlier steps, as in
``predict``). ``teacher_agreement`` can be passed as ``scoring=`` as it is.
"""

import numpy as np
from scipy.special import rel_entr, softmax
from sklearn.pipeline import Pipeline
from sklearn.utils.validation import check_is_fitted, validate_data

from ._distilled import DistilledClassifier
from ._predict import _INPUT_DTYPES, untensor
from ._teacher import teacher_logits


def _student_and_teacher_logits(estimator, X, teacher=None):
    """Student and teacher logits on ``X``, columns in the order of the student's classes.

    ``teacher``: a fitted teacher to compare with, instead of ``teacher_``.
    """
    if isinstance(estimator, Pipeline):
        X = estimator[:-1].transform(X)
        estimator = estimator[-1]
    if not isinstance(estimator, DistilledClassifier):
        raise TypeError(
            f"Teacher fidelity needs a DistilledClassifier (or a Pipeline ending in one), "
            f"got {type(estimator).__name__}."
        )
    check_is_fitted(estimator)
    teacher = estimator.teacher_ if teacher is None else teacher
    if teacher is None:
        why = (
            "dropped its fitted teacher after fit (keep_teacher=False)"
            if not estimator.keep_teacher
            else "learnt from recorded teacher_proba"
        )
        raise ValueError(
            f"This student {why}: it has no teacher to compare with. Pass a fitted one, "
            "e.g. teacher_agreement(student, X, teacher=fitted_teacher)."
        )
    X = untensor(X)
    X_array = validate_data(estimator, X, dtype=_INPUT_DTYPES, reset=False)
    teacher = teacher_logits(teacher, X, X_array, estimator.classes_, estimator.teacher_weights)
    return estimator._logits(X), teacher.astype(np.float64), estimator.classes_


def teacher_agreement(estimator, X, y=None, *, teacher=None):
    """Share of rows on which the student predicts the class its teacher predicts.

    Parameters
    ----------
    estimator : DistilledClassifier or Pipeline ending in one
        Fitted; its teacher is ``teacher_`` (several teachers: their weighted
        average, as during training).
    X : array-like of shape (n_samples, n_features)
    y : ignored
        Present for the scorer signature.
    teacher : fitted teacher, list of them, or torch.nn.Module, default=None
        The teacher to compare with, for a student without ``teacher_``
        (``keep_teacher=False``, or recorded ``teacher_proba``). As a
        ``scoring=`` in a search, the students need their teacher: keep
        ``keep_teacher=True`` (else every score is an error, recorded as
        ``nan``).

    Raises
    ------
    ValueError
        When there is no teacher to compare with.

    Returns
    -------
    agreement : float in [0, 1]

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from sklearn.model_selection import GridSearchCV
    >>> from sklearn.tree import DecisionTreeClassifier
    >>> from sktkd import DistilledClassifier
    >>> from sktkd.metrics import teacher_agreement
    >>> X, y = load_iris(return_X_y=True)
    >>> student = DistilledClassifier(DecisionTreeClassifier(max_depth=2), max_epochs=30)
    >>> search = GridSearchCV(student, {"alpha": [0.5, 1.0]}, scoring=teacher_agreement, cv=3)
    >>> bool(search.fit(X, y).best_score_ > 0.8)
    True
    """
    student, teacher, _ = _student_and_teacher_logits(estimator, X, teacher)
    return float(np.mean(student.argmax(axis=1) == teacher.argmax(axis=1)))


def teacher_kl_divergence(estimator, X, y=None, *, teacher=None):
    """Mean ``KL(teacher || student)`` of the class probabilities, in nats.

    Zero when the student reproduces the teacher's probabilities (at
    temperature 1). Lower is better: as a ``scoring=`` in a search, negate it.

    Parameters
    ----------
    estimator : DistilledClassifier or Pipeline ending in one
    X : array-like of shape (n_samples, n_features)
    y : ignored
    teacher : fitted teacher, list of them, or torch.nn.Module, default=None
        As in :func:`teacher_agreement`.

    Returns
    -------
    kl : float >= 0
    """
    student, teacher, _ = _student_and_teacher_logits(estimator, X, teacher)
    # rel_entr(0, q) = 0: classes the teacher rules out add nothing.
    kl = rel_entr(softmax(teacher, axis=1), softmax(student, axis=1)).sum(axis=1)
    return float(np.mean(kl))
