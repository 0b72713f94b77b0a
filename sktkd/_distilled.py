"""Distillation: a small network trained on a teacher's outputs.

One mechanism, :class:`Distillation` (fit the teacher, ask it once, add
out-of-fold and synthetic rows, train the student), serves both
:class:`DistilledClassifier` (soft labels: the teacher's logits) and
:class:`DistilledRegressor` (the teacher's predictions); each names what its
teacher gives and the loss it trains with.
"""

import copy
import os
import warnings
from numbers import Integral, Real

import numpy as np
import torch
from scipy.sparse import issparse
from scipy.special import softmax
from sklearn.base import _fit_context
from sklearn.frozen import FrozenEstimator
from sklearn.utils import _safe_indexing
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.validation import check_memory

from ._accelerate import check_same_data, same_in_all_processes
from ._base import (
    NeuralBase,
    drop_zero_weights,
    loss_weights,
    row_indices,
    training_rows,
)
from ._classifier import ClassifierTask
from ._losses import DistillationLoss, RegressionDistillationLoss
from ._munge import munge, munge_table
from ._predict import untensor
from ._preprocess import is_frame, raw_rows, student_rows
from ._regressor import RegressorTask, labelled_r2
from ._teacher import (
    check_regression_teacher,
    check_teacher,
    check_teacher_pred,
    check_teacher_proba,
    fit_teacher,
    is_refittable,
    out_of_fold_logits,
    out_of_fold_predictions,
    teacher_list,
    teacher_logits,
    teacher_predictions,
)


