import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.datasets import make_classification
from sklearn.exceptions import NotFittedError
from sklearn.frozen import FrozenEstimator
from sklearn.linear_model import LogisticRegression, RidgeClassifier
from sklearn.model_selection import GridSearchCV, cross_val_predict
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer
from sklearn.svm import SVC, LinearSVC

from sktkd._teacher import (
    check_teacher,
    check_teacher_proba,
    fit_teacher,
    out_of_fold_logits,
    teacher_logits,
)


class RecordedTeacher:
    """A fitted, unclonable teacher: fixed probabilities over its own classes."""

    def __init__(self, classes, proba):
        self.classes_ = np.asarray(classes)
        self.proba = np.asarray(proba, dtype=float)

    def predict_proba(self, X):
        return self.proba[: len(X)]


def softmax(z):
    z = z - z.max(axis=1, keepdims=True)
    return np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)


X3 = np.zeros((3, 2))


@settings(max_examples=50, deadline=None)
@given(st.permutations(["a", "b", "c", "d"]), st.integers(0, 2**31 - 1))
def test_columns_follow_labels_under_any_permutation(order, seed):
    proba = np.random.default_rng(seed).dirichlet(np.ones(4), size=3)
    classes = np.array(["a", "b", "c", "d"])
    # The same teacher, its columns listed in another order.
    position = [list(order).index(c) for c in classes]
    shuffled = np.empty_like(proba)
    shuffled[:, position] = proba
    teacher = RecordedTeacher(order, shuffled)
    logits = teacher_logits(teacher, X3, X3.astype(np.float32), classes)
    np.testing.assert_allclose(softmax(logits.astype(float)), proba, rtol=1e-5, atol=1e-7)


def test_a_teacher_lacking_a_class_of_y_is_an_error():
    teacher = RecordedTeacher([0, 1], [[0.5, 0.5]] * 3)
    with pytest.raises(ValueError, match=r"does not know the classes \[2\]"):
        teacher_logits(teacher, X3, X3.astype(np.float32), np.array([0, 1, 2]))


def test_label_types_must_match():
    teacher = RecordedTeacher([0, 1], [[0.5, 0.5]] * 3)
    with pytest.raises(ValueError, match="does not know the classes"):
        teacher_logits(teacher, X3, X3.astype(np.float32), np.array(["0", "1"]))


def test_extra_teacher_classes_are_dropped_and_renormalised_with_a_warning():
    teacher = RecordedTeacher([0, 1, 2], [[0.2, 0.3, 0.5]] * 3)
    with pytest.warns(UserWarning, match=r"absent from y \(\[2\]\)"):
        logits = teacher_logits(teacher, X3, X3.astype(np.float32), np.array([0, 1]))
    np.testing.assert_allclose(softmax(logits.astype(float)), [[0.4, 0.6]] * 3, rtol=1e-6)


@pytest.mark.parametrize("temperature", [1, 10, 20, 100])
def test_zero_probabilities_stay_zero_at_every_temperature(temperature):
    """A floor (1e-30 -> logit -69) became real mass at high temperatures."""
    teacher = RecordedTeacher([0, 1, 2], [[0.9, 0.1, 0.0]] * 3)
    logits = teacher_logits(teacher, X3, X3, np.array([0, 1, 2]))
    assert logits[0, 2] == -np.inf
    assert softmax(logits.astype(float) / temperature)[0, 2] == 0.0
    recorded = check_teacher_proba([[1.0, 0.0, 0.0]], 1, np.array([0, 1, 2]))
    assert softmax(recorded.astype(float) / temperature)[0, 1:].tolist() == [0.0, 0.0]


class OutputTeacher:
    """A fitted teacher returning a fixed (possibly broken) output for any X."""

    def __init__(self, classes, output, method="predict_proba"):
        self.classes_ = np.asarray(classes)
        setattr(self, method, lambda X: np.asarray(output, dtype=float))


BROKEN = {
    "NaN": ([[0.5, 0.5], [np.nan, 0.5], [0.5, 0.5]], r"NaN or infinite values in 1 rows"),
    "extra row": ([[0.5, 0.5]] * 4, r"shape \(4, 2\) for 3 rows"),
    "fewer rows": ([[0.5, 0.5]] * 2, r"shape \(2, 2\) for 3 rows"),
    "extra column": ([[0.5, 0.25, 0.25]] * 3, r"shape \(3, 3\) for 3 rows"),
    "negative": ([[1.5, -0.5]] * 3, "negative entries"),
    "not summing to 1": ([[0.5, 0.4]] * 3, "must sum to 1; row 0 sums to 0.9"),
}


