"""Pickle and skops: fitted estimators stored as arrays and types, loaded as they were."""

import copy
import pickle

import numpy as np
import pytest
import torch
from sklearn.naive_bayes import GaussianNB
from skorch import NeuralNet
from skorch.callbacks import EpochScoring, LRScheduler
from torch import nn

from sktkd import DistilledClassifier, TransferClassifier
from sktkd._net import Net
from sktkd._persist import from_plain, to_plain

from .conftest import FAST

ESTIMATORS = {
    "distilled": lambda **kw: DistilledClassifier(GaussianNB(), random_state=0, **FAST, **kw),
    "transfer": lambda **kw: TransferClassifier(random_state=0, **FAST, **kw),
}

# What a user trusts to load a default estimator with skops: sktkd's own
# classes, skorch's (net, callbacks, history), torch's layers and optimizers,
# and the two callables skorch's net and callbacks hold.
TRUSTED_PREFIXES = ("sktkd.", "skorch.", "torch.nn.modules.", "torch.optim.")
TRUSTED_CALLABLES = {"builtins.print", "functools.partial"}


def skops_round_trip(model):
    sio = pytest.importorskip("skops.io")
    data = sio.dumps(model)
    untrusted = sio.get_untrusted_types(data=data)
    return sio.loads(data, trusted=untrusted), untrusted


def same_parameters(a, b):
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


@pytest.mark.parametrize("make", ESTIMATORS.values(), ids=ESTIMATORS)
def test_skops_round_trips_both_estimators(make, data):
    """The issue: skops failed with 'Cannot directly construct TensorBase'."""
    X, y = data
    model = make().fit(X, y)
    loaded, untrusted = skops_round_trip(model)
    np.testing.assert_array_equal(loaded.predict_proba(X), model.predict_proba(X))
    assert same_parameters(loaded.module_, model.module_)
    assert loaded.history_ == model.history_
    odd = [t for t in untrusted if not t.startswith(TRUSTED_PREFIXES)]
    assert set(odd) <= TRUSTED_CALLABLES, odd


@pytest.mark.parametrize("store", ["pickle", "skops"])
@pytest.mark.parametrize("make", ESTIMATORS.values(), ids=ESTIMATORS)
def test_a_loaded_estimator_trains_on_as_the_original(make, store, data):
    """The optimizer's state is stored too: partial_fit goes on where it stopped."""
    X, y = data
    model = make().fit(X, y)
    if store == "pickle":
        loaded = pickle.loads(pickle.dumps(model))
    else:
        loaded = skops_round_trip(model)[0]
    model.partial_fit(X, y)
    loaded.partial_fit(X, y)
    np.testing.assert_allclose(loaded.predict_proba(X), model.predict_proba(X), atol=1e-6)
    # The optimizer trains the network's own parameters, not copies of them.
    trained = {id(p) for group in loaded.net_.optimizer_.param_groups for p in group["params"]}
    assert trained <= {id(p) for p in loaded.net_.module_.parameters()}


def test_user_callbacks_holding_torch_objects_round_trip(data):
    """Sibling: a schedule holds the optimizer, early stopping held the best weights."""
    X, y = data
    callbacks = [LRScheduler("StepLR", step_size=2), EpochScoring("accuracy", on_train=True)]
    model = TransferClassifier(
        random_state=0, early_stopping=True, callbacks=callbacks, **FAST
    ).fit(X, y)
    loaded, _ = skops_round_trip(model)
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
    schedule = dict(loaded.net_.callbacks_)["LRScheduler"].lr_scheduler_
    assert schedule.optimizer is loaded.net_.optimizer_
    loaded.set_params(warm_start=True).fit(X, y)


def test_torch_teachers_and_sources_round_trip(data):
    X, y = data
    teacher = nn.Sequential(nn.Linear(6, 3))
    student = DistilledClassifier(teacher, random_state=0, **FAST).fit(X, y)
    loaded, _ = skops_round_trip(student)
    np.testing.assert_array_equal(loaded.predict_proba(X), student.predict_proba(X))
    assert same_parameters(loaded.teacher, teacher)
    transfer = TransferClassifier(teacher, random_state=0, **FAST).fit(X, y)
    loaded, _ = skops_round_trip(transfer)
    np.testing.assert_array_equal(loaded.predict_proba(X), transfer.predict_proba(X))


@pytest.mark.parametrize("early_stopping", [False, True])
def test_a_pickle_holds_one_network_and_no_rows(early_stopping, data):
    """Neither the validation rows nor a second copy of the weights travel with the model."""
    X, y = data
    hidden = {"hidden_layer_sizes": (256, 256)}  # weights of 266 kB dominate the pickle
    model = TransferClassifier(
        random_state=0, early_stopping=early_stopping, max_epochs=3, **hidden
    ).fit(X, y)
    weights = sum(p.numel() * 4 for p in model.net_.module_.parameters())
    # the weights, and Adam's two moments for partial_fit to go on with
    assert len(pickle.dumps(model)) < 3.2 * weights
    assert model.net_.train_split is None


