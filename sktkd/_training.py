"""Training control: validation split, early stopping, callbacks, the fitted curves.

Built from skorch's own callbacks (``EpochScoring``, ``EarlyStopping``) and
scikit-learn's ``train_test_split``, with ``MLPClassifier``'s names and meanings.
"""

import copy
import warnings

import numpy as np
from sklearn.model_selection import train_test_split
from skorch.callbacks import EarlyStopping, EpochScoring
from skorch.callbacks.scoring import ScoringBase


def copy_callbacks(callbacks):
    """The user's callbacks for one fit: shallow copies, so theirs are never modified.

    skorch initialises its callbacks and sets routed parameters
    (``callbacks__<name>__<param>``) on them in place. A shallow copy keeps
    what they hold (a file, a writer, a lock) shared and working, where a deep
    copy could not copy it. Callback classes are instantiated by skorch.
    """

    def one(callback):
        return callback if isinstance(callback, type) else copy.copy(callback)

    return [
        (entry[0], one(entry[1])) if isinstance(entry, tuple) else one(entry)
        for entry in callbacks or ()
    ]


def validation_rows(codes, classes, fraction, seed):
    """Boolean mask of a stratified ``fraction`` of the labelled rows (``codes >= 0``).

    Raises ``ValueError`` naming ``validation_fraction`` when a class is too
    rare to be split (scikit-learn's ``train_test_split`` says why, naming
    the labels in ``classes``).
    """
    labelled = np.flatnonzero(codes >= 0)
    try:
        _, held_out = train_test_split(
            labelled, test_size=fraction, stratify=classes[codes[labelled]], random_state=seed
        )
    except ValueError as exc:
        raise ValueError(
            f"early_stopping cannot hold out validation_fraction={fraction} of the "
            f"{len(labelled)} labelled rows with every class on both sides: {exc}"
        ) from exc
    valid = np.zeros(len(codes), dtype=bool)
    valid[held_out] = True
    return valid


def check_callbacks(net, has_validation, routed, unlabelled_rows):
    """Refuse what skorch would ignore or fail on late, and warn of misleading scores.

    A parameter routed to a callback name that does not exist (skorch ignores
    it); without a validation split, a callback that monitors a validation
    score (skorch fails after the first epoch) or scores validation rows
    (skorch records nothing). With ``unlabelled_rows`` (labels ``-1``: rows
    without a label, or synthetic ones), training-row scores count them as
    errors: a warning says so.
    """
    names = {name for name, _ in net.callbacks_}
    for key in routed:
        name = key.split("__")[0]
        if name not in names and routed[key] is not None and "__" in key:
            raise ValueError(
                f"callbacks__{key} is routed to a callback named {name!r}, but the callbacks "
                f"are {sorted(names)}: name yours with callbacks=[({name!r}, callback)]."
            )
    for name, callback in net.callbacks_:
        monitor = getattr(callback, "monitor", None)
        validates = isinstance(monitor, str) and monitor.startswith("valid_")
        scores_validation = isinstance(callback, ScoringBase) and not callback.on_train
        if not has_validation and (validates or scores_validation):
            what = f"monitors {monitor!r}" if validates else "scores the validation rows"
            raise ValueError(
                f"The callback {name!r} {what}; validation scores exist only with "
                "early_stopping=True, which holds out validation_fraction of the rows. "
                "For training-row scores use on_train=True."
            )
        if unlabelled_rows and isinstance(callback, ScoringBase) and callback.on_train:
            if name != "train_loss":
                warnings.warn(
                    f"The callback {name!r} scores the training rows, whose label is -1 "
                    "where there is none (unlabeled_label) or the row is synthetic "
                    "(augment): scores against y count those rows as errors.",
                    UserWarning,
                    stacklevel=2,
                )
    return net


class _ValidationScore:
    """Accuracy (or agreement with ``teacher_codes``) on the validation rows.

    Weighted by the rows' float64 ``weights``, as ``MLPClassifier`` scores its
    validation rows with their ``sample_weight``.
    """

    def __init__(self, weights=None, teacher_codes=None):
        self.weights = weights
        self.teacher_codes = teacher_codes

    def __call__(self, net, X, y):
        target = np.asarray(y) if self.teacher_codes is None else self.teacher_codes
        return float(np.average(net.predict(X) == target, weights=self.weights))


def validation_scoring(weights=None, teacher_codes=None):
    """skorch callbacks recording ``valid_acc`` (and ``valid_agreement`` with a teacher)."""
    score = EpochScoring(_ValidationScore(weights), name="valid_acc", lower_is_better=False)
    callbacks = [("valid_acc", score)]
    if teacher_codes is not None:
        agreement = _ValidationScore(weights, teacher_codes)
        score = EpochScoring(agreement, name="valid_agreement", lower_is_better=False)
        callbacks.append(("valid_agreement", score))
    return callbacks


class StoppingRule(EarlyStopping):
    """skorch's ``EarlyStopping`` with ``MLPClassifier``'s rule.

    An epoch counts as a miss unless it beats the best score so far by
    ``threshold`` (``tol``); training stops after ``patience`` misses in a row
    (``n_iter_no_change + 1``). The best weights are those of the best score,
    however small its lead: ``tol`` only counts misses (skorch's own keeps
    the weights of the last epoch that beat the threshold).
    """

    def on_train_begin(self, net, **kwargs):
        super().on_train_begin(net, **kwargs)
        self.best_score_ = None

    def on_epoch_end(self, net, **kwargs):
        score = net.history[-1, self.monitor]
        sign = -1.0 if self.lower_is_better else 1.0
        best = self.best_score_
        self.misses_ = (
            0 if best is None or sign * (score - best) >= self.threshold else self.misses_ + 1
        )
        if best is None or sign * score > sign * best:
            self.best_score_, self.best_epoch_ = score, net.history[-1, "epoch"]
            if self.load_best:
                self.best_model_weights_ = copy.deepcopy(net.module_.state_dict())
        if self.misses_ == self.patience:
            if net.verbose:
                self._sink(
                    f"Stopping since {self.monitor} has not improved by {self.threshold} "
                    f"in the last {self.patience} epochs.",
                    verbose=net.verbose,
                )
            raise KeyboardInterrupt


def stopping(early_stopping, n_iter_no_change, tol):
    """``("early_stopping", StoppingRule)``: ``MLPClassifier``'s stopping rule.

    With a validation split it follows ``valid_acc`` and restores the best
    epoch's weights; without, the training loss. Either way training stops
    once the score has not improved by ``tol`` for more than
    ``n_iter_no_change`` epochs in a row.
    """
    monitor, lower_is_better = ("valid_acc", False) if early_stopping else ("train_loss", True)
    return (
        "early_stopping",
        StoppingRule(
            monitor=monitor,
            lower_is_better=lower_is_better,
            patience=n_iter_no_change + 1,
            threshold=tol,
            threshold_mode="abs",
            load_best=early_stopping,
            sink=print,
        ),
    )


def fitted_curves(history, early_stopping):
    """``MLPClassifier``'s fitted attributes, read from a skorch ``History``.

    Epochs count when complete (a callback may stop one midway);
    ``validation_scores_`` lists every epoch that had a validation split.
    """
    losses = [float(row["train_loss"]) for row in history if "train_loss" in row]
    scores = [float(row["valid_acc"]) for row in history if "valid_acc" in row] or None
    return {
        "n_iter_": len(losses),
        "loss_curve_": losses,
        "validation_scores_": scores,
        "best_validation_score_": None if scores is None else max(scores),
        "best_loss_": None if early_stopping or not losses else min(losses),
    }
