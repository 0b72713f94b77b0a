"""Training control: validation, early stopping, skorch callbacks, incremental fits, weights."""

import copy
import io
import threading
from functools import partial

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.datasets import make_classification
from sklearn.frozen import FrozenEstimator
from sklearn.model_selection import GridSearchCV
from sklearn.naive_bayes import GaussianNB
from sklearn.neighbors import KNeighborsClassifier
from skorch.callbacks import (
    Callback,
    Checkpoint,
    EarlyStopping,
    EpochScoring,
    Freezer,
    LRScheduler,
    ProgressBar,
    Unfreezer,
)
from torch import nn
from torch.optim.lr_scheduler import OneCycleLR, StepLR

from sktkd import DistilledClassifier, TransferClassifier
from sktkd._training import validation_rows

from .conftest import FAST

STRATEGIES = ["full", "linear_probe", "lp_ft", "gradual"]


def distilled(**params):
    return DistilledClassifier(**{"teacher": GaussianNB(), **FAST, "random_state": 0, **params})


def transfer(source=None, **params):
    params = {"probe_epochs": 3, "stage_epochs": 2, **params}
    return TransferClassifier(source, **{**FAST, "random_state": 0, **params})


@pytest.fixture(scope="module")
def source(data):
    X, y = data
    return TransferClassifier(**FAST, random_state=0).fit(X, y)


def every_estimator(source):
    """Both estimators, and TransferClassifier in every strategy."""
    return [distilled()] + [transfer(source, strategy=s) for s in STRATEGIES]


class Snapshots(Callback):
    """Records the network's weights after each epoch."""

    def initialize(self):
        self.states = []
        return self

    def on_epoch_end(self, net, **kwargs):
        self.states.append(copy.deepcopy(net.module_.state_dict()))


# --- 1. validation and early stopping ---------------------------------------------------


@pytest.mark.parametrize("make", [distilled, transfer])
def test_early_stopping_holds_out_rows_stops_and_keeps_the_best_epoch(make, data):
    X, y = data

    model = make(early_stopping=True, n_iter_no_change=2, max_epochs=200).fit(X, y)
    history = model.history_
    assert model.n_iter_ == len(history) < 200
    assert {"valid_loss", "valid_acc"} <= set(history[-1])
    assert model.validation_scores_ == list(history[:, "valid_acc"])
    assert model.best_validation_score_ == max(model.validation_scores_)
    assert model.best_loss_ is None and len(model.loss_curve_) == model.n_iter_
    # Restored: the weights are those of the best epoch, not the last.
    model = make(
        early_stopping=True, n_iter_no_change=2, max_epochs=200, callbacks=[Snapshots]
    ).fit(X, y)
    callbacks = dict(model.net_.callbacks_)
    best = callbacks["early_stopping"].best_epoch_
    assert best < model.n_iter_
    for key, value in model.net_.module_.state_dict().items():
        torch.testing.assert_close(value, callbacks["Snapshots"].states[best - 1][key])


def test_validation_rows_stay_hidden_from_the_teacher_and_score_agreement(data):
    X, y = data
    model = DistilledClassifier(KNeighborsClassifier(), early_stopping=True, **FAST).fit(X, y)
    assert model.teacher_.n_samples_fit_ == len(X) - 30  # 10% held out before its fit
    agreement = model.history_[:, "valid_agreement"]
    assert len(agreement) == model.n_iter_ and all(0 <= a <= 1 for a in agreement)


def test_early_stopping_can_follow_the_agreement_skorch_style(data):
    X, y = data
    model = distilled(
        early_stopping=True, callbacks__early_stopping__monitor="valid_agreement"
    ).fit(X, y)
    assert dict(model.net_.callbacks_)["early_stopping"].monitor == "valid_agreement"


def test_without_early_stopping_the_training_loss_stops_the_fit(data):
    X, y = data
    model = distilled(max_epochs=500, n_iter_no_change=3, tol=0.05).fit(X, y)
    assert model.n_iter_ < 500
    assert model.best_loss_ == min(model.loss_curve_)
    assert model.validation_scores_ is None and model.best_validation_score_ is None
    assert "valid_loss" not in model.history_[-1]


