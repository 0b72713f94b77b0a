"""Sources for transfer: the pretrained network, its labels, and where its head is."""

import os
from collections import OrderedDict

import numpy as np
import torch
from sklearn.exceptions import NotFittedError
from sklearn.utils.validation import check_is_fitted
from skorch import NeuralNet
from torch import nn

from ._base import NeuralBase
from ._keras import is_keras_model, keras_network
from ._modules import Standardize, TargetScaling, whole_network

# Normalisation layers join the layer group of the weight layer before them.
_NORM_LAYERS = (
    nn.BatchNorm1d,
    nn.BatchNorm2d,
    nn.BatchNorm3d,
    nn.SyncBatchNorm,
    nn.LayerNorm,
    nn.GroupNorm,
)
BATCH_NORMS = (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d, nn.SyncBatchNorm)


def with_identity_scaling(body):
    """``Sequential(standardize, body)`` that leaves the inputs as they are."""
    return nn.Sequential(
        OrderedDict(standardize=Standardize(torch.zeros(()), torch.ones(())), body=body)
    )


def source_network(source, rows=None):
    """The source's network, as ``Sequential(standardize, body)``, and its classes.

    The network is the source's own object, to be copied, never trained (a
    Keras model's is a torch copy already, see :mod:`sktkd._keras`). The
    classes are ``None`` when the source does not know its labels (a torch
    module, an unlabelled skorch net, a Keras model). ``rows``: some of the
    user's inputs, on which a Keras model's copy is checked too.
    """
    if isinstance(source, NeuralBase):
        try:
            check_is_fitted(source)
        except NotFittedError as exc:
            raise NotFittedError(
                f"The source {type(source).__name__} is not fitted; fit it on the source "
                "task first, or pass source=None to train from scratch."
            ) from exc
        network = source.module_  # a regressor's also scales its outputs back: not a layer
        return whole_network(network.standardize, network.body), getattr(source, "classes_", None)
    if isinstance(source, NeuralNet):
        if not getattr(source, "initialized_", False):
            raise NotFittedError(f"The source skorch net {type(source).__name__} is not fitted.")
        return with_identity_scaling(source.module_), getattr(source, "classes_", None)
    if is_keras_model(source):  # before nn.Module: on the torch backend it is one
        return whole_network(*keras_network(source, rows)), None
    if isinstance(source, nn.Module):
        # A regressor's module_ scales its values back to the source task's units
        # last: that goes with the head it follows.
        last = source[-1] if isinstance(source, nn.Sequential) and len(source) else None
        if isinstance(last, TargetScaling):
            source = source[:-1]
        return with_identity_scaling(source), None
    raise TypeError(
        "source must be None, a fitted sktkd estimator, a fitted skorch net, a "
        "torch.nn.Module, a Keras 3 model or a path to a weights file; got "
        f"{type(source).__name__}."
    )


