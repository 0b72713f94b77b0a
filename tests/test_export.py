"""ONNX export of a fitted estimator: the same answers in onnxruntime."""

import numpy as np
import pytest
import torch
from sklearn.datasets import make_classification
from sklearn.exceptions import NotFittedError
from sklearn.naive_bayes import GaussianNB
from torch import nn

from sktkd import DistilledClassifier, TransferClassifier, to_onnx

onnxruntime = pytest.importorskip("onnxruntime")
pytest.importorskip("onnxscript")


def run(onx, X):
    session = onnxruntime.InferenceSession(onx.SerializeToString())
    return session.run(None, {"X": np.asarray(X, dtype=np.float32)})


@pytest.fixture(scope="module")
def data():
    X, y = make_classification(200, 6, n_informative=4, n_classes=3, random_state=0)
    return X * 100 + 1e4, y  # raw features: the standardisation is part of the graph


@pytest.mark.parametrize(
    "make",
    [
        lambda: DistilledClassifier(GaussianNB(), max_epochs=10, random_state=0),
        lambda: TransferClassifier(hidden_layer_sizes=(16, 8), max_epochs=10, random_state=0),
    ],
    ids=["distilled", "transfer"],
)
@pytest.mark.parametrize("labels", [None, ["ant", "bee", "cat"]], ids=["ints", "strings"])
def test_the_graph_answers_as_predict_and_predict_proba(make, labels, data):
    X, y = data
    y = y if labels is None else np.array(labels)[y]
    model = make().fit(X, y)
    onx = to_onnx(model, X)
    assert [i.name for i in onx.graph.input] == ["X"]
    assert [o.name for o in onx.graph.output] == ["label", "probabilities"]
    for rows in (X[:1], X):  # any number of rows
        label, proba = run(onx, rows)
        np.testing.assert_array_equal(label, model.predict(rows))
        np.testing.assert_allclose(proba, model.predict_proba(rows), atol=1e-4)
        assert proba.dtype == np.float32


class Branches(nn.Module):
    """A network whose path depends on the values: torch's exporter cannot trace it."""

    def __init__(self, n_features_in, n_classes):
        super().__init__()
        self.linear = nn.Linear(n_features_in, n_classes)

    def forward(self, X):
        if X.sum() > 0:
            return self.linear(X)
        return -self.linear(X)


def test_a_network_the_exporter_cannot_handle_is_a_clear_error(data):
    X, y = data
    model = TransferClassifier(module=Branches, max_epochs=2, random_state=0).fit(X, y)
    with pytest.raises(ValueError, match="cannot export this network \\(Branches\\)") as error:
        to_onnx(model, X)
    assert "data-dependent" in str(error.value)  # the exporter's reason
    assert "\x1b" not in str(error.value)  # without terminal colours


def test_unfitted_or_wrong_width_is_refused(data):
    X, y = data
    with pytest.raises(NotFittedError):
        to_onnx(TransferClassifier(), X)
    model = TransferClassifier(max_epochs=1, random_state=0).fit(X, y)
    with pytest.raises(ValueError, match="takes 6 features"):
        to_onnx(model, X[:, :4])
    for opset in (15, 99):
        with pytest.raises(ValueError, match="writes opsets 18 to"):
            to_onnx(model, X, target_opset=opset)
    with pytest.raises(TypeError, match="exports sktkd estimators"):
        to_onnx(GaussianNB().fit(X, y), X)


def test_float_labels_that_are_whole_numbers_export_as_integers(data):
    X, y = data
    model = TransferClassifier(max_epochs=2, random_state=0).fit(X, y.astype(float))
    label, _ = run(to_onnx(model), X)
    np.testing.assert_array_equal(label, model.predict(X))


def test_export_leaves_the_estimator_as_it_was(data):
    X, y = data
    model = TransferClassifier(max_epochs=2, random_state=0).fit(X, y)
    before = model.predict_proba(X)
    to_onnx(model)
    np.testing.assert_array_equal(model.predict_proba(X), before)
    assert next(model.net_.module_.parameters()).dtype == torch.float32


