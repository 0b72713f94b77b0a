"""Training control: validation split, early stopping, callbacks, the fitted curves.

Built from skorch's own callbacks (``EpochScoring``, ``EarlyStopping``) and
scikit-learn's ``train_test_split``, with ``MLPClassifier``'s names and meanings.
"""

import copy
import functools

import numpy as np
from sklearn.model_selection import train_test_split
from skorch.callbacks import EarlyStopping, EpochScoring


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


def validation_rows(codes, fraction, seed):
    """Boolean mask of a stratified ``fraction`` of the labelled rows (``codes >= 0``).

    Raises ``ValueError`` naming ``validation_fraction`` when a class is too
    rare to be split (scikit-learn's ``train_test_split`` says why).
    """
    labelled = np.flatnonzero(codes >= 0)
    try:
        _, held_out = train_test_split(
            labelled, test_size=fraction, stratify=codes[labelled], random_state=seed
        )
    except ValueError as exc:
        raise ValueError(
            f"early_stopping cannot hold out validation_fraction={fraction} of the "
            f"{len(labelled)} labelled rows with every class on both sides: {exc}"
        ) from exc
    valid = np.zeros(len(codes), dtype=bool)
    valid[held_out] = True
    return valid


def check_callbacks(net, has_validation, routed):
    """Refuse what skorch would ignore or fail on late.

    A parameter routed to a callback name that does not exist (skorch ignores
    it), and a callback that monitors a validation score without a
    validation split (skorch fails after the first epoch with a ``KeyError``).
    """
    names = {name for name, _ in net.callbacks_}
    for key in routed:
        name = key.split("__")[0]
        if name not in names and routed[key] is not None and "__" in key:
            raise ValueError(
                f"callbacks__{key} is routed to a callback named {name!r}, but the callbacks "
                f"are {sorted(names)}: name yours with callbacks=[({name!r}, callback)]."
            )
    if has_validation:
        return net
    for name, callback in net.callbacks_:
        monitor = getattr(callback, "monitor", None)
        if isinstance(monitor, str) and monitor.startswith("valid_"):
            raise ValueError(
                f"The callback {name!r} monitors {monitor!r}, a validation score; validation "
                "scores exist only with early_stopping=True, which holds out "
                "validation_fraction of the rows."
            )
    return net


def _agreement(net, X, y=None, *, teacher_codes):
    """Share of rows where the student's class is the teacher's."""
    return float(np.mean(net.predict(X) == teacher_codes))


def validation_scoring(teacher_codes=None):
    """skorch callbacks recording ``valid_acc`` (and ``valid_agreement`` with a teacher)."""
    callbacks = [
        ("valid_acc", EpochScoring("accuracy", name="valid_acc", lower_is_better=False)),
    ]
    if teacher_codes is not None:
        agreement = functools.partial(_agreement, teacher_codes=teacher_codes)
        scoring = EpochScoring(agreement, name="valid_agreement", lower_is_better=False)
        callbacks.append(("valid_agreement", scoring))
    return callbacks


def stopping(early_stopping, n_iter_no_change, tol):
    """``("early_stopping", skorch EarlyStopping)`` with ``MLPClassifier``'s rule.

    With a validation split it follows ``valid_acc`` and restores the best
    epoch's weights; without, the training loss. Either way training stops
    once the score has not improved by ``tol`` for more than
    ``n_iter_no_change`` epochs in a row.
    """
    monitor, lower_is_better = ("valid_acc", False) if early_stopping else ("train_loss", True)
    return (
        "early_stopping",
        EarlyStopping(
            monitor=monitor,
            lower_is_better=lower_is_better,
            patience=n_iter_no_change + 1,  # MLPClassifier stops when misses > n_iter_no_change
            threshold=tol,
            threshold_mode="abs",
            load_best=early_stopping,
            sink=print,
        ),
    )


def fitted_curves(history, early_stopping):
    """``MLPClassifier``'s fitted attributes, read from a skorch ``History``."""
    losses = [float(v) for v in history[:, "train_loss"]]
    curves = {"n_iter_": len(history), "loss_curve_": losses}
    if early_stopping:
        scores = [float(v) for v in history[:, "valid_acc"]]
        curves.update(validation_scores_=scores, best_validation_score_=max(scores))
        curves["best_loss_"] = None
    else:
        curves.update(validation_scores_=None, best_validation_score_=None)
        curves["best_loss_"] = min(losses)
    return curves
