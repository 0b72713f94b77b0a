import numpy as np
import pytest
import torch
from sklearn.datasets import load_iris
from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
from sklearn.exceptions import NotFittedError
from sklearn.frozen import FrozenEstimator
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.naive_bayes import GaussianNB
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler
from sklearn.svm import LinearSVC
from sklearn.utils.estimator_checks import parametrize_with_checks
from skorch import NeuralNetClassifier

from sktkd import DistilledClassifier

from .conftest import FAST


def student(teacher=None, **params):
    return DistilledClassifier(teacher, **{**FAST, "random_state": 0, **params})


def agreement(model, X):
    teacher = model.teacher_[0] if isinstance(model.teacher_, list) else model.teacher_
    return np.mean(model.predict(X) == teacher.predict(X))


# --- scikit-learn compliance ---------------------------------------------------

EXPECTED_FAILURES = {
    "check_sample_weight_equivalence_on_dense_data": (
        "minibatch SGD: a row of weight 2 is one row in one batch, not two rows in "
        "two batches, so the fits differ"
    ),
}


@parametrize_with_checks(
    [
        DistilledClassifier(
            LogisticRegression(), max_epochs=20, hidden_layer_sizes=(16,), lr=1e-2, random_state=0
        )
    ],
    expected_failed_checks=lambda est: EXPECTED_FAILURES,
)
def test_sklearn_compatible(estimator, check):
    check(estimator)


# --- teacher kinds ------------------------------------------------------------


def test_unfitted_teacher_is_cloned_and_fitted_the_original_untouched(data):
    X, y = data
    teacher = GaussianNB()
    model = student(teacher).fit(X, y)
    assert model.teacher_ is not teacher and hasattr(model.teacher_, "classes_")
    with pytest.raises(NotFittedError):
        teacher.predict(X)


def test_frozen_teacher_is_never_refitted(data):
    X, y = data
    expert = HistGradientBoostingClassifier(max_iter=20, random_state=0).fit(X, y)
    n_iter = expert.n_iter_
    model = student(FrozenEstimator(expert)).fit(X[:100], y[:100])
    assert model.teacher_.estimator is expert and expert.n_iter_ == n_iter
    assert agreement(model, X) > 0.85


def test_teacher_is_asked_once_per_fit_and_never_trains(data):
    X, y = data
    calls = []

    class Counting(GaussianNB):
        def predict_proba(self, X):
            calls.append(len(X))
            return super().predict_proba(X)

    expert = Counting().fit(X, y)
    model = student(FrozenEstimator(expert), max_epochs=5).fit(X, y)
    assert calls == [len(X)]
    optimised = {id(p) for group in model.net_.optimizer_.param_groups for p in group["params"]}
    assert optimised == {id(p) for p in model.module_.parameters()}


def test_pipeline_teacher_and_raw_features(data):
    X, y = data
    teacher = make_pipeline(StandardScaler(), LogisticRegression())
    model = student(teacher).fit(X, y)
    assert agreement(model, X) > 0.9


def test_decision_function_only_teacher(data):
    X, y = data
    model = student(make_pipeline(StandardScaler(), LinearSVC())).fit(X, y)
    assert agreement(model, X) > 0.85
    binary = y > 0
    model = student(make_pipeline(StandardScaler(), LinearSVC())).fit(X, binary)
    assert agreement(model, X) > 0.85


def test_torch_module_teacher(data):
    X, y = data
    source = student(GaussianNB(), hidden_layer_sizes=(32,), max_epochs=30).fit(X, y)
    teacher = source.module_  # a network taking raw features, logits of sorted classes
    model = student(teacher).fit(X, y)
    assert model.teacher_ is teacher
    assert np.mean(model.predict(X) == source.predict(X)) > 0.9


def test_skorch_net_teacher(data):
    X, y = data
    net = NeuralNetClassifier(
        torch.nn.Sequential(torch.nn.Linear(6, 3)),
        criterion=torch.nn.CrossEntropyLoss,
        max_epochs=2,
        train_split=None,
        verbose=0,
    ).fit(StandardScaler().fit_transform(X).astype(np.float32), y)
    teacher = make_pipeline(
        StandardScaler(), FunctionTransformer(lambda Z: Z.astype(np.float32)), FrozenEstimator(net)
    )
    model = student(FrozenEstimator(teacher.fit(X, y))).fit(X, y)
    assert agreement(model, X) > 0.8


def test_list_of_teachers_is_averaged(data):
    X, y = data
    model = student([GaussianNB(), make_pipeline(StandardScaler(), LogisticRegression())])
    model.fit(X, y)
    assert len(model.teacher_) == 2 and all(hasattr(t, "classes_") for t in model.teacher_)