def test_large_offsets_keep_their_precision_in_the_graph(data):
    """The standardisation keeps its float64 statistics inside the graph, as predict."""
    X, y = data
    X = (X + 1e6).astype(np.float32)  # the rows both receive
    model = TransferClassifier(max_epochs=10, random_state=0).fit(X, y)
    label, proba = run(to_onnx(model), X)
    np.testing.assert_array_equal(label, model.predict(X))
    np.testing.assert_allclose(proba, model.predict_proba(X), atol=1e-5)


# --- a student with a preprocessor: raw rows in, one input per column ------------


def raw_feeds(frame, numeric):
    """onnxruntime feeds of a frame: float32 numbers, strings for the others."""
    return {
        name: frame[[name]].to_numpy(np.float32)
        if name in numeric
        else frame[[name]].astype(str).to_numpy()
        for name in frame.columns
    }


def test_preprocessor_and_network_in_one_graph():
    pd = pytest.importorskip("pandas")
    pytest.importorskip("skl2onnx")
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.frozen import FrozenEstimator

    from .test_preprocess import raw_frame

    X, y = raw_frame()
    X["member"] = X["member"].astype(np.float32)  # fed as float32 either way
    teacher = HistGradientBoostingClassifier(categorical_features="from_dtype").fit(X, y)
    model = DistilledClassifier(FrozenEstimator(teacher), max_epochs=5, random_state=0).fit(X, y)
    session = onnxruntime.InferenceSession(to_onnx(model).SerializeToString())
    assert [i.name for i in session.get_inputs()] == list(X.columns)
    numeric = {"f0", "f1", "f2", "f3", "member"}
    label, proba = session.run(None, raw_feeds(X, numeric))
    np.testing.assert_allclose(proba, model.predict_proba(X), atol=1e-5)
    np.testing.assert_array_equal(label, model.predict(X))
    # An unknown category and a new NaN answer too, as predict does.
    odd = X[:5].copy()
    odd["f0"] = np.nan
    odd["color"] = pd.Categorical(["white"] * 5)
    proba = session.run(None, raw_feeds(odd, numeric))[1]
    np.testing.assert_allclose(proba, model.predict_proba(odd), atol=1e-5)


def test_regressor_with_nan_exports_one_input():
    pytest.importorskip("skl2onnx")
    import skl2onnx
    from sklearn.dummy import DummyRegressor
    from sklearn.pipeline import make_pipeline

    from sktkd import DistilledRegressor

    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 4))
    y = X @ [1.0, 2.0, 0.0, -1.0]
    X[::6, 1] = np.nan
    model = DistilledRegressor(DummyRegressor(), alpha=0, max_epochs=5, random_state=0).fit(X, y)
    onx = to_onnx(model)
    (values,) = run(onx, X)
    np.testing.assert_allclose(values.ravel(), model.predict(X.astype(np.float32)), atol=1e-4)
    # In a pipeline of skl2onnx's, the preprocessor would be lost: refused, with the way out.
    with pytest.raises(ValueError, match="sktkd.to_onnx"):
        skl2onnx.to_onnx(make_pipeline(model), X[:1].astype(np.float32))


def test_transfer_with_a_kept_preprocessor_and_names_that_are_not_strings():
    pd = pytest.importorskip("pandas")
    pytest.importorskip("skl2onnx")
    from sklearn.dummy import DummyClassifier

    from .test_preprocess import raw_frame

    X, y = raw_frame()
    source = DistilledClassifier(DummyClassifier(), alpha=0, max_epochs=2).fit(X, y)
    target = TransferClassifier(source, max_epochs=2, random_state=0).fit(X, y)
    session = onnxruntime.InferenceSession(to_onnx(target).SerializeToString())
    feeds = raw_feeds(X.astype({"member": np.float32}), {"f0", "f1", "f2", "f3", "member"})
    np.testing.assert_allclose(session.run(None, feeds)[1], target.predict_proba(X), atol=1e-5)
    numbered = X.set_axis(range(X.shape[1]), axis=1)  # scikit-learn records no names
    model = DistilledClassifier(DummyClassifier(), alpha=0, max_epochs=1).fit(numbered, y)
    with pytest.raises(ValueError, match="string column names"):
        to_onnx(model)
    assert isinstance(numbered, pd.DataFrame)
