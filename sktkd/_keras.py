"""Keras 3 sources: a chain of Keras layers as the same torch layers.

A Keras model on the torch backend is a ``torch.nn.Module``, but its layers
are not torch layers: its ``Dense`` layers are no ``nn.Linear`` to serve as a
head, and its weights sit in one flat dictionary, not in layers to freeze
group by group. Transfer therefore trains a torch copy of it: each Keras
layer becomes the torch layer that computes the same function, under the
Keras layer's name, with the Keras weights. The copy is checked against the
Keras model on random rows, so a layer computed otherwise is an error, never
a different network. The user's model is left as it is, and the student
needs no Keras to serve.
"""

import math
from collections import OrderedDict

import numpy as np
import torch
from torch import nn

from ._modules import Standardize

# Keras activation name -> the torch module computing it (checked on random rows).
_ACTIVATIONS = {
    "linear": nn.Identity,
    "relu": nn.ReLU,
    "relu6": nn.ReLU6,
    "tanh": nn.Tanh,
    "sigmoid": nn.Sigmoid,
    "softplus": nn.Softplus,
    "softsign": nn.Softsign,
    "silu": nn.SiLU,
    "swish": nn.SiLU,
    "elu": nn.ELU,
    "selu": nn.SELU,
    "gelu": nn.GELU,
    "mish": nn.Mish,
    "leaky_relu": lambda: nn.LeakyReLU(0.2),  # Keras 3's default slope
    "softmax": lambda: nn.Softmax(dim=-1),
    "log_softmax": lambda: nn.LogSoftmax(dim=-1),
}
_SUPPORTED = (
    "Dense, Dropout, BatchNormalization, LayerNormalization, Activation, ReLU, "
    "LeakyReLU, Softmax, Flatten, and Normalization as the first layer"
)


def is_keras_model(obj):
    """Whether ``obj`` is a Keras 3 model (without importing Keras)."""
    return any(c.__module__.startswith("keras.") and c.__name__ == "Model" for c in type(obj).mro())


def _activation(function, where):
    import keras

    name = keras.activations.serialize(function)
    name = name if isinstance(name, str) else getattr(function, "__name__", repr(function))
    if name not in _ACTIVATIONS:
        raise ValueError(
            f"The Keras source's {where} uses the activation {name!r}, which sktkd does "
            f"not translate; it translates {sorted(_ACTIVATIONS)}."
        )
    return _ACTIVATIONS[name]()


def _weights(layer):
    return {w.path.rsplit("/", 1)[-1]: np.asarray(w.numpy()) for w in layer.weights}


def _tensor(array):
    return torch.as_tensor(np.array(array, dtype=np.float32))


def _torch_layers(layer):
    """``[(suffix, module)]`` computing what the Keras ``layer`` computes."""
    import keras

    kind, w = type(layer).__name__, _weights(layer)
    config = layer.get_config()
    if isinstance(layer, keras.layers.Dense):
        linear = nn.Linear(w["kernel"].shape[0], layer.units, bias=layer.use_bias)
        with torch.no_grad():
            linear.weight.copy_(_tensor(w["kernel"].T))
            if layer.use_bias:
                linear.bias.copy_(_tensor(w["bias"]))
        return [
            ("", linear),
            ("_activation", _activation(layer.activation, f"layer {layer.name!r}")),
        ]
    if isinstance(layer, keras.layers.Dropout):
        return [("", nn.Dropout(layer.rate))]
    if isinstance(layer, keras.layers.Activation):
        return [("", _activation(layer.activation, f"layer {layer.name!r}"))]
    if isinstance(layer, keras.layers.ReLU) and layer.max_value is None and layer.threshold == 0:
        return [("", nn.LeakyReLU(layer.negative_slope) if layer.negative_slope else nn.ReLU())]
    if isinstance(layer, keras.layers.LeakyReLU):
        return [("", nn.LeakyReLU(config["negative_slope"]))]
    if isinstance(layer, keras.layers.Softmax) and config.get("axis", -1) == -1:
        return [("", nn.Softmax(dim=-1))]
    if isinstance(layer, keras.layers.Flatten):
        return [("", nn.Flatten())]
    if isinstance(layer, keras.layers.BatchNormalization) and layer.axis in (-1, 1):
        if layer.center and layer.scale:
            norm = nn.BatchNorm1d(
                len(w["moving_mean"]), eps=layer.epsilon, momentum=1 - layer.momentum
            )
            with torch.no_grad():
                norm.weight.copy_(_tensor(w["gamma"]))
                norm.bias.copy_(_tensor(w["beta"]))
                norm.running_mean.copy_(_tensor(w["moving_mean"]))
                norm.running_var.copy_(_tensor(w["moving_variance"]))
            return [("", norm)]
    if (
        isinstance(layer, keras.layers.LayerNormalization)
        and tuple(layer.axis) in ((-1,), (1,))
        and layer.center
        and layer.scale
        and not config.get("rms_scaling", False)
    ):
        norm = nn.LayerNorm(len(w["gamma"]), eps=layer.epsilon)
        with torch.no_grad():
            norm.weight.copy_(_tensor(w["gamma"]))
            norm.bias.copy_(_tensor(w["beta"]))
        return [("", norm)]
    raise ValueError(
        f"The Keras source's layer {layer.name!r} ({kind}, {config}) has no torch "
        f"counterpart in sktkd; it translates {_SUPPORTED}, in a chain. Pass a torch "
        "module, or a network trained with sktkd, as the source instead."
    )


