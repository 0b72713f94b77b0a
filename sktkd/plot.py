"""Figures of a fitted estimator: learning curve, agreement with the teacher, reliability.

Each function draws on ``ax`` (a new figure's axes when ``None``) and returns
the axes. They accept a fitted estimator or a ``Pipeline`` ending in one.
matplotlib is an optional dependency: ``pip install "sktkd[plot]"``.
"""

from numbers import Integral

import numpy as np
from scipy.special import softmax
from sklearn.metrics import ConfusionMatrixDisplay
from sklearn.pipeline import Pipeline
from sklearn.utils import check_consistent_length, column_or_1d

from ._base import NeuralBase
from .metrics import _student_and_teacher_logits


def _axes(ax):
    if ax is not None:
        return ax
    try:
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise ImportError('sktkd.plot needs matplotlib: pip install "sktkd[plot]"') from exc
    return plt.subplots()[1]


def plot_learning_curve(estimator, *, label=None, ax=None):
    """Training loss per epoch, and the validation loss when there is one.

    Both come from ``history_`` (``"train_loss"``, ``"valid_loss"``). With
    ``early_stopping``, a dotted vertical line marks the epoch whose weights
    were kept.

    Parameters
    ----------
    estimator : sktkd estimator, fitted
    label : str, default=None
        Legend prefix; ``None`` uses the estimator's class name.
    ax : matplotlib Axes, default=None

    Returns
    -------
    ax : matplotlib Axes
    """
    if isinstance(estimator, Pipeline):
        estimator = estimator[-1]
    if not isinstance(estimator, NeuralBase):
        raise TypeError(
            "plot_learning_curve needs an sktkd estimator (or a Pipeline ending in one), "
            f"got {type(estimator).__name__}."
        )
    history = estimator.history_
    ax = _axes(ax)
    label = label or type(estimator).__name__
    epochs = history[:, "epoch"]
    (line,) = ax.plot(epochs, history[:, "train_loss"], label=f"{label}, training")
    validated = [row for row in history if "valid_loss" in row]
    if validated:
        ax.plot(
            [row["epoch"] for row in validated],
            [row["valid_loss"] for row in validated],
            linestyle="--",
            color=line.get_color(),
            label=f"{label}, validation",
        )
        stopper = dict(estimator.net_.callbacks_).get("early_stopping")
        if getattr(stopper, "load_best", False) and stopper.best_epoch_:
            ax.axvline(stopper.best_epoch_, linestyle=":", color=line.get_color())
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss")
    ax.legend()
    return ax


def plot_agreement(estimator, X, *, normalize=None, ax=None):
    """Teacher decisions against student decisions on ``X``, as a confusion matrix.

    Parameters
    ----------
    estimator : DistilledClassifier or Pipeline ending in one, fitted
    X : array-like of shape (n_samples, n_features)
    normalize : {"true", "pred", "all"} or None, default=None
        As in :func:`sklearn.metrics.confusion_matrix`.
    ax : matplotlib Axes, default=None

    Returns
    -------
    ax : matplotlib Axes
        Rows are the teacher's decisions, columns the student's; the title
        gives the share of agreement.
    """
    student, teacher, classes = _student_and_teacher_logits(estimator, X, metric="plot_agreement")
    decided = classes[teacher.argmax(axis=1)]
    ax = _axes(ax)
    ConfusionMatrixDisplay.from_predictions(
        decided,
        classes[student.argmax(axis=1)],
        labels=classes,
        normalize=normalize,
        colorbar=False,
        ax=ax,
    )
    ax.set_ylabel("teacher decision")
    ax.set_xlabel("student decision")
    agreement = np.mean(student.argmax(axis=1) == teacher.argmax(axis=1))
    ax.set_title(f"agreement with the teacher: {agreement:.3f}")
    return ax


def plot_reliability(estimator, X, y, *, n_bins=10, ax=None):
    """Reliability diagram of the student and its teacher (top-class probability).

    Rows are binned by the probability each model gives its predicted class;
    a calibrated model's accuracy in a bin equals that probability.

    Parameters
    ----------
    estimator : DistilledClassifier or Pipeline ending in one, fitted
    X : array-like of shape (n_samples, n_features)
    y : array-like of shape (n_samples,)
        True labels.
    n_bins : int, default=10
    ax : matplotlib Axes, default=None

    Returns
    -------
    ax : matplotlib Axes
    """
    if not isinstance(n_bins, Integral) or n_bins < 1:
        raise ValueError(f"n_bins must be a positive integer, got {n_bins!r}.")
    student, teacher, classes = _student_and_teacher_logits(estimator, X, metric="plot_reliability")
    y = column_or_1d(y)
    check_consistent_length(student, y)
    ax = _axes(ax)
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    for name, logits in [("teacher", teacher), ("student", student)]:
        proba = softmax(logits, axis=1)
        confidence = proba.max(axis=1)
        correct = classes[proba.argmax(axis=1)] == y
        bins = np.clip(np.digitize(confidence, edges) - 1, 0, n_bins - 1)
        used = np.unique(bins)
        ax.plot(
            [confidence[bins == b].mean() for b in used],
            [correct[bins == b].mean() for b in used],
            marker="o",
            label=name,
        )
    ax.plot([0, 1], [0, 1], "k:", label="calibrated")
    ax.set_xlabel("probability of the predicted class")
    ax.set_ylabel("accuracy")
    ax.legend()
    return ax
