"""The skorch net every estimator trains: sliced batches and a criterion over targets."""

import copyreg
import math
import re

import torch
from skorch import NeuralNet
from skorch.callbacks import (
    Callback,
    EarlyStopping,
    EpochScoring,
    EpochTimer,
    GradientNormClipping,
    LRScheduler,
    PassthroughScoring,
    PrintLog,
)
from skorch.utils import get_map_location
from torch.nn.parallel import DistributedDataParallel

from ._batches import SliceLoader, TensorDataset
from ._persist import check_attributes, from_plain, loading_with_skops, to_plain
from ._threads import SMALL_TRAINING_BATCH, threads_for, torch_threads
from ._training import StoppingRule, drop_training_data

_BUILT = "sktkd.built"  # in a pickled state: this parameter is the built object
_FORMAT = "sktkd.pickle"


class EpochLoss(PassthroughScoring):
    """skorch's ``PassthroughScoring`` of a loss, also when the epoch kept no batch rows.

    Without per-batch history rows the net records the epoch's mean loss
    itself (:meth:`Net.run_single_epoch`); this callback then adds the
    ``<name>_best`` flag, as skorch's does (``Checkpoint`` monitors
    ``valid_loss_best``).
    """

    def on_epoch_end(self, net, **kwargs):
        score = net.history[-1].get(self.name)
        if score is None:  # per-batch rows: skorch's own averaging
            return super().on_epoch_end(net, **kwargs)
        is_best = self._is_best_score(score)
        if is_best:
            self.best_score_ = score
        if is_best is not None:
            net.history.record(self.name + "_best", bool(is_best))


# Callbacks known not to read per-batch history rows: skorch's, checked in
# their source, and sktkd's own. Exact types: a subclass may read them.
_NO_BATCH_ROWS = frozenset(
    {EpochLoss, EpochScoring, EpochTimer, PrintLog, EarlyStopping, StoppingRule}
)
_BATCH_HOOKS = ("on_batch_begin", "on_batch_end", "on_grad_computed")


def _defines(callback, hook):
    """Whether ``callback`` has its own ``hook``: in its class, or set on the instance."""
    return hook in vars(callback) or getattr(type(callback), hook) is not getattr(Callback, hook)


def batch_rows(callbacks):
    """How a fit's callbacks read per-batch history rows (``history[-1, "batches"]``).

    ``"live"``: some callback may read or write the current batch's row in a
    batch hook (``ProgressBar``, ``BatchScoring``, loggers with
    ``log_on_batch_end``, an ``LRScheduler`` stepping per batch, any other
    callback with ``on_batch_begin``, ``on_batch_end`` or
    ``on_grad_computed``): skorch records them as it trains. ``"after"``:
    some callback may read them once the epoch ends (``Checkpoint``'s file
    names, ``PassthroughScoring``, any other callback): the rows are written
    at the epoch's end. ``None``: nobody reads them, and none are kept, so a
    fit neither pays for them per batch nor pickles them.
    """
    after = False
    for _, cb in callbacks:
        kind = type(cb)
        if kind is GradientNormClipping or kind in _NO_BATCH_ROWS:
            continue
        if kind is LRScheduler:
            if cb.step_every == "batch":  # writes each batch's rate into its row
                return "live"
            after = after or callable(cb.monitor)  # a monitor may read them
            continue
        if any(_defines(cb, hook) for hook in _BATCH_HOOKS):
            return "live"
        after = True
    return "after" if after else None


def unwrapped(module):
    """The network inside a data-parallel wrapper (its parameters' names lack ``module.``)."""
    return module.module if isinstance(module, DistributedDataParallel) else module


def carry_schedule(optimizer, previous):
    """Give a fresh optimizer's parameter groups what a learning-rate schedule left.

    A scheduler that resumes (skorch's ``LRScheduler`` in a later phase or fit)
    reads keys it wrote into the groups (``initial_lr``, ``max_lr``, ...).
    Each new group takes the keys it lacks from the previous group with the
    same learning rate (else the first); its own rate and settings stay.
    """
    for group in optimizer.param_groups:
        group.setdefault("initial_lr", group["lr"])
        if previous is None:
            continue
        same = [g for g in previous.param_groups if g.get("initial_lr") == group["lr"]]
        for key, value in (same or previous.param_groups)[0].items():
            if key != "params":
                group.setdefault(key, value)
    return optimizer


