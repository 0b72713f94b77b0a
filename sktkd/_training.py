"""Training control: validation split, early stopping, callbacks, the fitted curves.

Built from skorch's own callbacks (``EpochScoring``, ``EarlyStopping``) and
scikit-learn's ``train_test_split``, with ``MLPClassifier``'s names and meanings.
"""

import copy
import warnings

import numpy as np
from sklearn.metrics import r2_score
from sklearn.model_selection import train_test_split
from sklearn.utils.class_weight import compute_class_weight
from skorch.callbacks import EarlyStopping, EpochScoring
from skorch.callbacks.scoring import ScoringBase

# Names of sktkd's own callbacks, which a fit leaves out when it has no use for them.
OWN_CALLBACKS = ("valid_acc", "valid_agreement", "valid_r2", "valid_fidelity", "early_stopping")


def copy_callbacks(callbacks):
    """The user's callbacks for one fit: copies, so theirs are never modified.

    skorch initialises its callbacks, sets routed parameters
    (``callbacks__<name>__<param>``) and records state on them in place. Each
    is deep-copied; one holding what cannot be copied (a file, a writer, a
    lock) is copied shallowly, sharing it. Callback classes are instantiated
    by skorch.
    """

    def one(callback):
        if isinstance(callback, type):
            return callback
        try:
            return copy.deepcopy(callback)
        except Exception:  # any object may refuse to be copied
            return copy.copy(callback)

    return [
        (entry[0], one(entry[1])) if isinstance(entry, tuple) else one(entry)
        for entry in callbacks or ()
    ]


def validation_rows(labelled, fraction, seed, classes=None, codes=None):
    """Boolean mask of a ``fraction`` of the ``labelled`` rows (a boolean mask).

    Stratified by ``classes[codes]`` for a classifier (``classes=None``: a
    plain random share, as ``MLPRegressor`` holds out). Raises ``ValueError``
    naming ``validation_fraction`` when a class is too rare to be split, or
    too few rows are labelled (scikit-learn's ``train_test_split`` says why,
    naming the labels in ``classes``).
    """
    n_rows, labelled = len(labelled), np.flatnonzero(labelled)
    stratify = None if classes is None else classes[codes[labelled]]
    try:
        _, held_out = train_test_split(
            labelled, test_size=fraction, stratify=stratify, random_state=seed
        )
    except ValueError as exc:
        sides = "" if classes is None else " with every class on both sides"
        raise ValueError(
            f"early_stopping cannot hold out validation_fraction={fraction} of the "
            f"{len(labelled)} labelled rows{sides}: {exc}"
        ) from exc
    if classes is None and len(held_out) < 2:  # R² of one row is undefined
        raise ValueError(
            f"early_stopping holds out validation_fraction={fraction} of the "
            f"{len(labelled)} labelled rows, which leaves {len(held_out)}: the validation "
            "R² needs at least 2. Use a larger validation_fraction, more labelled rows, or "
            "early_stopping=False."
        )
    valid = np.zeros(n_rows, dtype=bool)
    valid[held_out] = True
    return valid


def class_weights(class_weight, classes, codes, sample_weight=None, unlabeled_label=None):
    """``sample_weight`` times the weight of each row's class, float64.

    As scikit-learn's classifiers combine them: ``"balanced"`` gives class
    ``k`` the weight ``n_labelled / (n_classes * n_k)`` (over the classes
    present); a dict maps labels to weights (absent classes: 1). Unlabelled
    rows (``codes == -1``) keep weight 1.
    """
    if isinstance(class_weight, dict) and unlabeled_label in class_weight:
        raise ValueError(
            f"class_weight has a weight for unlabeled_label={unlabeled_label!r}, the "
            "marker of rows without a label, which is not a class: unlabelled rows keep "
            "weight 1 (weigh them with sample_weight)."
        )
    labelled = codes >= 0
    if class_weight == "balanced":
        present = np.unique(codes[labelled])  # compute_class_weight needs them in y
        per_class = np.ones(len(classes))
        per_class[present] = compute_class_weight("balanced", classes=present, y=codes[labelled])
    else:
        per_class = compute_class_weight(class_weight, classes=classes, y=classes[codes[labelled]])
    weights = np.ones(len(codes))
    weights[labelled] = per_class[codes[labelled]]
    if not np.isfinite(weights).all() or (weights < 0).any():
        raise ValueError(f"class_weight must be finite and non-negative, got {class_weight}.")
    weights = weights if sample_weight is None else weights * sample_weight
    if not weights.any():
        raise ValueError("class_weight and sample_weight leave no row with a positive weight.")
    return weights