@pytest.mark.parametrize("make", [distilled, transfer])
def test_a_class_too_rare_to_split_names_validation_fraction_and_the_label(make, data):
    X, y = data
    y = y.copy()
    y[0] = 7  # one row of class 7
    with pytest.raises(ValueError, match=r"validation_fraction(.|\n)*\[7\]"):
        make(early_stopping=True).fit(X, y)


@pytest.mark.parametrize("make", [distilled, transfer])
def test_the_validation_score_is_weighted_like_the_loss(make):
    # MLPClassifier scores its validation rows with their weights; so does the rule.
    X, y = make_classification(300, 6, n_informative=4, n_classes=3, random_state=0)
    weight = np.where(y == 0, 1000.0, 1e-4)
    model = make(early_stopping=True, max_epochs=30).fit(X, y, sample_weight=weight)
    assert np.mean(model.predict(X) == 0) > 0.9
    assert model.best_validation_score_ > 0.999  # class 0 rows weigh 10^7 times more


def test_the_kept_weights_are_the_best_scores_whatever_tol(data):
    X, y = data

    model = distilled(
        early_stopping=True,
        tol=0.5,  # every epoch a miss: tol only counts misses, as in MLPClassifier
        n_iter_no_change=4,
        max_epochs=50,
        lr=1e-3,
        callbacks=[Snapshots],
    ).fit(X, y)
    scores = model.validation_scores_
    assert model.n_iter_ == 6 and len(set(scores)) > 1  # 1 + 5 misses
    best = int(np.argmax(scores))
    states = dict(model.net_.callbacks_)["Snapshots"].states
    for key, value in model.net_.module_.state_dict().items():
        torch.testing.assert_close(value, states[best][key])


def test_transfer_phases_stop_on_their_own(source, data):
    X, y = data
    model = transfer(
        source, strategy="lp_ft", probe_epochs=200, max_epochs=200, n_iter_no_change=1, tol=0.5
    ).fit(X, y)
    assert model.n_iter_ < 20  # both phases stopped early


# --- 2. skorch callbacks ----------------------------------------------------------------


def test_skorch_callbacks_work_in_every_estimator_and_strategy(source, data, tmp_path):
    X, y = data
    for i, model in enumerate(every_estimator(source)):
        model.set_params(
            early_stopping=True,
            max_epochs=4,
            callbacks=[
                EarlyStopping(monitor="valid_loss", patience=50),
                Checkpoint(monitor="valid_loss_best", dirname=str(tmp_path / str(i))),
                EpochScoring("accuracy", on_train=True, name="train_acc"),
                EpochScoring("accuracy", name="valid_accuracy", lower_is_better=False),
                EpochScoring("roc_auc_ovr", name="valid_auc", lower_is_better=False),
                LRScheduler(StepLR, step_size=1, gamma=0.5),
                ProgressBar(),
            ],
        ).fit(X, y)
        last = model.history_[-1]
        assert 0 <= last["train_acc"] <= 1 and last["valid_accuracy"] == last["valid_acc"]
        assert 0.5 <= last["valid_auc"] <= 1
        assert (tmp_path / str(i) / "params.pt").exists()


@pytest.mark.parametrize("strategy", ["lp_ft", "gradual"])
def test_a_learning_rate_schedule_runs_on_across_phases(strategy, source, data):
    X, y = data

    class Rates(Callback):
        def initialize(self):
            self.rates = []
            return self

        def on_epoch_begin(self, net, **kwargs):
            self.rates.append(net.optimizer_.param_groups[-1]["lr"])

    model = transfer(
        source, strategy=strategy, max_epochs=2, callbacks=[LRScheduler(StepLR, step_size=1)]
    )
    model.set_params(callbacks=[*model.callbacks, Rates]).fit(X, y)
    rates = dict(model.net_.callbacks_)["Rates"].rates
    assert len(rates) == model.n_iter_ and rates[-1] < rates[-2]  # decayed within a phase


