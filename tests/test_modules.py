import numpy as np
import torch
from torch import nn

from sktkd._modules import MLP, Standardize


def test_standardize_uses_training_statistics_and_centres_constant_columns():
    X = np.array([[1.0, 5.0, 1e4], [3.0, 5.0, 3e4]], dtype=np.float32)
    layer = Standardize.from_data(X)
    out = layer(torch.tensor(X)).numpy()
    np.testing.assert_allclose(out, [[-1, 0, -1], [1, 0, 1]], atol=1e-6)
    assert layer.scale[1].item() == 1.0


def test_standardize_has_buffers_not_parameters():
    layer = Standardize.from_data(np.random.rand(5, 3).astype(np.float32))
    assert list(layer.parameters()) == []
    assert set(layer.state_dict()) == {"mean", "scale"}


def test_mlp_shapes_and_layers():
    net = MLP(7, 3, (16, 8))
    assert net(torch.zeros(5, 7)).shape == (5, 3)
    linear = [m for m in net.modules() if isinstance(m, nn.Linear)]
    assert [(m.in_features, m.out_features) for m in linear] == [(7, 16), (16, 8), (8, 3)]


def test_empty_hidden_layers_give_a_linear_model():
    net = MLP(4, 2, ())
    assert [type(m) for m in net.layers] == [nn.Linear]


def test_activation_and_dropout():
    net = MLP(4, 2, (8,), activation=nn.Tanh, dropout=0.5)
    assert [type(m) for m in net.layers] == [nn.Linear, nn.Tanh, nn.Dropout, nn.Linear]
