"""The regression task: DistilledRegressor and TransferRegressor."""

import io
import pickle
import warnings

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.datasets import make_friedman1
from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor
from sklearn.exceptions import NotFittedError
from sklearn.frozen import FrozenEstimator
from sklearn.linear_model import LinearRegression, Ridge
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.tree import DecisionTreeRegressor
from sklearn.utils.estimator_checks import parametrize_with_checks
from skorch.callbacks import EpochScoring

from sktkd import DistilledRegressor, TransferClassifier, TransferRegressor

FAST = {"max_epochs": 15, "batch_size": 32, "lr": 1e-2, "hidden_layer_sizes": (16,)}


@pytest.fixture(scope="module")
def reg():
    """Friedman #1 on unscaled columns, targets far from 0 in large units."""
    X, y = make_friedman1(n_samples=400, n_features=6, random_state=0)
    X = X * np.array([1, 10, 100, 1000, 1e4, 0.01]) + 50
    return X, 1e3 * y + 1e5


def distilled(teacher=None, **params):
    return DistilledRegressor(teacher, **{**FAST, "random_state": 0, **params})


def fidelity(model, X, teacher):
    return 1 - np.mean((model.predict(X) - teacher.predict(X)) ** 2) / np.var(teacher.predict(X))


# --- scikit-learn compliance ---------------------------------------------------

EXPECTED_FAILURES = {
    "check_sample_weight_equivalence_on_dense_data": (
        "float32 network: weighted and repeated rows sum the same gradient in another "
        "order, so the fits agree to about 1e-6, not the check's 1e-7 "
        "(test_regressor.py::test_zero_weight_is_a_missing_row)"
    ),
}
DISTILLED_FAILURES = {
    **EXPECTED_FAILURES,
    **dict.fromkeys(
        ["check_n_features_in_after_fitting", "check_estimators_partial_fit_n_features"],
        "partial_fit needs a fitted teacher (FrozenEstimator) or teacher_pred and refuses "
        "the check's unfitted teacher with a ValueError; TransferRegressor passes these "
        "checks, test_regressor.py::test_partial_fit_needs_a_fitted_teacher covers it",
    ),
}


@parametrize_with_checks(
    [
        # The student takes NaN (its preprocessor imputes them: allow_nan), so must the
        # teacher of the checks that put NaN in X (and it takes sample_weight, several outputs).
        DistilledRegressor(
            DecisionTreeRegressor(max_depth=4, random_state=0),
            max_epochs=20,
            hidden_layer_sizes=(16,),
            lr=1e-2,
            random_state=0,
        ),
        TransferRegressor(max_epochs=20, hidden_layer_sizes=(16,), lr=1e-2, random_state=0),
    ],
    expected_failed_checks=lambda est: (
        DISTILLED_FAILURES if isinstance(est, DistilledRegressor) else EXPECTED_FAILURES
    ),
)
def test_sklearn_compatible(estimator, check):
    check(estimator)


# --- targets of any scale and shape ---------------------------------------------


@pytest.mark.parametrize("estimator", [DistilledRegressor(Ridge()), TransferRegressor()])
def test_units_of_y_do_not_change_the_model(reg, estimator):
    X, y = reg
    params = {**FAST, "random_state": 0}
    small = clone(estimator).set_params(**params).fit(X, (y - 1e5) / 1e3)
    large = clone(estimator).set_params(**params).fit(X, y)
    np.testing.assert_allclose(large.predict(X), 1e3 * small.predict(X) + 1e5, rtol=1e-6)
    assert large.score(X, y) > 0.7


def test_multi_output_targets(reg):
    X, y = reg
    Y = np.column_stack([y, -y / 1e6])
    model = distilled(RandomForestRegressor(n_estimators=20, random_state=0)).fit(X, Y)
    assert model.n_outputs_ == 2 and model.predict(X).shape == (len(X), 2)
    assert model.score(X, Y) > 0.7
    column = distilled(Ridge()).fit(X, y[:, None])  # one output: 1-D, as MLPRegressor's
    assert column.predict(X[:3]).shape == (3,)