class Net(NeuralNet):
    """skorch ``NeuralNet`` fed by :class:`~sktkd._batches.SliceLoader`.

    Its ``y`` holds the class indices, as skorch's callbacks and scorers
    expect (a regressor's: the standardised targets); the loss's other per-row
    terms (soft labels, weights) travel with ``X`` in a
    :class:`~sktkd._batches.TensorDataset`. ``predict`` returns class indices
    and ``classes_`` (set by a classifier) lists them, so scorers such as
    ``EpochScoring("accuracy")`` work as on a ``NeuralNetClassifier`` (and
    ``"r2"`` as on a ``NeuralNetRegressor``).
    """

    _interrupted = _stopped_by_callback = False
    classes_ = None  # set by a classifier
    _listening = None
    n_threads = None  # the estimator's (see sktkd._threads)
    _parameter_count = _counted = None

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("iterator_train", SliceLoader)
        kwargs.setdefault("iterator_valid", SliceLoader)
        kwargs.setdefault("iterator_train__shuffle", True)
        kwargs.setdefault("train_split", None)
        kwargs.setdefault("predict_nonlinearity", None)
        super().__init__(*args, **kwargs)

    # Two ways to be saved. pickle and copy call __reduce_ex__ and get skorch's
    # state: network, criterion and optimizer pickled into bytes, any object
    # graph kept as it is. skops calls __getstate__ and gets them as arrays and
    # types (sktkd._persist); it must never reach skorch's bytes, whose
    # unpickling would run any code they name.
    _CACHES = ("_listening", "_parameter_count", "_counted")  # found again when needed

    def __reduce_ex__(self, protocol):
        state = super().__getstate__()
        for cache in self._CACHES:
            state.pop(cache, None)
        for name in ("module", "criterion"):  # the parameter is the built object: once
            if state.get(name) is not None and state[name] is getattr(self, name + "_", None):
                state[name] = _BUILT
        state[_FORMAT] = 1
        return copyreg.__newobj__, (type(self),), state

    def __getstate__(self):
        return to_plain({k: v for k, v in vars(self).items() if k not in self._CACHES})

    def __setstate__(self, state):
        if "__cuda_dependent_attributes__" not in state:  # from skops: arrays and types
            check_attributes(type(self), state)
            map_location = get_map_location(state["device"])
            state = from_plain(state, map_location)
            state["device"] = self._check_device(state["device"], map_location)
            vars(self).update(state)
            return
        if loading_with_skops():
            raise TypeError(
                "This skops file holds a skorch net's pickled bytes, which sktkd never "
                "writes there and which would run code when unpickled: refusing to load it."
            )
        legacy = state.pop(_FORMAT, None) is None  # pickled by sktkd 0.1.0
        super().__setstate__(state)
        for name in ("module", "criterion"):
            if isinstance(vars(self).get(name), str) and vars(self)[name] == _BUILT:
                setattr(self, name, getattr(self, name + "_"))
        if legacy and getattr(self, "initialized_", False):
            drop_training_data(self)  # its pickles kept the validation rows

    def fit_loop(self, X, y=None, **fit_params):
        threads = threads_for(
            self.n_threads, self.batch_size, self.parameter_count(), SMALL_TRAINING_BATCH
        )
        try:
            with torch_threads(threads):
                return super().fit_loop(X, y, **fit_params)
        except KeyboardInterrupt:
            self._interrupted = not self._stopped_by_callback
            raise

    def parameter_count(self):
        """Parameters of the module, counted once per fit (a prediction asks each call)."""
        if self._parameter_count is None or self._counted != id(self.module_):
            self._parameter_count = sum(p.numel() for p in self.module_.parameters())
            self._counted = id(self.module_)
        return self._parameter_count

    def partial_fit(self, X, y=None, classes=None, **fit_params):
        # skorch ends training quietly on any KeyboardInterrupt. One raised by a
        # callback is its way to stop early; any other is the user's Ctrl-C,
        # which must reach the caller, whose fit then restores the estimator.
        self._interrupted = self._stopped_by_callback = False
        super().partial_fit(X, y, classes, **fit_params)
        if self._interrupted:
            raise KeyboardInterrupt
        return self

    @property
    def _default_callbacks(self):
        # valid_loss is recorded only where there is a validation split.
        return [
            (name, EpochLoss(name, on_train=cb.on_train) if name.endswith("_loss") else cb)
            for name, cb in super()._default_callbacks
            if name != "valid_loss" or self.train_split is not None
        ]

    def run_single_epoch(self, iterator, training, prefix, step_fn, **fit_params):
        """One pass over ``iterator``; per-batch history rows only for callbacks that read them.

        skorch records each batch's loss (``loss.item()``, a wait for the
        device) and size as it goes. Here, unless a callback reads them live
        (:func:`batch_rows`), the losses stay on the device until the epoch
        ends; the epoch's mean, weighted by batch size as skorch's
        ``PassthroughScoring`` averages, is recorded as ``<prefix>_loss``.
        Batch hooks still reach the callbacks that define them.
        """
        if iterator is not None and hasattr(self.criterion_, "all_labelled"):
            dataset = getattr(iterator, "dataset", None)
            self.criterion_.all_labelled = getattr(dataset, "all_labelled", False)
        listeners = self._listeners()
        if iterator is None or listeners["rows"] == "live":
            return super().run_single_epoch(iterator, training, prefix, step_fn, **fit_params)
        losses, sizes = [], []
        for batch in iterator:
            if listeners["on_batch_begin"]:
                self.notify("on_batch_begin", batch=batch, training=training)
            step = step_fn(batch, **fit_params)
            losses.append(step["loss"].detach())
            sizes.append(_batch_len(batch))
            if listeners["on_batch_end"]:
                self.notify("on_batch_end", batch=batch, training=training, **step)
        self.history.record(prefix + "_batch_count", len(losses))
        if not losses:
            return
        per_batch = torch.stack(losses).double().cpu()  # float64, as skorch averages
        weights = torch.tensor(sizes, dtype=torch.float64)
        self.history.record(prefix + "_loss", float((per_batch * weights).sum() / weights.sum()))
        if listeners["rows"] == "after":
            for loss, size in zip(per_batch.tolist(), sizes, strict=True):
                self.history.new_batch()
                self.history.record_batch(prefix + "_loss", loss)
                self.history.record_batch(prefix + "_batch_size", size)

    def _listeners(self):
        """The ``(name, callback)`` pairs that listen to each batch hook, and how
        the callbacks read batch rows.

        Found when training begins, so that each batch asks no callback.
        """
        if self._listening is None:
            self._listening = {
                hook: [(name, cb) for name, cb in self.callbacks_ if _defines(cb, hook)]
                for hook in _BATCH_HOOKS
            }
            self._listening["rows"] = batch_rows(self.callbacks_)
        return self._listening

    def on_train_begin(self, net, **kwargs):
        self._listening = None  # the callbacks may have changed since the last fit
        super().on_train_begin(net, **kwargs)

    def train_step(self, batch, **fit_params):
        if self._listeners()["on_grad_computed"]:
            return super().train_step(batch, **fit_params)
        # skorch's train_step, without an on_grad_computed event nobody listens to.
        accumulator = self.get_train_step_accumulator()

        def step_fn():
            self._zero_grad_optimizer()
            step = self.train_step_single(batch, **fit_params)
            accumulator.store_step(step)
            return step["loss"]

        self._step_optimizer(step_fn)
        return accumulator.get_step()

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        # Scorers read classes_ of a classifier, and take a regressor's outputs as they are.
        classifier = getattr(self, "classes_", None) is not None
        tags.estimator_type = "classifier" if classifier else "regressor"
        return tags

    def get_dataset(self, X, y=None):
        if isinstance(X, TensorDataset):
            return X
        # Rows from a scorer or a user: standardised inputs, as the module takes.
        return TensorDataset(torch.as_tensor(X, dtype=torch.float32, device=self.device), y)

    def infer(self, x, **fit_params):
        # A batch's X is the rows alone, or a dict of the rows and the loss's terms.
        x = x["X"] if isinstance(x, dict) else x
        if isinstance(x, torch.Tensor) and not fit_params:
            return self.module_(x.to(self.device))  # skorch's, without its checks per batch
        return super().infer(x, **fit_params)

    def predict_proba(self, X):
        # detach: EpochScoring(on_train=True) hands in the training outputs.
        return torch.softmax(self.forward(X).detach(), dim=1).numpy()

    def predict(self, X):
        """Class indices, or a regressor's standardised targets (no ``classes_``)."""
        out = self.forward(X).detach()
        return out.numpy() if self.classes_ is None else out.argmax(dim=1).numpy()

    def initialize_optimizer(self, *args, **kwargs):
        super().initialize_optimizer(*args, **kwargs)
        carry_schedule(self.optimizer_, None)
        return self

    def notify(self, method_name, **cb_kwargs):
        if method_name != "on_batch_begin" or self._listeners()["rows"] == "live":
            getattr(self, method_name)(self, **cb_kwargs)  # the net's own (history rows)
        # Per-batch hooks reach only the callbacks that define them: skorch's
        # defaults leave them as no-ops, and calling those costs about as much
        # as slicing the batch.
        listening = self._listeners()[method_name] if method_name in _BATCH_HOOKS else None
        stop = False
        for name, cb in self.callbacks_ if listening is None else listening:
            try:
                getattr(cb, method_name)(self, **cb_kwargs)
            except KeyboardInterrupt:
                # A callback stops training the skorch way (EarlyStopping does):
                # a normal end of the fit, not the user's Ctrl-C. The other
                # callbacks still see this epoch (or batch) before it ends, so the
                # stopping rule and scores miss none, whatever their order.
                self._stopped_by_callback = stop = True
            except KeyError as exc:
                # skorch's History says only which key is missing; say who asked.
                missing = re.search(r"Key '(.*)' was not found in history", str(exc))
                if missing is None:
                    raise
                keys = sorted(k for k in self.history[-1] if k != "batches")
                raise ValueError(
                    f"The callback {name!r} reads {missing[1]!r} from the history, which "
                    f"records {keys}: valid_* scores exist only with early_stopping=True, "
                    "valid_agreement (valid_fidelity) only with a teacher."
                ) from exc
        if stop:
            raise KeyboardInterrupt

    def on_epoch_end(self, net, **kwargs):
        # A non-finite loss or weight never recovers: stop with the likely
        # causes, as MLPClassifier does, instead of returning a NaN model.
        super().on_epoch_end(net, **kwargs)
        epoch = self.history[-1]
        losses = [epoch.get("train_loss", 0.0)] + [
            b.get("train_loss", 0.0) for b in epoch["batches"]
        ]
        if all(map(math.isfinite, losses)) and all(
            torch.isfinite(p).all() for p in self.module_.parameters()
        ):
            return
        temperature = getattr(self.criterion_, "temperature", 1.0)
        extreme = "" if 0.1 <= temperature <= 100 else f", or the temperature ({temperature:g})"
        raise ValueError(
            f"Training diverged in epoch {len(self.history)}: the loss or the network's "
            "weights are no longer finite (NaN or inf). The learning rate is probably too "
            f"large for this optimizer (lr={self.lr}); inputs or sample weights of extreme "
            f"scale can also cause it{extreme}. Try a smaller lr."
        )

    def _set_training(self, training=True):
        # skorch sets the mode before every batch; walking the module tree
        # each time costs more than a small batch's forward pass. (The network's
        # own flag: a data-parallel wrapper's says nothing of what it wraps.)
        if unwrapped(self.module_).training != training:
            super()._set_training(training)

    def get_loss(self, y_pred, y_true, X=None, training=False):
        extras = {k: v for k, v in X.items() if k != "X"} if isinstance(X, dict) else {}
        return self.criterion_(y_pred, y_true, **extras)