def test_callbacks_holding_a_file_or_a_lock_work_and_the_list_is_not_modified(data):
    X, y = data

    class Log(Callback):
        def __init__(self, stream, lock):
            self.stream, self.lock = stream, lock

        def on_epoch_end(self, net, **kwargs):
            with self.lock:
                self.stream.write(f"{net.history[-1, 'train_loss']:.3f}\n")

    stream, lock = io.StringIO(), threading.Lock()
    log = Log(stream, lock)
    callbacks = [("log", log), EarlyStopping(monitor="train_loss", patience=2)]
    before = list(callbacks)
    model = distilled(callbacks=callbacks, callbacks__EarlyStopping__patience=7).fit(X, y)
    assert callbacks == before and callbacks[1].patience == 2  # theirs untouched
    assert dict(model.net_.callbacks_)["EarlyStopping"].patience == 7
    assert len(stream.getvalue().splitlines()) == model.n_iter_  # their file was written
    assert clone(model).callbacks[0][1] is not None


def test_named_callbacks_are_routed_and_grid_searched(data):
    X, y = data
    stop = EarlyStopping(monitor="train_loss", patience=100)
    model = distilled(callbacks=[("es", stop)], max_epochs=30)
    model.set_params(callbacks__es__patience=1, callbacks__es__threshold=10.0)
    assert model.get_params()["callbacks__es__patience"] == 1
    model.fit(X, y)
    assert model.n_iter_ == 2  # stopped by the routed patience
    search = GridSearchCV(model, {"callbacks__es__patience": [1, 3]}, cv=2).fit(X, y)
    assert search.best_estimator_.callbacks[0][1].patience == 100  # routed, not set
    patience = dict(search.best_estimator_.net_.callbacks_)["es"].patience
    assert patience == search.best_params_["callbacks__es__patience"]


def test_routing_to_a_callback_that_does_not_exist_is_a_clear_error(data):
    X, y = data
    with pytest.raises(ValueError, match="nope"):
        distilled(callbacks__nope__patience=3).fit(X, y)


@pytest.mark.parametrize(
    "callback", [EarlyStopping(), Checkpoint, EarlyStopping(monitor="valid_acc")]
)
def test_monitoring_validation_scores_without_a_split_says_how_to_get_one(callback, data):
    X, y = data
    with pytest.raises(ValueError, match="early_stopping=True"):
        distilled(callbacks=[callback]).fit(X, y)


def test_scoring_validation_rows_without_a_split_says_how_to_get_one(data):
    X, y = data
    with pytest.raises(ValueError, match="on_train=True"):
        distilled(callbacks=[EpochScoring("f1_macro", lower_is_better=False)]).fit(X, y)


@pytest.mark.parametrize("scoring", ["neg_log_loss", "roc_auc_ovr", "accuracy"])
def test_training_row_scores_take_probabilities_too(scoring, data):
    X, y = data
    model = distilled(callbacks=[EpochScoring(scoring, on_train=True, name="s")]).fit(X, y)
    assert np.isfinite(model.history_[-1, "s"])


def test_scores_without_caching_read_the_whole_dataset(data):
    X, y = data
    callbacks = [
        EpochScoring("accuracy", name="v", lower_is_better=False, use_caching=False),
        EpochScoring("accuracy", name="t", on_train=True, use_caching=False),
    ]
    model = distilled(early_stopping=True, callbacks=callbacks).fit(X, y)
    assert model.history_[-1, "v"] == model.history_[-1, "valid_acc"]
    assert 0 < model.history_[-1, "t"] <= 1


@pytest.mark.parametrize("params", [{"augment": "munge"}, {"unlabeled_label": -1}])
def test_training_row_scores_warn_when_rows_have_no_label(params, data):
    X, y = data
    y = np.where(np.arange(len(y)) % 2, y, -1) if "unlabeled_label" in params else y
    with pytest.warns(UserWarning, match="count those rows as errors"):
        distilled(callbacks=[EpochScoring("accuracy", on_train=True)], **params).fit(X, y)