def test_zero_weight_is_a_missing_row(reg):
    X, y = reg
    weight = np.ones(len(X))
    weight[::7] = 0
    weighted = TransferRegressor(**FAST, random_state=0).fit(X, y, sample_weight=weight)
    dropped = TransferRegressor(**FAST, random_state=0).fit(X[weight > 0], y[weight > 0])
    np.testing.assert_allclose(weighted.predict(X), dropped.predict(X), rtol=1e-5)


def test_nan_targets_are_refused_unless_marked_unlabelled(reg):
    X, y = reg
    y = y.copy()
    y[::3] = np.nan
    teacher = RandomForestRegressor(n_estimators=10, random_state=0)
    with pytest.raises(ValueError, match="NaN"):
        distilled(teacher).fit(X, y)
    model = distilled(teacher, unlabeled_label=np.nan).fit(X, y)
    assert model.teacher_.n_features_in_ == 6
    assert len(model.teacher_.estimators_[0].tree_.value) > 1
    # The teacher saw the labelled rows alone.
    assert model.teacher_.estimators_samples_[0].max() < np.sum(~np.isnan(y))
    assert np.isfinite(model.predict(X)).all()


def test_a_numeric_marker_and_rows_labelled_in_part(reg):
    X, y = reg
    Y = np.column_stack([y, y])
    Y[:50] = -1.0
    model = distilled(Ridge(), unlabeled_label=-1.0).fit(X, Y)
    np.testing.assert_allclose(model.target_scaling_.mean.numpy(), Y[50:].mean(axis=0), rtol=1e-12)
    Y[60, 0] = -1.0
    with pytest.raises(ValueError, match="in all its outputs or in none"):
        distilled(Ridge(), unlabeled_label=-1.0).fit(X, Y)


def test_user_arrays_are_not_modified(reg):
    X, y = reg
    X0, y0 = X.copy(), y.copy()
    y_nan = y.copy()
    y_nan[:10] = np.nan
    y_nan0 = y_nan.copy()
    distilled(Ridge(), unlabeled_label=np.nan, augment="munge", augment_factor=1).fit(X, y_nan)
    TransferRegressor(**FAST).fit(X, y)
    np.testing.assert_array_equal(X, X0)
    np.testing.assert_array_equal(y, y0)
    np.testing.assert_array_equal(y_nan, y_nan0)


# --- teachers ----------------------------------------------------------------


def test_unfitted_teacher_is_cloned_and_frozen_one_never_refitted(reg):
    X, y = reg
    teacher = RandomForestRegressor(n_estimators=10, random_state=0)
    model = distilled(teacher).fit(X, y)
    assert model.teacher_ is not teacher
    with pytest.raises(NotFittedError):
        teacher.predict(X)
    fitted = RandomForestRegressor(n_estimators=10, random_state=0).fit(X, y)
    trees = fitted.estimators_
    model = distilled(FrozenEstimator(fitted)).fit(X[:100], y[:100])
    assert model.teacher_.estimator.estimators_ is trees
    assert fidelity(model, X, fitted) > 0.5


def test_recorded_predictions_teach_as_the_teacher_does(reg):
    X, y = reg
    expert = Ridge().fit(X, y)
    frozen = distilled(FrozenEstimator(expert)).fit(X, y)
    recorded = distilled().fit(X, y, teacher_pred=expert.predict(X))
    np.testing.assert_allclose(recorded.predict(X), frozen.predict(X), rtol=1e-6)
    assert recorded.teacher_ is None
    with pytest.raises(ValueError, match="teacher_pred has shape"):
        distilled().fit(X, y, teacher_pred=expert.predict(X)[:-1])
    with pytest.raises(ValueError, match="either a teacher or teacher_pred"):
        distilled(Ridge()).fit(X, y, teacher_pred=expert.predict(X))


class PredictOnly:
    """A fitted model seen only through predict (an external service)."""

    def __init__(self, model, nan_row=None):
        self.model, self.nan_row = model, nan_row

    def predict(self, X):
        out = self.model.predict(X)
        if self.nan_row is not None:
            out[self.nan_row] = np.nan
        return out


