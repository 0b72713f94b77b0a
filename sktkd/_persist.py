"""States for skops: torch objects as plain records of arrays and types.

skops (``skops.io``) rebuilds objects from plain data (containers, numpy
arrays, types the user trusts) and never unpickles bytes; a torch tensor is
none of these, and skorch pickles its network into bytes. :func:`to_plain`
turns the torch objects of a ``__getstate__`` dict into plain records, and
:func:`from_plain` turns them back. (pickle and copy keep torch's and
skorch's own ways: see ``__reduce_ex__`` in ``sktkd._net`` and ``sktkd._base``.)

- A tensor becomes a numpy array (a byte array for dtypes numpy lacks), with its
  dtype, device and whether it is a parameter that requires a gradient.
- A module becomes its type and its ``__getstate__`` dict, encoded in turn;
  rebuilding calls its ``__setstate__``, as unpickling does.
- An optimizer becomes its type, defaults, parameter groups and state.
- A random generator becomes its device and state.
- A skorch callback or a learning-rate schedule, whose attributes may hold
  these (best weights, the optimizer), becomes its type and attributes.

Each object is recorded once, so tied weights stay tied and an optimizer
keeps pointing at the network's parameters. Tensors of other layouts
(sparse, quantized), tensor subclasses (a lazy module's uninitialised
parameters) and objects outside these kinds stay as they are, for skops to
store or refuse.
"""

import inspect
import sys
import warnings
from collections import OrderedDict, defaultdict

import numpy as np
import torch
from skorch.callbacks import Callback
from torch import nn
from torch.optim.lr_scheduler import LRScheduler

from ._keras import is_keras_model

_OBJECT = "sktkd.object"  # {_OBJECT: i}: the i-th record of _RECORDS
_RECORDS = "sktkd.records"
_ESCAPED = "sktkd.dict"  # {_ESCAPED: d}: the user's dict d, holding one of these keys
_TORCH = (torch.Tensor, nn.Module, torch.optim.Optimizer, torch.Generator)
_HOLDERS = (Callback, LRScheduler)  # plain objects that may hold torch objects
_KINDS = {"module": nn.Module, "optimizer": torch.optim.Optimizer, "object": _HOLDERS}


def _attributes(holder):
    state = holder.__getstate__() if hasattr(holder, "__getstate__") else vars(holder)
    return {} if state is None else state  # Python 3.11+ gives None for no attributes


def _plain_tensor(tensor):
    return (
        type(tensor) in (torch.Tensor, nn.Parameter)
        and tensor.layout == torch.strided
        and not tensor.is_quantized
        and tensor.device.type != "meta"
    )


def loading_with_skops():
    """Whether skops (or a record skops read) builds the object whose ``__setstate__`` asks.

    skops's loader, and the decoder of records below, call ``__setstate__`` from
    their own Python frames; unpickling calls it from pickle's (C) machinery,
    whatever called ``pickle.load`` (skops's pickle-to-skops converter among them).
    """
    caller = sys._getframe(2)  # 0: here, 1: __setstate__, 2: whoever called it
    return caller.f_globals.get("__name__", "").startswith(("skops.io", __name__))


def check_attributes(cls, state):
    """Refuse a loaded state whose keys would shadow methods of ``cls``.

    A skops file gives each object its attributes; an attribute named like a
    method (``predict``, ``forward``) would replace it with whatever callable
    the file names.
    """
    shadowing = sorted(k for k in state if inspect.isfunction(inspect.getattr_static(cls, k, None)))
    if shadowing:
        raise TypeError(
            f"The stored state of {cls.__name__} sets {shadowing}, which are its methods: "
            "refusing to load it."
        )


class _Encoder:
    def __init__(self):
        # The memo keeps what it saw alive, as pickle's does: an object made by a
        # __getstate__ and freed would hand its id to a later, different one.
        self.records, self.memo, self.alive, self.escaped = [], {}, [], False

    def __call__(self, value):
        if is_keras_model(value):  # a torch module on the torch backend, but Keras's graph
            raise TypeError(
                "A Keras model (the source= or module= parameter) cannot be saved with skops. "
                "The fitted student is a torch network without it: set the parameter to None "
                "before saving, e.g. est.set_params(source=None)."
            )
        if isinstance(value, _TORCH + _HOLDERS):
            if isinstance(value, torch.Tensor) and not _plain_tensor(value):
                return value
            if isinstance(value, _HOLDERS) and type(_attributes(value)) is not dict:
                return value
            if id(value) not in self.memo:
                self.alive.append(value)
                self.memo[id(value)] = len(self.records)
                self.records.append(None)  # reserved: a module may reach itself
                self.records[self.memo[id(value)]] = self._record(value)
            return {_OBJECT: self.memo[id(value)]}
        if type(value) in (dict, OrderedDict):
            encoded = type(value)((k, self(v)) for k, v in value.items())
            # A dict of the user's that looks like a reference stays a dict.
            if {_OBJECT, _ESCAPED} & value.keys():
                self.escaped = True
                return {_ESCAPED: encoded}
            return encoded
        if type(value) in (list, tuple):
            return type(value)(self(v) for v in value)
        return value

    def _record(self, value):
        if isinstance(value, torch.Tensor):
            data = value.detach().cpu().resolve_conj().resolve_neg()
            try:
                array = data.numpy()
            except TypeError:  # bfloat16 and others numpy lacks: their bytes
                array = data.contiguous().reshape(-1).view(torch.uint8).numpy()
            return {
                "kind": "tensor",
                "data": array,
                "dtype": str(value.dtype).removeprefix("torch."),
                "shape": list(value.shape),
                "device": str(value.device),
                "parameter": isinstance(value, nn.Parameter),
                "requires_grad": value.requires_grad,
            }
        if isinstance(value, nn.Module):
            return {"kind": "module", "type": type(value), "state": self(value.__getstate__())}
        if isinstance(value, torch.optim.Optimizer):
            return {
                "kind": "optimizer",
                "type": type(value),
                "defaults": self(value.defaults),
                "param_groups": self(value.param_groups),
                "state": [[self(k), self(v)] for k, v in value.state.items()],
            }
        if isinstance(value, _HOLDERS):
            return {"kind": "object", "type": type(value), "state": self(_attributes(value))}
        return {
            "kind": "generator",
            "device": str(value.device),
            "state": value.get_state().numpy(),
        }


