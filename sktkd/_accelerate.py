"""Training through Hugging Face accelerate: skorch's ``AccelerateMixin`` on sktkd's nets.

An ``accelerate.Accelerator`` places the network and the batches, runs mixed
precision and, under ``accelerate launch``, data parallelism over processes.
The fitted student keeps no trace of it: once trained, its net is the plain
class again, its network unwrapped (float32) on the accelerator's device, so it
predicts, pickles and exports as any other, without accelerate installed.
"""

import contextlib
import functools

from skorch.callbacks import PrintLog
from skorch.hf import AccelerateMixin
from torch.nn.parallel import DistributedDataParallel


def _print(*args, **kwargs):
    """``PrintLog``'s sink: the main process alone prints (``verbose`` > 0)."""
    from accelerate import PartialState

    PartialState().print(*args, **kwargs)


class _Accelerated(AccelerateMixin):
    """What sktkd's nets need of skorch's mixin beyond what it does."""

    def _initialize_accelerator(self):
        # skorch's mixin prepares every criterion; under data parallelism one
        # without parameters (sktkd's losses) is refused by DistributedDataParallel.
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
            self.module_ = self.accelerator.prepare(network)
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


@functools.cache
def accelerated(net_class):
    """``net_class`` trained by the ``accelerator`` it is given (skorch's ``AccelerateMixin``)."""
    return type(
        f"Accelerated{net_class.__name__}", (_Accelerated, net_class), {"plain_class": net_class}
    )


def net_options(accelerator, device, verbose):
    """The net class's keyword arguments: skorch's mixin places the network when
    the accelerator does (``device=None``), and prints as ``verbose`` says."""
    return {
        "accelerator": accelerator,
        "device": None if accelerator.device_placement else device,
        "unwrap_after_train": False,  # phases and epochs go on wrapped; see plain()
        "callbacks__print_log__sink": _print if verbose else print,
    }


def plain(net):
    """``net``, trained, as an instance of its plain class: unwrapped, on its device.
    (A net trained without an accelerator is left as it is.)"""
    if not isinstance(net, _Accelerated):
        return net
    from accelerate.optimizer import AcceleratedOptimizer

    net._unwrap_accelerator()
    if isinstance(net.optimizer_, AcceleratedOptimizer):  # its state is the inner one's
        net.optimizer_ = net.optimizer_.optimizer
    for _, callback in net.callbacks_:
        scheduler = getattr(callback, "lr_scheduler_", None)
        if isinstance(getattr(scheduler, "optimizer", None), AcceleratedOptimizer):
            scheduler.optimizer = scheduler.optimizer.optimizer
        if isinstance(callback, PrintLog):
            callback.sink = print
    device = next(net.module_.parameters(), None)
    for name in ("accelerator", "unwrap_after_train", "_wrapped_with_accelerator"):
        vars(net).pop(name, None)
    vars(net).pop("callbacks__print_log__sink", None)
    net._params_to_validate.discard("callbacks__print_log__sink")
    net.__class__ = type(net).plain_class
    net.device = "cpu" if device is None else str(device.device)
    return net


def unwrapped(module):
    """The network inside a data-parallel wrapper (its parameters' names lack ``module.``)."""
    return module.module if isinstance(module, DistributedDataParallel) else module


@contextlib.contextmanager
def forgetting(accelerator):
    """The accelerator forgets what a fit prepared (it lists prepared objects):
    the user's accelerator holds no network, and a pickle of it none either."""
    if accelerator is None:
        yield
        return
    lists = ("_models", "_optimizers", "_schedulers", "_dataloaders")
    before = {name: {id(obj) for obj in getattr(accelerator, name, ())} for name in lists}
    try:
        yield
    finally:
        for name in lists:
            if hasattr(accelerator, name):
                prepared = getattr(accelerator, name)
                prepared[:] = [obj for obj in prepared if id(obj) in before[name]]
