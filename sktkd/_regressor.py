"""The regression task: targets of any scale, standardised inside, and predictions.

The part of :class:`DistilledRegressor` and :class:`TransferRegressor` that
knows what a value is; its counterpart for classes is :mod:`sktkd._classifier`.
The targets are standardised with statistics of the training rows (float64,
as the inputs are), so that ``lr``, ``tol`` and the stopping rule mean the
same whatever the units of ``y``; predictions are scaled back.
"""

import math
import warnings

import numpy as np
import torch
from sklearn.base import RegressorMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import r2_score
from sklearn.utils.validation import (
    check_array,
    check_consistent_length,
    check_is_fitted,
)

from ._modules import Standardize, TargetScaling, column_statistics
from ._predict import untensor


def labelled_r2(truth, predicted):
    """R² of ``predicted`` against ``truth`` on its labelled rows (not NaN), over the
    columns of ``truth`` with a spread there; ``None`` with fewer than 2 such rows,
    or no such column: the R² of a constant says nothing."""
    labelled = ~np.isnan(truth).any(axis=1)
    if labelled.sum() < 2:
        return None
    truth, predicted = truth[labelled], predicted[labelled]
    spread = np.ptp(truth, axis=0) > 0
    return r2_score(truth[:, spread], predicted[:, spread]) if spread.any() else None