def test_a_stop_from_a_batch_hook_leaves_consistent_curves(data):
    X, y = data

    class Stop(Callback):
        def on_batch_end(self, net, **kwargs):
            if len(net.history) == 3:
                raise KeyboardInterrupt  # skorch's way to stop, midway through epoch 3

    model = distilled(callbacks=[Stop()], max_epochs=10).fit(X, y)
    assert model.n_iter_ == len(model.loss_curve_) == 2


def test_a_callback_can_be_dropped_by_name_as_in_skorch(data):
    X, y = data
    model = distilled(callbacks__early_stopping=None, max_epochs=3).fit(X, y)
    assert "early_stopping" not in dict(model.net_.callbacks_)


# --- 3. incremental training -------------------------------------------------------------


@pytest.mark.parametrize("make", [distilled, transfer])
def test_warm_start_continues_the_fitted_network(make, data):
    X, y = data
    model = make(warm_start=True, max_epochs=5).fit(X, y)
    first_net, first_losses = model.net_, list(model.loss_curve_)
    model.fit(X, y)
    assert model.n_iter_ == 10 and model.loss_curve_[:5] == first_losses
    assert model.net_ is not first_net  # continued on a copy: a failed fit changes nothing
    assert model.loss_curve_[5] < first_losses[0]  # it went on from trained weights
    cold = clone(model).set_params(warm_start=False).fit(X, y)
    assert cold.n_iter_ == 5


@pytest.mark.parametrize("make", [distilled, transfer])
def test_a_warm_start_applies_a_new_learning_rate_and_keeps_the_validation_rows(make, data):
    X, y = data
    model = make(warm_start=True, max_epochs=2, early_stopping=True).fit(X, y)
    model.set_params(lr=0.5, optimizer__weight_decay=0.25).fit(X, y)
    groups = model.net_.optimizer_.param_groups
    assert all(g["weight_decay"] == 0.25 for g in groups) and groups[-1]["lr"] in (0.5, 0.05)
    assert len(model.validation_scores_) == model.n_iter_ == 4


def test_a_warm_start_holds_out_the_same_rows(data):
    X, y = data
    model = DistilledClassifier(
        KNeighborsClassifier(), **FAST, warm_start=True, early_stopping=True, random_state=0
    ).fit(X, y)
    first = model.teacher_._fit_X.copy()
    model.fit(X, y)
    np.testing.assert_array_equal(model.teacher_._fit_X, first)


@pytest.mark.parametrize(
    "change",
    [
        {"hidden_layer_sizes": (3, 3)},
        {"module__dropout": 0.5},
        {"module": nn.Linear(6, 3)},
    ],
)
@pytest.mark.parametrize("method", ["fit", "partial_fit"])
def test_a_continued_fit_refuses_a_changed_network(change, method, data):
    X, y = data
    model = transfer(warm_start=True, max_epochs=2).fit(X, y)
    net = model.net_
    with pytest.raises(ValueError, match="changed since it was built"):
        getattr(model.set_params(**change), method)(X, y)
    assert model.net_ is net


def test_a_continued_transfer_refuses_another_source(source, data):
    X, y = data
    model = transfer(source, warm_start=True, max_epochs=2).fit(X, y)
    other = TransferClassifier(hidden_layer_sizes=(5,), max_epochs=1).fit(X, y)
    with pytest.raises(ValueError, match="source"):
        model.set_params(source=other).fit(X, y)


@pytest.mark.parametrize("make", [distilled, transfer])
def test_warm_start_refuses_other_classes(make, data):
    X, y = data
    model = make(warm_start=True, max_epochs=2).fit(X, y)
    with pytest.raises(ValueError, match="same classes"):
        model.fit(X[y < 2], y[y < 2])
    assert model.n_iter_ == 2  # unchanged