def test_list_of_teachers_is_averaged_with_weights(reg):
    X, y = reg
    a, b = Ridge().fit(X, y), DecisionTreeRegressor(max_depth=3).fit(X, y)
    both = distilled([PredictOnly(a), PredictOnly(b)], teacher_weights=[1, 0]).fit(X, y)
    one = distilled(PredictOnly(a)).fit(X, y)
    np.testing.assert_allclose(both.predict(X), one.predict(X), rtol=1e-6)


def test_torch_module_teacher(reg):
    X, y = reg
    source = TransferRegressor(**FAST, random_state=0).fit(X, y)
    network = source.module_  # raw features in, values in y's units out
    model = distilled(network, alpha=1.0).fit(X, y)
    assert fidelity(model, X, source) > 0.8


def test_bad_teachers_are_named(reg):
    X, y = reg
    with pytest.raises(ValueError, match="is a classifier"):
        distilled(RandomForestClassifier()).fit(X, y)
    with pytest.raises(ValueError, match="is a classifier"):
        distilled(make_pipeline(StandardScaler(), RandomForestClassifier())).fit(X, y)
    with pytest.raises(TypeError, match="has no predict"):
        distilled(object()).fit(X, y)
    with pytest.raises(ValueError, match=r"PredictOnly.*NaN or infinite .*first: row 5"):
        distilled(PredictOnly(Ridge().fit(X, y), nan_row=5)).fit(X, y)
    with pytest.raises(ValueError, match="No teacher"):
        distilled().fit(X, y)


def test_teacher_repeating_y_warns_and_out_of_fold_predictions_do_not(reg):
    X, y = reg
    tree = DecisionTreeRegressor(random_state=0)  # fits its training rows exactly
    with pytest.warns(UserWarning, match="nearly repeat y.*teacher_cv=5"):
        distilled(tree).fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        model = distilled(tree, teacher_cv=3).fit(X, y)
    assert model.teacher_.get_n_leaves() > 100  # still fitted on all the rows


def test_munge_rows_raise_fidelity_to_a_forest():
    X, y = make_friedman1(n_samples=300, random_state=0)
    X_test = make_friedman1(n_samples=500, random_state=1)[0]
    forest = RandomForestRegressor(n_estimators=30, random_state=0).fit(X, y)
    params = {"max_epochs": 40, "hidden_layer_sizes": (64,), "random_state": 0}
    plain = DistilledRegressor(FrozenEstimator(forest), **params).fit(X, y)
    munged = DistilledRegressor(FrozenEstimator(forest), augment="munge", **params).fit(X, y)
    assert fidelity(munged, X_test, forest) > fidelity(plain, X_test, forest)


def test_partial_fit_needs_a_fitted_teacher(reg):
    X, y = reg
    with pytest.raises(ValueError, match="partial_fit needs a teacher that is already fitted"):
        distilled(Ridge()).partial_fit(X, y)
    model = distilled(FrozenEstimator(Ridge().fit(X, y)))
    for chunk in np.array_split(np.arange(len(X)), 4):
        model.partial_fit(X[chunk], y[chunk])
    assert model.n_iter_ == 4 and model.score(X, y) > 0.3


def test_keep_teacher_false_pickles_without_the_teacher(reg):
    X, y = reg
    forest = RandomForestRegressor(n_estimators=30, random_state=0)
    kept = distilled(forest).fit(X, y)
    dropped = distilled(forest, keep_teacher=False).fit(X, y)
    assert dropped.teacher_ is None
    assert len(pickle.dumps(dropped)) < len(pickle.dumps(kept)) / 5
    np.testing.assert_allclose(dropped.predict(X), kept.predict(X))


# --- training control -----------------------------------------------------------


def test_early_stopping_follows_validation_r2(reg):
    X, y = reg
    model = distilled(Ridge(), early_stopping=True, max_epochs=60).fit(X, y)
    history = model.history_
    assert {"valid_r2", "valid_fidelity", "valid_loss"} <= set(history[-1])
    assert model.best_validation_score_ == max(model.validation_scores_)
    assert -1 < model.best_validation_score_ <= 1


