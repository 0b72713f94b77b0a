"""skl2onnx converts pipelines with sktkd estimators in them."""

import numpy as np
import pytest
from sklearn.datasets import make_classification
from sklearn.decomposition import PCA
from sklearn.linear_model import Ridge
from sklearn.naive_bayes import GaussianNB
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sktkd import DistilledClassifier, DistilledRegressor, TransferClassifier, TransferRegressor

onnxruntime = pytest.importorskip("onnxruntime")
skl2onnx = pytest.importorskip("skl2onnx")
pytest.importorskip("onnxscript")
import sktkd.onnx  # noqa: E402,F401  (registers the converters)


@pytest.fixture(scope="module")
def data():
    X, y = make_classification(150, 5, n_informative=4, n_redundant=0, n_classes=3, random_state=1)
    return X, np.array(["ant", "bee", "cat"])[y]


@pytest.mark.parametrize(
    "student",
    [
        DistilledClassifier(GaussianNB(), max_epochs=10, random_state=0),
        TransferClassifier(max_epochs=10, random_state=0),
    ],
    ids=["distilled", "transfer"],
)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_a_pipeline_converts_whole(student, dtype, data):
    X, y = data
    pipeline = make_pipeline(StandardScaler(), PCA(4), student).fit(X, y)
    onx = skl2onnx.to_onnx(pipeline, X[:1].astype(dtype), options={"zipmap": False})
    session = onnxruntime.InferenceSession(onx.SerializeToString())
    label, proba = session.run(None, {"X": X.astype(dtype)})
    np.testing.assert_array_equal(label, pipeline.predict(X))
    np.testing.assert_allclose(proba, pipeline.predict_proba(X), atol=1e-4)


@pytest.mark.parametrize(
    "student",
    [
        DistilledRegressor(Ridge(), max_epochs=10, random_state=0),
        TransferRegressor(max_epochs=10, random_state=0),
    ],
    ids=["distilled", "transfer"],
)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n_outputs", [1, 2])
def test_a_regression_pipeline_converts_whole(student, dtype, n_outputs, data):
    X, _ = data
    y = 1e4 * X[:, :n_outputs] + 1e6  # values far from 0, in large units
    y = y.ravel() if n_outputs == 1 else y
    pipeline = make_pipeline(StandardScaler(), PCA(4), student).fit(X, y)
    onx = skl2onnx.to_onnx(pipeline, X[:1].astype(dtype))
    session = onnxruntime.InferenceSession(onx.SerializeToString())
    (values,) = session.run(None, {"X": X.astype(dtype)})
    assert values.dtype == dtype and values.shape == (len(X), n_outputs)
    np.testing.assert_allclose(values.ravel(), pipeline.predict(X).ravel(), rtol=1e-6)


def test_zipmap_and_nocl_follow_skl2onnx(data):
    X, y = data
    model = TransferClassifier(max_epochs=5, random_state=0).fit(X, y)
    X32 = X.astype(np.float32)
    zipped = skl2onnx.to_onnx(model, X32[:1])  # zipmap=True: a dict per row
    label, dicts = onnxruntime.InferenceSession(zipped.SerializeToString()).run(None, {"X": X32})
    np.testing.assert_allclose(
        [[row[c] for c in model.classes_] for row in dicts], model.predict_proba(X), atol=1e-4
    )
    indices = skl2onnx.to_onnx(model, X32[:1], options={"zipmap": False, "nocl": True})
    label, _ = onnxruntime.InferenceSession(indices.SerializeToString()).run(None, {"X": X32})
    np.testing.assert_array_equal(model.classes_[label], model.predict(X))


def test_an_old_opset_is_refused(data):
    X, y = data
    model = TransferClassifier(max_epochs=1, random_state=0).fit(X, y)
    with pytest.raises(ValueError, match="target_opset"):
        skl2onnx.to_onnx(model, X[:1].astype(np.float32), target_opset=15)


def test_a_pipeline_of_doubles_keeps_large_offsets_precise(data):
    X, y = data
    X = X + 1e7  # float64 throughout
    model = TransferClassifier(max_epochs=10, random_state=0).fit(X, y)
    onx = skl2onnx.to_onnx(model, X[:1], options={"zipmap": False})
    label, proba = onnxruntime.InferenceSession(onx.SerializeToString()).run(None, {"X": X})
    np.testing.assert_array_equal(label, model.predict(X))
    np.testing.assert_allclose(proba, model.predict_proba(X), atol=1e-5)