@pytest.mark.parametrize("output, match", BROKEN.values(), ids=BROKEN.keys())
def test_every_teacher_output_is_checked_and_the_teacher_named(output, match):
    teacher = OutputTeacher([0, 1], output)
    with pytest.raises(ValueError, match="OutputTeacher.*predict_proba.*" + match):
        teacher_logits(teacher, X3, X3, np.array([0, 1]))
    with pytest.raises(ValueError, match="OutputTeacher"):  # inside a list too
        classes = np.array([0, 1])
        teacher_logits([RecordedTeacher([0, 1], [[0.5, 0.5]] * 3), teacher], X3, X3, classes)


@pytest.mark.parametrize(
    "output, match",
    [
        ([0.5, np.nan, 1.0], "NaN or infinite"),
        ([[0.5, 1.0, 0.0]] * 3, r"shape \(3, 3\)"),
        ([0.5, 1.0], r"shape \(2,\) for 3 rows"),
    ],
)
def test_decision_function_output_is_checked(output, match):
    teacher = OutputTeacher([0, 1], output, method="decision_function")
    with pytest.raises(ValueError, match="decision_function.*" + match):
        teacher_logits(teacher, X3, X3, np.array([0, 1]))


def test_torch_teacher_returning_nan_is_an_error():
    net = torch.nn.Linear(2, 2)
    torch.nn.init.constant_(net.weight, float("nan"))
    with pytest.raises(ValueError, match="Linear.*forward.*NaN"):
        teacher_logits(net, X3, X3.astype(np.float32), np.array([0, 1]))


@pytest.mark.parametrize("n_classes", [3, 4])  # 3 classes: as many pairs as classes
@pytest.mark.parametrize("wrap", [lambda m: m, FrozenEstimator, lambda m: make_pipeline(m)])
def test_one_vs_one_decision_function_is_refused(n_classes, wrap):
    X, y = make_classification(
        120, 5, n_informative=4, n_redundant=0, n_classes=n_classes, random_state=0
    )
    svc = wrap(SVC(decision_function_shape="ovo").fit(X, y))
    with pytest.raises(ValueError, match="decision_function_shape='ovo'.*per pair of classes"):
        teacher_logits(svc, X, X, np.arange(n_classes))
    ovr = SVC().fit(X, y)  # the default, one column per class, is fine
    assert teacher_logits(ovr, X, X, np.arange(n_classes)).shape == (120, n_classes)


def test_binary_decision_function_gives_logits_zero_and_s():
    X, y = make_classification(60, 4, random_state=0)
    svm = LinearSVC().fit(X, y)
    logits = teacher_logits(svm, X, X.astype(np.float32), np.array([0, 1]))
    s = svm.decision_function(X)
    np.testing.assert_allclose(logits[:, 1] - logits[:, 0], s, rtol=1e-5, atol=1e-5)


def test_multiclass_decision_function_is_used_as_logits():
    X, y = make_classification(90, 5, n_informative=3, n_classes=3, random_state=0)
    ridge = RidgeClassifier().fit(X, y)
    logits = teacher_logits(ridge, X, X.astype(np.float32), np.array([0, 1, 2]))
    np.testing.assert_allclose(softmax(logits), softmax(ridge.decision_function(X)), rtol=1e-5)


def test_torch_module_outputs_are_logits_and_its_mode_is_restored():
    net = torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.Dropout(0.5))
    net.train()
    X = np.random.default_rng(0).normal(size=(4, 2)).astype(np.float32)
    logits = teacher_logits(net, X, X, np.array([0, 1, 2]))
    with torch.no_grad():
        expected = net.eval()(torch.tensor(X)).numpy()
    net.train()
    np.testing.assert_allclose(softmax(logits), softmax(expected), rtol=1e-5)
    teacher_logits(net, X, X, np.array([0, 1, 2]))
    assert all(m.training for m in net.modules())


def test_torch_module_with_the_wrong_width_is_an_error():
    net = torch.nn.Linear(2, 4)
    X = np.zeros((3, 2), dtype=np.float32)
    with pytest.raises(ValueError, match="returns 4 outputs, but y has 3 classes"):
        teacher_logits(net, X, X, np.array([0, 1, 2]))
    with pytest.raises(ValueError, match="failed on input of shape"):
        teacher_logits(torch.nn.Linear(5, 3), X, X, np.array([0, 1, 2]))


