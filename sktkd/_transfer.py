"""Transfer: adapt a network trained on a source task to a target task.

One mechanism, :class:`Transfer` (start from the source's weights, give it a
fresh head, train in the phases of a strategy), serves both
:class:`TransferClassifier` and :class:`TransferRegressor`.
"""

import copy
import os
import threading
import warnings
from numbers import Integral, Real

import numpy as np
import torch
from sklearn.base import ClassNamePrefixFeaturesOutMixin, TransformerMixin, _fit_context
from sklearn.frozen import FrozenEstimator
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted
from skorch.callbacks import Freezer, Unfreezer

from ._accelerate import check_same_data
from ._base import (
    NeuralBase,
    drop_zero_weights,
    loss_weights,
    row_indices,
    training_rows,
)
from ._classifier import ClassifierTask
from ._keras import drop_after_head, is_keras_model
from ._losses import DistillationLoss, RegressionDistillationLoss
from ._modules import Standardize, whole_network
from ._net import TransferNet
from ._predict import untensor
from ._regressor import RegressorTask
from ._source import (
    BATCH_NORMS,
    find_head,
    layer_groups,
    load_into,
    load_weights,
    replace_head,
    same_classes,
    source_network,
)

# A target column has shifted when its mean lies this many source deviations
# from the source's mean, and as many standard errors of its own mean (so a
# rare value in a handful of rows is not a shift).
_SHIFT_DEVIATIONS = 3


def _warn_if_shifted(source, target, n_rows):
    """Warn when the target's inputs lie far from the source's: transfer may not help."""
    source_mean, source_scale = source.mean.cpu().numpy(), source.scale.cpu().numpy()
    gap = np.abs(target.mean.numpy() - source_mean)
    far = (gap > _SHIFT_DEVIATIONS * source_scale) & (
        gap > _SHIFT_DEVIATIONS * target.scale.numpy() / n_rows**0.5
    )
    shifted = np.flatnonzero(far)
    if len(shifted):
        distance = gap / source_scale
        columns = shifted[np.argsort(-distance[shifted])][:5].tolist()
        warnings.warn(
            f"The target's inputs are shifted from the source's: {len(shifted)} of "
            f"{len(distance)} columns (e.g. {columns}) have a mean more than "
            f"{_SHIFT_DEVIATIONS} source standard deviations from the source's. "
            "input_scaling='target' rescales them, but if the shift changed what a "
            "column means, the source's features may not transfer: compare with "
            "source=None (training from scratch).",
            UserWarning,
            stacklevel=6,
        )


def _in_body(name):
    """A name within the network as a name within its body."""
    return name.removeprefix("body.")