def check_callbacks(net, has_validation, routed, unlabelled_rows, incremental=False):
    """Refuse what skorch would ignore or fail on late, and warn of misleading scores.

    A parameter routed to a callback name that does not exist (skorch ignores
    it; sktkd's own callbacks that this fit leaves out excepted); without a
    validation split, a callback that monitors a validation score (skorch
    fails after the first epoch) or scores validation rows (skorch records
    nothing). With ``unlabelled_rows`` (labels ``-1``: rows without a label,
    or synthetic ones), training-row scores count them as errors: a warning
    says so (a regressor's such rows have NaN targets, which scikit-learn's
    scorers refuse: an error says so). ``incremental``: the messages speak of
    ``partial_fit``.
    """
    names = {name for name, _ in net.callbacks_}
    for key in routed:
        name = key.split("__")[0]
        known = name in names or name in OWN_CALLBACKS
        if not known and routed[key] is not None and "__" in key:
            raise ValueError(
                f"callbacks__{key} is routed to a callback named {name!r}, but the callbacks "
                f"are {sorted(names)}: name yours with callbacks=[({name!r}, callback)]."
            )
    for name, callback in net.callbacks_:
        monitor = getattr(callback, "monitor", None)
        validates = isinstance(monitor, str) and monitor.startswith("valid_")
        scorer = isinstance(callback, ScoringBase)
        if not has_validation and (validates or (scorer and not callback.on_train)):
            what = f"monitors {monitor!r}" if validates else "scores the validation rows"
            where = (
                "partial_fit holds out no validation rows, as MLPClassifier's does; drop it "
                f"there with callbacks__{name}=None"
                if incremental
                else "validation scores exist only with early_stopping=True, which holds out "
                "validation_fraction of the rows"
            )
            hint = "; for training-row scores use on_train=True" if scorer and not validates else ""
            raise ValueError(f"The callback {name!r} {what}; {where}{hint}.")
        if unlabelled_rows and scorer and callback.on_train and name != "train_loss":
            if net.classes_ is None:  # a regressor's: scikit-learn's scorers refuse NaN
                raise ValueError(
                    f"The callback {name!r} scores the training rows, some of which have no "
                    "target (NaN: rows marked by unlabeled_label, or synthetic rows of "
                    "augment), which scikit-learn's scorers refuse. Score the validation "
                    "rows instead (early_stopping=True and on_train=False)."
                )
            warnings.warn(
                f"The callback {name!r} scores the training rows, whose label is -1 "
                "where there is none (unlabeled_label) or the row is synthetic "
                "(augment): scores against y count those rows as errors.",
                UserWarning,
                stacklevel=2,
            )
    return net


class _ValidationScore:
    """Accuracy, or R² for a regressor, on the validation rows; against
    ``teacher_targets`` (the teacher's classes or predictions) for the agreement.

    Weighted by the rows' float64 ``weights``, as ``MLPClassifier`` and
    ``MLPRegressor`` score their validation rows with their ``sample_weight``.
    R² is that of the standardised targets, which is the R² in ``y``'s units.
    """

    teacher_targets, metric = None, "accuracy"  # pickled before they existed

    def __init__(self, weights=None, teacher_targets=None, metric="accuracy"):
        self.weights = weights
        self.teacher_targets = teacher_targets
        self.metric = metric

    def __call__(self, net, X, y):
        target = np.asarray(y) if self.teacher_targets is None else self.teacher_targets
        if self.metric == "r2":
            return float(r2_score(target, net.predict(X), sample_weight=self.weights))
        return float(np.average(net.predict(X) == target, weights=self.weights))


def validation_scoring(names, metric, weights=None, teacher_targets=None):
    """skorch callbacks recording the validation score ``names[0]`` (``valid_acc`` or
    ``valid_r2``: ``metric``, ``"accuracy"`` or ``"r2"``) and, with a teacher, the
    agreement with it ``names[1]`` (``valid_agreement`` or ``valid_fidelity``)."""
    score = _ValidationScore(weights, metric=metric)
    callbacks = [(names[0], EpochScoring(score, name=names[0], lower_is_better=False))]
    if teacher_targets is not None:
        agreement = _ValidationScore(weights, teacher_targets, metric)
        score = EpochScoring(agreement, name=names[1], lower_is_better=False)
        callbacks.append((names[1], score))
    return callbacks


