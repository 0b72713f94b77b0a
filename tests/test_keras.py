"""Keras 3 models as transfer sources (and as teachers and modules), on the torch backend."""

import os
import pickle
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import torch

os.environ.setdefault("KERAS_BACKEND", "torch")
keras = pytest.importorskip("keras")

from sktkd import DistilledClassifier, TransferClassifier, _keras  # noqa: E402
from sktkd._source import source_network  # noqa: E402

torch_backend = pytest.mark.skipif(
    keras.backend.backend() != "torch", reason="a Keras model is a torch module on torch only"
)


@pytest.fixture(scope="module")
def task():
    """A source task (three classes) and a target task on other rows (two classes)."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(600, 6)).astype(np.float32) * [1, 2, 3, 1, 1, 1] + 5
    source_y = (X[:, 0] > 5).astype(int) + (X[:, 1] > 5)
    target_y = (X[:, 0] + X[:, 1] > 10).astype(int)
    return X, source_y, target_y


def mlp(n_features=6, head_activation="softmax", **dense):
    keras.utils.set_random_seed(0)
    norm = keras.layers.Normalization(
        mean=np.full(n_features, 5.0), variance=np.full(n_features, 4.0), name="scale"
    )
    return keras.Sequential(
        [
            keras.Input((n_features,)),
            norm,
            keras.layers.Dense(16, activation="relu", name="hidden", **dense),
            keras.layers.BatchNormalization(name="bn"),
            keras.layers.Dropout(0.1, name="drop"),
            keras.layers.Dense(8, activation="gelu", name="hidden2"),
            keras.layers.LayerNormalization(name="ln"),
            keras.layers.LeakyReLU(name="leaky"),
            keras.layers.Dense(3, activation=head_activation, name="out"),
        ]
    )


@pytest.fixture(scope="module")
def source(task):
    X, source_y, _ = task
    model = mlp()
    model.compile(keras.optimizers.Adam(0.01), "sparse_categorical_crossentropy")
    model.fit(X[:400], source_y[:400], epochs=30, batch_size=32, verbose=0)
    return model


def test_torch_copy_computes_what_keras_computes(source, task):
    X = task[0]
    standardize, body = _keras.keras_network(source)
    assert list(body._modules) == [
        "hidden", "hidden_activation", "bn", "drop", "hidden2", "hidden2_activation", "ln",
        "leaky", "out", "out_activation",
    ]  # fmt: skip
    with torch.no_grad():
        got = body.eval()(torch.as_tensor(standardize.transform(X))).numpy()
    expected = keras.ops.convert_to_numpy(source(X, training=False))
    np.testing.assert_allclose(got, expected, atol=1e-5)
    # The Normalization layer became the input standardisation.
    np.testing.assert_allclose(standardize.mean.numpy(), 5.0)
    np.testing.assert_allclose(standardize.scale.numpy(), 2.0)


@pytest.mark.parametrize("strategy", ["linear_probe", "lp_ft", "gradual", "full"])
def test_transfer_from_a_keras_source(source, task, strategy):
    X, _, target_y = task
    weights = [w.copy() for w in source.get_weights()]
    params = {"max_epochs": 30, "batch_size": 16, "random_state": 0}
    clf = TransferClassifier(source, strategy=strategy, **params)
    clf.fit(X[400:460], target_y[400:460])
    # 60 target labels: the source's layers help (from scratch: 0.857).
    scratch = TransferClassifier(hidden_layer_sizes=(16, 8), **params)
    scratch.fit(X[400:460], target_y[400:460])
    assert clf.score(X[460:], target_y[460:]) > scratch.score(X[460:], target_y[460:])
    # A fresh two-class head replaces Keras's Dense("out") and its softmax.
    body = clf.module_.body
    assert isinstance(body.out, torch.nn.Linear) and body.out.out_features == 2
    assert "out_activation" not in body._modules
    assert all(np.array_equal(a, b) for a, b in zip(weights, source.get_weights(), strict=True))


def test_strategies_freeze_keras_layers_by_group(source, task):
    X, _, target_y = task
    clf = TransferClassifier(source, strategy="linear_probe", max_epochs=3, random_state=0)
    clf.fit(X[400:460], target_y[400:460])
    copy = source_network(source)[0].body
    for name in ("hidden", "bn", "hidden2", "ln"):  # frozen: as the source left them
        for key, value in getattr(copy, name).state_dict().items():
            torch.testing.assert_close(getattr(clf.module_.body, name).state_dict()[key], value)


def test_head_is_named_by_its_keras_name(source, task):
    X, _, target_y = task
    clf = TransferClassifier(source, head="out", max_epochs=2).fit(X[:60], target_y[:60])
    assert clf.head_ == "body.out"
    with pytest.raises(ValueError, match=r"head 'hidden2' is followed by layers with weights"):
        TransferClassifier(source, head="hidden2", max_epochs=2).fit(X[:60], target_y[:60])


def test_input_scaling_of_a_keras_normalization(source, task):
    X, _, target_y = task
    kept = TransferClassifier(source, input_scaling="source", max_epochs=2)
    kept.fit(X[:60], target_y[:60])
    np.testing.assert_allclose(kept.standardize_.scale.numpy(), 2.0)
    recomputed = TransferClassifier(source, max_epochs=2).fit(X[:60], target_y[:60])
    np.testing.assert_allclose(recomputed.standardize_.mean.numpy(), X[:60].mean(0), rtol=1e-5)


def test_functional_chain_and_branches():
    keras.utils.set_random_seed(0)
    inputs = keras.Input((4,))
    a, b = keras.layers.Dense(8, activation="tanh", name="a"), keras.layers.Dense(3, name="b")
    chain = keras.Model(inputs, b(a(inputs)))
    standardize, body = _keras.keras_network(chain)
    assert list(body._modules) == ["a", "a_activation", "b", "b_activation"]
    other = keras.layers.Dense(8, name="c")(inputs)
    branched = keras.Model(inputs, keras.layers.Dense(3)(keras.layers.Add()([a(inputs), other])))
    with pytest.raises(ValueError, match="not a chain of layers"):
        _keras.keras_network(branched)
    # The layers' use in another model is not this model's graph.
    keras.Sequential([keras.Input((4,)), a, keras.layers.Dense(8), b])
    assert list(_keras.keras_network(chain)[1]._modules) == list(body._modules)


def test_nested_models_and_a_later_normalization():
    # Keras's own transfer idiom: a base model inside the whole one.
    keras.utils.set_random_seed(0)
    norm = keras.layers.Normalization(mean=np.ones(8), variance=np.full(8, 4.0), name="inner_scale")
    base = keras.Sequential(
        [keras.Input((2,)), keras.layers.Dense(8, activation="relu", name="base_dense"), norm]
    )
    model = keras.Sequential([keras.Input((2,)), base, keras.layers.Dense(3, name="top")])
    standardize, body = _keras.keras_network(model)
    assert list(body._modules) == ["base_dense", "base_dense_activation", "inner_scale", "top",
                                   "top_activation"]  # fmt: skip


@pytest.mark.parametrize(
    "build, match",
    [
        ("subclassed", "subclassed model"),
        ("dict_output", "returns a dict"),
        ("taken_name", "name 'training'"),
        ("colliding_names", "'h_activation'"),
        ("image_input", r"inputs of shape \(None, 8, 8\)"),
        ("custom_relu", "activation"),
        ("partial_activation", "activation"),
        ("clipping_dense", "does not compute what the network computes"),
        ("ops_call", "an operation rather than a layer"),
        ("row_dropout", "layer 'rows'"),
        ("renorm", "layer 'renorm'"),
        ("shared_twice", "uses its layer 'twice' twice"),
    ],
)
def test_networks_sktkd_cannot_copy_are_refused_clearly(build, match):
    import functools

    L = keras.layers
    if build == "subclassed":

        class Net(keras.Model):
            def __init__(self):
                super().__init__()
                self.dense = L.Dense(2)

            def call(self, x):
                return self.dense(x)

        model = Net()
        model(np.zeros((1, 4), dtype=np.float32))
    elif build == "dict_output":
        inputs = keras.Input((4,))
        model = keras.Model(inputs, {"logits": L.Dense(2)(inputs)})
    elif build == "taken_name":
        model = keras.Sequential([keras.Input((4,)), L.Dense(2, name="training")])
    elif build == "colliding_names":
        model = keras.Sequential(
            [keras.Input((4,)), L.Dense(2, "relu", name="h"), L.Dense(2, name="h_activation")]
        )
    elif build == "image_input":
        model = keras.Sequential([keras.Input((8, 8)), L.Flatten(), L.Dense(2)])
    elif build == "custom_relu":

        def relu(x):  # named as Keras's, computes otherwise
            return keras.ops.minimum(keras.ops.relu(x), 6.0)

        model = keras.Sequential([keras.Input((4,)), L.Dense(2, activation=relu)])
    elif build == "partial_activation":
        capped = functools.partial(keras.activations.relu, max_value=6.0)
        model = keras.Sequential([keras.Input((4,)), L.Dense(2, activation=capped)])
    elif build == "ops_call":
        inputs = keras.Input((4,))
        model = keras.Model(inputs, L.Dense(2)(keras.ops.relu(L.Dense(4)(inputs))))
    elif build == "row_dropout":  # drops whole rows in training: not nn.Dropout
        model = keras.Sequential(
            [keras.Input((4,)), L.Dropout(0.5, noise_shape=(None, 1), name="rows"), L.Dense(2)]
        )
    elif build == "renorm":
        model = keras.Sequential(
            [keras.Input((4,)), L.BatchNormalization(renorm=True, name="renorm"), L.Dense(2)]
        )
    elif build == "shared_twice":
        inputs, twice = keras.Input((4,)), L.Dense(4, name="twice")
        model = keras.Model(inputs, L.Dense(2)(twice(twice(inputs))))
    else:

        class Clipped(L.Dense):  # a Dense that is not one
            def call(self, x):
                return keras.ops.minimum(super().call(x), 20.0)

        model = keras.Sequential([keras.Input((4,)), Clipped(2)])
    with pytest.raises(ValueError, match=match):
        _keras.keras_network(model)


def test_mixed_precision_network_is_copied_in_float32():
    keras.mixed_precision.set_dtype_policy("mixed_bfloat16")
    try:
        keras.utils.set_random_seed(0)
        model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(16, activation="relu"),
                                  keras.layers.Dense(2)])  # fmt: skip
    finally:
        keras.mixed_precision.set_dtype_policy("float32")
    _, body = _keras.keras_network(model)
    assert {p.dtype for p in body.parameters()} == {torch.float32}


def test_keras_module_trains_as_torch_layers(task):
    # Keras's dropout and batch norm follow its `training` argument, which
    # skorch never passes: the student trains a torch copy, where train() counts.
    X, y, _ = task

    def net(rate):
        keras.utils.set_random_seed(0)
        return keras.Sequential([keras.Input((6,)), keras.layers.Dense(32, activation="relu"),
                                 keras.layers.BatchNormalization(), keras.layers.Dropout(rate),
                                 keras.layers.Dense(3)])  # fmt: skip

    params = {"max_epochs": 3, "random_state": 0}
    P = np.eye(3)[y] * 0.8 + 0.2 / 3
    with_dropout = DistilledClassifier(module=net(0.9), **params).fit(X, y, teacher_proba=P)
    without = DistilledClassifier(module=net(0.0), **params).fit(X, y, teacher_proba=P)
    assert isinstance(with_dropout.module_.body[3], torch.nn.Dropout)
    assert not np.allclose(with_dropout.predict_proba(X), without.predict_proba(X))
    bn = with_dropout.module_.body[2]
    assert not torch.allclose(bn.running_mean, torch.zeros_like(bn.running_mean))
    # A student whose module came from Keras is a source like any other.
    transfer = TransferClassifier(with_dropout, max_epochs=2).fit(X[:60], y[:60] % 2)
    assert isinstance(transfer.module_.get_submodule(transfer.head_), torch.nn.Linear)
    assert transfer.module_.get_submodule(transfer.head_).out_features == 2


@pytest.mark.parametrize(
    "layer, match",
    [
        (lambda: keras.layers.Dense(4, activation="exponential"), "function exponential"),
        (lambda: keras.layers.GaussianNoise(0.1, name="noise"), "layer 'noise'"),
        (lambda: keras.layers.ReLU(max_value=6.0, name="capped"), "layer 'capped'"),
        (lambda: keras.layers.BatchNormalization(center=False, name="bn0"), "layer 'bn0'"),
    ],
)
def test_layers_without_a_counterpart_are_refused(layer, match):
    model = keras.Sequential(
        [keras.Input((4,)), keras.layers.Dense(4), layer(), keras.layers.Dense(2)]
    )
    with pytest.raises(ValueError, match=match):
        TransferClassifier(model).fit(np.zeros((10, 4)), np.arange(10) % 2)


def test_unbuilt_model_is_refused():
    model = keras.Sequential([keras.layers.Dense(2)])
    with pytest.raises(ValueError, match="not built"):
        _keras.keras_network(model)


def test_a_copy_that_computes_otherwise_is_an_error(source, monkeypatch):
    monkeypatch.setitem(_keras._ACTIVATIONS, "relu", torch.nn.Tanh)
    with pytest.raises(ValueError, match="does not compute what the network computes"):
        _keras.keras_network(source)


def test_student_of_a_keras_source_serves_without_keras(source, task, tmp_path):
    X, _, target_y = task
    clf = TransferClassifier(source, max_epochs=3, random_state=0).fit(X[:60], target_y[:60])
    clf.set_params(source=None)  # the parameter is the user's Keras model
    (tmp_path / "clf.pkl").write_bytes(pickle.dumps(clf))
    np.save(tmp_path / "X.npy", X)
    code = textwrap.dedent(f"""
        import sys, pickle, numpy as np
        sys.modules["keras"] = None
        clf = pickle.loads(open({str(tmp_path / "clf.pkl")!r}, "rb").read())
        X = np.load({str(tmp_path / "X.npy")!r})
        np.save({str(tmp_path / "P.npy")!r}, clf.predict_proba(X))
    """)
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)
    np.testing.assert_allclose(np.load(tmp_path / "P.npy"), clf.predict_proba(X), rtol=1e-6)


@torch_backend
def test_keras_teacher_and_module(task):
    X, y, _ = task
    teacher = mlp(head_activation=None)  # logits
    loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    teacher.compile(keras.optimizers.Adam(0.01), loss)
    teacher.fit(X[:400], y[:400], epochs=30, batch_size=32, verbose=0)
    params = {"max_epochs": 20, "batch_size": 16, "random_state": 0}
    student = DistilledClassifier(teacher, **params).fit(X[:400], y[:400])
    assert student.score(X[400:], y[400:]) > 0.85
    # A Keras network as the student's module (sized for the data).
    module = keras.Sequential([keras.Input((6,)), keras.layers.Dense(16, activation="relu"),
                               keras.layers.Dense(3)])  # fmt: skip
    student = DistilledClassifier(teacher, module=module, **params)
    assert student.fit(X[:400], y[:400]).score(X[400:], y[400:]) > 0.75
    with pytest.raises(ValueError, match="returns probabilities"):
        DistilledClassifier(mlp(), max_epochs=2).fit(X[:400], y[:400])


def test_only_keras_3_models_are_keras_models():
    assert _keras.is_keras_model(keras.Sequential())
    assert not _keras.is_keras_model(keras.Sequential)  # a class is no model
    assert not _keras.is_keras_model(torch.nn.Linear(2, 2))


def test_keras_module_with_normalization_and_warm_start(task):
    X, y, _ = task

    def net(width, scaled=True):
        keras.utils.set_random_seed(0)
        norm = keras.layers.Normalization(name="scale")
        norm.adapt(X)
        layers = [norm] if scaled else []
        return keras.Sequential(
            [keras.Input((6,)), *layers, keras.layers.Dense(width, activation="relu"),
             keras.layers.Dense(3)], name="student",
        )  # fmt: skip

    # sktkd standardises the inputs itself: the Keras layer's scaling goes.
    params = {"max_epochs": 20, "batch_size": 16, "random_state": 0}
    P = np.eye(3)[y] * 0.8 + 0.2 / 3
    scaled = DistilledClassifier(module=net(16), **params).fit(X, y, teacher_proba=P)
    plain = DistilledClassifier(module=net(16, scaled=False), **params)
    plain.fit(X, y, teacher_proba=P)
    assert "scale" not in scaled.module_.body._modules
    assert scaled.score(X, y) == plain.score(X, y)
    # Another Keras network of the same name is another architecture.
    scaled.set_params(module=net(8), warm_start=True)
    with pytest.raises(ValueError, match=r"\[.module.\] changed since it was built"):
        scaled.fit(X, y, teacher_proba=P)


def test_target_with_other_features_than_the_keras_source(source, task):
    X, _, target_y = task
    with pytest.raises(ValueError, match="X has 5 features, but the Keras network takes 6"):
        TransferClassifier(source, max_epochs=2).fit(X[:60, :5], target_y[:60])


def test_skops_says_to_set_a_keras_source_aside(source, task):
    skops_io = pytest.importorskip("skops.io")
    X, _, target_y = task
    clf = TransferClassifier(source, max_epochs=2, random_state=0).fit(X[:60], target_y[:60])
    with pytest.raises(TypeError, match="cannot be saved with skops"):
        skops_io.dumps(clf)
    dumped = skops_io.dumps(clf.set_params(source=None))
    loaded = skops_io.loads(dumped, trusted=skops_io.get_untrusted_types(data=dumped))
    np.testing.assert_allclose(loaded.predict_proba(X), clf.predict_proba(X))