def test_several_teachers_are_averaged_in_probability():
    a = RecordedTeacher([0, 1], [[0.9, 0.1]] * 3)
    b = RecordedTeacher([1, 0], [[0.3, 0.7]] * 3)  # classes listed the other way round
    logits = teacher_logits([a, b], X3, X3.astype(np.float32), np.array([0, 1]))
    np.testing.assert_allclose(softmax(logits.astype(float)), [[0.8, 0.2]] * 3, rtol=1e-6)


def test_fit_teacher_clones_and_leaves_the_original_unfitted():
    X, y = make_classification(50, 4, random_state=0)
    teacher = LogisticRegression()
    fitted = fit_teacher(teacher, X, y)
    assert fitted is not teacher and hasattr(fitted, "classes_")
    assert not hasattr(teacher, "classes_")


def test_objects_without_fit_are_used_as_they_are():
    teacher = RecordedTeacher([0, 1], [[0.5, 0.5]])
    assert fit_teacher(teacher, X3, [0, 1, 0]) is teacher


def test_sample_weight_needs_a_teacher_that_takes_it():
    class NoWeights(LogisticRegression):
        def fit(self, X, y):
            return super().fit(X, y)

    X, y = make_classification(50, 4, random_state=0)
    with pytest.raises(ValueError, match="does not take sample_weight"):
        fit_teacher(NoWeights(), X, y, sample_weight=np.ones(50))


@pytest.mark.parametrize("teacher", [object(), RidgeClassifier().fit, [], "lr"])
def test_check_teacher_rejects_what_cannot_give_soft_labels(teacher):
    with pytest.raises(TypeError, match="teacher"):
        check_teacher(teacher)


def test_check_teacher_accepts_every_kind():
    check_teacher(LogisticRegression())
    check_teacher(LinearSVC())
    check_teacher(torch.nn.Linear(2, 2))
    check_teacher([LogisticRegression(), RecordedTeacher([0, 1], [])])


def test_check_teacher_proba():
    classes = np.array(["x", "y"])
    good = np.array([[0.25, 0.75], [1.0, 0.0]])
    logits = check_teacher_proba(good, 2, classes)
    np.testing.assert_allclose(softmax(logits.astype(float)), good, atol=1e-7)
    with pytest.raises(ValueError, match=r"shape \(2, 3\), expected \(2, 2\)"):
        check_teacher_proba(np.full((2, 3), 1 / 3), 2, classes)
    with pytest.raises(ValueError, match="must sum to 1; row 1 sums to 0.9"):
        check_teacher_proba([[0.5, 0.5], [0.5, 0.4]], 2, classes)
    with pytest.raises(ValueError, match="negative"):
        check_teacher_proba([[1.5, -0.5], [0.5, 0.5]], 2, classes)
    with pytest.raises(ValueError, match="NaN"):
        check_teacher_proba([[np.nan, 0.5], [0.5, 0.5]], 2, classes)
    with pytest.raises(ValueError, match="NaN or infinite"):
        check_teacher_proba([[np.inf, 0.5], [0.5, 0.5]], 2, classes)


def test_weighted_average_of_teachers():
    a = RecordedTeacher([0, 1], [[0.9, 0.1]] * 3)
    b = RecordedTeacher([0, 1], [[0.1, 0.9]] * 3)
    logits = teacher_logits([a, b], X3, X3.astype(np.float32), np.array([0, 1]), [3, 1])
    np.testing.assert_allclose(softmax(logits.astype(float)), [[0.7, 0.3]] * 3, rtol=1e-6)


def test_out_of_fold_logits_match_cross_val_predict():
    X, y = make_classification(60, 4, random_state=0)
    logits = out_of_fold_logits(LogisticRegression(), X, y, cv=3)
    expected = cross_val_predict(LogisticRegression(), X, y, cv=3, method="predict_proba")
    np.testing.assert_allclose(softmax(logits.astype(float)), expected, rtol=1e-5, atol=1e-7)
    scores = out_of_fold_logits(LinearSVC(), X, y, cv=3)  # decision_function: [0, s]
    s = cross_val_predict(LinearSVC(), X, y, cv=3, method="decision_function")
    np.testing.assert_allclose(scores[:, 1] - scores[:, 0], s, rtol=1e-4, atol=1e-5)


