import warnings

import numpy as np
import pytest
import torch
from skorch.callbacks import (
    BatchScoring,
    Callback,
    Checkpoint,
    EarlyStopping,
    EpochScoring,
    GradientNormClipping,
    LRScheduler,
    PassthroughScoring,
    ProgressBar,
)

from sktkd._batches import TensorDataset
from sktkd._losses import DistillationLoss
from sktkd._modules import MLP
from sktkd._net import Net, TransferNet, batch_rows


class CountBatches(Callback):
    def initialize(self):
        self.batches = 0
        return self

    def on_batch_end(self, net, **kwargs):
        self.batches += 1


def make_net(cls=Net, **kwargs):
    return cls(
        MLP,
        module__n_features_in=3,
        module__n_classes=2,
        module__hidden_layer_sizes=(4,),
        criterion=DistillationLoss,
        optimizer=torch.optim.SGD,
        lr=0.1,
        batch_size=8,
        max_epochs=2,
        **kwargs,
    )


def data(n=20):
    X = torch.randn(n, 3, generator=torch.Generator().manual_seed(0))
    return X, torch.arange(n) % 2


def test_batch_hooks_reach_the_callbacks_that_define_them():
    counter = CountBatches()
    net = make_net(callbacks=[("count", counter)]).fit(TensorDataset(*data()), None)
    assert counter.batches == 2 * 3  # 2 epochs of 3 batches
    assert [len(epoch["batches"]) for epoch in net.history] == [3, 3]
    assert np.isfinite(net.history[-1, "train_loss"])


def test_transfer_net_groups_learning_rates_and_adds_the_l2sp_pull():
    net = make_net(TransferNet).initialize()
    net.module_.layers[0].weight.requires_grad_(False)
    net.param_lrs_ = {"layers.0.bias": 0.01}
    net.initialize_optimizer()
    groups = {g["lr"]: len(g["params"]) for g in net.optimizer_.param_groups}
    assert groups == {0.01: 1, 0.1: 2}  # the frozen weight is left out

    X, targets = data(4)
    y_pred = net.infer(X)
    plain = net.get_loss(y_pred, targets, training=True)
    weight = net.module_.layers[2].weight
    net.l2sp_, net.l2sp_reference_ = 2.0, [(weight, torch.zeros_like(weight))]
    pulled = net.get_loss(y_pred, targets, training=True)
    torch.testing.assert_close(pulled - plain, weight.pow(2).sum())  # 0.5 * 2 * ||w||²
    torch.testing.assert_close(net.get_loss(y_pred, targets, training=False), plain)


class ReadsLastBatch(Callback):
    """A logger reading each batch's row as it comes (as ProgressBar does)."""

    def initialize(self):
        self.losses = []
        return self

    def on_batch_end(self, net, training=False, **kwargs):
        if training:
            self.losses.append(net.history[-1, "batches", -1, "train_loss"])


def fitted(**kwargs):
    torch.manual_seed(0)
    return make_net(**kwargs).fit(TensorDataset(*data()), None)


def test_no_batch_rows_unless_a_callback_reads_them():
    net = fitted()
    assert [epoch["batches"] for epoch in net.history] == [[], []]
    assert net.history[:, "train_batch_count"] == [3, 3]
    assert net.history[:, "train_loss_best"] == [
        True,
        net.history[1, "train_loss"] < net.history[0, "train_loss"],
    ]


def test_the_epoch_loss_is_skorchs_batch_size_weighted_mean():
    reader = ReadsLastBatch()
    live = fitted(callbacks=[("reader", reader)])
    assert [len(epoch["batches"]) for epoch in live.history] == [3, 3]
    assert live.history[-1, "batches", :, "train_batch_size"] == [8, 8, 4]
    assert len(reader.losses) == 6
    lean = fitted()
    np.testing.assert_allclose(
        lean.history[:, "train_loss"], live.history[:, "train_loss"], rtol=1e-6
    )