def test_recorded_soft_labels(data):
    X, y = data
    expert = np.eye(3)[(y + (np.arange(len(y)) % 10 == 0)) % 3]  # an expert wrong on 10%
    model = student(max_epochs=40).fit(X, y, teacher_proba=expert)
    assert model.teacher_ is None
    assert np.mean(model.predict(X) == expert.argmax(1)) > 0.85


def test_teacher_decides_when_alpha_is_one(data):
    X, y = data
    flipped = np.eye(3)[(y + 1) % 3]
    model = student(alpha=1.0, max_epochs=30).fit(X, y, teacher_proba=flipped)
    assert np.mean(model.predict(X) == (y + 1) % 3) > 0.9


def test_alpha_zero_ignores_the_teacher(data):
    X, y = data
    a = student(alpha=0.0).fit(X, y, teacher_proba=np.eye(3)[y])
    b = student(alpha=0.0).fit(X, y, teacher_proba=np.eye(3)[(y + 1) % 3])
    np.testing.assert_array_equal(a.predict_proba(X), b.predict_proba(X))


def test_teacher_with_classes_beyond_y_warns_and_renormalises(data):
    X, y = data
    expert = GaussianNB().fit(X, y)
    keep = y < 2
    with pytest.warns(UserWarning, match="absent from y"):
        model = student(FrozenEstimator(expert)).fit(X[keep], y[keep])
    assert list(model.classes_) == [0, 1]


def test_teacher_lacking_a_class_of_y_is_an_error(data):
    X, y = data
    expert = GaussianNB().fit(X[y < 2], y[y < 2])
    with pytest.raises(ValueError, match=r"does not know the classes \[2\]"):
        student(FrozenEstimator(expert)).fit(X, y)


def test_teacher_labels_must_match_y(data):
    X, y = data
    expert = GaussianNB().fit(X, y)
    with pytest.raises(ValueError, match="does not know the classes"):
        student(FrozenEstimator(expert)).fit(X, np.array(["a", "b", "c"])[y])


# --- labels and inputs --------------------------------------------------------


@pytest.mark.parametrize(
    "labels",
    [
        np.array(["cat", "dog", "emu"]),
        np.array([5, 7, 9]),
        np.array([-1, 1, 3]),
        np.array([1.0, 2.0, 3.0]),
        np.array(["no", "yes", "no"], dtype=object),
    ],
)
def test_labels_of_any_kind(data, labels):
    X, y = data
    y_named = labels[y]
    model = student(GaussianNB()).fit(X, y_named)
    np.testing.assert_array_equal(model.classes_, np.unique(y_named))
    assert model.predict(X).dtype == y_named.dtype
    assert set(model.predict(X)) <= set(y_named)
    assert model.score(X, y_named) > 0.6


def test_predict_proba_columns_follow_classes(data):
    X, y = data
    y_named = np.array(["z", "a", "m"])[y]
    model = student(GaussianNB()).fit(X, y_named)
    assert list(model.classes_) == ["a", "m", "z"]
    proba = model.predict_proba(X)
    for i, label in enumerate(model.classes_):
        assert proba[y_named == label, i].mean() > 0.5


def test_pandas_input_keeps_feature_names(data):
    pd = pytest.importorskip("pandas")
    X, y = data
    frame = pd.DataFrame(X, columns=[f"f{i}" for i in range(6)])
    model = student(GaussianNB()).fit(frame, pd.Series(y))
    assert list(model.feature_names_in_) == list(frame.columns)
    np.testing.assert_array_equal(model.predict(frame), model.predict(frame.astype(np.float32)))
    assert hasattr(model.teacher_, "feature_names_in_")  # the teacher saw the frame


@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.int64])
def test_input_dtypes(data, dtype):
    X, y = data
    X_cast = X.astype(dtype)
    model = student(GaussianNB()).fit(X_cast, y)
    assert model.predict_proba(X_cast).dtype == np.float64


def test_lists_are_accepted(data):
    X, y = data
    model = student(GaussianNB()).fit(X.tolist(), y.tolist())
    assert model.predict(X[:3].tolist()).shape == (3,)


def test_inputs_are_not_modified(data):
    X, y = data
    X_copy, y_copy = X.copy(), y.copy()
    soft = np.eye(3)[y]
    soft_copy = soft.copy()
    student().fit(X, y, teacher_proba=soft)
    np.testing.assert_array_equal(X, X_copy)
    np.testing.assert_array_equal(y, y_copy)
    np.testing.assert_array_equal(soft, soft_copy)


