import numpy as np
import pytest
from sklearn.datasets import load_diabetes
from sklearn.exceptions import NotFittedError
from sklearn.frozen import FrozenEstimator
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.metrics import r2_score
from sklearn.model_selection import GridSearchCV
from sklearn.naive_bayes import GaussianNB
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sktkd import DistilledClassifier, DistilledRegressor, TransferClassifier
from sktkd.metrics import teacher_agreement, teacher_fidelity, teacher_kl_divergence

from .conftest import FAST


@pytest.fixture(scope="module")
def fitted(data):
    X, y = data
    return DistilledClassifier(GaussianNB(), **FAST, random_state=0).fit(X, y)


def test_agreement_counts_rows_where_student_and_teacher_agree(fitted, data):
    X, _ = data
    expected = np.mean(fitted.predict(X) == fitted.teacher_.predict(X))
    assert teacher_agreement(fitted, X) == pytest.approx(expected)


def test_kl_divergence_is_the_mean_kl_of_the_probabilities(fitted, data):
    X, _ = data
    p, q = fitted.teacher_.predict_proba(X), fitted.predict_proba(X)
    p = np.maximum(p, 1e-30)
    expected = np.mean(np.sum(p * (np.log(p) - np.log(q)), axis=1))
    assert teacher_kl_divergence(fitted, X) == pytest.approx(expected, rel=1e-4, abs=1e-6)
    assert teacher_kl_divergence(fitted, X) >= 0


def test_a_student_that_copies_the_teacher_has_full_agreement_and_low_kl(data):
    X, y = data
    teacher = FrozenEstimator(make_pipeline(StandardScaler(), LogisticRegression()).fit(X, y))
    good = DistilledClassifier(
        teacher, alpha=1.0, temperature=1.0, max_epochs=60, random_state=0
    ).fit(X, y)
    bad = DistilledClassifier(
        teacher, alpha=0.0, max_epochs=1, hidden_layer_sizes=(2,), lr=1e-4, random_state=0
    ).fit(X, y)
    assert teacher_agreement(good, X) > 0.95 > teacher_agreement(bad, X)
    assert teacher_kl_divergence(good, X) < 0.1 < teacher_kl_divergence(bad, X)


def test_scorer_in_grid_search_and_pipeline(data):
    X, y = data
    pipe = make_pipeline(StandardScaler(), DistilledClassifier(GaussianNB(), **FAST))
    grid = {"distilledclassifier__alpha": [0.0, 1.0]}
    search = GridSearchCV(pipe, grid, scoring=teacher_agreement, cv=3).fit(X, y)
    assert 0.5 < search.best_score_ <= 1.0
    assert teacher_agreement(search.best_estimator_, X) > 0.5


def test_several_teachers_are_compared_through_their_weighted_average(data):
    X, y = data
    a, b = GaussianNB().fit(X, y), GaussianNB().fit(X, (y + 1) % 3)
    model = DistilledClassifier(
        [FrozenEstimator(a), FrozenEstimator(b)], teacher_weights=[3, 1], **FAST, random_state=0
    ).fit(X, y)
    average = (3 * a.predict_proba(X) + b.predict_proba(X)) / 4  # same labels, same columns
    assert teacher_agreement(model, X) == pytest.approx(
        np.mean(model.predict(X) == model.classes_[average.argmax(1)])
    )


def test_errors(fitted, data):
    X, y = data
    with pytest.raises(TypeError, match="needs a DistilledClassifier"):
        teacher_agreement(TransferClassifier(**FAST).fit(X, y), X)
    recorded = DistilledClassifier(**FAST).fit(X, y, teacher_proba=np.eye(3)[y])
    with pytest.raises(ValueError, match="no teacher to compare with"):
        teacher_kl_divergence(recorded, X)
    with pytest.raises(ValueError, match="expecting 6 features"):
        teacher_agreement(fitted, X[:, :2])


def test_a_failed_recorded_fit_leaves_no_claim_about_recorded_labels(data):
    X, y = data
    model = DistilledClassifier(**FAST)
    with pytest.raises(ValueError, match="teacher_proba has shape"):
        model.fit(X, y, teacher_proba=np.full((3, 3), 1 / 3))
    with pytest.raises(NotFittedError):
        teacher_agreement(model, X)


@pytest.mark.parametrize("metric", [teacher_agreement, teacher_kl_divergence])
def test_a_student_without_its_teacher_takes_one_passed_in(metric, data):
    X, y = data
    teacher = GaussianNB().fit(X, y)
    kept = DistilledClassifier(GaussianNB(), **FAST, random_state=0).fit(X, y)
    dropped = DistilledClassifier(GaussianNB(), keep_teacher=False, **FAST, random_state=0)
    dropped.fit(X, y)
    with pytest.raises(ValueError, match=r"keep_teacher=False.*teacher=fitted_teacher"):
        metric(dropped, X)
    assert metric(dropped, X, teacher=teacher) == pytest.approx(metric(kept, X))
    recorded = DistilledClassifier(**FAST, random_state=0)
    recorded.fit(X, y, teacher_proba=teacher.predict_proba(X))
    with pytest.raises(ValueError, match="recorded teacher_proba"):
        metric(recorded, X)
    assert metric(recorded, X, teacher=teacher) >= 0


def test_teacher_fidelity_of_a_regressor():
    X, y = load_diabetes(return_X_y=True)
    student = DistilledRegressor(Ridge(), max_epochs=20, random_state=0).fit(X, y)
    expected = r2_score(student.teacher_.predict(X), student.predict(X))
    assert teacher_fidelity(student, X) == pytest.approx(expected)
    search = GridSearchCV(student, {"alpha": [0.0, 1.0]}, scoring=teacher_fidelity, cv=2)
    assert search.fit(X, y).best_params_ == {"alpha": 1.0}
    with pytest.raises(TypeError, match="needs a DistilledClassifier.*teacher_fidelity"):
        teacher_agreement(student, X)
    recorded = DistilledRegressor(max_epochs=2).fit(X, y, teacher_pred=y)
    with pytest.raises(ValueError, match="recorded teacher_pred"):
        teacher_fidelity(recorded, X)
    assert teacher_fidelity(recorded, X, teacher=student.teacher_) < 1
