"""Training through Hugging Face accelerate: skorch's ``AccelerateMixin`` on sktkd's nets.

An ``accelerate.Accelerator`` places the network and the batches, runs mixed
precision and, under ``accelerate launch``, data parallelism over processes.
The fitted student keeps no trace of it: once trained, its net is the plain
class again, its network unwrapped (float32) on the accelerator's device, so it
predicts, pickles and exports as any other, without accelerate installed.
"""

import contextlib
import threading

import numpy as np
import torch
from skorch.callbacks import PassthroughScoring, PrintLog
from skorch.callbacks.scoring import ScoringBase
from skorch.hf import AccelerateMixin

from ._net import Net, TransferNet, unwrapped


def _print(*args, **kwargs):
    """``PrintLog``'s sink: the main process alone prints (``verbose`` > 0)."""
    from accelerate import PartialState

    PartialState().print(*args, **kwargs)


def _unprepared(obj):
    """``obj`` without accelerate's marks: a copy of a prepared network would
    otherwise be taken as prepared already (never wrapped for data parallelism),
    and a restored ``forward`` would stay in the instance (skops refuses it)."""
    state = vars(obj)
    state.pop("_is_accelerate_prepared", None)
    forward = state.get("forward")
    if forward is not None and getattr(forward, "__func__", None) is type(obj).forward:
        del state["forward"]
    return obj


class _Accelerated(AccelerateMixin):
    """What sktkd's nets need of skorch's mixin beyond what it does."""

    def _initialize_accelerator(self):
        # skorch's mixin prepares every criterion; under data parallelism one
        # without parameters (sktkd's losses) is refused by DistributedDataParallel.
        if not self._wrapped_with_accelerator:
            _unprepared(self.module_)
        criteria = self._criteria
        self._criteria = [
            name for name in criteria if any(True for _ in getattr(self, name + "_").parameters())
        ]
        try:
            return super()._initialize_accelerator()
        finally:
            self._criteria = criteria

    def initialize_optimizer(self, *args, **kwargs):
        # TransferClassifier starts an optimizer per phase, with other parameters
        # training: the network is wrapped anew (data parallelism synchronises
        # the parameters that train when it wraps) and the optimizer prepared
        # (mixed precision's loss scaling steps through it).
        super().initialize_optimizer(*args, **kwargs)
        if self._wrapped_with_accelerator:
            network = self.accelerator.unwrap_model(self.module_, keep_fp32_wrapper=False)
            self.module_ = self.accelerator.prepare(_unprepared(network))
            self.optimizer_ = self.accelerator.prepare(self.optimizer_)
        return self

    def get_iterator(self, dataset, training=False):
        iterator = super().get_iterator(dataset, training=training)
        if training:  # each process trains on its share of every batch
            iterator.shard = (self.accelerator.process_index, self.accelerator.num_processes)
        return iterator

    def evaluation_step(self, batch, training=False):
        # Every process scores the whole validation split with the same weights;
        # skorch's mixin would gather the processes' outputs, repeating its rows.
        return super(AccelerateMixin, self).evaluation_step(batch, training=training)

    def infer(self, x, **fit_params):
        # Rows from a scorer or a callback: skorch's device is None when the
        # accelerator places the network, so they go to the accelerator's.
        if isinstance(x, torch.Tensor) and self.device is None:
            x = x.to(self.accelerator.device)
        return super().infer(x, **fit_params)

    def on_epoch_end(self, net, **kwargs):
        # The training loss of all processes' shares, so that every process
        # takes the same decisions (the stopping rule watches it).
        row, accelerator = self.history[-1], self.accelerator
        if accelerator.num_processes > 1:
            loss = row.get("train_loss")
            if loss is None and row["batches"]:  # per-batch rows: skorch's average of them
                loss = PassthroughScoring("train_loss", on_train=True).get_avg_score(self.history)
            if loss is not None:
                loss = torch.tensor([float(loss)], device=accelerator.device)
                self.history.record("train_loss", float(accelerator.reduce(loss, "mean")))
        super().on_epoch_end(net, **kwargs)