# --- in scikit-learn workflows ---------------------------------------------------


def test_in_a_pipeline_the_teacher_sees_the_transformed_X(data):
    X, y = data
    seen = []

    class Recording(GaussianNB):
        def fit(self, X, y, sample_weight=None):
            seen.append(np.asarray(X).copy())
            return super().fit(X, y, sample_weight)

    pipe = make_pipeline(StandardScaler(), student(Recording())).fit(X, y)
    np.testing.assert_allclose(seen[0], pipe[0].transform(X))
    assert pipe.score(X, y) > 0.9


def test_grid_search_refits_the_teacher_per_fold_and_searches_its_parameters():
    X, y = load_iris(return_X_y=True)
    grid = {"alpha": [0.0, 0.9], "teacher__max_depth": [2, None]}
    search = GridSearchCV(student(RandomForestClassifier(10, random_state=0)), grid, cv=3)
    search.fit(X, y)
    assert search.best_score_ > 0.85
    assert search.best_estimator_.teacher_.max_depth == search.best_params_["teacher__max_depth"]


def test_cross_val_score(data):
    X, y = data
    assert cross_val_score(student(GaussianNB()), X, y, cv=3).mean() > 0.8


def test_sample_weight_reaches_student_and_teacher(data):
    X, y = data
    weight = np.where(y == 0, 5.0, 1.0)
    model = student(GaussianNB()).fit(X, y, sample_weight=weight)
    np.testing.assert_allclose(model.teacher_.class_count_[0], 5.0 * np.sum(y == 0))
    unweighted = student(GaussianNB()).fit(X, y)
    assert model.predict_proba(X)[:, 0].mean() > unweighted.predict_proba(X)[:, 0].mean()


# --- bad inputs -----------------------------------------------------------------


@pytest.mark.parametrize(
    "X_bad, match",
    [
        (lambda X: np.where(np.arange(X.size).reshape(X.shape) == 7, np.nan, X), "NaN"),
        (lambda X: np.where(np.arange(X.size).reshape(X.shape) == 7, np.inf, X), "infinity"),
    ],
)
def test_non_finite_inputs(data, X_bad, match):
    X, y = data
    with pytest.raises(ValueError, match=match):
        student(GaussianNB()).fit(X_bad(X), y)


def test_one_class(data):
    X, _ = data
    with pytest.raises(ValueError, match="only one class"):
        student(GaussianNB()).fit(X, np.zeros(len(X)))


def test_continuous_target(data):
    X, _ = data
    with pytest.raises(ValueError, match="Unknown label type"):
        student(GaussianNB()).fit(X, np.linspace(0, 1, len(X)))


def test_wrong_feature_count_at_predict(data):
    X, y = data
    model = student(GaussianNB()).fit(X, y)
    match = "X has 5 features, but DistilledClassifier is expecting 6"
    with pytest.raises(ValueError, match=match):
        model.predict(X[:, :5])


@pytest.mark.parametrize(
    "params, match",
    [
        ({"temperature": 0}, "temperature"),
        ({"temperature": -1.0}, "temperature"),
        ({"alpha": 1.5}, "alpha"),
        ({"alpha": -0.1}, "alpha"),
        ({"alpha": "soft"}, "alpha"),
    ],
)
def test_invalid_temperature_and_alpha(data, params, match):
    X, y = data
    with pytest.raises(ValueError, match=match):
        student(GaussianNB(), **params).fit(X, y)


def test_teacher_without_probabilities_or_scores(data):
    X, y = data
    with pytest.raises(TypeError, match="neither predict_proba nor decision_function"):
        student(StandardScaler()).fit(X, y)


def test_no_teacher_and_no_soft_labels(data):
    X, y = data
    with pytest.raises(ValueError, match="No teacher"):
        student().fit(X, y)


def test_teacher_and_soft_labels_together(data):
    X, y = data
    with pytest.raises(ValueError, match="either a teacher or teacher_proba"):
        student(GaussianNB()).fit(X, y, teacher_proba=np.eye(3)[y])


def test_bad_soft_labels(data):
    X, y = data
    with pytest.raises(ValueError, match="teacher_proba has shape"):
        student().fit(X, y, teacher_proba=np.eye(3)[y][:10])
    with pytest.raises(ValueError, match="must sum to 1"):
        student().fit(X, y, teacher_proba=np.eye(3)[y] * 0.5)


def test_sample_weight_leaving_one_class(data):
    X, y = data
    with pytest.raises(ValueError, match=r"Only the classes \[0\] have rows with a positive"):
        student(GaussianNB()).fit(X, y, sample_weight=(y == 0).astype(float))
