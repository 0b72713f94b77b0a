"""Keras 3 networks: a chain of Keras layers as the same torch layers.

A Keras model on the torch backend is a ``torch.nn.Module``, but its layers
are not torch layers: its ``Dense`` layers are no ``nn.Linear`` to serve as a
head, its weights sit in one flat dictionary, not in layers to freeze group by
group, and its dropout and batch normalisation follow Keras's ``training``
argument, not torch's ``train()``. sktkd therefore trains a torch copy: each
Keras layer becomes the torch layer that computes the same function, under
the Keras layer's name, with the Keras weights. The copy is checked against
the Keras model, so a layer computed otherwise is an error, never a different
network. The user's model is left as it is, and the student needs no Keras.
"""

import math
from collections import OrderedDict

import numpy as np
import torch
from torch import nn

from ._modules import Standardize

# Keras activation name -> the torch module computing it.
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
    "gelu": nn.GELU,  # Keras's activation is the exact one (approximate=False)
    "mish": nn.Mish,
    "leaky_relu": lambda: nn.LeakyReLU(0.2),  # Keras 3's default slope
    "softmax": lambda: nn.Softmax(dim=-1),
    "log_softmax": lambda: nn.LogSoftmax(dim=-1),
}
_SUPPORTED = (
    "Dense, Dropout, AlphaDropout, BatchNormalization, LayerNormalization, "
    "Normalization, Activation, ReLU, LeakyReLU, Softmax, Flatten and Identity, "
    "in a chain (nested Sequential and functional models included)"
)
_NOT_BUILT = "The Keras network is not built: give it a keras.Input, or call it once on data."
# The check's rows: around the model's input scaling, at these spreads.
_CHECK_SPREADS = (1.0, 10.0, 100.0)


def is_keras_model(obj):
    """Whether ``obj`` is a Keras 3 model (without importing Keras)."""
    return any(
        c.__module__ == "keras.src.models.model" and c.__name__ == "Model"
        for c in type(obj).__mro__
    )


def _activation(function, where):
    import keras

    name = getattr(function, "__name__", None)
    try:  # the Keras activation of that name, not a function merely named alike
        known = name in _ACTIVATIONS and keras.activations.get(name) is function
    except (ValueError, TypeError):
        known = False
    if not known:
        raise ValueError(
            f"The Keras network's {where} uses the activation {function!r}, which sktkd "
            f"does not translate; use a Keras activation by name, one of {sorted(_ACTIVATIONS)}."
        )
    return _ACTIVATIONS[name]()


def _weights(layer):
    return {w.path.rsplit("/", 1)[-1]: np.asarray(w.numpy()) for w in layer.weights}


def _tensor(array):
    return torch.as_tensor(np.array(array, dtype=np.float32))


def _standardize(layer):
    """A ``Normalization`` layer as sktkd's ``Standardize``."""
    import keras

    if layer.invert or layer.axis is None or tuple(layer.axis) not in ((-1,), (1,)):
        raise ValueError(
            f"The Keras network's Normalization layer {layer.name!r} is not a "
            "standardisation of the last axis."
        )
    mean, variance = (
        keras.ops.convert_to_numpy(v).reshape(-1).astype(np.float64)
        for v in (layer.mean, layer.variance)
    )
    # Keras divides by max(sqrt(variance), epsilon).
    return Standardize(mean, np.maximum(np.sqrt(variance), keras.backend.epsilon()))