def test_one_vs_one_inside_a_fitted_search_is_refused_and_binary_is_fine():
    X, y = make_classification(120, 5, n_informative=4, n_redundant=0, n_classes=3, random_state=0)
    search = GridSearchCV(SVC(decision_function_shape="ovo"), {"C": [1.0, 10.0]}, cv=2)
    for teacher in (search.fit(X, y), FrozenEstimator(search)):
        with pytest.raises(ValueError, match="decision_function_shape='ovo'"):
            teacher_logits(teacher, X, X, np.arange(3))
    binary = SVC(decision_function_shape="ovo").fit(X, y == 0)  # one score: ovo is ovr
    assert teacher_logits(binary, X, X, np.array([False, True])).shape == (120, 2)


def test_no_one_vs_one_hint_for_a_row_mismatch():
    teacher = OutputTeacher([0, 1, 2], [[0.2, 0.3, 0.5]] * 2)
    with pytest.raises(ValueError, match=r"shape \(2, 3\) for 3 rows") as error:
        teacher_logits(teacher, X3, X3, np.array([0, 1, 2]))
    assert "one-vs-one" not in str(error.value)


def test_torch_teachers_tuple_outputs_float64_and_ruled_out_classes():
    class TupleNet(torch.nn.Module):
        def forward(self, X):
            return X, X

    with pytest.raises(ValueError, match="TupleNet.*returned a tuple"):
        teacher_logits(TupleNet(), X3, X3, np.array([0, 1]))
    double = torch.nn.Linear(2, 2).double()  # inputs take the teacher's dtype
    assert teacher_logits(double, X3, X3, np.array([0, 1])).shape == (3, 2)
    ruled_out = torch.nn.Linear(2, 2)
    torch.nn.init.zeros_(ruled_out.weight)
    with torch.no_grad():
        ruled_out.bias.copy_(torch.tensor([0.0, float("-inf")]))
    logits = teacher_logits(ruled_out, X3, X3, np.array([0, 1]))
    assert (logits[:, 1] == -np.inf).all()  # like a probability of 0


def test_infinite_binary_scores_are_certain_decisions():
    teacher = OutputTeacher([0, 1], [np.inf, -np.inf, 0.0], method="decision_function")
    logits = teacher_logits(teacher, X3, X3, np.array([0, 1]))
    np.testing.assert_allclose(softmax(logits.astype(float)), [[0, 1], [1, 0], [0.5, 0.5]])


def small_net():
    return torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 3))


@pytest.fixture(scope="module")
def task():
    X, y = make_classification(120, 4, n_informative=3, n_redundant=0, n_classes=3, random_state=0)
    return X, y  # float64, as users have them


def test_skorch_nets_as_teachers_get_float32(task):
    """Issue: a skorch net teacher got float64 X and failed with a raw dtype RuntimeError."""
    skorch = pytest.importorskip("skorch")
    X, y = task
    net = skorch.NeuralNetClassifier(
        small_net, criterion=torch.nn.CrossEntropyLoss, max_epochs=2, verbose=0, train_split=None
    )
    fitted = fit_teacher(net, X, y)  # cloned and fitted on float32 rows
    for teacher in (fitted, FrozenEstimator(fitted)):
        logits = teacher_logits(teacher, X, X, np.arange(3))
        np.testing.assert_allclose(
            softmax(logits), fitted.predict_proba(X.astype(np.float32)), rtol=1e-4
        )
    oof = out_of_fold_logits(net, X, y, cv=3)  # each fold refits it on float32 rows
    assert oof.shape == (len(y), 3)


def test_a_plain_skorch_net_teaches_with_its_network(task):
    """Issue: a fitted NeuralNet (no classes_) was refused as not fitted."""
    skorch = pytest.importorskip("skorch")
    X, y = task
    plain = skorch.NeuralNet(
        small_net, criterion=torch.nn.CrossEntropyLoss, max_epochs=2, verbose=0, train_split=None
    ).fit(X.astype(np.float32), y)
    logits = teacher_logits(FrozenEstimator(plain), X, X, np.arange(3))
    with torch.no_grad():
        expected = plain.module_(torch.tensor(X, dtype=torch.float32)).numpy()
    np.testing.assert_allclose(softmax(logits), softmax(expected), rtol=1e-5)
    with pytest.raises(NotFittedError, match="not fitted"):
        teacher_logits(
            FrozenEstimator(skorch.NeuralNet(small_net, criterion=torch.nn.NLLLoss)),
            X,
            X,
            np.arange(3),
        )