class StoppingRule(EarlyStopping):
    """skorch's ``EarlyStopping`` with ``MLPClassifier``'s rule.

    An epoch counts as a miss unless it beats the best score so far by
    ``threshold`` (``tol``); training stops after ``patience`` misses in a row
    (``n_iter_no_change + 1``). The best weights are those of the best score,
    however small its lead: ``tol`` only counts misses (skorch's own keeps
    the weights of the last epoch that beat the threshold). The phases of one
    fit (``TransferClassifier``'s strategies) share the best score, so the
    weights kept are the best of the whole fit. ``lower_is_better=None``
    follows the monitored key: lower for a ``*_loss``, higher otherwise.
    """

    def on_train_begin(self, net, **kwargs):
        kept = [getattr(self, k, None) for k in ("best_score_", "best_epoch_")]
        weights = getattr(self, "best_model_weights_", None)
        super().on_train_begin(net, **kwargs)  # resets the misses, and the best
        (self.best_score_, self.best_epoch_), self.best_model_weights_ = kept, weights

    def on_epoch_end(self, net, **kwargs):
        score = net.history[-1, self.monitor]
        lower = self.lower_is_better
        sign = -1.0 if (self.monitor.endswith("_loss") if lower is None else lower) else 1.0
        best = self.best_score_
        improved = best is None or sign * (score - best) >= self.threshold
        self.misses_ = 0 if improved else self.misses_ + 1
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


def stopping(early_stopping, n_iter_no_change, tol, monitor="valid_acc"):
    """``("early_stopping", StoppingRule)``: ``MLPClassifier``'s stopping rule.

    With a validation split it follows ``monitor`` and restores the best
    epoch's weights; without, the training loss. Either way training stops
    once the score has not improved by ``tol`` for more than
    ``n_iter_no_change`` epochs in a row.
    """
    return (
        "early_stopping",
        StoppingRule(
            monitor=monitor if early_stopping else "train_loss",
            lower_is_better=None,  # from the monitored key, also when it is routed
            patience=n_iter_no_change + 1,
            threshold=tol,
            threshold_mode="abs",
            load_best=early_stopping,
            sink=print,
        ),
    )


def drop_training_data(net):
    """Forget what only training needed, so that a pickle of the model holds no data.

    The validation rows (the net's ``train_split``), their weights and teacher
    classes (in the validation scores), and the stopping rule's copy of the
    best weights (restored into the network already). Every fit builds a new
    net, so nothing reads them again.
    """
    net.train_split = None
    net.iterator_train__generator = None  # the batch order's (its pickle differs each time)
    for _, callback in net.callbacks_:
        scoring = getattr(callback, "scoring", None)
        if isinstance(scoring, _ValidationScore):  # per-row weights and teacher targets
            scoring.weights = scoring.teacher_targets = None
    rule = dict(net.callbacks_).get("early_stopping")
    if rule is not None:
        rule.best_model_weights_ = None


def fitted_curves(net, early_stopping, score="valid_acc"):
    """``MLPClassifier``'s fitted attributes, read from the net's ``History``.

    Epochs count when complete (a callback may stop one midway);
    ``validation_scores_`` lists every epoch that had a validation split, and
    ``best_validation_score_`` is the one of the epoch whose weights were kept:
    the rule's best, else the last epoch, if it was validated and complete
    (``None`` when a callback stopped the fit midway).
    """
    history = net.history
    losses = [float(row["train_loss"]) for row in history if "train_loss" in row]
    scores = [float(row[score]) for row in history if score in row] or None
    best_score = None
    if early_stopping and scores is not None:
        rule = dict(net.callbacks_).get("early_stopping")
        restored = rule is not None and rule.load_best and rule.best_model_weights_ is not None
        kept = rule.best_epoch_ if restored else history[-1, "epoch"]
        best_score = next((row.get(score) for row in history if row["epoch"] == kept), None)
    return {
        "n_iter_": len(losses),
        "loss_curve_": losses,
        "validation_scores_": scores,
        "best_validation_score_": None if best_score is None else float(best_score),
        "best_loss_": None if early_stopping or not losses else min(losses),
    }