def test_skorch_callbacks_see_standardised_targets(reg):
    X, y = reg
    score = EpochScoring("r2", on_train=True, lower_is_better=False, name="train_r2")
    model = TransferRegressor(**FAST, random_state=0, callbacks=[score]).fit(X, y)
    assert model.history_[-1, "train_r2"] > 0.5


def test_diverging_fit_is_an_error(reg):
    X, y = reg
    with pytest.raises(ValueError, match="diverged"):
        TransferRegressor(**{**FAST, "lr": 1e12}, optimizer=torch.optim.SGD).fit(X, y)


def test_warm_start_keeps_the_target_scaling_and_outputs(reg):
    X, y = reg
    model = TransferRegressor(**FAST, warm_start=True, random_state=0).fit(X, y)
    mean = model.target_scaling_.mean.clone()
    model.fit(X[:100], y[:100] + 1e4)
    assert torch.equal(model.target_scaling_.mean, mean) and model.n_iter_ == 30
    with pytest.raises(ValueError, match="fitted network has 1"):
        model.fit(X, np.column_stack([y, y]))


def test_module_class_is_built_with_n_outputs(reg):
    X, y = reg

    class Linear(torch.nn.Module):
        def __init__(self, n_features_in, n_outputs):
            super().__init__()
            self.layer = torch.nn.Linear(n_features_in, n_outputs)

        def forward(self, X):
            return self.layer(X)

    model = TransferRegressor(module=Linear, max_epochs=50, lr=1e-2, random_state=0)
    assert model.fit(X, y).score(X, y) > 0.5
    with pytest.raises(ValueError, match=r"shape \(n_samples, 2\)"):
        TransferRegressor(module=torch.nn.Linear(6, 1)).fit(X, np.column_stack([y, y]))


def test_grid_search_and_pickle(reg):
    X, y = reg
    search = GridSearchCV(distilled(Ridge()), {"alpha": [0.0, 0.5]}, cv=2).fit(X, y)
    model = search.best_estimator_
    loaded = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))


def test_skops_round_trip(reg):
    skops_io = pytest.importorskip("skops.io")
    X, y = reg
    model = TransferRegressor(**FAST, random_state=0).fit(X, np.column_stack([y, y]))
    data = skops_io.dumps(model)
    loaded = skops_io.loads(data, trusted=skops_io.get_untrusted_types(data=data))
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))


def test_module_returns_values_in_the_units_of_y(reg):
    X, y = reg
    model = TransferRegressor(**FAST, random_state=0).fit(X, y)
    with torch.no_grad():
        out = model.module_(torch.as_tensor(X[:5]))
    np.testing.assert_allclose(out.numpy().ravel(), model.predict(X[:5]), rtol=1e-12)


# --- transfer ----------------------------------------------------------------


@pytest.fixture(scope="module")
def tasks():
    """A source task with many rows, a related target task with 40, other units."""
    X, y = make_friedman1(n_samples=3000, random_state=0)
    X_t, y_t = make_friedman1(n_samples=1040, random_state=1)
    return (X, y), (X_t[:40], 50 * y_t[:40] - 3), (X_t[40:], 50 * y_t[40:] - 3)


@pytest.mark.parametrize("strategy", ["lp_ft", "full", "linear_probe", "gradual"])
def test_transfer_from_a_regressor_beats_training_from_scratch(tasks, strategy):
    (X, y), (X_t, y_t), (X_test, y_test) = tasks
    source = TransferRegressor(hidden_layer_sizes=(64,), max_epochs=40, random_state=0)
    source.fit(X, y)
    weights = {k: v.clone() for k, v in source.module_.state_dict().items()}
    params = {"max_epochs": 200, "probe_epochs": 200, "random_state": 0}
    target = TransferRegressor(source, strategy=strategy, **params).fit(X_t, y_t)
    scratch = TransferRegressor(hidden_layer_sizes=(64,), max_epochs=200, random_state=0)
    scratch.fit(X_t, y_t)
    assert target.score(X_test, y_test) > scratch.score(X_test, y_test)
    for key, value in source.module_.state_dict().items():  # the source is untouched
        assert torch.equal(value, weights[key])