def test_partial_fit_needs_classes_then_adds_one_epoch_per_call(data):
    X, y = data
    model = transfer()
    with pytest.raises(ValueError, match="classes must be passed"):
        model.partial_fit(X, y)
    for chunk in np.array_split(np.arange(len(X)), 3):
        model.partial_fit(X[chunk], y[chunk], classes=[0, 1, 2])
    assert model.n_iter_ == 3 and list(model.classes_) == [0, 1, 2]
    for _ in range(20):
        model.partial_fit(X, y)
    assert model.score(X, y) > 0.8
    with pytest.raises(ValueError, match="not among classes"):
        model.partial_fit(X[:5], np.full(5, 9))
    with pytest.raises(ValueError, match="is not the same"):
        model.partial_fit(X, y, classes=[0, 1])


def test_partial_fit_with_a_frozen_teacher_or_recorded_soft_labels(data):
    X, y = data
    teacher = GaussianNB().fit(X, y)
    with pytest.raises(ValueError, match="already fitted"):
        distilled().partial_fit(X, y, classes=[0, 1, 2])
    frozen = DistilledClassifier(FrozenEstimator(teacher), **FAST, random_state=0)
    recorded = DistilledClassifier(**FAST, random_state=0)
    for _ in range(15):
        for part in np.array_split(np.arange(len(X)), 2):
            frozen.partial_fit(X[part], y[part], classes=[0, 1, 2])
            recorded.partial_fit(X[part], y[part], [0, 1, 2], None, teacher.predict_proba(X[part]))
    for model in (frozen, recorded):
        assert model.n_iter_ == 30
        assert np.mean(model.predict(X) == teacher.predict(X)) > 0.8
    with pytest.raises(ValueError, match="teacher_cv"):
        clone(frozen).set_params(teacher=GaussianNB(), teacher_cv=3).partial_fit(X, y, [0, 1, 2])


def test_partial_fit_after_an_early_stopped_fit_keeps_its_validation_scores(data):
    X, y = data
    model = distilled(early_stopping=True, max_epochs=3).fit(X, y)
    model.partial_fit(X, y)
    assert model.n_iter_ == 4 and len(model.validation_scores_) == 3


def test_partial_fit_refuses_the_unlabelled_marker_as_a_class(data):
    X, y = data
    with pytest.raises(ValueError, match="unlabeled_label"):
        DistilledClassifier(unlabeled_label=-1).partial_fit(
            X, np.where(y == 0, -1, y), classes=[-1, 1, 2], teacher_proba=np.full((300, 3), 1 / 3)
        )


def test_early_stopping_takes_inputs_that_only_convert_to_arrays(data):
    X, y = data

    class ArrayLike:
        def __init__(self, a):
            self.a, self.shape = a, a.shape

        def __array__(self, dtype=None, copy=None):
            return self.a if dtype is None else self.a.astype(dtype)

        def __len__(self):
            return len(self.a)

    model = distilled(early_stopping=True).fit(ArrayLike(X), y)
    assert model.predict(X).shape == y.shape


@pytest.mark.parametrize("make", [distilled, transfer])
def test_partial_fit_after_fit_continues_with_its_standardisation_and_teacher(make, data):
    X, y = data
    model = make(max_epochs=3).fit(X, y)
    standardize, teacher = model.standardize_, getattr(model, "teacher_", None)
    model.partial_fit(X[:40], y[:40])  # an unfitted teacher param: fit fitted teacher_
    assert model.n_iter_ == 4 and model.standardize_ is standardize
    assert getattr(model, "teacher_", None) is teacher


def test_clone_keeps_the_output_configuration(data):
    model = transfer().set_output(transform="pandas")
    X, y = data
    assert hasattr(clone(model).fit(X, y).transform(X[:2]), "columns")


def test_transfer_partial_fit_trains_the_strategys_last_phase(source, data):
    X, y = data
    model = transfer(source, strategy="linear_probe")
    model.partial_fit(X, y, classes=[0, 1, 2])
    before = {k: v.clone() for k, v in model.net_.module_.state_dict().items()}
    model.partial_fit(X, y)
    changed = {
        k for k, v in model.net_.module_.state_dict().items() if not torch.equal(v, before[k])
    }
    assert changed == {"layers.2.weight", "layers.2.bias"}  # the head alone


