import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from sklearn.naive_bayes import GaussianNB  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402

from sktkd import DistilledClassifier, TransferClassifier  # noqa: E402
from sktkd.plot import plot_agreement, plot_learning_curve, plot_reliability  # noqa: E402

from .conftest import FAST  # noqa: E402


@pytest.fixture(scope="module")
def student(data):
    X, y = data
    return DistilledClassifier(GaussianNB(), **FAST, random_state=0).fit(X, y)


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def test_learning_curve(student):
    ax = plot_learning_curve(student, label="student")
    (line,) = ax.get_lines()
    np.testing.assert_array_equal(line.get_xdata(), np.arange(1, FAST["max_epochs"] + 1))
    np.testing.assert_allclose(line.get_ydata(), student.history_[:, "train_loss"])
    assert ax.get_xlabel() == "epoch" and ax.get_ylabel() == "loss"
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["student, training"]


def test_learning_curve_with_a_validation_split_marks_the_kept_epoch(data):
    X, y = data
    model = DistilledClassifier(
        GaussianNB(), **{**FAST, "max_epochs": 100}, early_stopping=True, n_iter_no_change=2
    ).fit(X, y)
    ax = plot_learning_curve(model)
    train, valid, kept = ax.get_lines()
    np.testing.assert_allclose(valid.get_ydata(), model.history_[:, "valid_loss"])
    best = dict(model.net_.callbacks_)["early_stopping"].best_epoch_
    assert list(kept.get_xdata()) == [best, best] and best < model.n_iter_
    assert [t.get_text() for t in ax.get_legend().get_texts()] == [
        "DistilledClassifier, training",
        "DistilledClassifier, validation",
    ]


def test_learning_curve_of_a_transfer_in_phases(data):
    X, y = data
    source = TransferClassifier(**FAST, random_state=0).fit(X, y)
    target = TransferClassifier(source, probe_epochs=3, max_epochs=4, random_state=0).fit(X, y % 2)
    _, ax = plt.subplots()
    assert plot_learning_curve(target, ax=ax) is ax
    assert len(ax.get_lines()[0].get_xdata()) == 7


def test_agreement_matrix(student, data):
    X, _ = data
    ax = plot_agreement(student, X)
    matrix = ax.get_images()[0].get_array()
    teacher, pupil = student.teacher_.predict(X), student.predict(X)
    assert matrix.shape == (3, 3) and matrix.sum() == len(X)
    assert np.trace(matrix) == np.sum(teacher == pupil)
    assert ax.get_ylabel() == "teacher decision" and ax.get_xlabel() == "student decision"
    assert ax.get_title().startswith("agreement with the teacher: ")


def test_agreement_matrix_of_a_pipeline(data):
    X, y = data
    pipe = make_pipeline(StandardScaler(), DistilledClassifier(GaussianNB(), **FAST)).fit(X, y)
    ax = plot_agreement(pipe, X, normalize="true")
    np.testing.assert_allclose(ax.get_images()[0].get_array().sum(axis=1), 1.0)


def test_reliability_diagram(student, data):
    X, y = data
    ax = plot_reliability(student, X, y, n_bins=5)
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels == ["teacher", "student", "calibrated"]
    for line in ax.get_lines()[:2]:
        x, acc = line.get_xdata(), line.get_ydata()
        assert 1 <= len(x) <= 5
        assert ((0 <= acc) & (acc <= 1)).all() and ((1 / 3 - 1e-9 <= x) & (x <= 1)).all()


def test_plots_need_a_fitted_estimator(data):
    X, y = data
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        plot_learning_curve(DistilledClassifier())
    with pytest.raises(NotFittedError):
        plot_agreement(DistilledClassifier(), X)


def test_plots_refuse_bad_arguments_before_drawing(student, data):
    X, y = data
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        plot_reliability(student, X, y[:-1])
    with pytest.raises(ValueError, match="n_bins must be a positive integer"):
        plot_reliability(student, X, y, n_bins=0)
    with pytest.raises(TypeError, match="needs an sktkd estimator"):
        plot_learning_curve(GaussianNB().fit(X, y))