def test_classifier_network_as_source_gets_a_regression_head(tasks):
    (X, y), (X_t, y_t), _ = tasks
    source = TransferClassifier(max_epochs=5, random_state=0).fit(X, y > np.median(y))
    target = TransferRegressor(source, max_epochs=5, probe_epochs=5, random_state=0)
    target.fit(X_t, np.column_stack([y_t, y_t]))
    head = target.module_.get_submodule(target.head_)
    assert head.out_features == 2 and target.predict(X_t).shape == (40, 2)
    back = TransferClassifier(target, max_epochs=5, probe_epochs=5)
    back.fit(X_t, y_t > np.median(y_t))
    assert back.module_.get_submodule(back.head_).out_features == 2


def test_transform_gives_the_penultimate_features(tasks):
    (X, y), _, _ = tasks
    model = TransferRegressor(max_epochs=3, random_state=0).fit(X[:200], y[:200])
    assert model.transform(X[:4]).shape == (4, 100)
    with pytest.raises(NotFittedError):
        TransferRegressor().predict(X)


def test_to_onnx_exports_values(reg):
    pytest.importorskip("onnxruntime")
    pytest.importorskip("onnxscript")
    import onnxruntime

    from sktkd import to_onnx

    X, y = reg
    model = TransferRegressor(**FAST, random_state=0).fit(X, y)
    onx = to_onnx(model)
    session = onnxruntime.InferenceSession(onx.SerializeToString())
    (out,) = session.run(None, {"X": X[:20].astype(np.float32)})
    np.testing.assert_allclose(out.ravel(), model.predict(X[:20]), rtol=1e-4)
    buffer = io.BytesIO(onx.SerializeToString())
    assert buffer.getbuffer().nbytes > 0


def test_linear_regression_teacher_in_a_pipeline(reg):
    X, y = reg
    pipe = make_pipeline(StandardScaler(), distilled(LinearRegression()))
    assert pipe.fit(X, y).score(X, y) > 0.5


# --- break-testing: each reproducer, and a sibling ----------------------------------


def test_early_stopping_refuses_too_few_validation_rows(reg):
    X, y = reg
    with pytest.raises(ValueError, match="validation_fraction=0.1 of the 10 labelled rows"):
        distilled(Ridge(), early_stopping=True).fit(X[:10], y[:10])
    y_semi = y.copy()
    y_semi[10:] = np.nan  # 10 labelled rows among 400: the same split, semi-supervised
    with pytest.raises(ValueError, match="validation_fraction"):
        distilled(Ridge(), early_stopping=True, unlabeled_label=np.nan).fit(X, y_semi)


def test_a_regressors_network_is_a_source_like_the_regressor(reg):
    X, y = reg
    source = TransferRegressor(**FAST, random_state=0).fit(X, 1e6 * y + 5e8)
    from_estimator = TransferRegressor(source, **FAST, random_state=0).fit(X[:100], y[:100])
    from_module = TransferRegressor(source.module_, **FAST, random_state=0).fit(X[:100], y[:100])
    assert from_module.score(X, y) > 0.5
    assert abs(from_module.score(X, y) - from_estimator.score(X, y)) < 0.2


@pytest.mark.parametrize("make", [TransferRegressor, TransferClassifier])
def test_a_regressors_weights_file_is_a_source(reg, tmp_path, make):
    X, y = reg
    source = TransferRegressor(**FAST, random_state=0).fit(X, y)
    path = tmp_path / "weights.pt"
    torch.save(source.module_.state_dict(), path)  # as the transfer guide shows
    target = y if make is TransferRegressor else y > np.median(y)
    model = make(str(path), **FAST, random_state=0).fit(X[:100], target[:100])
    assert model.score(X, target) > 0.5


def test_a_constant_output_is_predicted_constant(reg):
    X, y = reg
    Y = np.column_stack([y, np.full(len(y), 1000.0)])
    model = distilled(Ridge()).fit(X, Y)
    np.testing.assert_allclose(model.predict(X)[:, 1], 1000.0, rtol=1e-9)
    alone = TransferRegressor(**FAST, random_state=0).fit(X, np.full(len(y), 1e9))
    np.testing.assert_allclose(alone.predict(X), 1e9, rtol=1e-12)