def _chain(model):
    """The model's layers, input to output, when each feeds only the next."""
    layers = [layer for layer in model.layers if type(layer).__name__ != "InputLayer"]
    for before, layer in zip(layers, layers[1:], strict=False):
        inputs = [node.parent_nodes for node in getattr(layer, "_inbound_nodes", [])]
        parents = {id(p.operation) for nodes in inputs for p in nodes}
        if parents and parents != {id(before)}:
            raise ValueError(
                f"The Keras source is not a chain of layers ({layer.name!r} does not take "
                f"the output of {before.name!r} alone); sktkd translates Sequential models "
                "and functional ones without branches."
            )
    return layers


def keras_network(model):
    """The Keras ``model`` as ``(Standardize, body)``: torch layers named as the Keras ones.

    A first ``Normalization`` layer becomes the input standardisation (none:
    inputs unscaled); every other layer, the torch layers computing the same
    (a ``Dense`` layer's activation follows it as ``<name>_activation``).

    Raises
    ------
    ValueError
        The model is not built, is not a chain of layers, holds a layer or an
        activation without a counterpart here, or its copy computes otherwise.
    """
    import keras

    try:
        n_features = model.inputs[0].shape[-1]
    except (AttributeError, IndexError, ValueError) as exc:
        raise ValueError(
            "The Keras source is not built: give it a keras.Input, or call it once on data."
        ) from exc
    layers = _chain(model)
    standardize = Standardize(0.0, 1.0)
    if layers and isinstance(layers[0], keras.layers.Normalization):
        norm = layers.pop(0)
        if norm.invert or tuple(norm.axis) not in ((-1,), (1,)):
            raise ValueError(
                f"The Keras source's Normalization layer {norm.name!r} is not a "
                "standardisation of the last axis."
            )
        mean, variance = (
            keras.ops.convert_to_numpy(v).reshape(-1).astype(np.float64)
            for v in (norm.mean, norm.variance)
        )
        # Keras divides by max(sqrt(variance), epsilon).
        scale = np.maximum(np.sqrt(variance), keras.backend.epsilon())
        standardize = Standardize(mean, scale)
    modules = OrderedDict()
    for layer in layers:
        for suffix, module in _torch_layers(layer):
            modules[layer.name.replace(".", "_") + suffix] = module
    body = nn.Sequential(modules)
    _check_same(model, standardize, body, n_features)
    return standardize, body


def _check_same(model, standardize, body, n_features):
    """The torch copy must compute what the Keras model computes, in inference."""
    import keras

    # Rows as the model expects them: around its Normalization's statistics.
    noise = np.random.default_rng(0).normal(size=(8, n_features))
    mean, scale = standardize.mean.numpy(), standardize.scale.numpy()
    rows = (mean + scale * noise).astype(np.float32)
    expected = keras.ops.convert_to_numpy(model(rows, training=False)).astype(np.float64)
    with torch.no_grad():
        scaled = torch.as_tensor(standardize.transform(rows))
        got = body.eval()(scaled).double().numpy()
    scale = max(1.0, float(np.abs(expected).max()))
    if got.shape != expected.shape or not np.allclose(got, expected, atol=1e-4 * scale, rtol=1e-3):
        gap = math.inf if got.shape != expected.shape else float(np.abs(got - expected).max())
        raise ValueError(
            "sktkd's torch copy of the Keras source does not compute what the source "
            f"computes (largest difference {gap:.3g} on random rows); a layer behaves "
            "otherwise than its counterpart. Pass a torch module as the source instead."
        )


def drop_after_head(body, head):
    """``body`` up to its ``head`` layer: the head's activation and any layer after
    it without weights (a softmax, a dropout) go, since the new head gives logits."""
    names = list(body._modules)
    after = names[names.index(head) + 1 :]
    weighted = [n for n in after if next(body.get_submodule(n).parameters(), None) is not None]
    if weighted:
        raise ValueError(
            f"The Keras source's head {head!r} is followed by layers with weights "
            f"({weighted}); name its last Dense layer as the head."
        )
    for name in after:
        del body._modules[name]
    return body