class Transfer(ClassNamePrefixFeaturesOutMixin, TransformerMixin, NeuralBase):
    """The transfer mechanism both transfer estimators share.

    A subclass (with its task part before this class) names its loss,
    ``_criterion``, and whether a source's head can be kept, ``_keeps_head``.
    """

    _parameter_constraints: dict = {
        **NeuralBase._parameter_constraints,
        "source": "no_validation",  # checked by source_network, it has many forms
        "strategy": [StrOptions({"full", "linear_probe", "lp_ft", "gradual"})],
        "head": [None, str],
        "probe_epochs": [Interval(Integral, 0, None, closed="left")],
        "stage_epochs": [Interval(Integral, 0, None, closed="left")],
        "finetune_lr_scale": [Interval(Real, 0, None, closed="neither")],
        "lr_decay": [Interval(Real, 0, 1, closed="right")],
        "l2sp": [Interval(Real, 0, None, closed="left")],
        "freeze_batchnorm": ["boolean"],
        "input_scaling": [StrOptions({"target", "source"})],
    }

    # A clone shares the source, read-only: cloning would unfit a fitted one.
    _SHARED_ON_CLONE = ("callbacks", "accelerator", "source")

    def get_params(self, deep=True):
        # The source is an input, not a sub-estimator to tune: its parameters
        # stay out of reach of set_params and grid searches.
        params = super().get_params(deep=deep)
        return {k: v for k, v in params.items() if not k.startswith("source__")}

    def set_params(self, **params):
        nested = sorted(k for k in params if k.startswith("source__"))
        if nested:
            raise ValueError(
                f"Cannot set {nested}: the source is never modified. Pass another source "
                "with set_params(source=...)."
            )
        return super().set_params(**params)

    def _fit(self, X, y, sample_weight, incremental=False, classes=None):
        sample_weight = untensor(sample_weight)
        with self._atomic_fit():
            self._check_params()
            device = self._fit_device()
            continues = self._continues(incremental)
            if continues:
                self._check_architecture(incremental)
            Xv, y, codes, sample_weight = self._validate_fit_data(
                X, y, sample_weight, None, incremental, classes
            )
            weight = self._student_weights(codes, sample_weight, incremental)
            seed = self._seed()
            valid = self._held_out(codes, weight, seed, incremental)
            seed = self._training_seed(seed, continues)
            train_rows, valid_rows = row_indices(weight, valid)  # X is read through them
            # The network's numbers (X checked as given: Xv).
            Xs = self._student_input(Xv, y, self._labelled(codes), train_rows, continues)
            check_same_data(self.accelerator, Xs, codes)
            weight, codes, valid = drop_zero_weights(weight, codes, valid)
            codes = self._encode_targets(codes, None, weight, valid, continues, incremental)[0]
            codes_tr, weight_tr = training_rows(valid, codes, weight)

            with self._fork_rng(device):
                torch.manual_seed(seed)
                if continues:
                    network, head, reference = self._continued_network(Xs, weight_tr, train_rows)
                    Z = network.standardize.transform(Xs, train_rows)
                else:
                    network, Z, head, reference = self._start_network(Xs, weight_tr, train_rows)
                train_set = self._dataset(
                    Z, codes_tr, device, sample_weight=loss_weights(weight_tr)
                )
                valid_set, valid_weights = self._validation_set(
                    network.standardize, Xs, valid_rows, codes, weight, valid, device
                )
                net = self._make_net(
                    network.body,
                    self._criterion(),
                    device,
                    seed,
                    net_class=TransferNet,
                    valid=valid_set,
                    valid_weights=valid_weights,
                    incremental=incremental,
                )
                phases = self._phases(len(layer_groups(network, head)))
                if incremental or continues:
                    # Continued training is the strategy's last phase (see partial_fit).
                    phases = [(1 if incremental else self.max_epochs, *phases[-1][1:])]
                resume = {"incremental": incremental} if continues else None
                self._train_in_phases(
                    net, network, head, train_set, reference, device, phases, resume
                )
            self.net_, self.standardize_, self.head_ = net, network.standardize.cpu(), head
            self._set_fitted_curves(net, incremental)
            if not incremental:
                self._warn_if_not_learnt(Z, codes_tr)
        return self

    def _continued_network(self, X, sample_weight, rows=None):
        """The fitted network (a copy), its head, and the L2-SP reference from the source."""
        network = whole_network(self.standardize_, copy.deepcopy(self.net_.module_))
        reference = {}
        if self.l2sp > 0 and self.source is not None:
            with warnings.catch_warnings():  # the first fit said it
                warnings.simplefilter("ignore")
                reference = self._start_network(X, sample_weight, rows)[3]
        return network, self.head_, reference

    def _new_preprocessor(self, X):
        """With ``preprocessor="auto"``, a source sktkd estimator's fitted preprocessor,
        frozen: its network takes the numbers that encoding gives (a new one, fitted
        on the target's rows, might give other columns)."""
        preprocessor = getattr(self.source, "preprocessor_", None)
        if isinstance(self.preprocessor, str) and preprocessor is not None:
            preprocessor = copy.deepcopy(preprocessor)  # (a source's own source's: frozen)
            frozen = isinstance(preprocessor, FrozenEstimator)
            return preprocessor if frozen else FrozenEstimator(preprocessor)
        return super()._new_preprocessor(X)

    def _start_network(self, Xv, sample_weight, rows=None):
        """The network to train, its standardised rows ``Xv[rows]``, its head, source
        parameter values."""
        n_classes = self._n_outputs()
        if self.source is None:
            network, Z = self._build_network(Xv, n_classes, sample_weight, rows)
            return network, Z, find_head(network, self.head), {}
        if isinstance(self.source, (str, os.PathLike)):
            state = load_weights(self.source)
            network = whole_network(Standardize(0.0, 1.0), self._build_body(Xv.shape[1], n_classes))
            head = find_head(network, self.head)
            loaded = load_into(network, state, head)
            reference = {k: loaded[k] for k, _ in network.named_parameters() if k in loaded}
        else:
            source, source_classes = source_network(self.source, Xv[:256])
            self._check_source_features()
            network = copy.deepcopy(source)
            network.body.float()  # the network computes in float32, whatever its source did
            head = find_head(network, self.head)
            if is_keras_model(self.source):  # its head's softmax goes with the head
                drop_after_head(network.body, head.removeprefix("body."))
            reference = {k: p.detach() for k, p in source.named_parameters()}
            if not self._keeps_head(source_classes):
                replace_head(network, head, n_classes)
                reference = {k: v for k, v in reference.items() if not k.startswith(head + ".")}
        # Scalar statistics: a source trained on unscaled inputs keeps them unscaled.
        scaled = network.standardize.mean.dim() > 0
        if scaled and len(network.standardize.mean) != Xv.shape[1]:
            encoded = ""
            if getattr(self, "preprocessor_", None) is not None:
                encoded = (
                    f" (X's {self.n_features_in_} columns, as the preprocessor encodes them: "
                    "one-hot categories, missing-value indicators)"
                )
            raise ValueError(
                f"X has {Xv.shape[1]} features{encoded}, but the source network's input "
                f"scaling has {len(network.standardize.mean)}: the target task must have "
                "the source's features."
            )
        if scaled:
            target = Standardize.from_data(Xv, sample_weight, rows)
            _warn_if_shifted(network.standardize, target, len(Xv) if rows is None else len(rows))
            if self.input_scaling == "target":
                # The source's statistics describe the source's inputs; a column
                # nearly constant there would reach the network far out of range.
                network.standardize = target
        Z = network.standardize.transform(Xv, rows)
        self._check_output(network.body, Z, n_classes)
        return network, Z, head, reference

    def _check_source_features(self):
        """The target's features must be the source's: same number, same names."""
        n_features = getattr(self.source, "n_features_in_", self.n_features_in_)
        if n_features != self.n_features_in_:
            raise ValueError(
                f"X has {self.n_features_in_} features, but the source network takes "
                f"{n_features}: the target task must have the source's features."
            )
        source_names = getattr(self.source, "feature_names_in_", None)
        names = getattr(self, "feature_names_in_", None)
        if source_names is not None and names is not None:
            if list(source_names) != list(names):
                raise ValueError(
                    "The feature names of X differ from the source's, or are in another "
                    f"order: the source was fitted on {list(source_names)}, X has "
                    f"{list(names)}. Pass the source's columns, in its order."
                )
        elif isinstance(self.source, NeuralBase) and (
            source_names is not None or names is not None
        ):
            named = "the source" if names is None else "X"
            warnings.warn(
                f"Only {named} has feature names; the columns are matched by position.",
                UserWarning,
                stacklevel=6,
            )

    def _phases(self, n_groups):
        """(epochs, number of layer groups that train from the head down, lr factor)."""
        if self.source is None or self.strategy == "full":
            return [(self.max_epochs, n_groups, 1.0)]
        if self.strategy == "linear_probe":
            return [(self.max_epochs, 1, 1.0)]
        if self.strategy == "lp_ft":
            probe = (self.probe_epochs, 1, 1.0)
            return [probe, (self.max_epochs, n_groups, self.finetune_lr_scale)]
        stages = [(self.stage_epochs, k, 1.0) for k in range(1, n_groups)]
        return [*stages, (self.max_epochs, n_groups, 1.0)]

    def _train_in_phases(self, net, network, head, dataset, reference, device, phases, resume):
        """Train ``net`` (whose module is ``network.body``) phase by phase from ``head`` down.

        ``phases`` as :meth:`_phases` gives them; ``resume`` (arguments of
        :meth:`_resume`, or ``None``): the single phase continues the fitted
        net's history (and optimizer state).
        """
        body = network.body
        groups = layer_groups(network, head)
        params = dict(network.named_parameters())
        reference = {k: v.to(device=device, dtype=torch.float32) for k, v in reference.items()}
        for epochs, n_training, lr_factor in phases:
            if epochs == 0:
                continue
            lrs, frozen_bn = {}, []
            for depth, group in enumerate(groups):
                training = depth < n_training
                for name in group:
                    module = network.get_submodule(name)
                    for pname, param in module.named_parameters(recurse=False):
                        param.requires_grad_(training)
                        if training:
                            lrs[f"{name}.{pname}"] = self.lr * lr_factor * self.lr_decay**depth
                    if not training and self.freeze_batchnorm and isinstance(module, BATCH_NORMS):
                        frozen_bn.append(name)
            # The net trains the body: its names lack the "body." prefix.
            net.param_lrs_ = {_in_body(k): lr for k, lr in lrs.items()}
            net.frozen_batchnorm_ = [_in_body(name) for name in frozen_bn]
            net.l2sp_ = self.l2sp
            net.l2sp_reference_ = [(params[k], ref) for k, ref in reference.items() if k in lrs]
            net.initialize_optimizer()
            if resume is not None:
                self._resume(net, **resume)
            body.eval()  # the next batch sets the modes of this phase
            net.max_epochs = epochs
            net.partial_fit(dataset)
        # Leave a plain trained network: nothing frozen, no training state.
        for param in network.parameters():
            param.requires_grad_(True)
        net.param_lrs_, net.frozen_batchnorm_, net.l2sp_reference_ = None, (), ()

    def _architecture(self):
        # The source and head shape the network too; input_scaling its input.
        params = {"head": self.head, "input_scaling": self.input_scaling}
        source = self.source
        if source is not None and not isinstance(source, (str, os.PathLike)):
            # Two sources may print alike: tell them apart by their weights.
            network, _ = source_network(source)
            source = [
                (k, tuple(p.shape), float(p.double().sum()))
                for k, p in network.state_dict().items()
            ]
        params["source"] = source
        return {**super()._architecture(), **{k: repr(v) for k, v in params.items()}}

    def _check_params(self):
        super()._check_params()
        for entry in self.callbacks or ():
            callback = entry[1] if isinstance(entry, tuple) else entry
            kind = callback if isinstance(callback, type) else type(callback)
            if issubclass(kind, (Freezer, Unfreezer)):
                raise ValueError(
                    f"{type(self).__name__}'s strategy decides which layers train, phase by phase; "
                    f"skorch's {kind.__name__} would be undone. Use strategy='linear_probe', "
                    "'lp_ft' or 'gradual' (and lr_decay), or DistilledClassifier."
                )

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float32"]  # the network computes in float32
        return tags

    @property
    def _n_features_out(self):
        return self.module_.get_submodule(self.head_).in_features

    def transform(self, X):
        """Penultimate features: what the network feeds its head.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        features : ndarray of shape (n_samples, head's input width)
        """
        check_is_fitted(self)
        captured, caller = [], threading.get_ident()

        def capture(module, args):
            # Other threads may run the same network meanwhile: keep our rows only.
            if threading.get_ident() == caller:
                captured.append(args[0])

        head = self.module_.get_submodule(self.head_)
        hook = head.register_forward_pre_hook(capture)
        try:
            self._forward(X)
        finally:
            hook.remove()
        return torch.cat(captured).cpu().numpy()