def test_targets_with_a_tiny_spread_on_a_large_offset(reg):
    X, y = reg
    tiny = 1e6 + 1e-6 * (y - y.mean()) / y.std()  # a spread of 1e-6 at 1e6: 1e-12 relative
    model = TransferRegressor(**{**FAST, "max_epochs": 40}, random_state=0).fit(X, tiny)
    assert model.score(X, tiny) > 0.5


def test_an_unfitted_skorch_regressor_teacher_gets_column_targets(reg):
    from skorch import NeuralNetRegressor

    X, y = reg
    X, y = StandardScaler().fit_transform(X).astype(np.float32), (y - 1e5) / 1e3
    teacher = NeuralNetRegressor(
        torch.nn.Linear,
        module__in_features=6,
        module__out_features=1,
        optimizer=torch.optim.Adam,
        max_epochs=60,
        lr=0.1,
        train_split=None,
        verbose=0,
    )
    with warnings.catch_warnings():  # torch's warning of a loss broadcast over (n,) and (n, 1)
        warnings.filterwarnings("error", message=".*target size")
        one = distilled(teacher, random_state=0).fit(X, y)
        column = distilled(teacher, random_state=0).fit(X, y[:, None])
    assert one.teacher_.score(X, y) > 0.5 and column.teacher_.score(X, y) > 0.5


def test_rows_without_a_target_train_on_the_teacher_alone(reg):
    X, y = reg
    teacher = FrozenEstimator(Ridge().fit(X, y))
    nothing = np.full(len(y), np.nan)
    model = distilled(teacher, alpha=1.0, unlabeled_label=np.nan, max_epochs=30)
    assert fidelity(model.fit(X, nothing), X, teacher) > 0.5
    chunk = distilled(teacher, unlabeled_label=np.nan)
    chunk.partial_fit(X[:100], y[:100]).partial_fit(X[100:200], nothing[100:200])
    assert chunk.n_iter_ == 2
    with pytest.raises(ValueError, match="no labelled row to fit the teacher"):
        distilled(Ridge(), unlabeled_label=np.nan).fit(X, nothing)


def test_threads_sharing_a_torch_teacher_leave_its_modes(reg):
    from joblib import Parallel, delayed

    X, y = reg
    network = torch.nn.Sequential(
        torch.nn.Linear(6, 8), torch.nn.Dropout(0.5), torch.nn.Linear(8, 1)
    )
    network.train()
    fits = [distilled(network, random_state=seed) for seed in range(8)]
    Parallel(n_jobs=4, backend="threading")(delayed(m.fit)(X, y) for m in fits)
    assert all(m.training for m in network.modules())


def test_messages_name_the_right_metric(reg):
    from sktkd.metrics import teacher_fidelity

    X, y = reg
    with pytest.raises(TypeError, match="needs a DistilledRegressor") as info:
        teacher_fidelity(TransferRegressor(**FAST).fit(X, y), X)
    assert "teacher_agreement" not in str(info.value)
    dropped = distilled(Ridge(), keep_teacher=False).fit(X, y)
    with pytest.raises(ValueError, match=r"teacher_fidelity\(student, X, teacher="):
        teacher_fidelity(dropped, X)


def test_teachers_that_do_not_predict_values_are_refused(reg):
    from sklearn.cluster import KMeans
    from sklearn.ensemble import IsolationForest

    X, y = reg
    for teacher in (KMeans(2, n_init=1), IsolationForest(n_estimators=5)):
        with pytest.raises(ValueError, match="not a regressor"):
            distilled(teacher).fit(X, y)


def test_teacher_far_from_y_warns_and_no_warning_without_spread(reg):
    X, y = reg
    wrong_units = FrozenEstimator(Ridge().fit(X, 1000 * y))
    with pytest.warns(UserWarning, match="predicts y worse than its mean"):
        distilled(wrong_units).fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        distilled(DecisionTreeRegressor()).fit(X, np.full(len(y), 3.0))  # constant y