def test_unfitted_estimators_round_trip():
    model = DistilledClassifier(GaussianNB(), max_epochs=3)
    for loaded in (pickle.loads(pickle.dumps(model)), skops_round_trip(model)[0]):
        assert loaded.get_params()["max_epochs"] == 3
        assert not hasattr(loaded, "net_")


def test_nets_pickled_the_skorch_way_still_load(data):
    """Pickles made before sktkd stored arrays hold skorch's bytes: they load as before."""
    X, y = data
    model = TransferClassifier(random_state=0, **FAST).fit(X, y)
    net = Net.__new__(Net)
    net.__setstate__(NeuralNet.__getstate__(model.net_))
    assert same_parameters(net.module_, model.net_.module_)


class Tied(nn.Module):
    def __init__(self):
        super().__init__()
        self.encode = nn.Linear(4, 4)
        self.decode = nn.Linear(4, 4)
        self.decode.weight = self.encode.weight  # tied weights
        self.again = self.encode  # a shared submodule
        self.register_buffer("codes", torch.arange(3, dtype=torch.bfloat16))  # numpy lacks it


def test_records_keep_tied_weights_shared_modules_and_dtypes():
    sio = pytest.importorskip("skops.io")
    module = Tied()
    module.encode.bias.requires_grad_(False)
    state = {"module": module, "generator": torch.Generator().manual_seed(3)}
    data = sio.dumps(to_plain(state))
    stored = [pickle.dumps(to_plain(state)), data]
    for plain in (
        pickle.loads(stored[0]),
        sio.loads(data, trusted=sio.get_untrusted_types(data=data)),
    ):
        loaded = from_plain(plain)
        twin = loaded["module"]
        assert twin.decode.weight is twin.encode.weight
        assert twin.again is twin.encode
        assert twin.codes.dtype == torch.bfloat16 and torch.equal(twin.codes, module.codes)
        assert not twin.encode.bias.requires_grad and twin.encode.weight.requires_grad
        expected = torch.rand(2, generator=torch.Generator().manual_seed(3))
        assert torch.equal(torch.rand(2, generator=loaded["generator"]), expected)


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks loading without CUDA")
def test_tensors_saved_on_cuda_load_on_the_cpu_with_a_warning():
    plain = to_plain({"w": torch.ones(2)})
    plain["sktkd.records"][0]["device"] = "cuda:0"  # as saved on a GPU machine
    with pytest.warns(UserWarning, match="no CUDA device"):
        loaded = from_plain(plain)
    assert loaded["w"].device.type == "cpu"


def test_skops_never_unpickles_a_nets_bytes(data, monkeypatch, tmp_path):
    """A skops file whose net holds skorch's pickled bytes is refused: they would run code."""
    sio = pytest.importorskip("skops.io")
    X, y = data
    model = TransferClassifier(random_state=0, **FAST).fit(X, y)

    def forged_state(net):  # skorch's state, everything torch inside its bytes
        state = NeuralNet.__getstate__(net)
        inside = pickle.loads(state["__cuda_dependent_attributes__"])
        for key in ("module", "criterion", "iterator_train__generator", "callbacks_"):
            inside[key] = state.pop(key)
        state["__cuda_dependent_attributes__"] = pickle.dumps(inside)
        return state

    monkeypatch.setattr(Net, "__getstate__", forged_state)
    forged = sio.dumps(model)
    monkeypatch.undo()
    with pytest.raises(Exception, match="pickled bytes"):
        sio.loads(forged, trusted=sio.get_untrusted_types(data=forged))


def test_pickle_keeps_the_object_graph(data):
    """pickle and copy take skorch's way: a hook bound to the network stays bound to it."""
    X, y = data

    class Hooked(nn.Module):
        def __init__(self, n_features_in, n_classes):
            super().__init__()
            self.layer = nn.Linear(n_features_in, n_classes)
            self.register_forward_hook(self.count)
            self.calls = 0

        def count(self, module, args, out):
            self.calls += 1

        def forward(self, X):
            return self.layer(X)

    globals()["Hooked"] = Hooked  # pickle finds classes by name
    Hooked.__qualname__ = "Hooked"
    model = TransferClassifier(module=Hooked, random_state=0, **FAST).fit(X, y)
    for loaded in (pickle.loads(pickle.dumps(model)), copy.deepcopy(model)):
        body = loaded.net_.module_
        (hook,) = body._forward_hooks.values()
        assert hook.__self__ is body
        assert loaded.net_.module is body  # the parameter is the built network, once


class Compact(nn.Module):
    """Stores its table as float16: a tensor its __getstate__ makes, then frees."""

    def __init__(self, value):
        super().__init__()
        self.table = torch.full((4,), float(value))

    def __getstate__(self):
        return {**super().__getstate__(), "table": self.table.half()}

    def __setstate__(self, state):
        super().__setstate__({**state, "table": state["table"].float()})


def test_records_never_mistake_a_freed_object_for_a_new_one():
    """Objects made during encoding are kept alive, so their ids are never reused."""
    model = nn.Sequential(*[Compact(i) for i in range(6)])
    loaded = from_plain(pickle.loads(pickle.dumps(to_plain({"m": model}))))["m"]
    assert [float(m.table[0]) for m in loaded] == [0, 1, 2, 3, 4, 5]