class Distillation(NeuralBase):
    """The distillation mechanism both distilled estimators share.

    A subclass (with its task part before this class) names what its teacher
    gives: ``_RECORDED``, the ``fit`` argument of recorded teacher outputs;
    ``_TEACHER_KEY``, their name in the loss; and the methods
    ``_check_teacher``, ``_ask_teacher``, ``_out_of_fold``,
    ``_check_recorded``, ``_criterion``, ``_teacher_decisions`` and
    ``_warn_about_teacher``.
    """

    keep_teacher, teacher_memory, n_jobs = True, None, None  # pickled before they existed

    _parameter_constraints: dict = {
        **NeuralBase._parameter_constraints,
        "teacher": "no_validation",  # checked by check_teacher, it has many forms
        "alpha": [Interval(Real, 0, 1, closed="both")],
        "teacher_weights": [None, "array-like"],
        "teacher_cv": [None, "cv_object"],
        "unlabeled_label": [None, Integral, Real, str],
        "keep_teacher": ["boolean"],
        "teacher_memory": [None, str, os.PathLike, HasMethods(["cache"])],
        "n_jobs": [None, Integral],
        "augment": [None, StrOptions({"munge"})],
        "augment_factor": [Interval(Integral, 1, None, closed="left")],
        "munge_swap_prob": [Interval(Real, 0, 1, closed="both")],
        "munge_sd_divisor": [Interval(Real, 0, None, closed="neither")],
    }

    def _fit(self, X, y, sample_weight, recorded, incremental=False, classes=None):
        # Tensors are data: the teacher gets arrays too, and objects that have no
        # rows to index (only __array__) become arrays.
        X, sample_weight, recorded = map(untensor, (X, sample_weight, recorded))
        if not hasattr(X, "__getitem__") and not issparse(X):
            X = np.asarray(X)
        with self._atomic_fit():
            self._check_params()
            continues = self._continues(incremental)
            if continues:
                self._check_architecture(incremental)
            # partial_fit after fit goes on with the teacher fit has fitted.
            reuse_teacher = incremental and continues and self.teacher_ is not None
            self._check_teacher_params(recorded, incremental, reuse_teacher)
            device = self._fit_device()
            Xv, y, codes, sample_weight = self._validate_fit_data(
                X, y, sample_weight, self.unlabeled_label, incremental, classes
            )
            weight = self._student_weights(codes, sample_weight, incremental, self.unlabeled_label)
            kept = np.ones(len(Xv), dtype=bool) if weight is None else weight > 0
            seed = self._seed()
            valid = self._held_out(codes, weight, seed, incremental)
            seed = self._training_seed(seed, continues)
            # Rows of weight 0 are absent; the student trains on the rows outside
            # the validation ones, which only score it. X is read through indices.
            train_rows, valid_rows = row_indices(weight, valid)
            # The teacher takes X as given (Xv: checked); the student, numbers (Xs).
            Xs = self._student_input(Xv, y, self._labelled(codes), train_rows, continues)
            check_same_data(self.accelerator, Xs, codes)
            soft = self._soft_labels(
                X, y, Xv, codes, sample_weight, recorded, kept, valid, reuse_teacher
            )
            weight, codes, valid = drop_zero_weights(weight, codes, valid)
            codes, soft = self._encode_targets(codes, soft, weight, valid, continues, incremental)
            self._warn_about_teacher(soft, codes, recorded is not None, incremental)
            # Processes of data parallelism learn from the main one's soft labels
            # (a teacher fitted in each may differ).
            soft = same_in_all_processes(self.accelerator, soft)
            codes_tr, soft_tr, weight_tr = training_rows(valid, codes, soft, weight)
            n_rows, X_aug, weight_aug = len(codes_tr), None, weight_tr
            n_unlabelled = int(np.sum(~self._labelled(codes_tr)))
            if self.augment == "munge":
                X_aug, codes_tr, soft_tr, weight_aug = self._munge(
                    X if is_frame(X) else Xv, Xs, train_rows, codes_tr, soft_tr, weight_tr, seed
                )
                soft_tr = same_in_all_processes(self.accelerator, soft_tr)

            with self._fork_rng(device):
                torch.manual_seed(seed)
                if continues:
                    standardize = self.standardize_
                    body = copy.deepcopy(self.net_.module_)
                    Z = standardize.transform(Xs, train_rows)
                else:
                    # Input statistics of the training rows, not of the synthetic ones.
                    network, Z = self._build_network(Xs, self._n_outputs(), weight_tr, train_rows)
                    standardize, body = network.standardize, network.body
                Z_aug = Z if X_aug is None else standardize.transform(X_aug)
                # With alpha=0 the soft labels have no weight: don't carry them per batch.
                train_set = self._dataset(
                    Z_aug,
                    codes_tr,
                    device,
                    **{self._TEACHER_KEY: soft_tr if self.alpha > 0 else None},
                    sample_weight=loss_weights(weight_aug),
                )
                valid_set, valid_weights = self._validation_set(
                    standardize,
                    Xs,
                    valid_rows,
                    codes,
                    weight,
                    valid,
                    device,
                    **{self._TEACHER_KEY: soft if self.alpha > 0 else None},
                )
                teacher_targets = self._teacher_decisions(soft[valid]) if valid.any() else None
                # Unlabelled rows add information, not steps: an epoch visits as many
                # rows as there are labelled (and synthetic) ones, drawn among all.
                # Counting them as steps made a student with 85% unlabelled rows
                # train 6.7x longer and overfit (bench_unlabelled.py).
                # (With no labelled row at all, an epoch visits every row.)
                rows_per_epoch = len(Z_aug) - n_unlabelled
                rows_per_epoch = rows_per_epoch if 0 < n_unlabelled < len(Z_aug) else None
                net = self._make_net(
                    body,
                    self._criterion(),
                    device,
                    seed,
                    rows_per_epoch=rows_per_epoch,
                    valid=valid_set,
                    valid_weights=valid_weights,
                    valid_teacher_targets=teacher_targets,
                    incremental=incremental,
                    unlabelled_rows=n_unlabelled > 0 or X_aug is not None,
                )
                if continues:
                    self._resume(net, incremental)
                net.partial_fit(train_set, epochs=1 if incremental else self.max_epochs)
            self.net_, self.standardize_ = net, standardize.cpu()
            self._set_fitted_curves(net, incremental)
            if not incremental:
                # Near chance against both y and the teacher's decisions: nothing was learnt.
                self._warn_if_not_learnt(Z, codes_tr[:n_rows], soft_tr[:n_rows])
            if not self.keep_teacher:
                self.teacher_ = None  # a pickle then holds what prediction needs
        return self

    def _check_teacher_params(self, recorded, incremental=False, reuse_teacher=False):
        """Rules across the teacher parameters and ``recorded`` teacher outputs.

        ``partial_fit`` (``incremental``) needs a fitted teacher, or the one a
        previous ``fit`` fitted (``reuse_teacher``).
        """
        if incremental and self.teacher_cv is not None:
            raise ValueError(
                "teacher_cv refits the teacher on folds of all the rows; partial_fit sees "
                "one chunk at a time. Use teacher_cv=None with partial_fit."
            )
        teachers = teacher_list(self.teacher)
        refittable = any(map(is_refittable, teachers))
        if incremental and not reuse_teacher and recorded is None and refittable:
            fitted = hasattr(self, "net_") and not self.keep_teacher
            dropped = " (fit dropped its own: keep_teacher=False)" if fitted else ""
            raise ValueError(
                f"partial_fit needs a teacher that is already fitted{dropped}: pass "
                "teacher=FrozenEstimator(fitted_teacher) (or an object without fit), or "
                f"recorded teacher outputs with partial_fit(X, y, {self._RECORDED}=P). A "
                "teacher fitted on each chunk would change from one call to the next."
            )
        if recorded is not None:
            if self.teacher is not None:
                raise ValueError(
                    f"Pass either a teacher or {self._RECORDED} to fit, not both; "
                    f"{self._RECORDED} requires teacher=None."
                )
            if self.teacher_cv is not None or self.augment is not None:
                raise ValueError(
                    "teacher_cv and augment need a teacher to refit or to label new "
                    f"rows; recorded {self._RECORDED} cannot."
                )
        elif self.teacher is None:
            raise ValueError(
                f"No teacher: set teacher=<{self._TEACHER_KIND}> or pass fit(X, y, "
                f"{self._RECORDED}=P)."
            )
        if self.augment is not None and self.alpha == 0:
            raise ValueError(
                "augment adds rows trained on the soft term alone, which alpha=0 turns off; "
                "use alpha > 0 or augment=None."
            )
        if self.teacher_weights is not None:
            weights = np.asarray(self.teacher_weights, dtype=float)
            n_teachers = len(self.teacher) if isinstance(self.teacher, (list, tuple)) else 1
            if not isinstance(self.teacher, (list, tuple)) or weights.shape != (n_teachers,):
                raise ValueError(
                    f"teacher_weights has shape {weights.shape}; it needs one weight per "
                    f"teacher of a list of teachers ({n_teachers} given)."
                )
            if not np.isfinite(weights).all() or (weights < 0).any() or weights.sum() <= 0:
                raise ValueError(
                    f"teacher_weights must be non-negative with a positive sum, got {weights}."
                )

    def _soft_labels(
        self, X, y, Xv, codes, sample_weight, recorded, kept, valid, reuse_teacher=False
    ):
        """Teacher outputs of the ``kept`` rows (a classifier's logits, aligned to
        ``classes_``; a regressor's predictions in ``y``'s units).

        The teacher is fitted on the labelled rows outside the validation rows
        (``valid``), with ``sample_weight`` as given, unless ``reuse_teacher``
        (``teacher_`` asked as it is); a row that is not kept (weight 0) counts
        as absent and is never labelled.
        """
        if recorded is not None:
            self.teacher_ = None
            return self._check_recorded(recorded, len(Xv), kept)
        self._check_teacher()
        labelled = self._labelled(codes) & ~valid
        memory = self._teacher_memory()
        if not reuse_teacher:  # a teacher fitted here gets its rows as an array of their own
            rows = np.flatnonzero(labelled)
            teachers = teacher_list(self.teacher)
            if not len(rows) and any(map(is_refittable, teachers)):
                raise ValueError(
                    f"There is no labelled row to fit the teacher on: unlabeled_label="
                    f"{self.unlabeled_label!r} marks every training row. Pass a fitted "
                    "teacher (FrozenEstimator) to learn from it alone."
                )
            X_lab = X if labelled.all() else _safe_indexing(X, rows)
            weight_lab = None if sample_weight is None else sample_weight[rows]
            self.teacher_ = fit_teacher(self.teacher, X_lab, y[rows], weight_lab, memory)
        logits = np.empty((len(Xv), self._n_outputs()), dtype=self._TEACHER_DTYPE)
        if self.teacher_cv is not None:  # out-of-fold labels for the labelled rows
            rows = np.flatnonzero(labelled & kept)
            weight_rows = None if sample_weight is None else sample_weight[rows]
            logits[rows] = self._out_of_fold(
                _safe_indexing(X, rows), y[rows], weight_rows, memory, rows
            )
        asked = np.flatnonzero(kept if self.teacher_cv is None else kept & ~labelled)
        if len(asked):
            rows = None if len(asked) == len(Xv) else asked
            logits[asked] = self._ask_teacher(X, Xv, memory, rows)
        return logits if kept.all() else logits[kept]

    def _teacher_memory(self):
        """The cache of ``teacher_memory`` as a ``joblib.Memory``; ``None`` without one,
        so that the teacher is never hashed then (check_memory(None) caches nothing,
        but would still hash every argument)."""
        memory = self.teacher_memory
        if memory is None:
            return None
        return check_memory(os.fspath(memory) if isinstance(memory, os.PathLike) else memory)

    def _munge(self, X, Xs, rows, codes, soft, sample_weight, seed):
        """The student's training rows followed by MUNGE rows, labelled by the teacher only.

        ``X`` are the rows as the teacher takes them (a frame as the user gave
        it, else checked), ``Xs`` as the student
        does, ``rows`` the training rows among them (all for ``None``). ``soft``
        are the teacher's outputs as the net trains on them; the new rows' are
        encoded alike (``_encode_targets``).
        """
        X, Xs = (X, Xs) if rows is None else (_safe_indexing(X, rows), Xs[rows])
        if len(Xs) < 2:
            raise ValueError(
                "augment='munge' moves each training row toward its nearest neighbour: it "
                f"needs at least 2 training rows, got {len(Xs)}."
            )
        rng = np.random.default_rng(seed)
        params = self.augment_factor, self.munge_swap_prob, self.munge_sd_divisor, rng
        preprocessor = getattr(self, "preprocessor_", None)  # absent from older pickles
        if preprocessor is None:  # the student's numbers are the teacher's
            X_new = numbers = Xs_new = munge(Xs, *params)
            if is_frame(X):  # a teacher fitted on a frame expects one, of its types
                import pandas as pd

                X_new = pd.DataFrame(X_new, columns=X.columns).astype(X.dtypes.to_dict())
        else:  # rows as the teacher takes them: categories stay categories
            X_new = numbers = munge_table(X, Xs, *params)
            Xs_new = student_rows(preprocessor, raw_rows(X_new))
        soft_new = self._ask_teacher(X_new, numbers, self._teacher_memory())
        codes_new, soft_new = self._encode_targets(self._no_targets(len(X_new)), soft_new)
        if sample_weight is not None:
            sample_weight = np.concatenate(
                [sample_weight, np.tile(sample_weight, self.augment_factor)]
            )
        return (
            np.concatenate([Xs, Xs_new]),
            np.concatenate([codes, codes_new]),
            np.concatenate([soft, soft_new]),
            sample_weight,
        )


