import numpy as np
import torch
from skorch.callbacks import Callback

from sktkd._batches import TensorDataset
from sktkd._losses import DistillationLoss
from sktkd._modules import MLP
from sktkd._net import Net, TransferNet


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