def test_an_interrupted_warm_start_leaves_the_fitted_model(data):
    X, y = data

    class Interrupt(Callback):
        def on_epoch_end(self, net, **kwargs):
            if len(net.history) == 4:
                raise KeyboardInterrupt  # raised from a callback: a stop, not a Ctrl-C

    class Fail(Callback):
        def on_epoch_end(self, net, **kwargs):
            raise ValueError("broken callback")

    model = distilled(warm_start=True, max_epochs=2).fit(X, y)
    model.set_params(callbacks=[Interrupt()]).fit(X, y)
    assert model.n_iter_ == 4  # a callback's stop is a normal end
    net, weights = model.net_, copy.deepcopy(model.net_.module_.state_dict())
    with pytest.raises(ValueError, match="broken callback"):
        model.set_params(callbacks=[Fail()]).fit(X, y)
    assert model.n_iter_ == 4 and model.net_ is net and len(net.history) == 4
    for key, value in model.net_.module_.state_dict().items():
        torch.testing.assert_close(value, weights[key])


# --- 4. class weights, log-probabilities, decision function -------------------------------


@pytest.mark.parametrize("make", [distilled, transfer])
def test_class_weight_is_sample_weight_by_class(make, data):
    X, y = data
    if make is distilled:  # the same teacher: it is fitted with sample_weight alone
        make = partial(distilled, teacher=FrozenEstimator(GaussianNB().fit(X, y)))
    weights = {0: 3.0, 1: 0.5, 2: 1.0}
    by_class = make(class_weight=weights).fit(X, y)
    by_row = make().fit(X, y, sample_weight=np.vectorize(weights.get)(y))
    np.testing.assert_allclose(by_class.predict_proba(X), by_row.predict_proba(X), atol=1e-5)
    # Combined with sample_weight, they multiply.
    sample_weight = np.random.default_rng(0).uniform(0.5, 2, len(y))
    both = make(class_weight="balanced").fit(X, y, sample_weight=sample_weight)
    counts = np.bincount(y)
    balanced = (len(y) / (3 * counts))[y] * sample_weight
    alone = make().fit(X, y, sample_weight=balanced)
    np.testing.assert_allclose(both.predict_proba(X), alone.predict_proba(X), atol=1e-5)


def test_class_weight_errors(data):
    X, y = data
    with pytest.raises(ValueError, match="not in class"):
        distilled(class_weight={5: 2.0}).fit(X, y)
    with pytest.raises(ValueError, match="balanced"):
        distilled(teacher=None, class_weight="balanced").partial_fit(
            X, y, [0, 1, 2], None, np.full((len(y), 3), 1 / 3)
        )
    with pytest.raises(ValueError, match="class_weight"):
        distilled(class_weight="heavy").fit(X, y)
    with pytest.raises(ValueError, match="marker of rows without a label"):
        distilled(class_weight={-1: 5.0, 0: 1.0}, unlabeled_label=-1).fit(X, y)


def test_class_weight_balanced_lifts_a_rare_class(data):
    X, y = data
    keep = (y != 2) | (np.arange(len(y)) % 10 == 0)  # class 2 becomes rare
    X, y = X[keep], y[keep]
    plain = transfer(max_epochs=30).fit(X, y)
    balanced = transfer(max_epochs=30, class_weight="balanced").fit(X, y)
    rare = y == 2
    assert np.mean(balanced.predict(X[rare]) == 2) >= np.mean(plain.predict(X[rare]) == 2)


@pytest.mark.parametrize("make", [distilled, transfer])
def test_decision_function_and_log_proba_agree_with_predict(make, data):
    X, y = data
    model = make().fit(X, y)
    proba = model.predict_proba(X)
    np.testing.assert_allclose(np.exp(model.predict_log_proba(X)), proba, rtol=1e-6)
    scores = model.decision_function(X)
    assert scores.shape == (len(X), 3)
    np.testing.assert_array_equal(model.classes_[scores.argmax(axis=1)], model.predict(X))
    binary = y < 2
    labels = np.where(y[binary] == 0, "no", "yes")
    model = make().fit(X[binary], labels)
    scores = model.decision_function(X[binary])
    assert scores.shape == (binary.sum(),)
    np.testing.assert_array_equal(np.where(scores > 0, "yes", "no"), model.predict(X[binary]))
    log_odds = np.diff(model.predict_log_proba(X[binary]), axis=1)[:, 0]
    np.testing.assert_allclose(scores, log_odds, rtol=1e-5, atol=1e-6)