def load_weights(path):
    """A state dict read safely: safetensors, or ``torch.load(weights_only=True)``.

    Raises a ``ValueError`` naming the file when it is missing, unreadable,
    not a dict of tensors under string names, or holds non-finite weights.
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise ValueError(f"The source weights file {path!r} does not exist.")
    if path.endswith(".safetensors"):
        try:
            from safetensors.torch import load_file
        except ImportError as exc:
            raise ImportError(
                f"Reading {path!r} needs safetensors: pip install safetensors"
            ) from exc
        try:
            state = load_file(path, device="cpu")
        except Exception as exc:  # SafetensorError and kin: a header that does not parse
            raise ValueError(f"{path!r} is not a readable safetensors file: {exc}") from exc
    else:
        try:
            state = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as exc:  # pickle errors of many kinds: none is executed
            raise ValueError(
                f"{path!r} is not a weights file that loads with weights_only=True (a "
                f"state_dict of tensors); whole pickled modules are refused: {exc}"
            ) from exc
    if not isinstance(state, dict) or not all(
        isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in state.items()
    ):
        raise ValueError(
            f"{path!r} does not hold a state_dict (a dict of tensors under string names)."
        )
    broken = sorted(k for k, v in state.items() if v.is_floating_point() and not v.isfinite().all())
    if broken:
        raise ValueError(f"{path!r} holds NaN or infinite weights in {broken}.")
    return state


def load_into(network, state, head):
    """Copy ``state`` into ``network`` (``Sequential(standardize, body)``), head excluded.

    ``state`` is the state dict of a whole sktkd network (its input scaling
    ``standardize.mean`` and ``standardize.scale``, and ``body.*``) or of the
    body alone, whose inputs are then left unscaled. Returns what was loaded,
    under the network's own key names.
    """
    # A regressor's network ends by scaling its values back to the source task's
    # units: that belongs to the head, which is never loaded.
    state = {k: v for k, v in state.items() if not k.startswith("target_scaling.")}
    whole = {"standardize.mean", "standardize.scale"} <= state.keys()
    scaling = [state["standardize.mean"], state["standardize.scale"]] if whole else [0.0, 1.0]
    network.standardize = Standardize(*scaling)
    # Keys within the body, and the names the file gives them (for messages).
    if whole:
        named = {k.removeprefix("body."): k for k in state if not k.startswith("standardize.")}
    else:
        named = {k: k for k in state}
    body = {k: state[name] for k, name in named.items() if not f"body.{k}".startswith(head + ".")}
    expected = {k for k in network.body.state_dict() if not f"body.{k}".startswith(head + ".")}
    prefix = "body." if whole else ""
    missing = sorted(prefix + k for k in expected - set(body))
    unexpected = sorted(named[k] for k in set(body) - expected)
    if missing or unexpected:
        raise ValueError(
            "The weights file does not fit the network built from module / "
            f"hidden_layer_sizes: missing {missing}, unexpected {unexpected}."
        )
    try:
        network.body.load_state_dict(body, strict=False)
    except RuntimeError as exc:
        raise ValueError(
            f"The weights file does not fit the network built from module / "
            f"hidden_layer_sizes: {exc}"
        ) from exc
    return {f"body.{k}": v for k, v in body.items()}


def find_head(network, head=None):
    """Name, within ``network``, of the head: ``body.<head>`` or the last linear layer."""
    if head is not None:
        name = f"body.{head}"
        try:
            module = network.get_submodule(name)
        except AttributeError:
            module = None
        if not isinstance(module, nn.Linear):
            linear = [n[5:] for n, m in network.named_modules() if isinstance(m, nn.Linear)]
            raise ValueError(
                f"head={head!r} is not a torch.nn.Linear layer of the network; its linear "
                f"layers are {linear}."
            )
        return name
    linear = [n for n, m in network.named_modules() if isinstance(m, nn.Linear)]
    if not linear:
        raise ValueError(
            "The source network has no torch.nn.Linear layer to serve as its head; name "
            "the head with head='<module name>'."
        )
    return linear[-1]


def replace_head(network, head, n_classes):
    """Put a fresh linear layer with ``n_classes`` outputs in place of the head."""
    old = network.get_submodule(head)
    parent, _, child = head.rpartition(".")
    fresh = nn.Linear(old.in_features, n_classes, bias=old.bias is not None)
    setattr(network.get_submodule(parent), child, fresh)
    return network


def same_classes(source_classes, classes):
    return source_classes is not None and np.asarray(source_classes).tolist() == classes.tolist()


def layer_groups(network, head):
    """Module names grouped by layer, from the head down to the input.

    A group is a module that owns parameters, joined by the normalisation
    layers that follow it; groups follow the order in which the network
    registers its layers.
    """
    groups = []
    for name, module in network.named_modules():
        if name == head or name.startswith(head + "."):
            continue
        if isinstance(module, _NORM_LAYERS) and groups:
            groups[-1].append(name)
        elif next(module.parameters(recurse=False), None) is not None:
            groups.append([name])
    return [[head], *reversed(groups)]