class DistilledClassifier(ClassifierTask, Distillation):
    """Neural-network classifier distilled from a teacher's soft labels.

    The student, a PyTorch network trained through skorch, learns from the
    labels ``y`` and from the class probabilities of a teacher: any
    scikit-learn-compatible classifier, several of them, a PyTorch network, or
    soft labels recorded elsewhere (``teacher_proba``). The teacher is asked
    once per fit; it never trains inside the student's optimizer.

    Parameters
    ----------
    teacher : estimator, list of estimators, torch.nn.Module or None, default=None
        Source of the soft labels.

        - A classifier is cloned and fitted on ``X, y`` in ``fit`` (so a grid
          search refits it per fold); the object passed is never fitted.
        - A fitted classifier wrapped in :class:`sklearn.frozen.FrozenEstimator`
          is used as it is, never refitted: the way to pass a fitted teacher.
        - An object with ``predict_proba`` or ``decision_function`` and
          ``classes_`` but no ``fit`` is used as it is.
        - A ``torch.nn.Module`` is used as it is (eval mode, no gradient); its
          outputs are the logits (or log-probabilities) of the sorted classes
          of ``y``: a tensor, or a dict or object holding ``logits``. A final
          softmax is a ``ValueError``.
        - A skorch net is a classifier like the others, given ``X`` in float32;
          a fitted plain ``NeuralNet`` (no ``classes_``) in ``FrozenEstimator``
          teaches with its network, as a ``torch.nn.Module``.
        - A list of the above: their probabilities are averaged (weighted by
          ``teacher_weights``), each teacher's classes matched by label.
        - ``None``: soft labels are passed to ``fit`` as ``teacher_proba``.

        Inside a ``Pipeline``, the teacher sees the same transformed ``X`` as
        the student.
    temperature : float, default=1.0
        Softmax temperature ``T`` of the soft term; larger values flatten the
        teacher's distribution and reveal more of its ranking of classes.
    alpha : float in [0, 1], default=0.5
        Weight of the soft (teacher) term; ``1 - alpha`` weighs the hard-label
        cross-entropy. ``alpha=0`` is plain supervised training.
    loss : {"kl", "mse"}, default="kl"
        Soft term: ``"kl"`` as in the Notes, or ``"mse"``, logit matching (Ba &
        Caruana 2014): ``mean((s - mean(s) - t + mean(t))**2) / 2`` over the
        classes, the large-``T`` limit of the KL term (``temperature`` unused).
        Logit matching suits teachers with real logits; the floored ``log(0)``
        of a probability-only teacher makes distant targets.
    teacher_weights : array-like of shape (n_teachers,), default=None
        Weights of a list of teachers in the average; ``None``: equal weights.
    teacher_cv : int, cross-validation generator or iterable, default=None
        Out-of-fold soft labels: each labelled row is labelled by a clone of
        the teacher fitted on the other folds (``cross_val_predict``), since
        forests, boosting or nearest neighbours are overconfident on their own
        training rows. ``teacher_`` is still fitted on all labelled rows and
        labels the unlabelled and synthetic rows. Needs a teacher that can be
        refitted (not a ``FrozenEstimator``).
    unlabeled_label : int, float, str or None, default=None
        Marker of rows without a label, e.g. ``-1`` (the convention of
        ``sklearn.semi_supervised``). Those rows get the soft term only, the
        teacher is fitted on the labelled rows alone, and the marker never
        becomes a class. ``None``: every value of ``y`` is a class (``{-1, 1}``
        is a common pair of labels). Unlabelled rows add information, not
        steps: an epoch visits as many rows as are labelled (plus synthetic
        ones), drawn among all rows.
    keep_teacher : bool, default=True
        Keep the fitted teacher as ``teacher_`` after ``fit``. ``False`` sets
        ``teacher_`` to ``None``, so that a pickle of the student holds what
        prediction needs and not, say, a forest a thousand times its size
        (a teacher passed already fitted, e.g. in ``FrozenEstimator``, is a
        parameter and stays: ``set_params(teacher=None)`` before saving).
        :mod:`sktkd.metrics` then needs the teacher passed in, and
        ``partial_fit`` a teacher that is already fitted.
    teacher_memory : str, path, joblib.Memory or None, default=None
        Cache of the fitted teacher and its soft labels, as
        ``Pipeline(memory=...)`` caches transformers: a directory or a
        ``joblib.Memory``. A fit whose teacher (its parameters), rows, labels
        and weights were seen before loads them instead of fitting and asking
        the teacher again: a grid search over the student's parameters fits
        the teacher once per fold, not once per candidate, also across
        processes sharing the directory. ``FrozenEstimator`` and other
        teachers that are not fitted here are only asked through the cache.
        The key is the teacher pickled, tensors by value (the code of its class
        and of the functions it calls are not part of it;
        a teacher that does not pickle, such as a class of a script's
        ``__main__`` in a worker process, goes without the cache, with a
        warning) and the rows: with ``early_stopping`` and
        ``random_state=None`` each fit holds out other rows, so the teacher's
        rows differ and the cache never serves. ``None``: no cache.
    n_jobs : int or None, default=None
        Jobs fitting the ``teacher_cv`` folds in parallel, as
        ``cross_val_predict``'s ``n_jobs`` (``None``: one, unless in a
        ``joblib.parallel_config`` context; ``-1``: all processors).
    augment : {"munge"} or None, default=None
        ``"munge"`` adds ``augment_factor`` synthetic rows per training row,
        labelled by the teacher and trained on the soft term only (Buciluǎ et
        al. 2006; see :func:`sktkd._munge.munge`): each row moves toward its
        nearest neighbour, each feature with probability ``munge_swap_prob``,
        to a value drawn from ``N(x'_a, |x_a - x'_a| / munge_sd_divisor)``
        (integer-valued features take ``x'_a`` itself).
        The rows are drawn once per fit, from ``random_state``; an epoch then
        covers them all.
    augment_factor : int, default=5
        Synthetic rows per training row.
    munge_swap_prob : float in [0, 1], default=0.5
        Probability that a feature is redrawn near the neighbour's value.
    munge_sd_divisor : float, default=1.0
        Local-variance divisor ``s`` of MUNGE: larger values keep synthetic
        features closer to the neighbour's.
    preprocessor : "auto", transformer or None, default="auto"
        Turns ``X`` into the student's numbers; the teacher always gets ``X``
        as given (a frame with categories and NaN, for a boosted teacher that
        takes them natively). It is cloned and fitted on the student's
        training rows in ``fit`` (not on the validation rows of
        ``early_stopping``), applied in ``predict*``, pickled and exported with
        the network (:func:`sktkd.to_onnx`); ``preprocessor__<name>`` sets
        its parameters. ``"auto"`` chooses at fit: rows of finite numbers go
        to the network as they are (it standardises them itself; then a NaN
        at prediction is a ``ValueError``, as in ``MLPClassifier``);
        otherwise a ``ColumnTransformer``: numeric and boolean columns
        through ``SimpleImputer`` (the mean) and ``MissingIndicator`` (a 0/1
        column per column that had missing values), other columns
        (categories, strings) through ``OneHotEncoder(handle_unknown=
        "ignore")`` (a missing value is a category of its own, an unknown
        category at prediction is all zeros). ``None``: ``X`` must be
        numbers. A transformer of your own must give a dense float array;
        with unlabelled rows (``unlabeled_label``) it is fitted on the
        labelled ones, since it may use ``y`` (``"auto"``'s, which does not, on
        all). The choice and the fit are the first fit's: ``warm_start`` and
        ``partial_fit`` keep them (a NaN first seen in a later chunk needs a
        transformer that imputes it from the start). ``"auto"`` refuses columns
        of dates and columns mixing numbers and text, and a column that
        changes kind (numbers, text or categories) between fit and predict,
        each with a ``ValueError`` naming the columns.
        ``n_features_in_`` and ``feature_names_in_`` are ``X``'s; the fitted
        transformer is ``preprocessor_``.
    module : torch.nn.Module class or instance, Keras model, default=None
        The student network; it must return logits (a final softmax is
        refused) and computes in float32. A class is built as
        ``module(n_features_in=..., n_classes=..., **module__params)``; an
        instance is copied, never trained in place. A Keras 3 model becomes a
        torch copy, as a Keras source of :class:`TransferClassifier` does (its
        dropout and batch normalisation would not see torch's training
        mode), without a first ``Normalization`` layer: sktkd's standardisation
        takes its place. ``None`` builds an MLP from
        ``hidden_layer_sizes``. Either way, the inputs are first standardised
        with statistics of the training rows, inside the network, in float64
        (see :class:`sktkd._modules.Standardize`).
    hidden_layer_sizes : tuple of int, default=(100,)
        Hidden layer widths of the default MLP; ``()`` gives a linear student,
        i.e. a multinomial logistic regression.
    max_epochs : int, default=100
        Passes over the training rows (see ``unlabeled_label`` for rows
        without labels).
    batch_size : int, default=64
        Rows per gradient step. ``MLPClassifier``'s ``min(200, n_samples)``
        trains about 2.4x as fast per epoch but lost accuracy in
        ``benchmarks/bench_quality.py`` (see ``benchmarks/README.md``).
    lr : float, default=1e-3
        Learning rate.
    optimizer : torch.optim.Optimizer class, default=torch.optim.Adam
        Further arguments as ``optimizer__<name>``, e.g. ``optimizer__weight_decay``.
    early_stopping : bool, default=False
        Hold out a stratified ``validation_fraction`` of the labelled rows
        (before the teacher is fitted, so it never sees them), record their
        ``valid_loss``, accuracy ``valid_acc`` and agreement with the
        teacher's classes ``valid_agreement`` each epoch (weighted like the
        loss), stop when ``valid_acc`` has not improved by ``tol`` for more
        than ``n_iter_no_change`` epochs, and keep the weights of the best
        ``valid_acc`` (``MLPClassifier``'s rule). To follow another score, e.g. the
        agreement, route skorch's parameters to the rule, named
        ``"early_stopping"``: ``callbacks__early_stopping__monitor=
        "valid_agreement"``. Without it, training stops by the same rule on the
        training loss (no weights restored), as in ``MLPClassifier``.
    validation_fraction : float in (0, 1), default=0.1
        Share of the labelled rows held out with ``early_stopping``.
    n_iter_no_change : int, default=10
        Epochs without an improvement of ``tol`` that training tolerates.
    tol : float, default=1e-4
        Smallest improvement of the monitored score (accuracy, or training
        loss) that counts.
    warm_start : bool, default=False
        ``fit`` continues from the fitted student (its weights, input
        standardisation and ``history_``; a fresh optimizer) for
        ``max_epochs`` more, as ``MLPClassifier``'s. ``y`` must have the same
        classes, and ``module``, ``hidden_layer_sizes`` and ``module__*`` must
        be unchanged (else ``ValueError``).
    class_weight : dict, "balanced" or None, default=None
        Weights of the classes in the student's loss, multiplied with
        ``sample_weight`` as in scikit-learn's classifiers (they also weigh
        the input statistics). ``"balanced"``: ``n / (n_classes * n_k)``. The
        teacher is fitted with ``sample_weight`` alone; unlabelled rows keep
        weight 1.
    device : str, default="cpu"
        ``"cpu"``, ``"cuda"``, ``"cuda:<index>"``, or ``"auto"`` (CUDA when available).
    accelerator : accelerate.Accelerator or None, default=None
        Train through Hugging Face accelerate with skorch's ``AccelerateMixin``:
        mixed precision (``Accelerator(mixed_precision="bf16")``, ``"fp16"``),
        and data parallelism over the processes of ``accelerate launch`` (each
        is given all the rows and takes its share of every batch; validation,
        prediction and the teacher run whole in each). The accelerator places
        the network and batches on ``accelerator.device``, so ``device`` is
        then left at ``"cpu"`` or ``"auto"`` or names that device (else
        ``ValueError``). The fitted student keeps no trace of it: a float32
        network on that device, which pickles and exports without accelerate.
        Needs ``pip install sktkd[accelerate]``; see the user guide, "Scaling
        out" (what it refuses, and its cost: on one CPU it only slows).
    n_threads : int in [1, 4096] or None, default=None
        CPU threads torch uses while this estimator trains or predicts; the
        calling thread's setting (``torch.get_num_threads()``) is restored
        after. ``None``: one thread for the batches of a small network
        (``batch_size`` times the network's parameters under 10 million; a
        prediction batch of up to 4,096 rows, under 2 million), where more
        threads gain nothing on an idle machine and are far slower on a busy
        one; torch's setting otherwise. A teacher estimator keeps its own.
        Measured in ``benchmarks/README.md`` ("Threads"); see the user
        guide, "Speed and threads".
    random_state : int, RandomState instance or None, default=None
        Seeds the network's initialisation, dropout and batch order: fits with
        the same integer are repeatable on CPU.
    verbose : int, default=0
        ``1`` prints skorch's table of epochs.
    callbacks : list of skorch callbacks, default=None
        skorch callbacks (instances or classes, optionally as ``(name,
        callback)`` pairs), added to skorch's defaults. Each fit uses shallow
        copies: the objects passed are never modified, and what they hold (a
        file, a writer, a lock) is shared, not copied. They see ``y`` as class
        indices (``-1``: unlabelled or synthetic rows) and the standardised
        rows as ``X``, so skorch's ``EpochScoring("accuracy")``,
        ``EarlyStopping``, ``Checkpoint``, ``LRScheduler`` and
        ``ProgressBar`` work as on a skorch net; ``valid_loss`` exists with
        ``early_stopping``.
    **kwargs
        ``module__<name>``, ``optimizer__<name>`` constructor arguments, and
        ``callbacks__<name>__<param>`` callback parameters (``<name>`` as
        given, or the class name; ``callbacks__<name>=None`` drops one),
        settable and grid-searchable like any parameter, as in skorch.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels, in the order of ``predict_proba``'s columns.
    n_features_in_ : int
        Number of features seen during ``fit``.
    feature_names_in_ : ndarray of shape (``n_features_in_``,)
        Names of features seen during ``fit``, when ``X`` has string column names.
    preprocessor_ : transformer or None
        The fitted ``preprocessor`` (``None``: the network takes ``X`` as it is).
    teacher_ : estimator, list, torch.nn.Module or None
        The fitted teacher(s); ``None`` when ``teacher_proba`` was given or
        with ``keep_teacher=False``.
    net_ : skorch.NeuralNet
        The trained skorch net; its ``module_`` is the body, which takes
        standardised inputs.
    standardize_ : torch.nn.Module
        The fixed input standardisation, float64 statistics of the training
        rows (weighted by ``sample_weight``).
    module_ : torch.nn.Module
        The trained student network, ``Sequential(standardize, body)``: it
        takes raw features (with a ``preprocessor_``, its output) and returns
        logits.
    history_ : skorch.History
        Per-epoch training record (``history_[:, "train_loss"]``, and
        ``"valid_loss"``, ``"valid_acc"``, ``"valid_agreement"`` with
        ``early_stopping``).
    n_iter_ : int
        Epochs trained, over all fits of a warm start or ``partial_fit``.
    loss_curve_ : list of float
        Training loss of each epoch.
    validation_scores_ : list of float or None
        Validation accuracy of each epoch that had a validation split
        (``early_stopping``); ``None`` if none had.
    best_validation_score_ : float or None
        Best of ``validation_scores_``; ``None`` without ``early_stopping``.
    best_loss_ : float or None
        Lowest training loss without ``early_stopping``; else ``None``.

    See Also
    --------
    TransferClassifier : Adapt a network trained on another task.

    Notes
    -----
    With ``t`` the teacher's logits and ``s`` the student's, each row's loss is
    (Hinton et al. 2015)::

        loss = alpha * T**2 * KL(softmax(t / T) || softmax(s / T))
               + (1 - alpha) * CE(y, softmax(s))

    ``alpha`` weighs the soft term (some libraries weigh the hard term
    instead); ``T**2`` keeps the soft gradients' scale independent of ``T``.
    The teacher's logits are ``log(p)`` of its ``predict_proba`` (equal to its
    logits up to a per-row constant, which softmax ignores; ``p = 0`` gives
    ``-inf``, so it stays 0 at every temperature), or its
    ``decision_function`` when it has no ``predict_proba``: a binary score
    ``s`` gives the logits ``[0, s]``. Every teacher output is checked like
    ``teacher_proba`` (finite, one row per sample and one column per class,
    probabilities non-negative summing to 1).
    Columns are matched to ``classes_`` by label: a teacher lacking a class of
    ``y`` is an error; classes it knows beyond ``y`` are dropped and its
    probabilities renormalised, with a warning.

    References
    ----------
    G. Hinton, O. Vinyals, J. Dean. Distilling the Knowledge in a Neural
    Network. NIPS Deep Learning Workshop, 2015.

    Buciluǎ, R. Caruana, A. Niculescu-Mizil. Model Compression. KDD 2006.

    J. Ba, R. Caruana. Do Deep Nets Really Need to be Deep? NIPS 2014.

    Examples
    --------
    >>> from sklearn.datasets import load_breast_cancer
    >>> from sklearn.ensemble import HistGradientBoostingClassifier
    >>> from sklearn.frozen import FrozenEstimator
    >>> from sktkd import DistilledClassifier
    >>> X, y = load_breast_cancer(return_X_y=True)
    >>> expert = HistGradientBoostingClassifier(random_state=0).fit(X, y)
    >>> student = DistilledClassifier(FrozenEstimator(expert), random_state=0).fit(X, y)
    >>> student.predict_proba(X[:2]).shape
    (2, 2)
    >>> bool((student.predict(X) == expert.predict(X)).mean() > 0.95)
    True
    """

    _parameter_constraints: dict = {
        **Distillation._parameter_constraints,
        **ClassifierTask._TASK_CONSTRAINTS,
        "temperature": [Interval(Real, 0, None, closed="neither")],
        "loss": [StrOptions({"kl", "mse"})],
    }

    def __init__(
        self,
        teacher=None,
        *,
        temperature=1.0,
        alpha=0.5,
        loss="kl",
        teacher_weights=None,
        teacher_cv=None,
        unlabeled_label=None,
        keep_teacher=True,
        teacher_memory=None,
        n_jobs=None,
        augment=None,
        augment_factor=5,
        munge_swap_prob=0.5,
        munge_sd_divisor=1.0,
        preprocessor="auto",
        module=None,
        hidden_layer_sizes=(100,),
        max_epochs=100,
        batch_size=64,
        lr=1e-3,
        optimizer=torch.optim.Adam,
        early_stopping=False,
        validation_fraction=0.1,
        n_iter_no_change=10,
        tol=1e-4,
        warm_start=False,
        class_weight=None,
        device="cpu",
        accelerator=None,
        n_threads=None,
        random_state=None,
        verbose=0,
        callbacks=None,
        **kwargs,
    ):
        self.teacher = teacher
        self.temperature = temperature
        self.alpha = alpha
        self.loss = loss
        self.teacher_weights = teacher_weights
        self.teacher_cv = teacher_cv
        self.unlabeled_label = unlabeled_label
        self.keep_teacher = keep_teacher
        self.teacher_memory = teacher_memory
        self.n_jobs = n_jobs
        self.augment = augment
        self.augment_factor = augment_factor
        self.munge_swap_prob = munge_swap_prob
        self.munge_sd_divisor = munge_sd_divisor
        self.preprocessor = preprocessor
        self.module = module
        self.hidden_layer_sizes = hidden_layer_sizes
        self.max_epochs = max_epochs
        self.batch_size = batch_size
        self.lr = lr
        self.optimizer = optimizer
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.tol = tol
        self.warm_start = warm_start
        self.class_weight = class_weight
        self.device = device
        self.accelerator = accelerator
        self.n_threads = n_threads
        self.random_state = random_state
        self.verbose = verbose
        self.callbacks = callbacks
        vars(self).update(kwargs)

    @_fit_context(prefer_skip_nested_validation=False)  # the teacher validates its own
    def fit(self, X, y, sample_weight=None, teacher_proba=None):
        """Fit the teacher if needed, ask it once, and train the student.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training rows; the teacher receives them as given.
        y : array-like of shape (n_samples,)
            Class labels of any kind; ``unlabeled_label`` marks rows without one.
        sample_weight : array-like of shape (n_samples,), default=None
            Row weights for the student's loss, also passed to the teacher's
            ``fit`` when it is fitted here.
        teacher_proba : array-like of shape (n_samples, n_classes), default=None
            Recorded soft labels (e.g. an expert's decisions), columns in the
            order of the sorted classes of ``y``; requires ``teacher=None``.

        Returns
        -------
        self : DistilledClassifier

        Raises
        ------
        ValueError
            On bad inputs or parameters; when a teacher's output is not finite,
            of the wrong shape or not probabilities (the teacher is named); or
            when training diverges (a non-finite loss or weight).

        Warns
        -----
        UserWarning
            When the teacher's soft labels on the training rows are nearly
            one-hot and agree with ``y``: the soft term then teaches nothing.
        ConvergenceWarning
            When the student ends near chance on its own training rows.
        """
        return self._fit(X, y, sample_weight, teacher_proba)

    @_fit_context(prefer_skip_nested_validation=False)
    def partial_fit(self, X, y, classes=None, sample_weight=None, teacher_proba=None):
        """One pass (epoch) over ``X, y``, continuing the fitted student.

        The basis of training on data that does not fit in memory: call it
        once per chunk. The first call builds the student, with the input
        standardisation computed from that call's rows; later calls keep it.
        No validation split and no stopping rule apply, as in
        ``MLPClassifier.partial_fit``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
        classes : array-like of shape (n_classes,), default=None
            Every class of the task; required on the first call, as in
            scikit-learn's incremental classifiers.
        sample_weight : array-like of shape (n_samples,), default=None
        teacher_proba : array-like of shape (n_samples, n_classes), default=None
            Recorded soft labels of these rows (requires ``teacher=None``).

        Returns
        -------
        self : DistilledClassifier

        Raises
        ------
        ValueError
            As ``fit``; also when the teacher would need fitting (pass a fitted
            one in ``FrozenEstimator``, or ``teacher_proba``), with
            ``teacher_cv`` or ``class_weight="balanced"``, and when ``classes``
            is missing on the first call or ``y`` holds other labels.
        """
        return self._fit(X, y, sample_weight, teacher_proba, incremental=True, classes=classes)

    # --- what a classifier's teacher gives: logits ------------------------------

    _RECORDED, _TEACHER_KEY, _TEACHER_KIND = "teacher_proba", "teacher_logits", "classifier"
    _TEACHER_DTYPE = np.float32

    def _criterion(self):
        return DistillationLoss(self.temperature, self.alpha, self.loss)

    def _check_teacher(self):
        check_teacher(self.teacher)

    def _ask_teacher(self, X, X_array, memory, rows=None):
        return teacher_logits(
            self.teacher_, X, X_array, self.classes_, self.teacher_weights, memory, rows=rows
        )

    def _out_of_fold(self, X, y, sample_weight, memory, row_numbers):
        return out_of_fold_logits(
            self.teacher,
            X,
            y,
            self.teacher_cv,
            sample_weight,
            self.teacher_weights,
            self.classes_,
            memory,
            self.n_jobs,
            row_numbers=row_numbers,
        )

    def _check_recorded(self, recorded, n_rows, kept):
        return check_teacher_proba(recorded, n_rows, self.classes_, kept)

    @staticmethod
    def _teacher_decisions(soft):
        """The teacher's classes (codes), for the agreement score."""
        return soft.argmax(axis=1)

    def _warn_about_teacher(self, soft, codes, recorded=False, incremental=False):
        """Warn when the soft term can only repeat the labels (of a fit, from a
        teacher: recorded soft labels are what they are).

        That is when every row is labelled and the teacher's probabilities at
        ``temperature`` are nearly one-hot (on average less than 1% off the
        top class) and agree with ``y`` on 99% of the rows or more. The
        remedies named are those that can help this teacher.
        """
        if recorded or incremental or self.alpha == 0:
            return
        if self.augment is not None or (codes < 0).any():
            return  # the teacher also labels rows that y does not
        proba = softmax(soft.astype(np.float64) / self.temperature, axis=1)
        spread = np.mean(1 - proba.max(axis=1))
        if spread >= 0.01 or np.mean(proba.argmax(axis=1) == codes) < 0.99:
            return
        remedies = ["augment='munge' (synthetic rows the teacher labels)"]
        teachers = teacher_list(self.teacher)
        if self.teacher_cv is None and all(map(is_refittable, teachers)):
            remedies.insert(0, "teacher_cv=5 (out-of-fold soft labels)")
        elif self.teacher_cv is None and all(
            is_refittable(one) or isinstance(one, FrozenEstimator) for one in teachers
        ):
            remedies.insert(
                0,
                "teacher_cv=5 with the unfitted teacher instead of a frozen one "
                "(out-of-fold soft labels)",
            )
        # A temperature flattens finite logits; it cannot lift exact zeros (-inf).
        if np.isfinite(np.sort(soft, axis=1)[:, -2]).any():
            remedies.append("a higher temperature")
        warnings.warn(
            f"The teacher's soft labels on the training rows are nearly one-hot (on "
            f"average {spread:.2g} of the probability is off the top class at "
            f"temperature={self.temperature}) and agree with y: the soft term teaches "
            "nothing the labels do not. Forests, boosting and nearest neighbours are "
            "this confident on their own training rows. Remedies: " + "; ".join(remedies) + ".",
            UserWarning,
            stacklevel=5,
        )