def test_records_keep_odd_tensors_and_dicts_that_look_like_records():
    state = {
        "empty": torch.empty(0, 3, dtype=torch.bfloat16),
        "conj": torch.tensor([1 + 2j]).conj(),
        "user": {"sktkd.object": 0},
        "escaped": {"sktkd.dict": [1]},
    }
    sio = pytest.importorskip("skops.io")
    data = sio.dumps(to_plain(state))
    loaded = from_plain(sio.loads(data, trusted=sio.get_untrusted_types(data=data)))
    assert loaded["empty"].shape == (0, 3) and loaded["empty"].dtype == torch.bfloat16
    assert torch.equal(loaded["conj"], torch.tensor([1 - 2j]))
    assert loaded["user"] == {"sktkd.object": 0} and loaded["escaped"] == {"sktkd.dict": [1]}


def test_validation_rows_weights_and_teacher_classes_are_dropped_after_fit(data):
    X, y = data
    model = DistilledClassifier(GaussianNB(), early_stopping=True, random_state=0, **FAST).fit(
        X, y, sample_weight=np.ones(len(y))
    )
    scorings = [getattr(cb, "scoring", None) for _, cb in model.net_.callbacks_]
    scorings = [s for s in scorings if hasattr(s, "teacher_targets")]
    assert len(scorings) == 2
    assert all(s.weights is None and s.teacher_targets is None for s in scorings)


def test_skops_converts_a_pickle_of_either_estimator(data, tmp_path):
    """skops's own converter unpickles sktkd's bytes: it is pickle's caller, not skops.io."""
    sio = pytest.importorskip("skops.io")
    from skops.cli._convert import _convert_file

    X, y = data
    model = TransferClassifier(random_state=0, **FAST).fit(X, y)
    (tmp_path / "model.pkl").write_bytes(pickle.dumps(model))
    _convert_file(tmp_path / "model.pkl", tmp_path / "model.skops")
    data_ = (tmp_path / "model.skops").read_bytes()
    loaded = sio.loads(data_, trusted=sio.get_untrusted_types(data=data_))
    np.testing.assert_array_equal(loaded.predict_proba(X), model.predict_proba(X))


def test_skops_refuses_attributes_that_shadow_methods(data, monkeypatch):
    """A file naming a callable as an attribute called like a method would run it later."""
    sio = pytest.importorskip("skops.io")
    X, y = data
    model = TransferClassifier(random_state=0, **FAST).fit(X, y)
    getstate = Net.__getstate__
    monkeypatch.setattr(Net, "__getstate__", lambda net: {**getstate(net), "parameter_count": len})
    forged = sio.dumps(model)
    monkeypatch.undo()
    with pytest.raises(Exception, match="parameter_count.*methods"):
        sio.loads(forged, trusted=sio.get_untrusted_types(data=forged))
    state = {**model.__getstate__(), "predict": len}  # sibling: the estimator's own
    with pytest.raises(TypeError, match="predict.*methods"):
        TransferClassifier.__new__(TransferClassifier).__setstate__(state)


def relu_layer():
    return nn.ReLU()


def test_the_architecture_names_functions_not_their_addresses(data):
    """Issue: partial_fit after loading in another process saw module__activation 'changed'
    (its repr holds an address)."""
    X, y = data
    model = DistilledClassifier(
        GaussianNB(), module__activation=relu_layer, random_state=0, max_epochs=2
    ).fit(X, y)
    assert "0x" not in str(model.net_.architecture_)
    from sktkd._base import describe

    assert describe(relu_layer) == f"{__name__}.relu_layer"
    # Lambdas and closures share names: their reprs tell them apart (round three).
    assert describe(lambda: nn.ReLU()) != describe(lambda: nn.Tanh())


def test_records_build_only_their_kind_and_never_shadow_methods():
    """Round three: a record naming a net (whose __setstate__ unpickles bytes) as an
    'object', or setting an object's method, is refused."""
    from sktkd._persist import _RECORDS

    forged = to_plain({"cb": LRScheduler("StepLR", step_size=1)})
    forged[_RECORDS][0]["type"] = Net
    with pytest.raises(TypeError, match="refusing"):
        from_plain(forged)
    forged = to_plain({"cb": LRScheduler("StepLR", step_size=1)})
    forged[_RECORDS][0]["state"]["on_epoch_end"] = print
    with pytest.raises(TypeError, match="on_epoch_end"):
        from_plain(forged)


class StaticDefault(nn.Module):
    act = staticmethod(torch.relu)  # a class-level default, overridden per instance

    def __init__(self):
        super().__init__()
        self.act = torch.tanh


def test_an_instance_may_override_a_class_level_function_default():
    loaded = from_plain(to_plain({"m": StaticDefault()}))["m"]
    assert loaded.act is torch.tanh


def test_ordered_dicts_that_look_like_records_round_trip():
    from collections import OrderedDict

    state = {"d": OrderedDict([("sktkd.object", 1)])}
    assert from_plain(pickle.loads(pickle.dumps(to_plain(state)))) == state
