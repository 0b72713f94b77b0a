"""Fidelity of a distilled student to its teacher.

The functions have the signature of a scikit-learn scorer, ``(estimator, X,
y=None)``, and take a fitted :class:`~sktkd.DistilledClassifier`
(``teacher_agreement``, ``teacher_kl_divergence``) or
:class:`~sktkd.DistilledRegressor` (``teacher_fidelity``), or a ``Pipeline``
ending in one (``X`` then goes through the earlier steps, as in
``predict``). ``teacher_agreement`` and ``teacher_fidelity`` can be passed as
``scoring=`` as they are.
"""

import numpy as np
from scipy.special import rel_entr, softmax
from sklearn.metrics import r2_score
from sklearn.pipeline import Pipeline
from sklearn.utils.validation import check_is_fitted

from ._distilled import DistilledClassifier, DistilledRegressor
from ._predict import untensor
from ._teacher import check_regression_teacher, teacher_logits, teacher_predictions


def _student_and_teacher(estimator, X, teacher, kind, metric):
    """The fitted student of type ``kind``, ``X`` as it takes it, its validated array,
    and the teacher to compare with (``teacher``, else ``teacher_``); ``metric``
    names the caller in messages."""
    if isinstance(estimator, Pipeline):
        X = estimator[:-1].transform(X)
        estimator = estimator[-1]
    if not isinstance(estimator, kind):
        hint = ""
        if isinstance(estimator, (DistilledClassifier, DistilledRegressor)):
            other = "teacher_agreement" if kind is DistilledRegressor else "teacher_fidelity"
            hint = f"; for a {type(estimator).__name__}, use {other}"
        raise TypeError(
            f"{metric} needs a {kind.__name__} (or a Pipeline ending in one), got "
            f"{type(estimator).__name__}{hint}."
        )
    check_is_fitted(estimator)
    teacher = estimator.teacher_ if teacher is None else teacher
    if teacher is None:
        why = (
            "dropped its fitted teacher after fit (keep_teacher=False)"
            if not estimator.keep_teacher
            else f"learnt from recorded {estimator._RECORDED}"
        )
        raise ValueError(
            f"This student {why}: it has no teacher to compare with. Pass a fitted one, "
            f"e.g. {metric}(student, X, teacher=fitted_teacher)."
        )
    X = untensor(X)
    # The rows checked as the student checks them: numbers, or as given to its preprocessor.
    return estimator, X, estimator._checked_rows(X), teacher


def _student_and_teacher_logits(estimator, X, teacher=None, metric="teacher_agreement"):
    """Student and teacher logits on ``X``, columns in the order of the student's classes.

    ``teacher``: a fitted teacher to compare with, instead of ``teacher_``.
    """
    estimator, X, X_array, teacher = _student_and_teacher(
        estimator, X, teacher, DistilledClassifier, metric
    )
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
    student, teacher, _ = _student_and_teacher_logits(
        estimator, X, teacher, "teacher_kl_divergence"
    )
    # rel_entr(0, q) = 0: classes the teacher rules out add nothing.
    kl = rel_entr(softmax(teacher, axis=1), softmax(student, axis=1)).sum(axis=1)
    return float(np.mean(kl))


def teacher_fidelity(estimator, X, y=None, *, teacher=None):
    """R² of a regression student's predictions against its teacher's.

    1 when the student reproduces the teacher's predictions; several outputs
    are averaged, as ``r2_score`` does.

    Parameters
    ----------
    estimator : DistilledRegressor or Pipeline ending in one
        Fitted; its teacher is ``teacher_`` (several teachers: their weighted
        average, as during training).
    X : array-like of shape (n_samples, n_features)
    y : ignored
        Present for the scorer signature.
    teacher : fitted teacher, list of them, or torch.nn.Module, default=None
        As in :func:`teacher_agreement` (for a student fitted on recorded
        ``teacher_pred``, or with ``keep_teacher=False``).

    Returns
    -------
    fidelity : float <= 1

    Raises
    ------
    ValueError
        When there is no teacher to compare with.

    Examples
    --------
    >>> from sklearn.datasets import load_diabetes
    >>> from sklearn.tree import DecisionTreeRegressor
    >>> from sktkd import DistilledRegressor
    >>> from sktkd.metrics import teacher_fidelity
    >>> X, y = load_diabetes(return_X_y=True)
    >>> student = DistilledRegressor(DecisionTreeRegressor(max_depth=2), alpha=1.0,
    ...                              max_epochs=50, random_state=0).fit(X, y)
    >>> bool(teacher_fidelity(student, X) > 0.8)
    True
    """
    given = teacher
    student, X, X_array, teacher = _student_and_teacher(
        estimator, X, teacher, DistilledRegressor, "teacher_fidelity"
    )
    if given is not None:  # as fit checks its teacher: a classifier's predict gives labels
        check_regression_teacher(given)
    expected = teacher_predictions(teacher, X, X_array, student.n_outputs_, student.teacher_weights)
    return float(r2_score(expected, student.predict(X).reshape(len(expected), -1)))