class AcceleratedNet(_Accelerated, Net):
    """:class:`~sktkd._net.Net` trained through an ``accelerate.Accelerator``."""

    plain_class = Net


class AcceleratedTransferNet(_Accelerated, TransferNet):
    """:class:`~sktkd._net.TransferNet` trained through an ``accelerate.Accelerator``."""

    plain_class = TransferNet


ACCELERATED = {Net: AcceleratedNet, TransferNet: AcceleratedTransferNet}


def check_accelerator(accelerator, batch_size):
    """Refuse what would fail late or silently: a class, gradient accumulation, an
    accelerator copied into another process (accelerate's state stays behind),
    batches too small to give each process two rows."""
    if accelerator is None:
        return
    if isinstance(accelerator, type):
        raise TypeError(
            f"accelerator must be an instance, e.g. {accelerator.__name__}(); got the class."
        )
    steps = getattr(accelerator, "gradient_accumulation_steps", 1)
    if steps != 1:
        raise ValueError(
            f"gradient_accumulation_steps={steps}: sktkd's batches are in memory, so take "
            f"a batch_size {steps} times larger instead."
        )
    if not accelerator.state.initialized:  # the process's state, which Accelerator() sets up
        raise ValueError(
            "The accelerator has no state in this process: accelerate's state stays in the "
            "process that created the Accelerator, so one copied into a joblib process "
            "worker (n_jobs with the loky backend) cannot train. Search without n_jobs, or "
            "without an accelerator."
        )
    if batch_size < 2 * accelerator.num_processes:
        raise ValueError(
            f"batch_size={batch_size} cannot give each of the {accelerator.num_processes} "
            "processes two rows of every batch (batch normalisation needs two); take "
            f"batch_size >= {2 * accelerator.num_processes}."
        )
    if accelerator.num_processes > 1 and threading.current_thread() is not threading.main_thread():
        raise ValueError(
            "Data parallelism over several processes needs every process to fit the same "
            "estimators in the same order; fits in threads (a search with n_jobs) run in "
            "another order in each process and would wait for each other forever. Search "
            "sequentially (n_jobs=None)."
        )