def _torch_layers(layer):
    """``[(suffix, module)]`` computing what the Keras ``layer`` computes."""
    import keras

    L, where = keras.layers, f"layer {layer.name!r}"
    if not isinstance(layer, L.Layer):  # an operation (keras.ops.relu) in a functional model
        raise ValueError(
            f"The Keras network computes {layer.name!r} ({type(layer).__name__}), an operation "
            f"rather than a layer; sktkd translates {_SUPPORTED}. Use a layer "
            "(e.g. keras.layers.Activation) or pass a torch module instead."
        )
    w = _weights(layer)
    if isinstance(layer, L.Dense):
        linear = nn.Linear(w["kernel"].shape[0], layer.units, bias=layer.use_bias)
        with torch.no_grad():
            linear.weight.copy_(_tensor(w["kernel"].T))
            if layer.use_bias:
                linear.bias.copy_(_tensor(w["bias"]))
        return [("", linear), ("_activation", _activation(layer.activation, where))]
    if isinstance(layer, L.AlphaDropout):
        return [("", nn.AlphaDropout(layer.rate))]
    if isinstance(layer, L.Dropout) and layer.noise_shape is None:
        return [("", nn.Dropout(layer.rate))]
    if isinstance(layer, L.Activation):
        return [("", _activation(layer.activation, where))]
    if isinstance(layer, L.ReLU) and layer.max_value is None and layer.threshold == 0:
        return [("", nn.LeakyReLU(layer.negative_slope) if layer.negative_slope else nn.ReLU())]
    if isinstance(layer, L.LeakyReLU):
        return [("", nn.LeakyReLU(layer.negative_slope))]
    if isinstance(layer, L.Softmax) and layer.axis == -1:
        return [("", nn.Softmax(dim=-1))]
    if isinstance(layer, (L.Flatten, L.Identity)):
        return [("", nn.Flatten() if isinstance(layer, L.Flatten) else nn.Identity())]
    if isinstance(layer, L.Normalization):
        return [("", _standardize(layer))]
    if isinstance(layer, L.BatchNormalization) and layer.axis in (-1, 1):
        if layer.center and layer.scale and not getattr(layer, "renorm", False):
            n = len(w["moving_mean"])
            norm = nn.BatchNorm1d(n, eps=layer.epsilon, momentum=1 - layer.momentum)
            with torch.no_grad():
                norm.weight.copy_(_tensor(w["gamma"]))
                norm.bias.copy_(_tensor(w["beta"]))
                norm.running_mean.copy_(_tensor(w["moving_mean"]))
                norm.running_var.copy_(_tensor(w["moving_variance"]))
            return [("", norm)]
    if (
        isinstance(layer, L.LayerNormalization)
        and tuple(layer.axis) in ((-1,), (1,))
        and layer.center
        and layer.scale
        and not getattr(layer, "rms_scaling", False)
    ):
        norm = nn.LayerNorm(len(w["gamma"]), eps=layer.epsilon)
        with torch.no_grad():
            norm.weight.copy_(_tensor(w["gamma"]))
            norm.bias.copy_(_tensor(w["beta"]))
        return [("", norm)]
    raise ValueError(
        f"The Keras network's layer {layer.name!r} ({type(layer).__name__}, as configured) "
        f"has no torch counterpart in sktkd; it translates {_SUPPORTED}. Pass a torch "
        "module instead."
    )


def _chain(model):
    """The model's layers, input to output, nested models unpacked.

    Raises ``ValueError`` for a model that is not a chain (branches, several
    inputs or outputs), is subclassed, or is not built.
    """
    import keras

    if isinstance(model, keras.Sequential):
        layers = [layer for layer in model.layers if not isinstance(layer, keras.layers.InputLayer)]
    else:
        try:
            inputs, outputs = model.inputs, model.outputs
        except AttributeError:
            if model.built:
                raise ValueError(
                    f"The Keras network {type(model).__name__} is a subclassed model, whose "
                    "layers sktkd cannot see as a graph; it translates Sequential and "
                    "functional models."
                ) from None
            raise ValueError(_NOT_BUILT) from None
        if len(inputs) != 1 or len(outputs) != 1:
            raise ValueError(
                f"The Keras network has {len(inputs)} inputs and {len(outputs)} outputs; "
                "sktkd translates networks of one input and one output."
            )
        # Walk back from the output through this model's own graph.
        layers, tensor = [], outputs[0]
        while not isinstance(tensor._keras_history.operation, keras.layers.InputLayer):
            operation, node_index, _ = tensor._keras_history
            parents = operation._inbound_nodes[node_index].input_tensors
            if len(parents) != 1:
                raise ValueError(
                    f"The Keras network is not a chain of layers: {operation.name!r} takes "
                    f"{len(parents)} inputs. sktkd translates Sequential models and "
                    "functional ones without branches."
                )
            layers.append(operation)
            tensor = parents[0]
        layers.reverse()
    chain = []
    for layer in layers:
        chain.extend(_chain(layer) if isinstance(layer, keras.Model) else [layer])
    return chain