# --- second review: schedules, routed rules, kept weights, freezing -----------------------


def held_out(model, X, y):
    """The validation rows of a fit with an integer random_state."""
    codes = np.searchsorted(model.classes_, y)
    fraction, seed = model.validation_fraction, model._seed()
    return validation_rows(codes >= 0, fraction, seed, classes=model.classes_, codes=codes)


@pytest.mark.parametrize(
    "make",
    [
        partial(distilled, warm_start=True),
        partial(transfer, strategy="full", warm_start=True),
        partial(transfer, strategy="lp_ft"),
        partial(transfer, strategy="gradual"),
    ],
)
@pytest.mark.parametrize("schedule", ["step", "one_cycle"])
def test_learning_rate_schedules_resume_across_phases_and_warm_starts(make, schedule, source, data):
    X, y = data
    scheduler = (
        LRScheduler(StepLR, step_size=2)
        if schedule == "step"
        else LRScheduler(OneCycleLR, max_lr=1e-2, total_steps=400, step_every="batch")
    )
    model = make(max_epochs=2, callbacks=[scheduler])
    if isinstance(model, TransferClassifier):
        model.set_params(source=source)
    model.fit(X, y)
    if model.warm_start:
        model.fit(X, y)
    assert np.isfinite(model.loss_curve_).all()


def test_partial_fit_ignores_routes_to_the_rule_it_goes_without(data):
    X, y = data
    frozen = FrozenEstimator(GaussianNB().fit(X, y))
    model = DistilledClassifier(
        frozen, **FAST, callbacks__early_stopping__patience=3, callbacks__valid_acc__name="v"
    )
    model.partial_fit(X, y, classes=[0, 1, 2])
    transfer(callbacks__early_stopping__patience=3).fit(X, y).partial_fit(X, y)


def test_partial_fit_names_itself_when_a_callback_needs_validation(data):
    X, y = data
    frozen = FrozenEstimator(GaussianNB().fit(X, y))
    scorer = EpochScoring("f1_macro", lower_is_better=False)
    model = DistilledClassifier(frozen, **FAST, early_stopping=True, callbacks=[scorer]).fit(X, y)
    with pytest.raises(ValueError, match="partial_fit holds out no validation rows"):
        model.partial_fit(X, y)
    model.set_params(callbacks__EpochScoring=None).partial_fit(X, y)


def test_best_validation_score_is_the_returned_models(source, data):
    X, y = data
    model = distilled(early_stopping=True, warm_start=True, max_epochs=30, random_state=0)
    model.fit(X, y)
    model.set_params(lr=0.5, max_epochs=3).fit(X, y)  # a worse continuation
    valid = held_out(model, X, y)
    assert model.best_validation_score_ == np.mean(model.predict(X[valid]) == y[valid])
    probe_then_bad_tuning = transfer(
        source,
        strategy="lp_ft",
        probe_epochs=30,
        max_epochs=3,
        lr=0.05,
        finetune_lr_scale=20,
        early_stopping=True,
    ).fit(X, y)
    valid = held_out(probe_then_bad_tuning, X, y)
    accuracy = np.mean(probe_then_bad_tuning.predict(X[valid]) == y[valid])
    assert probe_then_bad_tuning.best_validation_score_ == accuracy
    assert accuracy == max(probe_then_bad_tuning.validation_scores_)  # the best of both phases


def test_a_routed_loss_monitor_keeps_the_lowest_loss(data):
    X, y = data
    model = distilled(
        early_stopping=True, max_epochs=40, lr=0.05, callbacks__early_stopping__monitor="valid_loss"
    ).fit(X, y)
    kept = dict(model.net_.callbacks_)["early_stopping"].best_epoch_
    losses = model.history_[:, "valid_loss"]
    assert kept == int(np.argmin(losses)) + 1