def check_same_data(accelerator, X, targets):
    """Every process of data parallelism must be given the same rows (each takes
    its share of every batch itself): compare cheap fingerprints of ``X`` (the
    student's numbers) and ``targets`` (class codes, or a regressor's targets, NaN
    for none), in all processes."""
    if accelerator is None or accelerator.num_processes == 1:
        return
    from accelerate.utils import gather_object

    # Sums weighted by position: the same rows in another order differ too.
    step = max(1, len(X) // 1000)
    sample = np.asarray(X[::step], dtype=np.float64)
    rows = sample.reshape(len(sample), -1).sum(axis=1)
    positions = np.arange(len(targets)) % 1009 + 1
    per_row = np.nansum(np.asarray(targets, dtype=np.float64).reshape(len(targets), -1), axis=1)
    mine = (
        len(X),
        float(np.nansum(rows * np.arange(1, len(rows) + 1))),
        float(np.dot(positions, per_row)),
    )
    prints = gather_object([mine])
    if any(p != prints[0] for p in prints):
        raise ValueError(
            "The processes of data parallelism were given different rows (row counts, "
            f"sums: {prints}). Give every process all the rows: each takes its own share "
            "of every batch."
        )


def check_training_scores(accelerator, callbacks):
    """Under data parallelism, scores of the training rows are each process's share:
    a decision on them (EarlyStopping) would differ between processes, which then
    wait for each other forever."""
    if accelerator is None or accelerator.num_processes == 1:
        return
    for name, callback in callbacks:
        if isinstance(callback, ScoringBase) and callback.on_train:
            raise ValueError(
                f"The callback {name!r} scores the training rows, of which each process of "
                "data parallelism sees its own share; score the validation rows instead "
                "(early_stopping=True, on_train=False)."
            )


def net_options(accelerator, device, verbose, routed):
    """The net class's keyword arguments: skorch's mixin places the network when
    the accelerator does (``device=None``); the main process alone prints."""
    verbose = verbose if accelerator.is_main_process else 0
    options = {
        "accelerator": accelerator,
        "device": None if accelerator.device_placement else device,
        "unwrap_after_train": False,  # phases and epochs go on wrapped; see plain()
        "verbose": verbose,
    }
    if "print_log__sink" not in routed:
        options["callbacks__print_log__sink"] = _print if verbose else print
    return options


def plain(net):
    """``net``, trained, as an instance of its plain class: unwrapped, on its device.
    (A net trained without an accelerator is left as it is.)"""
    if not isinstance(net, _Accelerated):
        return net
    from accelerate.optimizer import AcceleratedOptimizer

    if net.accelerator.num_processes > 1:
        # Data parallelism copies the main process's buffers (batch-norm
        # statistics) before each step, not after the last: copy them now.
        for buffer in unwrapped(net.module_).buffers():
            torch.distributed.broadcast(buffer, src=0)
    net._unwrap_accelerator()
    if isinstance(net.optimizer_, AcceleratedOptimizer):  # its state is the inner one's
        net.optimizer_ = net.optimizer_.optimizer
    for _, callback in net.callbacks_:
        scheduler = getattr(callback, "lr_scheduler_", None)
        if isinstance(getattr(scheduler, "optimizer", None), AcceleratedOptimizer):
            scheduler.optimizer = scheduler.optimizer.optimizer
        if isinstance(callback, PrintLog) and callback.sink is _print:
            callback.sink = print
    for obj in (net.module_, net.criterion_, net.optimizer_):
        _unprepared(obj)
    device = next(net.module_.parameters(), None)
    for name in ("accelerator", "unwrap_after_train", "_wrapped_with_accelerator"):
        vars(net).pop(name, None)
    if vars(net).get("callbacks__print_log__sink") in (_print, print):  # ours, not routed
        vars(net).pop("callbacks__print_log__sink")
        net._params_to_validate.discard("callbacks__print_log__sink")
    net.__class__ = type(net).plain_class
    net.device = "cpu" if device is None else str(device.device)
    return net


def same_in_all_processes(accelerator, value):
    """``value`` as the main process has it: an int, or an array (soft labels of a
    teacher that each process fitted with its own randomness)."""
    if accelerator is None or accelerator.num_processes == 1:
        return value
    from accelerate.utils import broadcast, broadcast_object_list

    if isinstance(value, np.ndarray):
        tensor = torch.as_tensor(value).to(accelerator.device)
        return broadcast(tensor, from_process=0).cpu().numpy()
    return broadcast_object_list([value], from_process=0)[0]


@contextlib.contextmanager
def forgetting(accelerator):
    """The accelerator as it was before a fit: it forgets the objects the fit
    prepared (it lists them), its step count and its loss scale, so that the
    user's accelerator holds no network and identical fits train alike."""
    if accelerator is None:
        yield
        return
    lists = ("_models", "_optimizers", "_schedulers", "_dataloaders")
    before = {name: {id(obj) for obj in getattr(accelerator, name, ())} for name in lists}
    step = getattr(accelerator, "step", None)
    scaler = getattr(accelerator, "scaler", None)
    scale = None if scaler is None else scaler.state_dict()
    try:
        yield
    finally:
        for name in lists:
            if hasattr(accelerator, name):
                prepared = getattr(accelerator, name)
                prepared[:] = [obj for obj in prepared if id(obj) in before[name]]
        if step is not None:
            accelerator.step = step
        if scale:
            scaler.load_state_dict(scale)
