"""DistilledClassifier: a small network trained on a teacher's soft labels."""

from numbers import Real

import torch
from sklearn.base import _fit_context
from sklearn.utils._param_validation import Interval

from ._base import NeuralClassifierBase, resolve_device
from ._batches import Targets
from ._losses import DistillationLoss
from ._teacher import check_teacher, check_teacher_proba, fit_teacher, teacher_logits


class DistilledClassifier(NeuralClassifierBase):
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

        - An unfitted classifier is cloned and fitted on ``X, y`` in ``fit``
          (so a grid search refits it per fold); the object passed stays
          unfitted.
        - A fitted classifier wrapped in :class:`sklearn.frozen.FrozenEstimator`
          is used as it is, never refitted.
        - An object with ``predict_proba`` or ``decision_function`` and
          ``classes_`` but no ``fit`` is used as it is.
        - A ``torch.nn.Module`` is used as it is (eval mode, no gradient); its
          outputs are the logits of the sorted classes of ``y``.
        - A list of the above: their probabilities are averaged.
        - ``None``: soft labels are passed to ``fit`` as ``teacher_proba``.

        Inside a ``Pipeline``, the teacher sees the same transformed ``X`` as
        the student.
    temperature : float, default=3.0
        Softmax temperature ``T`` of the soft term; larger values flatten the
        teacher's distribution and reveal more of its ranking of classes.
    alpha : float in [0, 1], default=0.9
        Weight of the soft (teacher) term; ``1 - alpha`` weighs the hard-label
        cross-entropy. ``alpha=0`` is plain supervised training.
    module : torch.nn.Module class or instance, default=None
        The student network; it must return logits. A class is built as
        ``module(n_features_in=..., n_classes=..., **module__params)``; an
        instance is copied, never trained in place. ``None`` builds an MLP from
        ``hidden_layer_sizes``. Either way, the inputs are first standardised
        with statistics of the training rows, inside the network.
    hidden_layer_sizes : tuple of int, default=(100,)
        Hidden layer widths of the default MLP; ``()`` gives a linear student,
        i.e. a multinomial logistic regression.
    max_epochs : int, default=100
        Passes over the training rows.
    batch_size : int, default=64
        Rows per gradient step.
    lr : float, default=1e-3
        Learning rate.
    optimizer : torch.optim.Optimizer class, default=torch.optim.Adam
        Further arguments as ``optimizer__<name>``, e.g. ``optimizer__weight_decay``.
    device : str, default="cpu"
        ``"cpu"``, ``"cuda"``, ``"cuda:<index>"``, or ``"auto"`` (CUDA when available).
    random_state : int, RandomState instance or None, default=None
        Seeds the network's initialisation, dropout and batch order: fits with
        the same integer are repeatable on CPU.
    verbose : int, default=0
        ``1`` prints skorch's table of epochs.
    callbacks : list of skorch callbacks, default=None
        Added to skorch's defaults; copied, never modified.
    **kwargs
        ``module__<name>`` and ``optimizer__<name>`` constructor arguments,
        settable and grid-searchable like any parameter.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels, in the order of ``predict_proba``'s columns.
    n_features_in_ : int
        Number of features seen during ``fit``.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of features seen during ``fit``, when ``X`` has string column names.
    teacher_ : estimator, list, torch.nn.Module or None
        The fitted teacher(s); ``None`` when ``teacher_proba`` was given.
    net_ : skorch.NeuralNet
        The trained skorch net.
    module_ : torch.nn.Module
        The trained student network (standardisation included): it takes raw
        features and returns logits.
    history_ : skorch.History
        Per-epoch training record (``history_[:, "train_loss"]``).

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
    logits up to a per-row constant, which softmax ignores; ``p = 0`` is
    floored at 1e-30), or its ``decision_function`` when it has no
    ``predict_proba``: a binary score ``s`` gives the logits ``[0, s]``.
    Columns are matched to ``classes_`` by label: a teacher lacking a class of
    ``y`` is an error; classes it knows beyond ``y`` are dropped and its
    probabilities renormalised, with a warning.

    References
    ----------
    G. Hinton, O. Vinyals, J. Dean. Distilling the Knowledge in a Neural
    Network. NIPS Deep Learning Workshop, 2015.

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
        **NeuralClassifierBase._parameter_constraints,
        "teacher": "no_validation",  # checked by check_teacher, it has many forms
        "temperature": [Interval(Real, 0, None, closed="neither")],
        "alpha": [Interval(Real, 0, 1, closed="both")],
    }

    def __init__(
        self,
        teacher=None,
        *,
        temperature=3.0,
        alpha=0.9,
        module=None,
        hidden_layer_sizes=(100,),
        max_epochs=100,
        batch_size=64,
        lr=1e-3,
        optimizer=torch.optim.Adam,
        device="cpu",
        random_state=None,
        verbose=0,
        callbacks=None,
        **kwargs,
    ):
        self.teacher = teacher
        self.temperature = temperature
        self.alpha = alpha
        self.module = module
        self.hidden_layer_sizes = hidden_layer_sizes
        self.max_epochs = max_epochs
        self.batch_size = batch_size
        self.lr = lr
        self.optimizer = optimizer
        self.device = device
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
            Class labels of any kind.
        sample_weight : array-like of shape (n_samples,), default=None
            Row weights for the student's loss, also passed to the teacher's
            ``fit`` when it is fitted here.
        teacher_proba : array-like of shape (n_samples, n_classes), default=None
            Recorded soft labels (e.g. an expert's decisions), columns in the
            order of the sorted classes of ``y``; requires ``teacher=None``.

        Returns
        -------
        self : DistilledClassifier
        """
        self._check_extra_params()
        device = resolve_device(self.device)
        X32, y, y_encoded, sample_weight = self._validate_fit_data(X, y, sample_weight)
        soft = self._soft_labels(X, y, X32, sample_weight, teacher_proba)
        if sample_weight is not None:
            sample_weight = sample_weight / sample_weight.mean()
        # With alpha=0 the soft labels have no weight: don't carry them per batch.
        targets = Targets(y_encoded, soft if self.alpha > 0 else None, sample_weight)

        seed = self._seed()
        with self._fork_rng(device):
            torch.manual_seed(seed)
            network = self._build_network(X32, len(self.classes_))
            criterion = DistillationLoss(temperature=self.temperature, alpha=self.alpha)
            self.net_ = self._make_net(network, criterion, device, seed)
            self.net_.fit(self._dataset(X32, targets, device), None)
        return self

    def _soft_labels(self, X, y, X32, sample_weight, teacher_proba):
        """Teacher logits of every training row, aligned to ``classes_``."""
        if teacher_proba is not None:
            if self.teacher is not None:
                raise ValueError(
                    "Pass either a teacher or teacher_proba to fit, not both; "
                    "teacher_proba requires teacher=None."
                )
            self.teacher_ = None
            return check_teacher_proba(teacher_proba, len(X32), self.classes_)
        if self.teacher is None:
            raise ValueError(
                "No teacher: set teacher=<classifier> or pass fit(X, y, teacher_proba=P)."
            )
        check_teacher(self.teacher)
        self.teacher_ = fit_teacher(self.teacher, X, y, sample_weight)
        return teacher_logits(self.teacher_, X, X32, self.classes_)