def _batch_len(batch):
    X, y = batch
    if y is not None:
        return len(y)
    return len(X["X"] if isinstance(X, dict) else X)


class TransferNet(Net):
    """:class:`Net` trained in phases on part of its network.

    Before each phase the estimator sets ``param_lrs_`` (learning rate of each
    trainable parameter, by name), ``frozen_batchnorm_`` (batch-norm modules
    that keep their running statistics) and ``l2sp_`` with
    ``l2sp_reference_`` (strength, and (parameter, source value) pairs of the
    L2-SP pull), then calls :meth:`initialize_optimizer` for a fresh optimizer.
    """

    param_lrs_ = None
    frozen_batchnorm_ = ()
    l2sp_ = 0.0
    l2sp_reference_ = ()

    def initialize_optimizer(self, triggered_directly=None):
        # Only parameters that train enter the optimizer, grouped by learning rate.
        lrs = self.param_lrs_ or {}
        groups = {}
        for name, param in unwrapped(self.module_).named_parameters():
            if param.requires_grad:
                groups.setdefault(lrs.get(name, self.lr), []).append(param)
        kwargs = {"lr": self.lr, **self.get_params_for("optimizer")}
        previous = getattr(self, "optimizer_", None)
        self.optimizer_ = self.optimizer(
            [{"params": params, "lr": lr} for lr, params in groups.items()], **kwargs
        )
        # A learning-rate schedule resumes in the next phase from this phase's rates.
        carry_schedule(self.optimizer_, previous)
        return self

    def _set_training(self, training=True):
        switched = unwrapped(self.module_).training != training
        super()._set_training(training)
        if switched and training:
            for name in self.frozen_batchnorm_:
                unwrapped(self.module_).get_submodule(name).eval()

    def get_loss(self, y_pred, y_true, X=None, training=False):
        loss = super().get_loss(y_pred, y_true, X=X, training=training)
        if training and self.l2sp_ > 0:
            # L2-SP (Li et al. 2018): pull transferred weights toward the source's.
            pull = sum((p - ref).pow(2).sum() for p, ref in self.l2sp_reference_)
            loss = loss + 0.5 * self.l2sp_ * pull
        return loss