class DictNet(torch.nn.Module):
    """Hugging Face style: the logits in a dict, or as an attribute of an output object."""

    def __init__(self, as_object=False):
        super().__init__()
        self.body, self.as_object = small_net(), as_object

    def forward(self, X):
        logits = self.body(X)
        if self.as_object:
            return type("Output", (), {"logits": logits, "hidden": X})()
        return {"logits": logits, "hidden": X}


@pytest.mark.parametrize("as_object", [False, True])
def test_teacher_networks_returning_their_logits_in_a_dict_or_object(as_object, task):
    """Issue: 'dict' object has no attribute 'cpu'; sibling: an output object."""
    X, _ = task
    net = DictNet(as_object)
    logits = teacher_logits(net, X, X, np.arange(3))
    with torch.no_grad():
        expected = net.body(torch.tensor(X, dtype=torch.float32)).numpy()
    np.testing.assert_allclose(softmax(logits), softmax(expected), rtol=1e-5)


def test_a_teacher_network_ending_in_softmax_is_refused_and_log_softmax_is_fine(task):
    """Probabilities taken for logits would give far flatter soft labels, silently."""
    X, _ = task
    body = small_net()
    with pytest.raises(ValueError, match="returns probabilities"):
        teacher_logits(torch.nn.Sequential(body, torch.nn.Softmax(1)), X, X, np.arange(3))
    log_softmax_net = torch.nn.Sequential(body, torch.nn.LogSoftmax(1))
    np.testing.assert_allclose(
        softmax(teacher_logits(log_softmax_net, X, X, np.arange(3))),
        softmax(teacher_logits(body, X, X, np.arange(3))),
        rtol=1e-5,
    )


class ChunkRecorder(RecordedTeacher):
    """Records how many rows each call asks about."""

    def predict_proba(self, X):
        self.asked = [*getattr(self, "asked", []), len(X)]
        return np.tile(self.proba[:1], (len(X), 1))


def test_teachers_are_asked_a_bounded_chunk_of_rows_at_a_time(monkeypatch):
    """Teacher predictions over large inputs go in chunks: bounded memory, on CPU and GPU."""
    monkeypatch.setattr("sktkd._modules.CHUNK_VALUES", 2 * 100)  # 100 rows of 2 features
    X = np.random.default_rng(0).normal(size=(250, 2))
    recorder = ChunkRecorder([0, 1, 2], [[0.2, 0.3, 0.5]])
    net = torch.nn.Linear(2, 3)
    calls = []
    net.register_forward_hook(lambda module, args, out: calls.append(len(args[0])))
    logits = teacher_logits([recorder, net], X, X, np.array([0, 1, 2]))
    assert recorder.asked == calls == [100, 100, 50]
    with torch.no_grad():
        expected = torch.log_softmax(net(torch.tensor(X, dtype=torch.float32)), 1).exp().numpy()
    np.testing.assert_allclose(softmax(logits), (expected + [0.2, 0.3, 0.5]) / 2, rtol=1e-5)


def test_skorch_teachers_get_float32_from_any_numbers_and_inside_pipelines(task):
    """Round two: ints, bytes and float16 reached the net as they were; so did a pipeline's X."""
    skorch = pytest.importorskip("skorch")
    X, y = task
    net = skorch.NeuralNetClassifier(
        small_net, criterion=torch.nn.CrossEntropyLoss, max_epochs=1, verbose=0, train_split=None
    )
    for X_given in (
        np.round(X * 10).astype(np.int64),
        (X > 0).astype(np.uint8),
        X.astype(np.float16),
    ):
        fitted = fit_teacher(net, X_given, y)
        assert teacher_logits(fitted, X_given, X_given.astype(float), np.arange(3)).shape == (
            120,
            3,
        )
    piped = fit_teacher(make_pipeline(FunctionTransformer(), net), X, y)
    assert teacher_logits(piped, X, X, np.arange(3)).shape == (120, 3)


def test_a_plain_skorch_net_cannot_be_refitted_on_folds(task):
    skorch = pytest.importorskip("skorch")
    X, y = task
    plain = skorch.NeuralNet(small_net, criterion=torch.nn.CrossEntropyLoss, verbose=0)
    with pytest.raises(ValueError, match="teacher_cv needs a classifier"):
        out_of_fold_logits(plain, X, y, cv=3)


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_a_softmax_is_refused_in_half_precision_too(dtype, task):
    X, _ = task
    net = torch.nn.Sequential(small_net(), torch.nn.Softmax(1)).to(dtype)
    with pytest.raises(ValueError, match="returns probabilities"):
        teacher_logits(net, X, X, np.arange(3))