class TransferClassifier(ClassifierTask, Transfer):
    """Neural-network classifier fine-tuned from a network trained on another task.

    ``TransferClassifier().fit(X_source, y_source)`` trains a network from
    scratch; ``TransferClassifier(source=that).fit(X_target, y_target)`` starts
    from its weights, gives it a head sized for the target's classes and
    fine-tunes it with a ``strategy``. The source is never modified, and every
    ``fit`` starts again from the source's weights.

    Parameters
    ----------
    source : estimator, skorch net, torch.nn.Module, Keras model, str, path or None, \
default=None
        The pretrained network:

        - ``None``: train from scratch (``strategy`` is then ignored).
        - A fitted sktkd estimator: its network, input scaling and classes
          (a regressor's network, or its ``module_``, has no classes: a fresh
          head).
        - A fitted skorch net: its ``module_``, and its ``classes_`` if any.
        - A ``torch.nn.Module`` holding pretrained weights.
        - A built Keras 3 model, ``Sequential`` or functional without
          branches (nested ones too), of ``Dense``, ``Dropout``,
          ``BatchNormalization``, ``LayerNormalization``, ``Normalization``
          and activation layers (a first ``Normalization`` becomes the input
          scaling). sktkd trains a torch copy: each layer becomes the torch
          layer computing the same (``Dense`` -> ``torch.nn.Linear``), under
          the Keras layer's name, and the copy is checked against the model
          on random rows and the first rows of ``X``; a layer without a
          counterpart, or computed otherwise, is a ``ValueError``. The head,
          its last ``Dense`` layer, goes with its activation (the softmax).
          The strategy decides what trains; Keras's ``trainable`` flags are
          not read.
        - A path to a weights file: a ``*.safetensors`` file, or a state dict
          saved with ``torch.save`` (read with ``weights_only=True``); the
          network is built from ``module`` / ``hidden_layer_sizes`` and the file
          holds its weights (``module_.state_dict()`` of an sktkd estimator, or
          of the body alone).

        ``clone`` and grid searches share the source, read-only; they never
        copy or refit it.
    strategy : {"lp_ft", "full", "linear_probe", "gradual"}, default="lp_ft"
        - ``"full"``: everything trains for ``max_epochs``.
        - ``"linear_probe"``: the head alone trains, for ``max_epochs``.
        - ``"lp_ft"``: the head alone for ``probe_epochs``, then everything for
          ``max_epochs`` at ``lr * finetune_lr_scale``, with a fresh optimizer
          (Kumar et al. 2022).
        - ``"gradual"``: the head for ``stage_epochs``, then one more layer
          group from the top every ``stage_epochs``, then everything for
          ``max_epochs`` (Howard & Ruder 2018).
    head : str, default=None
        Name of the head, a ``torch.nn.Linear`` module of the source network
        (e.g. ``"layers.2"`` for the default MLP; a Keras source's last
        ``Dense`` layer by its Keras name); ``None`` takes its last linear layer. The
        head is replaced by a fresh one sized for the target's classes unless
        the source has the same classes (a source without labels, a module, a
        Keras model or a file, always gets a fresh head).
    probe_epochs : int, default=200
        Length of the head-only phase of ``"lp_ft"``.
    stage_epochs : int, default=5
        Length of each unfreezing stage of ``"gradual"``.
    finetune_lr_scale : float, default=0.1
        Learning-rate factor of the fine-tuning phase of ``"lp_ft"``.
    lr_decay : float in (0, 1], default=1.0
        Layer-wise learning-rate decay: the layer group ``k`` steps below the
        head learns at ``lr * lr_decay**k`` (discriminative fine-tuning).
    l2sp : float, default=0.0
        Strength of the L2-SP penalty ``l2sp / 2 * ||w - w_source||**2`` on the
        transferred weights (Li et al. 2018); ``0`` disables it.
    freeze_batchnorm : bool, default=True
        Batch-norm layers in frozen parts also keep their running statistics.
    input_scaling : {"target", "source"}, default="target"
        Statistics of the input standardisation, for a source that has one (an
        sktkd estimator, or the whole network's weights file): ``"target"``
        recomputes them from the target rows, so that a column nearly
        constant at the source but varying at the target does not reach the
        network hundreds of standard deviations out of range; ``"source"``
        keeps the source's. Sources without one (a module, a skorch net, a
        body's weights) always take their inputs unscaled.
    preprocessor, module, hidden_layer_sizes, max_epochs, batch_size, lr, optimizer, device, \
accelerator, n_threads, early_stopping, validation_fraction, n_iter_no_change, tol, warm_start, \
class_weight, random_state, verbose, callbacks, **kwargs
        As in :class:`DistilledClassifier` (without the teacher's part);
        with ``preprocessor="auto"``, a source sktkd estimator's fitted
        ``preprocessor_`` is kept (frozen), since its network takes the
        numbers that encoding gives;
        ``module`` and ``hidden_layer_sizes`` build the network when there is
        no source network (``source`` is ``None`` or a weights file). With
        phases (``"lp_ft"``, ``"gradual"``), the stopping rule applies within
        each phase, and a phase that stops early hands its best weights to
        the next. ``warm_start`` continues the fitted network with the
        strategy's last phase (see :meth:`partial_fit`), for ``max_epochs``.

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
    head_ : str
        Name of the head within ``module_``.
    net_ : skorch.NeuralNet
        The trained skorch net.
    standardize_ : torch.nn.Module
        The fixed input standardisation (see ``input_scaling``).
    module_ : torch.nn.Module
        The trained network, ``Sequential(standardize, body)``: it takes raw
        features and returns logits.
    history_ : skorch.History
        One row per epoch, across all phases.
    n_iter_, loss_curve_, validation_scores_, best_validation_score_, best_loss_
        As in :class:`DistilledClassifier`, over all phases.

    See Also
    --------
    DistilledClassifier : Train a small network on a teacher's soft labels.

    References
    ----------
    A. Kumar, A. Raghunathan, R. Jones, T. Ma, P. Liang. Fine-Tuning can Distort
    Pretrained Features and Underperform Out-of-Distribution. ICLR 2022.

    J. Howard, S. Ruder. Universal Language Model Fine-tuning for Text
    Classification. ACL 2018.

    X. Li, Y. Grandvalet, F. Davoine. Explicit Inductive Bias for Transfer
    Learning with Convolutional Networks. ICML 2018.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from sktkd import TransferClassifier
    >>> X, y = load_digits(return_X_y=True)
    >>> source = TransferClassifier(max_epochs=20, random_state=0).fit(X[y < 5], y[y < 5])
    >>> target = TransferClassifier(source, random_state=0).fit(X[y >= 5][:50], y[y >= 5][:50])
    >>> target.classes_
    array([5, 6, 7, 8, 9])
    >>> target.transform(X[:3]).shape
    (3, 100)
    """

    _parameter_constraints: dict = {
        **Transfer._parameter_constraints,
        **ClassifierTask._TASK_CONSTRAINTS,
    }

    def __init__(
        self,
        source=None,
        *,
        strategy="lp_ft",
        head=None,
        probe_epochs=200,
        stage_epochs=5,
        finetune_lr_scale=0.1,
        lr_decay=1.0,
        l2sp=0.0,
        freeze_batchnorm=True,
        input_scaling="target",
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
        self.source = source
        self.strategy = strategy
        self.head = head
        self.probe_epochs = probe_epochs
        self.stage_epochs = stage_epochs
        self.finetune_lr_scale = finetune_lr_scale
        self.lr_decay = lr_decay
        self.l2sp = l2sp
        self.freeze_batchnorm = freeze_batchnorm
        self.input_scaling = input_scaling
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

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Start from the source's weights and fine-tune on ``X, y``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
            Class labels of any kind.
        sample_weight : array-like of shape (n_samples,), default=None
            Row weights of the loss.

        Returns
        -------
        self : TransferClassifier

        Raises
        ------
        ValueError
            On bad inputs, parameters or sources, or when training diverges (a
            non-finite loss or weight).

        Warns
        -----
        UserWarning
            When target columns lie far from the source's (more than 3 source
            standard deviations): the source's features may not transfer.
        ConvergenceWarning
            When the network ends near chance on its own training rows.
        """
        return self._fit(X, y, sample_weight)

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, classes=None, sample_weight=None):
        """One pass (epoch) over ``X, y``, continuing the fitted network.

        The first call starts from the source (its head replaced as in
        ``fit``) and computes the input standardisation from that call's rows.
        Every call trains as the strategy's last phase does: all layers for
        ``"full"`` and ``"gradual"``, at ``lr * finetune_lr_scale`` for
        ``"lp_ft"``, the head alone for ``"linear_probe"``. For a probe first,
        ``fit`` a first chunk, then call ``partial_fit`` (or ``fit`` with
        ``warm_start=True``) on the others. No validation split and no
        stopping rule apply, as in ``MLPClassifier.partial_fit``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
        classes : array-like of shape (n_classes,), default=None
            Every class of the task; required on the first call.
        sample_weight : array-like of shape (n_samples,), default=None

        Returns
        -------
        self : TransferClassifier
        """
        return self._fit(X, y, sample_weight, incremental=True, classes=classes)

    def _criterion(self):
        return DistillationLoss(alpha=0.0)  # cross-entropy

    def _keeps_head(self, source_classes):
        """A source with the same classes keeps its head."""
        return same_classes(source_classes, self.classes_)


class TransferRegressor(RegressorTask, Transfer):
    """Neural-network regressor fine-tuned from a network trained on another task.

    As :class:`TransferClassifier`, for values: the source's network (a
    classifier's, a regressor's, or any source ``TransferClassifier`` takes)
    gets a fresh regression head, one output per output of ``y``, and is
    fine-tuned with a ``strategy`` on targets standardised inside (see
    :class:`DistilledRegressor`). ``TransferRegressor().fit(X_source,
    y_source)`` trains a source from scratch.

    Parameters
    ----------
    source : estimator, skorch net, torch.nn.Module, Keras model, str, path or None, \