def test_callbacks_reading_rows_after_the_epoch_get_them(tmp_path):
    # Checkpoint formats its file names with the epoch's last batch row.
    checkpoint = Checkpoint(
        dirname=str(tmp_path), monitor="train_loss_best", f_params="p{last_epoch[epoch]}.pt"
    )
    average = PassthroughScoring("train_loss", on_train=True)  # a user's own average
    net = fitted(callbacks=[("checkpoint", checkpoint), ("average", average)])
    assert [len(epoch["batches"]) for epoch in net.history] == [3, 3]
    assert (tmp_path / "p1.pt").exists()
    rows = net.history[-1, "batches"]
    mean = np.average(
        [r["train_loss"] for r in rows], weights=[r["train_batch_size"] for r in rows]
    )
    assert mean == pytest.approx(net.history[-1, "train_loss"], rel=1e-6)


class LogsGradients(Callback):
    def on_grad_computed(self, net, named_parameters, **kwargs):
        norm = sum(float(p.grad.norm()) for _, p in named_parameters if p.grad is not None)
        net.history.record_batch("grad_norm", norm)


class ReadsRowsWhenStopping(EarlyStopping):
    def on_epoch_end(self, net, **kwargs):
        self.last_batch_loss = net.history[-1, "batches", -1, "train_loss"]
        super().on_epoch_end(net, **kwargs)


def test_a_batch_hook_set_on_the_instance_is_called():
    callback, calls = Callback(), []
    callback.on_batch_end = lambda net, **kwargs: calls.append(len(net.history[-1, "batches"]))
    fitted(callbacks=[("instance", callback)])
    assert calls == [1, 2, 3, 1, 2, 3]  # live rows, as skorch keeps them


def test_the_epoch_loss_is_averaged_in_float64_as_skorch_does():
    net = fitted(callbacks=[("unknown", Callback())])  # rows written after each epoch
    rows = net.history[-1, "batches"]
    mean = np.average(
        [r["train_loss"] for r in rows], weights=[r["train_batch_size"] for r in rows]
    )
    assert net.history[-1, "train_loss"] == mean


def test_a_callback_writing_rows_on_computed_gradients_gets_them():
    net = fitted(callbacks=[("grads", LogsGradients())])
    assert len(net.history[-1, "batches", :, "grad_norm"]) == 3


@pytest.mark.parametrize(
    "callback, rows",
    [
        (EpochScoring("accuracy", on_train=True), None),
        (LRScheduler("StepLR", step_size=1), None),
        (LRScheduler("CyclicLR", base_lr=0.01, max_lr=0.1, step_every="batch"), "live"),
        (BatchScoring("accuracy", on_train=True), "live"),
        (ProgressBar(), "live"),
        (Checkpoint(), "after"),
        (Callback(), "after"),  # unknown: may read them after the epoch
        (GradientNormClipping(1.0), None),
        (LogsGradients(), "live"),  # writes into the batch's row
        (ReadsRowsWhenStopping(), "after"),  # a subclass of a known callback
        (LRScheduler("ReduceLROnPlateau", monitor=lambda net: 0.0), "after"),
    ],
)
def test_which_callbacks_read_batch_rows(callback, rows):
    defaults = make_net().initialize().callbacks_
    assert batch_rows(defaults) is None
    assert batch_rows([*defaults, ("cb", callback)]) == rows


def test_a_batch_learning_rate_schedule_writes_into_each_row():
    schedule = LRScheduler("CyclicLR", base_lr=0.01, max_lr=0.1, step_size_up=2, step_every="batch")
    net = fitted(callbacks=[("schedule", schedule)])
    assert len(net.history[-1, "batches", :, "event_lr"]) == 3


def test_the_criterion_takes_plain_means_only_when_every_row_has_a_label():
    X, y = data()
    assert fitted().criterion_.all_labelled
    torch.manual_seed(0)
    unlabelled = make_net().fit(TensorDataset(X, torch.where(y == 0, -1, y)), None)
    assert not unlabelled.criterion_.all_labelled


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_an_epoch_waits_for_the_device_a_few_times_not_once_per_batch():
    X, y = data(400)  # 2 epochs of 50 batches
    net = make_net(device="cuda").initialize()
    dataset = TensorDataset(X.cuda(), y.cuda())
    torch.cuda.set_sync_debug_mode("warn")
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            net.partial_fit(dataset, None)
    finally:
        torch.cuda.set_sync_debug_mode(0)
    waits = [w for w in caught if "synchroniz" in str(w.message)]
    assert len(waits) < 50  # skorch's loss.item() waited 100 times