@pytest.mark.parametrize("callback", [Freezer("layers.0.*"), Unfreezer("layers.0.*", at=2)])
def test_transfer_refuses_skorch_freezing_which_its_strategy_would_undo(callback, source, data):
    X, y = data
    with pytest.raises(ValueError, match="strategy decides which layers train"):
        transfer(source, callbacks=[callback]).fit(X, y)


@pytest.mark.parametrize(
    "params",
    [
        {"callbacks": [EarlyStopping(monitor="valid_agreement", lower_is_better=False)]},
        {"callbacks__valid_acc": None},
        {"callbacks__early_stopping__monitor": "train_los"},
    ],
)
def test_a_key_missing_from_the_history_is_named_with_its_callback(params, data):
    X, y = data
    with pytest.raises(ValueError, match="reads '(valid_agreement|valid_acc|train_los)'"):
        transfer(early_stopping=True, **params).fit(X, y)


def test_a_warm_start_tells_sources_apart_by_their_weights(data):
    X, y = data
    first = nn.Sequential(nn.Linear(6, 8), nn.ReLU(), nn.Linear(8, 3))
    second = copy.deepcopy(first)
    with torch.no_grad():
        second[0].weight.add_(1.0)
    model = transfer(first, warm_start=True, max_epochs=2).fit(X, y)
    with pytest.raises(ValueError, match="source"):
        model.set_params(source=second).fit(X, y)


def test_a_callbacks_own_state_stays_its_own(data):
    X, y = data

    class Record(Callback):
        def __init__(self):
            self.losses = []

        def on_epoch_end(self, net, **kwargs):
            self.losses.append(net.history[-1, "train_loss"])

    record = Record()
    model = distilled(callbacks=[record]).fit(X, y)
    assert record.losses == [] and len(dict(model.net_.callbacks_)["Record"].losses) == 15


# --- third review (a fuzz of the combinations) ----------------------------------------------


def test_out_of_fold_labels_when_a_class_has_no_weighted_row(data):
    X, y = data
    model = distilled(teacher_cv=3, class_weight={0: 0.0}).fit(X, y)
    assert model.predict_proba(X).shape == (len(X), 3)
    distilled(teacher_cv=3).fit(X, y, sample_weight=(y != 0).astype(float))


@pytest.mark.parametrize("make", [distilled, transfer])
def test_a_callbacks_stop_leaves_the_epoch_to_the_rule_and_the_scores(make, data):
    X, y = data

    class StopAfter(Callback):
        def on_epoch_end(self, net, **kwargs):
            if len(net.history) >= 3:
                raise KeyboardInterrupt  # before the rule and the scorer below in the list

    scorer = EpochScoring("accuracy", on_train=True, name="train_acc")
    model = make(early_stopping=True, max_epochs=50, callbacks=[StopAfter(), scorer]).fit(X, y)
    assert model.n_iter_ == 3 and len(model.history_[:, "train_acc"]) == 3
    assert model.best_validation_score_ == max(model.validation_scores_)


def test_no_best_validation_score_for_weights_no_epoch_validated(data):
    X, y = data

    class StopAtBatch(Callback):
        def on_batch_end(self, net, training=True, **kwargs):
            if training:
                raise KeyboardInterrupt

    model = distilled(early_stopping=True, warm_start=True, max_epochs=2).fit(X, y)
    model.set_params(callbacks=[StopAtBatch()]).fit(X, y)  # stopped within its first epoch
    assert model.best_validation_score_ is None and model.n_iter_ == 2


def test_a_warm_start_takes_the_same_sizes_as_a_list(data):
    X, y = data
    model = transfer(hidden_layer_sizes=(8,), warm_start=True, max_epochs=2).fit(X, y)
    model.set_params(hidden_layer_sizes=[8]).fit(X, y)
    assert model.n_iter_ == 4