def test_munge_needs_two_rows(reg):
    X, y = reg
    with pytest.raises(ValueError, match="at least 2 training rows"):
        distilled(FrozenEstimator(Ridge().fit(X, y)), augment="munge").fit(X[:1], y[:1])


def test_a_chunk_far_outside_the_first_ones_targets_warns(reg):
    X, y = reg
    model = distilled(FrozenEstimator(Ridge().fit(X, y)))
    model.partial_fit(X[:100], y[:100])
    with pytest.warns(UserWarning, match="target_scaling_"):
        model.partial_fit(X[100:200], 1e6 * y[100:200])


# --- break-testing, round 2 -------------------------------------------------------


@pytest.mark.parametrize("task", ["regressor", "classifier"])
def test_without_teacher_memory_the_teacher_is_never_hashed(reg, task):
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import FunctionTransformer

    from sktkd import DistilledClassifier

    X, y = reg
    if task == "classifier":
        y = (y > np.median(y)).astype(int)
        scaled = make_pipeline(StandardScaler(), LogisticRegression())
        search = GridSearchCV(scaled, {"logisticregression__C": [0.1, 1]}, cv=2)
        make = DistilledClassifier
    else:
        make, search = DistilledRegressor, GridSearchCV(Ridge(), {"alpha": [0.1, 1]}, cv=2)
    make(search, **FAST).fit(X, y)  # a fitted search's cv_results_ could not be hashed
    with warnings.catch_warnings():
        warnings.filterwarnings("error", message="teacher_memory cannot make a key")
        teacher = make_pipeline(FunctionTransformer(lambda Z: Z), search.estimator)
        make(teacher, **FAST).fit(X, y)


def test_a_first_chunk_without_spread_does_not_ruin_partial_fit(reg):
    X, y = reg
    model = TransferRegressor(**FAST, random_state=0).partial_fit(X[:1], y[:1])
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        for _ in range(10):
            model.partial_fit(X, y)
    assert model.score(X, y) > 0.5


@pytest.mark.parametrize("how", ["teacher_pred", "partial_fit"])
def test_a_teacher_in_other_units_warns_also_when_recorded_or_incremental(reg, how):
    X, y = reg
    expert = Ridge().fit(X, 1000 * y)
    model = distilled(FrozenEstimator(expert) if how == "partial_fit" else None)
    with pytest.warns(UserWarning, match="predicts y worse than its mean"):
        if how == "teacher_pred":
            model.fit(X, y, teacher_pred=expert.predict(X))
        else:
            model.partial_fit(X, y)


def test_training_row_scores_with_rows_without_targets_are_refused(reg):
    X, y = reg
    score = EpochScoring("r2", on_train=True, name="train_r2")
    with pytest.raises(ValueError, match="training rows, some of which have no target"):
        distilled(Ridge(), augment="munge", augment_factor=1, callbacks=[score]).fit(X, y)
    y_semi = y.copy()
    y_semi[::2] = np.nan
    with pytest.raises(ValueError, match="training rows, some of which have no target"):
        distilled(Ridge(), unlabeled_label=np.nan, callbacks=[score]).fit(X, y_semi)


def test_teacher_fidelity_refuses_a_classifier_teacher(reg):
    from sklearn.linear_model import LogisticRegression

    from sktkd.metrics import teacher_fidelity

    X, y = reg
    model = distilled(Ridge()).fit(X, y)
    classifier = LogisticRegression().fit(X, y > np.median(y))
    with pytest.raises(ValueError, match="is a classifier"):
        teacher_fidelity(model, X, teacher=classifier)


def test_messages_speak_of_values_and_of_networks(reg):
    X, y = reg
    weight = np.ones(len(y))
    weight[:] = 0
    weight[:1] = 1
    with pytest.raises(ValueError, match="validation_fraction") as info:
        distilled(Ridge(), early_stopping=True).fit(X[:3], y[:3])
    assert "class" not in str(info.value)
    wrong = torch.nn.Linear(6, 3)  # three values per row for one output
    with pytest.raises(ValueError, match=r"Linear.*forward returned an array of shape"):
        distilled(wrong).fit(X, y)