def test_errors_name_the_row_of_the_users_X(monkeypatch):
    """Round two: rows were numbered within a chunk or within the rows asked."""
    monkeypatch.setattr("sktkd._modules.CHUNK_VALUES", 2 * 10)  # chunks of 10 rows
    X = np.repeat(np.arange(140.0)[:, None], 2, axis=1)  # each row holds its number
    proba = np.full((140, 3), 1 / 3)
    proba[[25, 125]] = np.nan

    class ByRow(RecordedTeacher):
        def predict_proba(self, X):
            return self.proba[X[:, 0].astype(int)]

    teacher = ByRow([0, 1, 2], proba)
    with pytest.raises(ValueError, match="first: row 25"):
        teacher_logits(teacher, X, X, np.arange(3))
    with pytest.raises(ValueError, match="first: row 125"):  # asked about rows 100 to 139
        teacher_logits(teacher, X, X, np.arange(3), rows=np.arange(100, 140))


@pytest.mark.parametrize("shape", ["(n,)", "(n, 1)"])
def test_a_binary_teacher_network_with_one_logit(shape):
    """Round two: a network trained with BCEWithLogitsLoss gives one logit s: [0, s]."""
    net = torch.nn.Linear(2, 1)
    if shape == "(n,)":
        net = torch.nn.Sequential(net, torch.nn.Flatten(0))
    X = np.random.default_rng(0).normal(size=(5, 2))
    with torch.no_grad():
        s = net(torch.tensor(X, dtype=torch.float32)).reshape(-1).numpy()
    p = softmax(teacher_logits(net, X, X, np.array([0, 1])))
    np.testing.assert_allclose(p[:, 1], 1 / (1 + np.exp(-s)), rtol=1e-5)


def test_a_teacher_network_of_buffers_gets_their_type():
    """Round two: a network whose only tensors are float64 buffers got float32 input."""

    class Fixed(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.register_buffer("weight", torch.ones(2, 3, dtype=torch.float64))

        def forward(self, X):
            return X @ self.weight

    X = np.random.default_rng(0).normal(size=(4, 2))
    assert teacher_logits(Fixed(), X, X, np.arange(3)).shape == (4, 3)


def test_a_pipeline_ending_in_a_skorch_net_keeps_its_frame(task):
    """Round three: a frame became an array, and a step selecting columns by name failed."""
    skorch = pytest.importorskip("skorch")
    pd = pytest.importorskip("pandas")
    from sklearn.compose import ColumnTransformer

    X, y = task
    frame = pd.DataFrame(X, columns=[f"c{i}" for i in range(4)])
    net = skorch.NeuralNetClassifier(
        small_net, criterion=torch.nn.CrossEntropyLoss, max_epochs=1, verbose=0, train_split=None
    )
    select = ColumnTransformer([("all", "passthrough", ["c0", "c1", "c2", "c3"])])
    piped = fit_teacher(make_pipeline(select, FunctionTransformer(np.float32), net), frame, y)
    assert teacher_logits(piped, frame, X, np.arange(3)).shape == (120, 3)
    bare = fit_teacher(net, frame.astype(np.float32), y)  # a bare net gets an array
    assert teacher_logits(bare, frame.astype(np.float32), X, np.arange(3)).shape == (120, 3)


def test_a_binary_teacher_network_ending_in_a_sigmoid_is_refused():
    net = torch.nn.Sequential(torch.nn.Linear(2, 1), torch.nn.Sigmoid())
    X = np.random.default_rng(0).normal(size=(50, 2))
    with pytest.raises(ValueError, match="final sigmoid"):
        teacher_logits(net, X, X, np.array([0, 1]))


def test_teacher_cv_errors_name_the_users_row():
    X = np.repeat(np.arange(60.0)[:, None], 2, axis=1)
    y = np.arange(60) % 3

    class NaNAt(LogisticRegression):
        def predict_proba(self, X):
            proba = super().predict_proba(X)
            proba[X[:, 0] == 45] = np.nan
            return proba

    with pytest.raises(ValueError, match="first: row 145"):
        out_of_fold_logits(NaNAt(), X, y, cv=3, row_numbers=np.arange(100, 160))