def _n_features(model):
    try:
        shape = tuple(model.inputs[0].shape)
    except (AttributeError, IndexError, ValueError):
        raise ValueError(_NOT_BUILT) from None
    if len(shape) != 2 or shape[1] is None:
        raise ValueError(
            f"The Keras network takes inputs of shape {shape}; sktkd's rows are (n_samples, "
            "n_features): give it keras.Input((n_features,))."
        )
    return shape[1]


def keras_network(model, rows=None):
    """The Keras ``model`` as ``(standardize, body)``: torch layers named as the Keras ones.

    A first ``Normalization`` layer becomes ``standardize`` (else it is
    ``Standardize(0, 1)``, inputs as they come); every other
    layer, the torch layers computing the same (a ``Dense`` layer's
    activation follows it as ``<name>_activation``). The copy is checked
    against the model on random rows and on ``rows`` (some of the user's).

    Raises
    ------
    ValueError
        The model is not built, subclassed or not a chain of layers, holds a
        layer or an activation without a counterpart here, or its copy
        computes otherwise.
    """
    layers = _chain(model)
    n_features = _n_features(model)
    standardize = Standardize(0.0, 1.0)
    if layers and type(layers[0]).__name__ == "Normalization":
        standardize = _standardize(layers.pop(0))
    modules, seen = OrderedDict(), set()
    for layer in layers:
        if id(layer) in seen:
            raise ValueError(
                f"The Keras network uses its layer {layer.name!r} twice (shared weights); "
                "sktkd translates networks whose layers are each used once."
            )
        seen.add(id(layer))
        for suffix, module in _torch_layers(layer):
            name = layer.name.replace(".", "_") + suffix
            if name in modules or hasattr(nn.Sequential(), name):
                raise ValueError(
                    f"The Keras network's layer name {layer.name!r} gives the torch layer "
                    f"{name!r}, which is taken (by another layer, or by torch's Module); "
                    "rename the Keras layer."
                )
            modules[name] = module
    body = nn.Sequential(modules)
    _check_same(model, standardize, body, n_features, rows)
    return standardize, body


def keras_body(model):
    """The Keras ``model`` as one torch network (a ``module=`` for the student).

    A first ``Normalization`` layer goes: the student's inputs come standardised
    already, with statistics of the training rows, not of the Keras layer's data.
    """
    return keras_network(model)[1]


def _check_same(model, standardize, body, n_features, rows=None):
    """The torch copy must compute what the Keras model computes, in inference."""
    import keras

    noise = np.random.default_rng(0).normal(size=(8 * len(_CHECK_SPREADS), n_features))
    noise *= np.repeat(_CHECK_SPREADS, 8)[:, None]
    mean, scale = standardize.mean.numpy(), standardize.scale.numpy()
    checks = [mean + scale * noise]
    if rows is not None:
        rows = np.asarray(rows, dtype=np.float64)[:256]
        if rows.shape[1] != n_features:
            raise ValueError(
                f"X has {rows.shape[1]} features, but the Keras network takes {n_features}: "
                "the target task must have the source's features."
            )
        checks.append(rows)
    inputs = np.concatenate(checks).astype(np.float32)
    expected = model(inputs, training=False)
    if not keras.ops.is_tensor(expected):
        raise ValueError(
            f"The Keras network returns a {type(expected).__name__}; sktkd translates "
            "networks that return one tensor."
        )
    expected = keras.ops.convert_to_numpy(expected).astype(np.float64)
    with torch.no_grad():
        got = body.eval()(torch.as_tensor(standardize.transform(inputs))).double().numpy()
    # Keras computing in half precision (a mixed policy) is less exact than the copy.
    low = {layer.compute_dtype for layer in _chain(model)} & {"float16", "bfloat16"}
    tolerance = 5e-2 if low else 1e-4
    size = np.maximum(1.0, np.abs(expected).max(axis=-1, keepdims=True))  # per row
    if got.shape != expected.shape or not (np.abs(got - expected) <= tolerance * size).all():
        gap = math.inf if got.shape != expected.shape else float(np.abs(got - expected).max())
        raise ValueError(
            "sktkd's torch copy of the Keras network does not compute what the network "
            f"computes (largest difference {gap:.3g}, on random rows or the first rows of "
            "X); one of its layers behaves otherwise than its torch counterpart (a custom "
            "layer or activation?). Pass a torch module instead."
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
            f"({weighted}); the head of a Keras source is its last Dense layer."
        )
    for name in after:
        del body._modules[name]
    return body