def to_plain(state):
    """``state`` (a ``__getstate__`` dict) with its torch objects as plain records."""
    encode = _Encoder()
    plain = {k: encode(v) for k, v in state.items()}
    if encode.records or encode.escaped:
        plain[_RECORDS] = encode.records
    return plain


class _Decoder:
    def __init__(self, records, map_location):
        self.records, self.objects, self.map_location = records, {}, map_location

    def __call__(self, value):
        if type(value) is dict and len(value) == 1 and _OBJECT in value:
            return self.build(value[_OBJECT])
        if (
            type(value) is dict
            and len(value) == 1
            and type(value.get(_ESCAPED)) in (dict, OrderedDict)
        ):
            return type(value[_ESCAPED])((k, self(v)) for k, v in value[_ESCAPED].items())
        if type(value) in (dict, OrderedDict):
            return type(value)((k, self(v)) for k, v in value.items())
        if type(value) in (list, tuple):
            return type(value)(self(v) for v in value)
        return value

    def device(self, name):
        device = torch.device(name)
        if self.map_location is not None and device.type != "cpu":
            return torch.device(self.map_location)
        if device.type == "cuda" and not torch.cuda.is_available():
            warnings.warn(
                f"A tensor saved on {name} is loaded on the CPU: no CUDA device is available.",
                stacklevel=4,
            )
            return torch.device("cpu")
        return device

    def build(self, index):
        if index in self.objects:
            return self.objects[index]
        record = self.records[index]
        kind = record["kind"]
        # A record builds only its kind: a type of another kind (a net, say, whose
        # __setstate__ would unpickle bytes) is refused.
        base = _KINDS.get(kind)
        if base is not None and not (
            isinstance(record["type"], type) and issubclass(record["type"], base)
        ):
            raise TypeError(
                f"A stored {kind} record names {record['type']!r}: refusing to load it."
            )
        if kind == "tensor":
            array = record["data"]
            array = array if array.flags.writeable else array.copy()
            dtype = getattr(torch, record["dtype"], None)
            if not isinstance(dtype, torch.dtype):
                raise TypeError(f"Not a torch dtype: {record['dtype']!r}.")
            tensor = torch.from_numpy(array)
            if tensor.dtype != dtype:  # stored as bytes
                shape = [int(n) for n in record["shape"]]
                if tensor.numel() == 0 and 0 in shape:
                    tensor = torch.empty(shape, dtype=dtype)
                else:
                    tensor = tensor.view(dtype).reshape(shape)
            tensor = tensor.to(self.device(record["device"]))
            if record["parameter"]:
                tensor = nn.Parameter(tensor, requires_grad=record["requires_grad"])
            else:
                tensor.requires_grad_(record["requires_grad"])
            self.objects[index] = tensor
        elif kind == "module":
            module = record["type"].__new__(record["type"])
            self.objects[index] = module  # before its state: a module may reach itself
            state = self(record["state"])
            check_attributes(record["type"], state)
            module.__setstate__(state)
        elif kind == "optimizer":
            optimizer = record["type"].__new__(record["type"])
            self.objects[index] = optimizer
            state = {self(k): self(v) for k, v in record["state"]}
            optimizer.__setstate__(
                {
                    "defaults": self(record["defaults"]),
                    "param_groups": self(record["param_groups"]),
                    "state": defaultdict(dict, state),
                }
            )
        elif kind == "object":
            holder = record["type"].__new__(record["type"])
            self.objects[index] = holder
            state = self(record["state"])
            check_attributes(record["type"], state)
            if hasattr(holder, "__setstate__"):
                holder.__setstate__(state)
            else:
                vars(holder).update(state)
        else:
            generator = torch.Generator(self.device(record["device"]))
            generator.set_state(torch.from_numpy(np.array(record["state"], dtype=np.uint8)))
            self.objects[index] = generator
        return self.objects[index]


def from_plain(plain, map_location=None):
    """The ``__getstate__`` dict that :func:`to_plain` encoded, torch objects rebuilt.

    Tensors go back to their device, or to ``map_location`` when given for
    tensors saved off the CPU; to the CPU, with a warning, when CUDA is gone.
    A state without records (an older pickle) is returned as it is.
    """
    if _RECORDS not in plain:
        return plain
    plain = dict(plain)
    decode = _Decoder(plain.pop(_RECORDS), map_location)
    return {k: decode(v) for k, v in plain.items()}
