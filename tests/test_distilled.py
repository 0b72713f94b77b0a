import pickle
import warnings

import joblib
import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.datasets import load_breast_cancer, load_digits, load_iris
from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
from sklearn.exceptions import NotFittedError
from sklearn.frozen import FrozenEstimator
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.naive_bayes import GaussianNB
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler
from sklearn.svm import SVC, LinearSVC
from sklearn.tree import DecisionTreeClassifier
from sklearn.utils.estimator_checks import parametrize_with_checks
from skorch import NeuralNetClassifier

from sktkd import DistilledClassifier
from sktkd.metrics import teacher_agreement

from .conftest import FAST


def student(teacher=None, **params):
    return DistilledClassifier(teacher, **{**FAST, "random_state": 0, **params})


def agreement(model, X):
    teacher = model.teacher_[0] if isinstance(model.teacher_, list) else model.teacher_
    return np.mean(model.predict(X) == teacher.predict(X))


# --- scikit-learn compliance ---------------------------------------------------

EXPECTED_FAILURES = {
    "check_sample_weight_equivalence_on_dense_data": (
        "float32 network: weighted and repeated rows sum the same gradient in another "
        "order, so the fits agree to about 1e-6, not the check's 1e-7 "
        "(test_base.py::test_zero_weight_removes_and_integer_weight_repeats_a_row)"
    ),
    "check_methods_subset_invariance": (
        "float32 network: BLAS computes one row and many rows with different kernels, "
        "so decision_function (the logits) agrees to about 1e-7 relative, at the check's "
        "bound; predict and predict_proba pass "
        "(test_base.py::test_decision_function_and_log_proba_agree_with_predict)"
    ),
    **dict.fromkeys(
        [
            "check_fit_score_takes_y",
            "check_n_features_in_after_fitting",
            "check_estimators_partial_fit_n_features",
        ],
        "partial_fit needs a fitted teacher (FrozenEstimator) or teacher_proba and "
        "refuses the check's unfitted teacher with a ValueError; "
        "TransferClassifier passes these checks, test_distilled.py::test_partial_fit_* "
        "covers DistilledClassifier's",
    ),
}


