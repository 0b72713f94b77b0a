"""The classification task: labels and their codes, logits, class predictions.

The part of :class:`DistilledClassifier` and :class:`TransferClassifier` that
knows what a class is; training, distillation and transfer are task-agnostic
(:mod:`sktkd._base`, :mod:`sktkd._distilled`, :mod:`sktkd._transfer`). Its
counterpart for regression is :mod:`sktkd._regressor`.
"""

import warnings

import numpy as np
import torch
from scipy.special import log_softmax
from sklearn.base import ClassifierMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils._param_validation import StrOptions
from sklearn.utils.multiclass import _check_partial_fit_first_call, check_classification_targets
from sklearn.utils.validation import _check_y, check_consistent_length

from ._predict import untensor
from ._training import class_weights


class ClassifierTask(ClassifierMixin):
    """Targets are class labels; the network returns one logit per class.

    The net trains on class codes (indices into ``classes_``; ``-1``: no
    label), which skorch's scorers and callbacks read as ``y``.
    """

    _OUTPUT_ARG = "n_classes"  # the module constructor's keyword for the output width
    _VALID_SCORES = ("valid_acc", "valid_agreement")  # score, and agreement with the teacher
    _VALID_METRIC = "accuracy"
    _TASK_CONSTRAINTS: dict = {"class_weight": [None, dict, StrOptions({"balanced"})]}

    def _n_outputs(self):
        return len(self.classes_)

    def _net_classes(self):
        """The net's ``classes_``: its ``y`` holds class indices."""
        return np.arange(len(self.classes_))

    @staticmethod
    def _labelled(codes):
        return codes >= 0

    @staticmethod
    def _no_targets(n_rows):
        """Codes of ``n_rows`` rows without a label (synthetic ones)."""
        return np.full(n_rows, -1, dtype=np.int64)

    def _strata(self, codes):
        """The validation rows are a stratified share."""
        return {"classes": self.classes_, "codes": codes}

    def _encode_targets(
        self, codes, soft, weight=None, valid=None, continues=True, incremental=False
    ):
        """Codes and teacher logits as the net trains on them: as they are."""
        return codes, soft

    def _validate_fit_data(
        self, X, y, sample_weight, unlabeled_label=None, incremental=False, classes=None
    ):
        """Checked ``X``, labels ``y``, their codes (sets ``classes_``), weights.

        ``X`` stays float32 when given so and is float64 otherwise: it is
        standardised in float64 before the network sees it. Rows whose label
        equals ``unlabeled_label`` get the code ``-1``. Weights are checked
        float64, as given (see :func:`loss_weights`). ``partial_fit``
        (``incremental``) takes its classes from ``classes`` on the first call,
        as scikit-learn's incremental classifiers do; a warm start keeps them.
        """
        continues = self._continues(incremental)
        X = self._validate_input(X, reset=not continues)
        y = _check_y(untensor(y), estimator=self)
        check_consistent_length(X, y)
        labelled = np.ones(len(y), dtype=bool)
        if unlabeled_label is not None:
            labelled = ~(np.asarray(y, dtype=object) == unlabeled_label)
        check_classification_targets(y[labelled])
        if incremental:
            if not hasattr(self, "net_"):
                self.classes_ = None  # a first call takes them from `classes`
            _check_partial_fit_first_call(self, classes)
            if unlabeled_label is not None and unlabeled_label in self.classes_.tolist():
                raise ValueError(
                    f"classes {self.classes_.tolist()} holds unlabeled_label="
                    f"{unlabeled_label!r}, the marker of rows without a label, which is "
                    "never a class: leave it out of classes."
                )
            known = self.classes_
        else:
            known = np.unique(y[labelled])
            if continues and not np.array_equal(known, self.classes_):
                raise ValueError(
                    "warm_start can only be used where y has the same classes as in the "
                    f"previous call to fit. Previously got {self.classes_.tolist()}, y has "
                    f"{known.tolist()}."
                )
            self.classes_ = known
        if len(self.classes_) < 2:
            raise ValueError(
                f"The data contains only one class, {self.classes_.tolist()}; a classifier "
                "needs samples of at least 2 classes."
            )
        unknown = np.setdiff1d(y[labelled], self.classes_)
        if len(unknown):
            raise ValueError(
                f"y holds labels {unknown.tolist()[:5]} that are not among classes "
                f"{self.classes_.tolist()} given to the first call to partial_fit."
            )
        codes = np.full(len(y), -1, dtype=np.int64)
        codes[labelled] = np.searchsorted(self.classes_, y[labelled])
        sample_weight = self._checked_weights(sample_weight, X)
        if sample_weight is not None:
            weighted = np.unique(y[labelled & (sample_weight > 0)])
            if len(weighted) < 2 and not incremental:
                raise ValueError(
                    f"Only the classes {weighted.tolist()} have rows with a positive "
                    "sample_weight; a classifier needs at least 2 classes."
                )
        return X, y, codes, sample_weight

    def _student_weights(self, codes, sample_weight, incremental=False, unlabeled_label=None):
        """``sample_weight`` times ``class_weight`` (see :func:`sktkd._training.class_weights`)."""
        if self.class_weight is None:
            return sample_weight
        if incremental and self.class_weight == "balanced":
            raise ValueError(
                "class_weight='balanced' is not supported by partial_fit, which sees one "
                "chunk at a time: compute the weights on a large enough sample with "
                "sklearn.utils.class_weight.compute_class_weight('balanced', classes=..., "
                "y=...) and pass them as a dict."
            )
        return class_weights(
            self.class_weight, self.classes_, codes, sample_weight, unlabeled_label
        )

    def _check_output(self, body, Z, n_classes):
        """One forward pass on two standardised rows, so a mismatch fails here and clearly.

        The body must end in logits: a final softmax would be applied twice.
        """
        out = self._first_output(body, Z)
        if not isinstance(out, torch.Tensor) or tuple(out.shape) != (len(Z[:2]), n_classes):
            shape = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
            raise ValueError(
                f"The module must return logits of shape (n_samples, {n_classes}) for "
                f"the {n_classes} classes; it returned {shape}."
            )
        # Outputs that are probabilities or log-probabilities come from a final
        # softmax, which predict_proba would apply a second time.
        sums, log_sums = out.sum(dim=1), out.logsumexp(dim=1)
        probabilities = bool((out >= 0).all() and torch.allclose(sums, torch.ones_like(sums)))
        if probabilities or torch.allclose(log_sums, torch.zeros_like(log_sums), atol=1e-5):
            raise ValueError(
                "The module returns probabilities or log-probabilities (a final softmax or "
                "log-softmax); it must return logits, since predict_proba applies the "
                "softmax itself. Remove the final softmax."
            )

    def _warn_if_not_learnt(self, Z, *targets):
        """Warn when the fitted network barely beats chance on its own training rows.

        Each of ``targets`` holds class codes of the rows of ``Z`` (``-1``:
        none), or the teacher's logits (its decisions); the score is the best
        balanced accuracy against any of them (chance: ``1 / n_classes``), on at
        most 2,000 rows spread over the set (enough to tell chance from
        learning: a standard error under 1.2%).
        """
        rows = np.arange(0, len(Z), max(1, len(Z) // 2_000))
        predicted = self._body_forward(Z[rows])
        predicted = predicted.argmax(dim=1).numpy()
        scores = []
        for codes in targets:
            truth = codes[rows] if codes.ndim == 1 else codes[rows].argmax(axis=1)
            classes = np.unique(truth[truth >= 0])
            scores.append(np.mean([np.mean(predicted[truth == k] == k) for k in classes]))
        score, chance = max(scores), 1 / len(self.classes_)
        if score < chance + 0.1 * (1 - chance):
            warnings.warn(
                f"{type(self).__name__} ends near chance on its own training rows "
                f"(balanced accuracy {score:.3f}, chance {chance:.3f}): it has not learnt "
                "the task. Check the inputs (a shift from the source's?), the learning rate "
                "and max_epochs.",
                ConvergenceWarning,
                stacklevel=5,  # the caller of fit, through _fit_context
            )

    # --- prediction ------------------------------------------------------------

    def _logits(self, X):
        return self._forward(X).numpy().astype(np.float64)

    def decision_function(self, X):
        """Confidence scores of ``X``: the network's logits.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        scores : ndarray of shape (n_samples,) or (n_samples, n_classes)
            For two classes, the logit of ``classes_[1]`` minus that of
            ``classes_[0]`` (positive: ``classes_[1]``), as scikit-learn's
            binary classifiers give; otherwise the logits, columns in the
            order of ``classes_``. ``predict`` takes the largest.
        """
        logits = self._logits(X)
        return logits[:, 1] - logits[:, 0] if logits.shape[1] == 2 else logits

    def predict_log_proba(self, X):
        """Logarithm of the class probabilities of ``X``, computed stably from the logits.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        log_proba : ndarray of shape (n_samples, n_classes)
            Columns in the order of ``classes_``.
        """
        return log_softmax(self._logits(X), axis=1)

    def predict_proba(self, X):
        """Class probabilities of ``X``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Columns in the order of ``classes_``.
        """
        # scipy's softmax, in place on our own copy, without its dispatch overhead
        # (a quarter of a one-row prediction).
        proba = self._logits(X)
        proba -= proba.max(axis=1, keepdims=True)
        np.exp(proba, out=proba)
        proba /= proba.sum(axis=1, keepdims=True)
        return proba

    def predict(self, X):
        """Predicted class labels of ``X``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        y : ndarray of shape (n_samples,)
        """
        logits = self._logits(X)
        return self.classes_[np.argmax(logits, axis=1)]