default=None
        As in :class:`TransferClassifier`. The head is always replaced: its
        outputs are in the units of the target task's ``y``.
    strategy, head, probe_epochs, stage_epochs, finetune_lr_scale, lr_decay, l2sp, \
freeze_batchnorm, input_scaling, preprocessor, module, hidden_layer_sizes, max_epochs, \
batch_size, lr, optimizer, device, accelerator, n_threads, early_stopping, validation_fraction, \
n_iter_no_change, tol, warm_start, random_state, verbose, callbacks, **kwargs
        As in :class:`TransferClassifier` and, for what concerns values
        (``module``'s ``n_outputs``, ``early_stopping`` on ``valid_r2``), as
        in :class:`DistilledRegressor`.

    Attributes
    ----------
    n_outputs_ : int
        Number of outputs of ``y``.
    target_scaling_ : torch.nn.Module
        Mean and scale of the targets of the training rows (float64).
    n_features_in_, feature_names_in_, preprocessor_, head_, net_, standardize_, history_, \
n_iter_, loss_curve_, best_loss_
        As in :class:`TransferClassifier`.
    module_ : torch.nn.Module
        The trained network, ``Sequential(standardize, body,
        target_scaling)``: raw features in, values in ``y``'s units out.
    validation_scores_, best_validation_score_
        Validation R², as in :class:`DistilledRegressor`.

    See Also
    --------
    TransferClassifier : The same for classes.
    DistilledRegressor : Train a small network on a teacher's predictions.

    References
    ----------
    A. Kumar, A. Raghunathan, R. Jones, T. Ma, P. Liang. Fine-Tuning can Distort
    Pretrained Features and Underperform Out-of-Distribution. ICLR 2022.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.datasets import make_friedman1
    >>> from sktkd import TransferRegressor
    >>> X, y = make_friedman1(n_samples=2000, random_state=0)
    >>> source = TransferRegressor(max_epochs=30, random_state=0).fit(X, y)
    >>> target = TransferRegressor(source, random_state=0).fit(X[:40], 100 * y[:40] + 5)
    >>> target.predict(X[:3]).shape
    (3,)
    """

    _parameter_constraints: dict = {
        **Transfer._parameter_constraints,
        **RegressorTask._TASK_CONSTRAINTS,
    }

    def __init__(
        self,
        source=None,
        *,
        strategy="lp_ft",
        head=None,
        probe_epochs=200,
        stage_epochs=5,
        finetune_lr_scale=0.1,
        lr_decay=1.0,
        l2sp=0.0,
        freeze_batchnorm=True,
        input_scaling="target",
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
        self.source = source
        self.strategy = strategy
        self.head = head
        self.probe_epochs = probe_epochs
        self.stage_epochs = stage_epochs
        self.finetune_lr_scale = finetune_lr_scale
        self.lr_decay = lr_decay
        self.l2sp = l2sp
        self.freeze_batchnorm = freeze_batchnorm
        self.input_scaling = input_scaling
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

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Start from the source's weights and fine-tune on ``X, y``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Targets, of any scale.
        sample_weight : array-like of shape (n_samples,), default=None
            Row weights of the loss and of the target statistics.

        Returns
        -------
        self : TransferRegressor

        Raises
        ------
        ValueError
            On bad inputs, parameters or sources, or when training diverges.
        """
        return self._fit(X, y, sample_weight)

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, sample_weight=None):
        """One pass (epoch) over ``X, y``, continuing the fitted network, as
        :meth:`TransferClassifier.partial_fit` (without ``classes``).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
        sample_weight : array-like of shape (n_samples,), default=None

        Returns
        -------
        self : TransferRegressor
        """
        return self._fit(X, y, sample_weight, incremental=True)

    def _criterion(self):
        return RegressionDistillationLoss(alpha=0.0)  # mean squared error

    @staticmethod
    def _keeps_head(source_classes):
        return False  # a fresh head, in the target's units