@parametrize_with_checks(
    [
        # The student takes NaN (its preprocessor imputes them: allow_nan), so must the
        # teacher of the checks that put NaN in X (and it takes sample_weight).
        DistilledClassifier(
            HistGradientBoostingClassifier(max_iter=20),
            max_epochs=20,
            hidden_layer_sizes=(16,),
            lr=1e-2,
            random_state=0,
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


class CountingNB(GaussianNB):
    """GaussianNB that records the number of rows of each predict_proba call."""

    def predict_proba(self, X):
        self.calls_.append(len(X))
        return super().predict_proba(X)

    def fit(self, X, y, sample_weight=None):
        self.calls_ = []
        return super().fit(X, y, sample_weight)


def test_teacher_is_asked_once_per_fit_and_never_trains(data):
    X, y = data
    expert = CountingNB().fit(X, y)
    model = student(FrozenEstimator(expert), max_epochs=5).fit(X, y)
    assert expert.calls_ == [len(X)]
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
        max_epochs=30,
        lr=0.1,
        train_split=None,
        verbose=0,
    ).fit(StandardScaler().fit_transform(X).astype(np.float32), y)
    teacher = make_pipeline(
        StandardScaler(), FunctionTransformer(lambda Z: Z.astype(np.float32)), FrozenEstimator(net)
    )
    model = student(FrozenEstimator(teacher.fit(X, y))).fit(X, y)
    assert teacher.score(X, y) > 0.8
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


# --- unlabelled rows ------------------------------------------------------------


class RecordingNB(GaussianNB):
    """GaussianNB that records the labels it is fitted on, across clones."""

    fitted_labels = []

    def fit(self, X, y, sample_weight=None):
        RecordingNB.fitted_labels.append(np.unique(y).tolist())
        return super().fit(X, y, sample_weight)


def test_unlabelled_rows_reach_only_the_soft_term(data):
    X, y = data
    y_partial = np.where(np.arange(len(y)) % 3 == 0, y, -1)
    RecordingNB.fitted_labels = []
    model = student(RecordingNB(), unlabeled_label=-1).fit(X, y_partial)
    assert list(model.classes_) == [0, 1, 2]
    assert RecordingNB.fitted_labels == [[0, 1, 2]]  # -1 never reached the teacher
    assert len(model.teacher_.class_count_) == 3
    assert model.score(X, y) > 0.8


def test_unlabelled_marker_in_an_object_array_of_strings(data):
    X, y = data
    names = np.array(["cat", "dog", "emu"], dtype=object)[y]
    names[::2] = -1
    model = student(GaussianNB(), unlabeled_label=-1).fit(X, names)
    assert list(model.classes_) == ["cat", "dog", "emu"]
    assert set(model.predict(X)) <= {"cat", "dog", "emu"}


def test_without_a_marker_minus_one_is_a_class(data):
    X, y = data
    signed = np.where(y == 0, -1, 1)
    model = student(GaussianNB()).fit(X, signed)
    assert list(model.classes_) == [-1, 1]


def test_soft_labels_on_unlabelled_rows_carry_the_teacher_knowledge(data):
    X, y = data
    labelled = np.arange(len(y)) < 30
    y_partial = np.where(labelled, y, -1)
    teacher = FrozenEstimator(make_pipeline(StandardScaler(), LogisticRegression()).fit(X, y))
    # An epoch visits 30 rows, one batch: 100 epochs make 100 steps.
    with_unlabelled = student(teacher, unlabeled_label=-1, alpha=0.9, max_epochs=100)
    with_unlabelled.fit(X, y_partial)
    labelled_only = student(teacher, alpha=0.9, max_epochs=100).fit(X[labelled], y[labelled])
    assert agreement(with_unlabelled, X) >= agreement(labelled_only, X)
    assert agreement(with_unlabelled, X) > 0.9


def test_all_rows_unlabelled_is_an_error(data):
    X, y = data
    with pytest.raises(ValueError, match="only one class"):
        student(GaussianNB(), unlabeled_label=-1).fit(X, np.where(y == 0, 0, -1))


# --- out-of-fold soft labels ----------------------------------------------------


class MemoryTeacher(GaussianNB):
    """Says, for each row it is asked about, whether it was trained on that row."""

    violations = []

    def fit(self, X, y, sample_weight=None):
        self.seen_ = {tuple(row) for row in np.asarray(X)}
        return super().fit(X, y, sample_weight)

    def predict_proba(self, X):
        MemoryTeacher.violations += [tuple(row) in self.seen_ for row in np.asarray(X)]
        return super().predict_proba(X)


def test_out_of_fold_labels_come_from_held_out_folds(data):
    X, y = data
    y_partial = np.where(np.arange(len(y)) % 5 == 0, -1, y)
    MemoryTeacher.violations = []
    model = student(MemoryTeacher(), teacher_cv=3, unlabeled_label=-1).fit(X, y_partial)
    assert len(MemoryTeacher.violations) == len(X)  # every row labelled once
    assert not any(MemoryTeacher.violations)
    assert len(model.teacher_.seen_) == np.sum(y_partial != -1)  # fitted on all labelled rows

    MemoryTeacher.violations = []
    student(MemoryTeacher()).fit(X, y)  # in-sample: the teacher has seen every row
    assert all(MemoryTeacher.violations)


def test_out_of_fold_with_a_splitter_and_several_teachers(data):
    from sklearn.model_selection import KFold

    X, y = data
    teachers = [GaussianNB(), make_pipeline(StandardScaler(), LogisticRegression())]
    model = student(teachers, teacher_cv=KFold(4, shuffle=True, random_state=0)).fit(X, y)
    assert agreement(model, X) > 0.85


def test_out_of_fold_needs_a_refittable_teacher(data):
    X, y = data
    frozen = FrozenEstimator(GaussianNB().fit(X, y))
    with pytest.raises(ValueError, match="cannot be refitted"):
        student(frozen, teacher_cv=3).fit(X, y)
    with pytest.raises(ValueError, match="teacher_cv and augment need a teacher"):
        student(teacher_cv=3).fit(X, y, teacher_proba=np.eye(3)[y])


# --- MUNGE ------------------------------------------------------------------------


def test_munge_rows_are_labelled_by_the_teacher_once(data):
    X, y = data
    expert = CountingNB().fit(X, y)
    model = student(FrozenEstimator(expert), augment="munge", augment_factor=2).fit(X, y)
    assert expert.calls_ == [len(X), 2 * len(X)]
    assert model.history_[-1, "train_batch_count"] == -(-3 * len(X) // FAST["batch_size"])


def test_munge_is_reproducible_and_random_state_dependent(data):
    X, y = data
    params = {"augment": "munge", "augment_factor": 1, "max_epochs": 3}
    a = student(GaussianNB(), **params).fit(X, y).predict_proba(X)
    b = student(GaussianNB(), **params).fit(X, y).predict_proba(X)
    c = student(GaussianNB(), **params, random_state=5).fit(X, y).predict_proba(X)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_munge_with_a_dataframe_teacher(data):
    pd = pytest.importorskip("pandas")
    X, y = data
    frame = pd.DataFrame(X, columns=[f"f{i}" for i in range(6)])
    teacher = FrozenEstimator(GaussianNB().fit(frame, y))
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "X does not have valid feature names"
        student(teacher, augment="munge", augment_factor=1).fit(frame, y)


def test_munge_needs_a_teacher_and_the_soft_term(data):
    X, y = data
    with pytest.raises(ValueError, match="alpha=0"):
        student(GaussianNB(), augment="munge", alpha=0.0).fit(X, y)
    with pytest.raises(ValueError, match="teacher_cv and augment need a teacher"):
        student(augment="munge").fit(X, y, teacher_proba=np.eye(3)[y])


# --- several teachers, loss variants, new parameters ---------------------------------


def test_teacher_weights_decide_between_teachers(data):
    X, y = data
    right = FrozenEstimator(GaussianNB().fit(X, y))
    wrong = FrozenEstimator(GaussianNB().fit(X, (y + 1) % 3))
    model = student([right, wrong], teacher_weights=[0.9, 0.1], alpha=1.0, max_epochs=30)
    assert model.fit(X, y).score(X, y) > 0.85
    model = student([right, wrong], teacher_weights=[0.1, 0.9], alpha=1.0, max_epochs=30)
    assert model.fit(X, y).score(X, (y + 1) % 3) > 0.85


def test_logit_matching_loss(data):
    X, y = data
    teacher = make_pipeline(StandardScaler(), LogisticRegression())
    model = student(teacher, loss="mse").fit(X, y)
    assert agreement(model, X) > 0.9


@pytest.mark.parametrize(
    "params, match",
    [
        ({"loss": "ce"}, "loss"),
        ({"teacher_cv": 1}, "teacher_cv"),
        ({"teacher_cv": "five"}, "teacher_cv"),
        ({"unlabeled_label": [-1]}, "unlabeled_label"),
        ({"augment": "mixup"}, "augment"),
        ({"augment_factor": 0}, "augment_factor"),
        ({"munge_swap_prob": 1.5}, "munge_swap_prob"),
        ({"munge_sd_divisor": 0}, "munge_sd_divisor"),
        ({"teacher_weights": [1.0]}, "one weight per teacher of a list"),
    ],
)
def test_new_parameters_are_validated(data, params, match):
    X, y = data
    with pytest.raises(ValueError, match=match):
        student(GaussianNB(), **params).fit(X, y)


@pytest.mark.parametrize(
    "weights, match", [([1.0], "one weight per teacher"), ([1.0, -1.0], "non-negative")]
)
def test_teacher_weights_are_validated(data, weights, match):
    X, y = data
    with pytest.raises(ValueError, match=match):
        student([GaussianNB(), GaussianNB()], teacher_weights=weights).fit(X, y)


# --- teachers that teach nothing, broken teachers, unlabelled rows -------------------


def test_nearly_one_hot_soft_labels_warn_with_the_remedies():
    X, y = load_breast_cancer(return_X_y=True)
    X, y = X[:200], y[:200]
    with pytest.warns(UserWarning, match="nearly one-hot.*teacher_cv.*augment.*temperature"):
        student(HistGradientBoostingClassifier(random_state=0)).fit(X, y)
    quiet = [
        student(make_pipeline(StandardScaler(), LogisticRegression())),  # soft in-sample
        student(HistGradientBoostingClassifier(random_state=0), teacher_cv=3),  # out of fold
        student(HistGradientBoostingClassifier(random_state=0), alpha=0.0),  # no soft term
    ]
    for model in quiet:
        with warnings.catch_warnings():
            warnings.simplefilter("error", UserWarning)
            model.fit(X, y)


def test_a_broken_teacher_fails_the_fit_and_is_named(data):
    X, y = data

    class NaNTeacher(GaussianNB):
        def predict_proba(self, X):
            proba = super().predict_proba(X)
            proba[3] = np.nan
            return proba

    with pytest.raises(ValueError, match=r"NaNTeacher.*predict_proba.*NaN or infinite"):
        student(NaNTeacher()).fit(X, y)


def test_one_vs_one_svc_teacher_is_refused():
    X, y = load_iris(return_X_y=True)
    with pytest.raises(ValueError, match="decision_function_shape='ovo'"):
        student(SVC(decision_function_shape="ovo")).fit(X, y)
    assert teacher_agreement(student(SVC(), max_epochs=40).fit(X, y), X) > 0.9


def test_unlabelled_rows_add_information_not_steps(data):
    """An epoch visits as many rows as are labelled, drawn among all rows."""
    X, y = data
    y_u = np.where(np.arange(len(y)) % 5 == 0, y, -1)  # 60 labelled rows of 300
    model = student(GaussianNB(), unlabeled_label=-1, batch_size=16).fit(X, y_u)
    assert model.history_[-1]["train_batch_count"] == 4  # ceil(60 / 16), not ceil(300 / 16)
    munged = student(GaussianNB(), augment="munge", augment_factor=2, batch_size=16).fit(X, y)
    assert munged.history_[-1]["train_batch_count"] == -(-900 // 16)  # synthetic rows count


def test_one_hot_warning_names_only_remedies_that_can_help():
    X, y = load_breast_cancer(return_X_y=True)
    X, y = X[:200], y[:200]
    tree = DecisionTreeClassifier(random_state=0).fit(X, y)  # exactly one-hot in-sample
    with pytest.warns(UserWarning, match="nearly one-hot") as record:
        student(FrozenEstimator(tree)).fit(X, y)
    message = str(record[0].message)
    assert "with the unfitted teacher instead of a frozen one" in message
    assert "higher temperature" not in message  # it cannot lift exact zeros

    class Sharp:  # an object teacher: teacher_cv can never refit it
        classes_ = np.array([0, 1])

        def predict_proba(self, X):
            return np.eye(2)[tree.predict(X)]

    with pytest.warns(UserWarning, match="nearly one-hot") as record:
        student(Sharp()).fit(X, y)
    assert "teacher_cv" not in str(record[0].message)


def test_zero_weight_rows_are_never_labelled_by_the_teacher_even_out_of_fold(data):
    X, y = data

    class Watchful(DecisionTreeClassifier):  # a tree's fit copes with the huge row
        def predict_proba(self, X):
            assert np.abs(X).max() < 1e20, "the teacher was asked about a zero-weight row"
            return super().predict_proba(X)

    X_bad, weight = X.copy(), np.ones(len(y))
    X_bad[5], weight[5] = 1e30, 0.0
    proba = np.full((len(y), 3), 1 / 3)
    proba[5] = np.nan  # a recorded row of weight 0 is absent too
    student(None).fit(X_bad, y, sample_weight=weight, teacher_proba=proba)
    student(Watchful(max_depth=3)).fit(X_bad, y, sample_weight=weight)
    student(Watchful(max_depth=3), teacher_cv=3).fit(X_bad, y, sample_weight=weight)


def test_one_vs_one_checks_know_the_classes_before_the_teacher_is_fitted(data):
    X, y = data
    binary = y == 0
    student(SVC(decision_function_shape="ovo"), teacher_cv=3).fit(X, binary)  # 2 classes: fine
    search = GridSearchCV(SVC(decision_function_shape="ovo"), {"C": [1.0, 2.0]}, cv=2)
    with pytest.raises(ValueError, match="decision_function_shape='ovo'"):
        student(search, teacher_cv=3).fit(X, y)


def test_without_its_teacher_a_student_pickles_small_and_predicts_the_same():
    """keep_teacher=False: the pickle holds what prediction needs (issue: 17.8 MB)."""
    X, y = load_digits(return_X_y=True)
    forest = RandomForestClassifier(100, random_state=0)
    kept, dropped = (
        DistilledClassifier(forest, keep_teacher=keep, max_epochs=3, random_state=0).fit(X, y)
        for keep in (True, False)
    )
    assert dropped.teacher_ is None and kept.teacher_ is not None
    np.testing.assert_array_equal(dropped.predict_proba(X), kept.predict_proba(X))
    assert len(pickle.dumps(dropped)) <= 300_000 < 1_000_000 < len(pickle.dumps(kept))


@pytest.mark.parametrize(
    "teacher",
    [[GaussianNB(), LogisticRegression(max_iter=500)], GaussianNB()],
    ids=["several", "one"],
)
def test_a_dropped_teacher_is_refitted_by_fit_and_refused_by_partial_fit(teacher, data):
    X, y = data
    model = student(teacher, keep_teacher=False).fit(X, y)
    assert model.teacher_ is None
    assert student(teacher, keep_teacher=False, teacher_cv=3).fit(X, y).teacher_ is None
    with pytest.raises(ValueError, match="keep_teacher=False"):
        model.partial_fit(X, y)
    with pytest.raises(ValueError, match=r"already fitted: pass"):  # no fit before: no drop
        student(teacher, keep_teacher=False).partial_fit(X, y, classes=np.unique(y))


def test_a_frozen_teacher_serves_partial_fit_without_being_kept(data):
    X, y = data
    frozen = FrozenEstimator(GaussianNB().fit(X, y))
    model = student(frozen, keep_teacher=False)
    for _ in range(2):
        model.partial_fit(X, y, classes=np.unique(y))
    assert model.teacher_ is None and model.n_iter_ == 2


class CountingTeacher(LogisticRegression):
    """A teacher that counts its fits (a class attribute: clones share it)."""

    fits = 0

    def fit(self, X, y, sample_weight=None):
        type(self).fits += 1
        return super().fit(X, y, sample_weight)


def test_teacher_memory_fits_the_teacher_once_per_fold(data, tmp_path):
    """Issue: a 2 x 2 grid with cv=3 fitted the teacher 13 times where 4 would do."""
    X, y = data
    grid = {"temperature": [1.0, 3.0], "alpha": [0.3, 0.7]}
    results = {}
    for memory in (None, str(tmp_path)):
        CountingTeacher.fits = 0
        student = DistilledClassifier(
            CountingTeacher(), teacher_memory=memory, random_state=0, **FAST
        )
        search = GridSearchCV(student, grid, cv=3).fit(X, y)
        results[memory is not None] = CountingTeacher.fits, search.cv_results_["mean_test_score"]
    assert results[False][0] == 13 and results[True][0] == 4  # 3 folds + the refit
    np.testing.assert_array_equal(results[True][1], results[False][1])


def test_teacher_memory_refits_when_the_teacher_or_the_rows_change(data, tmp_path):
    """Sibling: a cache never hands back a teacher fitted with other parameters or rows."""
    X, y = data
    memory = joblib.Memory(tmp_path, verbose=0)
    student = DistilledClassifier(CountingTeacher(), teacher_memory=memory, **FAST)
    CountingTeacher.fits = 0
    student.fit(X, y)
    student.set_params(temperature=2.0, random_state=1).fit(X, y)
    assert CountingTeacher.fits == 1
    student.set_params(teacher__C=0.1).fit(X, y)
    assert CountingTeacher.fits == 2 and student.teacher_.C == 0.1
    student.fit(X[:-1], y[:-1])
    assert CountingTeacher.fits == 3


def test_teacher_cv_folds_in_parallel_and_through_the_cache(data, tmp_path):
    X, y = data

    def student(**params):
        return DistilledClassifier(
            CountingTeacher(), teacher_cv=3, random_state=0, **FAST, **params
        ).fit(X, y)

    reference = student().predict_proba(X)
    np.testing.assert_allclose(student(n_jobs=2).predict_proba(X), reference)
    student(teacher_memory=str(tmp_path))
    CountingTeacher.fits = 0
    cached = student(teacher_memory=str(tmp_path), n_jobs=2)  # n_jobs is not in the key
    assert CountingTeacher.fits == 0
    np.testing.assert_allclose(cached.predict_proba(X), reference)


def test_a_grid_search_on_a_dask_cluster_equals_the_sequential_one(data):
    """Scaling out: joblib's dask backend, two worker processes of one torch thread each."""
    distributed = pytest.importorskip("distributed")
    X, y = data
    grid = {"temperature": [1.0, 3.0], "alpha": [0.3, 0.7]}
    search = GridSearchCV(DistilledClassifier(GaussianNB(), random_state=0, **FAST), grid, cv=3)
    sequential = clone(search).fit(X, y)
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, host="127.0.0.1", dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        assert set(client.run(torch.get_num_threads).values()) == {1}  # no oversubscription
        with joblib.parallel_backend("dask"):
            on_dask = clone(search).fit(X, y)
    assert on_dask.best_params_ == sequential.best_params_
    for key in ("mean_test_score", "std_test_score", "rank_test_score"):
        np.testing.assert_array_equal(on_dask.cv_results_[key], sequential.cv_results_[key])


def test_teacher_memory_edges(data, tmp_path):
    """Round two: a path, a duck-typed memory, a generator of folds, an unpicklable teacher,
    a warning said again when the logits come from the cache, a fitted sktkd teacher."""
    import pathlib

    from sklearn.model_selection import KFold
    from sklearn.preprocessing import FunctionTransformer

    X, y = data

    class DuckMemory:
        def cache(self, func):
            return func

    for memory in (pathlib.Path(tmp_path), DuckMemory()):
        DistilledClassifier(GaussianNB(), teacher_memory=memory, **FAST).fit(X, y)
    folds = KFold(3).split(X)  # used once, never a key
    DistilledClassifier(GaussianNB(), teacher_cv=folds, teacher_memory=str(tmp_path), **FAST).fit(
        X, y
    )
    unpicklable = make_pipeline(FunctionTransformer(lambda Z: Z), GaussianNB())
    with pytest.warns(UserWarning, match="teacher_memory cannot make a key"):
        DistilledClassifier(unpicklable, teacher_memory=str(tmp_path), **FAST).fit(X, y)
    wider = FrozenEstimator(GaussianNB().fit(X, y))
    for _ in range(2):  # the second fit's logits come from the cache
        with pytest.warns(UserWarning, match="classes absent from y"):
            DistilledClassifier(wider, teacher_memory=str(tmp_path), **FAST).fit(X[y < 2], y[y < 2])
    fitted = DistilledClassifier(GaussianNB(), **FAST).fit(X, y)
    assert joblib.hash(fitted) == joblib.hash(fitted)  # a key that serves again


def test_teacher_memory_serves_torch_teachers_again(data, tmp_path):
    """Round three: a tensor's pickle holds its storage's address, so the key of a network
    teacher (or an sktkd one) changed with every copy: hashed by values now."""
    import copy

    X, y = data
    teacher = FrozenEstimator(DistilledClassifier(GaussianNB(), **FAST).fit(X, y))
    for one in (teacher, torch.nn.Linear(6, 3)):
        memory = joblib.Memory(tmp_path / type(one).__name__, verbose=0)
        for copy_ in (one, copy.deepcopy(one), pickle.loads(pickle.dumps(one))):
            DistilledClassifier(copy_, teacher_memory=memory, **FAST).fit(X, y)
        entries = list((tmp_path / type(one).__name__).rglob("output.pkl"))
        assert len(entries) == 1, entries


def test_a_teacher_holding_a_lock_goes_without_the_cache(data, tmp_path):
    import threading

    X, y = data
    teacher = FrozenEstimator(GaussianNB().fit(X, y))
    teacher.lock = threading.Lock()
    with pytest.warns(UserWarning, match="without the cache"):
        DistilledClassifier(teacher, teacher_memory=str(tmp_path), **FAST).fit(X, y)


def test_partial_fit_on_a_chunk_without_labels_learns_from_the_teacher(data):
    X, y = data
    teacher = FrozenEstimator(GaussianNB().fit(X, y))
    model = student(teacher, unlabeled_label=-1).partial_fit(X[:100], y[:100], classes=[0, 1, 2])
    model.partial_fit(X[100:], np.full(len(X) - 100, -1))  # every row unlabelled
    assert model.n_iter_ == 2 and agreement(model, X) > 0.5  # two epochs: above chance