class DistilledRegressor(RegressorTask, Distillation):
    """Neural-network regressor distilled from a teacher's predictions.

    The student, a PyTorch network trained through skorch, learns from the
    targets ``y`` and from the predictions of a teacher: any
    scikit-learn-compatible regressor (a forest, boosting, a pipeline), several
    of them, a PyTorch network, or predictions recorded elsewhere
    (``teacher_pred``). The teacher is asked once per fit. ``y`` may have
    several outputs, of any scale: the targets are standardised inside (see
    Notes) and predictions come back in ``y``'s units.

    Parameters
    ----------
    teacher : estimator, list of estimators, torch.nn.Module or None, default=None
        Source of the predictions the student learns from.

        - A regressor is cloned and fitted on ``X, y`` in ``fit``; the object
          passed is never fitted.
        - A fitted regressor in :class:`sklearn.frozen.FrozenEstimator` is used
          as it is, never refitted; so is an object with ``predict`` and no
          ``fit``.
        - A ``torch.nn.Module`` is used as it is (eval mode, no gradient): its
          output, of shape ``(n_samples,)`` or ``(n_samples, n_outputs)``, is
          the prediction in ``y``'s units.
        - A list of the above: their predictions are averaged, weighted by
          ``teacher_weights``.
        - ``None``: predictions are passed to ``fit`` as ``teacher_pred``.

        A classifier, clusterer or outlier detector is refused (``ValueError``):
        its ``predict`` gives labels.
    alpha : float in [0, 1], default=0.5
        Weight of the teacher term; ``1 - alpha`` weighs the error against
        ``y``. ``alpha=0`` is plain supervised training.
    teacher_weights, teacher_cv, keep_teacher, teacher_memory, n_jobs, augment, \
augment_factor, munge_swap_prob, munge_sd_divisor
        As in :class:`DistilledClassifier`, with predictions for soft labels:
        ``teacher_cv`` gives each labelled row the prediction of a clone fitted
        on the other folds (``KFold``, as ``cross_val_predict`` splits for a
        regressor), since a forest nearly repeats ``y`` on its own training
        rows; ``augment="munge"`` adds synthetic rows that only the teacher
        labels, where a regression student gains most (see the user guide).
    unlabeled_label : float or None, default=None
        Marker of rows without a target, e.g. ``np.nan``: those rows get the
        teacher term only (the teacher is fitted on the labelled rows), as in
        :class:`DistilledClassifier`. Off by default: a NaN in ``y`` is then a
        ``ValueError``, as in scikit-learn. A row is labelled in all its
        outputs or in none.
    preprocessor, module, hidden_layer_sizes, max_epochs, batch_size, lr, optimizer, \
early_stopping, validation_fraction, n_iter_no_change, tol, warm_start, device, accelerator, \
n_threads, random_state, verbose, callbacks, **kwargs
        As in :class:`DistilledClassifier`, for values: a ``module`` class is
        built as ``module(n_features_in=..., n_outputs=..., **module__params)``
        and returns one value per output (standardised, see Notes);
        ``early_stopping`` holds out a random ``validation_fraction`` of the
        labelled rows, records their R² ``valid_r2`` and the R² against the
        teacher's predictions ``valid_fidelity`` each epoch, and follows
        ``valid_r2`` (``MLPRegressor``'s rule); ``callbacks`` see ``y`` as the
        standardised targets (NaN: no label), so losses (``loss_curve_``,
        ``valid_loss``) and error scores are in standardised units, R² in any.

    Attributes
    ----------
    n_outputs_ : int
        Number of outputs of ``y``.
    target_scaling_ : torch.nn.Module
        Mean and scale (float64) with which the targets are standardised for
        the network: the weighted mean of the labelled training rows, and the
        larger spread of their targets and of the teacher's predictions (a
        constant output: the rounding error of its values).
    n_features_in_, feature_names_in_, teacher_, net_, standardize_, history_, n_iter_, \
loss_curve_, best_loss_
        As in :class:`DistilledClassifier`.
    module_ : torch.nn.Module
        The trained network, ``Sequential(standardize, body,
        target_scaling)``: raw features in, values in ``y``'s units out.
    validation_scores_ : list of float or None
        Validation R² of each epoch that had a validation split.
    best_validation_score_ : float or None
        R² of the epoch whose weights were kept; ``None`` without
        ``early_stopping``.

    See Also
    --------
    DistilledClassifier : The same for classes.
    TransferRegressor : Adapt a network trained on another task.

    Notes
    -----
    With ``s`` the student's output, ``t`` the teacher's prediction and ``y``
    the target, each standardised with ``target_scaling_``, each row's loss
    is (Buciluǎ et al. 2006; Ba & Caruana 2014, whose students regress the
    teacher's outputs with a squared error)::

        loss = alpha * MSE(s, t) + (1 - alpha) * MSE(s, y)

    the squared errors averaged over the outputs, then over the rows of a
    batch, weighted by ``sample_weight``. A row without a target has the
    teacher term only. Regression has no temperature: the teacher's
    prediction is its whole output. Every teacher output is checked (finite,
    one row per sample, one column per output).

    References
    ----------
    Buciluǎ, R. Caruana, A. Niculescu-Mizil. Model Compression. KDD 2006.

    J. Ba, R. Caruana. Do Deep Nets Really Need to be Deep? NIPS 2014.

    Examples
    --------
    >>> from sklearn.datasets import make_friedman1
    >>> from sklearn.ensemble import RandomForestRegressor
    >>> from sktkd import DistilledRegressor
    >>> X, y = make_friedman1(n_samples=500, random_state=0)
    >>> student = DistilledRegressor(RandomForestRegressor(random_state=0), random_state=0)
    >>> student.fit(X, y).predict(X[:2]).shape
    (2,)
    >>> bool(student.score(X, y) > 0.8)
    True
    """

    _parameter_constraints: dict = {
        **Distillation._parameter_constraints,
        **RegressorTask._TASK_CONSTRAINTS,
        "unlabeled_label": [None, Real],
    }

    def __init__(
        self,
        teacher=None,
        *,
        alpha=0.5,
        teacher_weights=None,
        teacher_cv=None,
        unlabeled_label=None,
        keep_teacher=True,
        teacher_memory=None,
        n_jobs=None,
        augment=None,
        augment_factor=5,
        munge_swap_prob=0.5,
        munge_sd_divisor=1.0,
        preprocessor="auto",
        module=None,
        hidden_layer_sizes=(100,),
        max_epochs=100,
        batch_size=64,
        lr=1e-3,
        optimizer=torch.optim.Adam,
        early_stopping=False,
        validation_fraction=0.1,
        n_iter_no_change=10,
        tol=1e-4,
        warm_start=False,
        device="cpu",
        accelerator=None,
        n_threads=None,
        random_state=None,
        verbose=0,
        callbacks=None,
        **kwargs,
    ):
        self.teacher = teacher
        self.alpha = alpha
        self.teacher_weights = teacher_weights
        self.teacher_cv = teacher_cv
        self.unlabeled_label = unlabeled_label
        self.keep_teacher = keep_teacher
        self.teacher_memory = teacher_memory
        self.n_jobs = n_jobs
        self.augment = augment
        self.augment_factor = augment_factor
        self.munge_swap_prob = munge_swap_prob
        self.munge_sd_divisor = munge_sd_divisor
        self.preprocessor = preprocessor
        self.module = module
        self.hidden_layer_sizes = hidden_layer_sizes
        self.max_epochs = max_epochs
        self.batch_size = batch_size
        self.lr = lr
        self.optimizer = optimizer
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.tol = tol
        self.warm_start = warm_start
        self.device = device
        self.accelerator = accelerator
        self.n_threads = n_threads
        self.random_state = random_state
        self.verbose = verbose
        self.callbacks = callbacks
        vars(self).update(kwargs)

    @_fit_context(prefer_skip_nested_validation=False)  # the teacher validates its own
    def fit(self, X, y, sample_weight=None, teacher_pred=None):
        """Fit the teacher if needed, ask it once, and train the student.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training rows; the teacher receives them as given.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Targets, of any scale; ``unlabeled_label`` marks rows without one.
        sample_weight : array-like of shape (n_samples,), default=None
            Row weights for the student's loss and the target statistics, also
            passed to the teacher's ``fit`` when it is fitted here.
        teacher_pred : array-like of shape (n_samples,) or (n_samples, n_outputs), \
default=None
            Recorded predictions (e.g. an expert's), in ``y``'s units;
            requires ``teacher=None``.

        Returns
        -------
        self : DistilledRegressor

        Raises
        ------
        ValueError
            On bad inputs or parameters (a NaN in ``y`` without
            ``unlabeled_label``); when a teacher's predictions are not finite or
            of the wrong shape (the teacher is named), or it is a classifier;
            or when training diverges.

        Warns
        -----
        UserWarning
            When the teacher's predictions on the training rows nearly repeat
            ``y`` (the teacher term then teaches nothing), or explain it worse
            than its mean (a teacher of other targets, or in other units).
        ConvergenceWarning
            When the student explains little of its own training rows.
        """
        return self._fit(X, y, sample_weight, teacher_pred)

    @_fit_context(prefer_skip_nested_validation=False)
    def partial_fit(self, X, y, sample_weight=None, teacher_pred=None):
        """One pass (epoch) over ``X, y``, continuing the fitted student.

        As :meth:`DistilledClassifier.partial_fit` (without ``classes``): the
        first call builds the student, with the input and target statistics of
        that call's rows; later calls keep them. The teacher must be fitted
        already (``FrozenEstimator``), or its predictions recorded.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
        sample_weight : array-like of shape (n_samples,), default=None
        teacher_pred : array-like of shape (n_samples,) or (n_samples, n_outputs), \
default=None

        Returns
        -------
        self : DistilledRegressor
        """
        return self._fit(X, y, sample_weight, teacher_pred, incremental=True)

    # --- what a regressor's teacher gives: predictions ---------------------------

    _RECORDED, _TEACHER_KEY, _TEACHER_KIND = "teacher_pred", "teacher_pred", "regressor"
    _TEACHER_DTYPE = np.float64

    def _criterion(self):
        return RegressionDistillationLoss(self.alpha)

    def _check_teacher(self):
        check_regression_teacher(self.teacher)

    def _ask_teacher(self, X, X_array, memory, rows=None):
        return teacher_predictions(
            self.teacher_, X, X_array, self.n_outputs_, self.teacher_weights, memory, rows=rows
        )

    def _out_of_fold(self, X, y, sample_weight, memory, row_numbers):
        return out_of_fold_predictions(
            self.teacher,
            X,
            y,
            self.teacher_cv,
            sample_weight,
            self.teacher_weights,
            memory,
            self.n_jobs,
            row_numbers,
        )

    def _check_recorded(self, recorded, n_rows, kept):
        return check_teacher_pred(recorded, n_rows, self.n_outputs_, kept)

    @staticmethod
    def _teacher_decisions(soft):
        """The teacher's standardised predictions, for the fidelity score."""
        return soft

    def _warn_about_teacher(self, soft, targets, recorded=False, incremental=False):
        """Warn when the teacher's predictions (also ``recorded`` ones, also in
        ``partial_fit``) on the labelled rows explain ``y`` worse than its mean
        (R² below 0: another task, other units?), or, in a fit from a teacher
        where every row is labelled and no row is synthetic, nearly repeat it
        (R² above 0.99: the teacher term then adds almost nothing; remedies as
        for :class:`DistilledClassifier`). Columns of ``y`` without spread, and
        fewer than 2 labelled rows, say nothing."""
        fidelity = None if self.alpha == 0 else labelled_r2(targets, soft)
        if fidelity is None:
            return
        if fidelity < 0:
            warnings.warn(
                f"The teacher predicts y worse than its mean on the labelled training rows "
                f"(R² {fidelity:.3g}): is it fitted on these targets, in these units? The "
                "student learns from both and matches neither.",
                UserWarning,
                stacklevel=5,
            )
            return
        if recorded or incremental or self.augment is not None or not self._labelled(targets).all():
            return
        if fidelity < 0.99:
            return
        remedies = ["augment='munge' (synthetic rows the teacher labels)"]
        teachers = teacher_list(self.teacher)
        if self.teacher_cv is None and all(map(is_refittable, teachers)):
            remedies.insert(0, "teacher_cv=5 (out-of-fold predictions)")
        warnings.warn(
            f"The teacher's predictions on the training rows nearly repeat y (R² "
            f"{fidelity:.4f}): the teacher term teaches little the targets do not. "
            "Forests and boosting fit their own training rows this closely. Remedies: "
            + "; ".join(remedies)
            + ".",
            UserWarning,
            stacklevel=5,
        )
