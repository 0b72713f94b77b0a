import warnings

import numpy as np
import pytest
import torch
from torch import nn

from sktkd._modules import MLP, Standardize, column_statistics


def test_standardize_uses_training_statistics_and_centres_constant_columns():
    X = np.array([[1.0, 5.0, 1e4, 0.0], [3.0, 5.0, 3e4, 0.0]], dtype=np.float32)
    layer = Standardize.from_data(X)
    out = layer(torch.tensor(X)).numpy()
    np.testing.assert_allclose(out, [[-1, 0, -1, 0], [1, 0, 1, 0]], atol=1e-6)
    np.testing.assert_array_equal(layer.transform(X), out)
    # A constant column is scaled by its magnitude, an all-zero one by 1.
    assert layer.scale[1].item() == 5.0 and layer.scale[3].item() == 1.0


@pytest.mark.parametrize("offset", [1e8, 1.7e9, -1e12])
def test_standardize_centres_in_float64(offset):
    """Precision survives large offsets (timestamps): the shift is in float64."""
    X = np.random.default_rng(0).normal(size=(500, 3)) + offset
    expected = (X - X.mean(axis=0)) / X.std(axis=0)
    atol = 1e-5 + 8 * np.spacing(abs(offset))  # float64 itself holds X to a few ulps
    layer = Standardize.from_data(X)
    np.testing.assert_allclose(layer.transform(X), expected, atol=atol)
    out = layer(torch.tensor(X)).numpy()  # the module, on float64 input
    np.testing.assert_allclose(out, expected, atol=atol)


def test_near_constant_column_gets_a_scale_floor():
    """Rounding noise is not a spread: later values must not land 1e14 deviations away."""
    X = np.column_stack([np.full(100, 3.0), np.arange(100.0)])
    X[::2, 0] += 1e-15
    layer = Standardize.from_data(X)
    assert layer.scale[0].item() == pytest.approx(3.0)
    assert abs(layer.transform(np.array([[4.0, 0.0]]))[0, 0]) < 1


def test_weighted_statistics_zero_weight_removes_and_integer_weight_repeats():
    rng = np.random.default_rng(0)
    X, w = rng.normal(size=(20, 3)) * 5 + 2, rng.integers(0, 4, 20)
    by_weight = column_statistics(X, w)
    by_rows = column_statistics(X.repeat(w, axis=0))
    for a, b in zip(by_weight, by_rows, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-12)


@pytest.mark.parametrize("value", [3e38, -3e38, 1.7e308])
def test_huge_finite_rows_stay_finite(value):
    layer = Standardize.from_data(np.random.default_rng(0).normal(size=(50, 2)) * 1e-3)
    row = np.array([[value, 0.0]])
    assert np.isfinite(layer.transform(row)).all()
    assert torch.isfinite(layer(torch.tensor(row))).all()


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


@pytest.mark.parametrize("unit", [1e-300, 1e-170, 1e-150, 1e120, 1e200, 1e300])
def test_statistics_of_columns_near_the_float64_limits(unit):
    """Squares of such values overflow or underflow: the moments come out right anyway."""
    rng = np.random.default_rng(0)
    column = rng.normal(size=500)
    X = np.column_stack([column * unit, column, np.full(500, unit)])
    mean, scale = column_statistics(X)
    np.testing.assert_allclose(mean[:2], [column.mean() * unit, column.mean()], rtol=1e-12)
    np.testing.assert_allclose(scale[:2], [column.std() * unit, column.std()], rtol=1e-12)
    assert mean[2] == unit and scale[2] == unit  # constant: scaled by its magnitude


def test_rows_near_the_float64_limit_standardise_without_overflow():
    x = np.full(100, -1.7e308)
    x[:1] = 1.7e308  # 9.95 standard deviations above the mean
    standardize = Standardize.from_data(x[:, None])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no overflow in the subtraction
        z = standardize.transform(x[:, None])
    assert z[0, 0] == pytest.approx(9.95, rel=1e-3)
    assert np.isfinite(z).all()


def test_new_statistics_loaded_into_a_standardisation_are_the_ones_used():
    standardize = Standardize(np.zeros(1), np.ones(1))
    standardize.transform(np.ones((1, 1)))  # the wide columns of the old statistics
    huge = Standardize.from_data(np.array([[-1.7e308]] * 99 + [[1.7e308]]))
    standardize.load_state_dict(huge.state_dict())
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        z = standardize.transform(np.array([[1.7e308]]))
    assert z[0, 0] == pytest.approx(9.95, rel=1e-3)


def test_chunks_hold_a_bounded_number_of_values_whatever_the_width():
    """Wide rows: 65,536 rows of 10,000 columns made 5 GB float64 temporaries."""
    from sktkd._modules import CHUNK_VALUES, row_chunks

    for width in (1, 50, 10_000, 10 * CHUNK_VALUES):
        chunks = row_chunks(100_000, width)
        sizes = [c.stop - c.start for c in chunks]
        assert max(sizes) * width <= max(CHUNK_VALUES, width)
        assert chunks[0].start == 0 and min(c.stop for c in chunks[-1:]) >= 100_000
    assert row_chunks(0, 5) == [slice(0, 0)]


def test_statistics_and_transform_in_chunks_equal_the_whole(monkeypatch):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(1000, 7)) * [1, 1e3, 1e-3, 1e9, 1, 1, 1] + 1e6
    w = rng.uniform(size=1000)
    whole = column_statistics(X, w), Standardize(*column_statistics(X, w)).transform(X)
    monkeypatch.setattr("sktkd._modules.CHUNK_VALUES", 7 * 33)  # 33 rows a chunk
    chunked = column_statistics(X, w), Standardize(*column_statistics(X, w)).transform(X)
    np.testing.assert_allclose(chunked[0], whole[0], rtol=1e-12)
    np.testing.assert_array_equal(chunked[1], whole[1])