class RegressorTask(RegressorMixin):
    """Targets are values, ``y`` of shape ``(n,)`` or ``(n, n_outputs)``; the
    network returns one standardised value per output.

    The net trains on the standardised targets, float32 of shape ``(n,
    n_outputs)``, a row of NaN where there is no label, which skorch's
    scorers and callbacks read as ``y`` (``EpochScoring("r2")`` works: R² is
    the same in either units).
    """

    _OUTPUT_ARG = "n_outputs"  # the module constructor's keyword for the output width
    _VALID_SCORES = ("valid_r2", "valid_fidelity")  # score, and R² against the teacher
    _VALID_METRIC = "r2"
    _TASK_CONSTRAINTS: dict = {}

    def _n_outputs(self):
        return self.n_outputs_

    @staticmethod
    def _net_classes():
        return None

    @staticmethod
    def _labelled(targets):
        return ~np.isnan(targets).any(axis=1)

    def _no_targets(self, n_rows):
        """Targets of ``n_rows`` rows without a label (synthetic ones)."""
        return np.full((n_rows, self.n_outputs_), np.nan)

    @staticmethod
    def _strata(targets):
        return {}  # a plain random share, as MLPRegressor holds out

    def _validate_fit_data(
        self, X, y, sample_weight, unlabeled_label=None, incremental=False, classes=None
    ):
        """Checked ``X``, ``y`` as given, its targets, weights (sets ``n_outputs_``).

        The targets are float64 of shape ``(n, n_outputs)``; rows whose ``y``
        equals ``unlabeled_label`` (NaN included) are NaN throughout. ``X``
        stays float32 when given so, as for the classifiers.
        """
        continues = self._continues(incremental)
        if y is None:  # scikit-learn's words
            raise ValueError(
                f"{type(self).__name__} requires y to be passed, but the target y is None."
            )
        X = self._validate_input(X, reset=not continues)
        marker = unlabeled_label
        nan_marker = marker is not None and math.isnan(marker)
        y = check_array(
            untensor(y),
            ensure_2d=False,
            dtype=np.float64,
            ensure_all_finite="allow-nan" if nan_marker else True,
            input_name="y",
        )
        check_consistent_length(X, y)
        if y.ndim not in (1, 2):
            raise ValueError(
                f"y must be of shape (n_samples,) or (n_samples, n_outputs); got {y.shape}."
            )
        targets = y.reshape(len(y), -1).copy()
        if marker is not None:
            unlabelled = np.isnan(targets) if nan_marker else targets == marker
            partly = unlabelled.any(axis=1) & ~unlabelled.all(axis=1)
            if partly.any():
                raise ValueError(
                    f"{int(partly.sum())} rows of y (first: row {int(np.argmax(partly))}) mark "
                    f"some outputs unlabelled (unlabeled_label={marker!r}) but not all: a row "
                    "is labelled in all its outputs or in none."
                )
            targets[unlabelled] = np.nan
        if continues and targets.shape[1] != self.n_outputs_:
            raise ValueError(
                f"y has {targets.shape[1]} outputs, but the fitted network has "
                f"{self.n_outputs_}; fit with warm_start=False to build a new network."
            )
        self.n_outputs_ = targets.shape[1]
        sample_weight = self._checked_weights(sample_weight, X)
        return X, y, targets, sample_weight

    def _student_weights(self, targets, sample_weight, incremental=False, unlabeled_label=None):
        return sample_weight  # no class_weight for values

    def _encode_targets(
        self, targets, teacher=None, weight=None, valid=None, continues=True, incremental=False
    ):
        """Targets and the teacher's predictions, standardised (float32), as the net
        trains on them.

        A new fit (``continues=False``) takes the mean of the labelled training
        rows (not ``valid``), weighted by ``weight``, into ``target_scaling_``
        (with fewer than two, the teacher's mean on the training rows), and as
        scale the larger spread of those targets and of the teacher's
        predictions, so that both reach the network within a few units. A
        column constant up to rounding keeps a scale of that rounding (see
        :func:`~sktkd._modules.column_statistics`): the network's error is
        multiplied by the scale, and a constant stays constant; but the first
        ``partial_fit`` call (``incremental``), whose scaling later chunks
        keep, scales such a column by its magnitude, as the inputs are. A
        continued fit keeps the scaling, and warns when the new targets lie
        far outside it.
        """
        if not continues:
            training = ~valid
            rows = self._labelled(targets) & training
            w = None if weight is None else weight[rows]
            constant = "magnitude" if incremental else "rounding"
            statistics = []  # (mean, scale) of the labelled targets, then of the teacher
            if rows.sum() >= 2 or teacher is None:
                statistics.append(column_statistics(targets[rows], w, constant=constant))
            if teacher is not None:  # the teacher's spread, on all the training rows
                w = None if weight is None else weight[training]
                statistics.append(column_statistics(teacher[training], w, constant=constant))
            scale = np.max([scale for _, scale in statistics], axis=0)
            self.target_scaling_ = Standardize(statistics[0][0], scale)
        elif self._labelled(targets).any():
            self._warn_if_far(targets[self._labelled(targets)])
        scaling = self.target_scaling_
        teacher = None if teacher is None else scaling.transform(teacher)
        return scaling.transform(targets), teacher

    def _warn_if_far(self, targets):
        """Warn when a continued fit's targets lie far outside ``target_scaling_``."""
        mean, scale, _ = self.target_scaling_._statistics()
        far = float(np.max(np.abs(targets - mean) / scale))
        if far > 1_000:
            warnings.warn(
                f"These targets lie up to {far:.3g} standard deviations from those of the "
                "first fit, whose statistics (target_scaling_) partial_fit and warm_start "
                "keep: the network can hardly reach them. If they are in other units, fit "
                "anew (warm_start=False); if the first call saw too narrow a range, start "
                "partial_fit with a chunk that spans it.",
                UserWarning,
                stacklevel=5,
            )

    def _check_output(self, body, Z, n_outputs):
        """One forward pass on two standardised rows: one value per output."""
        out = self._first_output(body, Z)
        if not isinstance(out, torch.Tensor) or tuple(out.shape) != (len(Z[:2]), n_outputs):
            shape = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
            raise ValueError(
                f"The module must return values of shape (n_samples, {n_outputs}) for the "
                f"{n_outputs} outputs of y; it returned {shape}."
            )

    def _warn_if_not_learnt(self, Z, *targets):
        """Warn when the fitted network explains almost nothing of its own training
        rows: R² under 0.1 against ``y`` and against the teacher's predictions
        alike (each standardised, NaN: no label; columns without spread left
        out), on at most 2,000 rows."""
        rows = np.arange(0, len(Z), max(1, len(Z) // 2_000))
        predicted = self._body_forward(Z[rows]).numpy()
        scores = [labelled_r2(values[rows], predicted) for values in targets]
        scores = [score for score in scores if score is not None]
        if scores and max(scores) < 0.1:
            warnings.warn(
                f"{type(self).__name__} explains little of its own training rows (R² "
                f"{max(scores):.3f}): it has not learnt the task. Check the inputs, the "
                "learning rate and max_epochs.",
                ConvergenceWarning,
                stacklevel=5,  # the caller of fit, through _fit_context
            )

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        tags.target_tags.single_output = True
        return tags

    # --- prediction ------------------------------------------------------------

    @property
    def module_(self):
        """The trained network, ``Sequential(standardize, body, target_scaling)``: it
        takes raw features and returns values in ``y``'s units (float64)."""
        network = super().module_
        scaling = self.target_scaling_
        device = next(network.parameters(), scaling.mean).device
        network.add_module("target_scaling", TargetScaling(scaling.mean, scaling.scale).to(device))
        return network

    def predict(self, X):
        """Predicted values of ``X``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        y : ndarray of shape (n_samples,) or (n_samples, n_outputs)
            One column per output of the ``y`` seen in ``fit``; a single
            output gives a 1-D array, as ``MLPRegressor``'s.
        """
        if not hasattr(self, "net_"):
            check_is_fitted(self)
        out = self._forward(X).numpy().astype(np.float64)
        mean, scale, _ = self.target_scaling_._statistics()
        out *= scale
        out += mean
        return out.ravel() if out.shape[1] == 1 else out
