import pickle
import warnings
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.datasets import load_digits, make_classification
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.naive_bayes import GaussianNB
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks
from skorch import NeuralNetClassifier
from skorch.callbacks import Callback
from torch import nn

from sktkd import DistilledClassifier, TransferClassifier

from .conftest import FAST

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
}


@parametrize_with_checks(
    [TransferClassifier(max_epochs=20, hidden_layer_sizes=(16,), lr=1e-2, random_state=0)],
    expected_failed_checks=lambda est: EXPECTED_FAILURES,
)
def test_sklearn_compatible(estimator, check):
    check(estimator)


@pytest.fixture(scope="module")
def tasks(data):
    """A source task (classes 0, 1, 2) and a target task on other rows."""
    X, y = data
    source_rows = np.arange(len(y)) < 200
    return X[source_rows], y[source_rows], X[~source_rows], y[~source_rows]


@pytest.fixture(scope="module")
def source(tasks):
    X_src, y_src, _, _ = tasks
    return TransferClassifier(**{**FAST, "max_epochs": 30}, random_state=0).fit(X_src, y_src)


def target(source, **params):
    return TransferClassifier(source, **{**FAST, "random_state": 1, **params})


def state(network):
    return {k: v.detach().clone() for k, v in network.state_dict().items()}


def assert_same_state(a, b):
    assert a.keys() == b.keys()
    for key in a:
        assert torch.equal(a[key], b[key]), key


# --- the source is never modified; every fit starts from it -----------------------


@pytest.mark.parametrize("strategy", ["full", "linear_probe", "lp_ft", "gradual"])
def test_estimator_source_is_never_modified(source, tasks, strategy):
    _, _, X, y = tasks
    before = state(source.module_)
    proba = source.predict_proba(X)
    target(source, strategy=strategy, l2sp=0.1).fit(X, y % 2)
    assert_same_state(before, state(source.module_))
    np.testing.assert_array_equal(proba, source.predict_proba(X))


def test_module_and_skorch_sources_are_never_modified(tasks):
    X_src, y_src, X, y = tasks
    module = nn.Sequential(nn.Linear(6, 8), nn.ReLU(), nn.Linear(8, 3))
    net = NeuralNetClassifier(
        nn.Sequential(nn.Linear(6, 8), nn.ReLU(), nn.Linear(8, 3)),
        criterion=nn.CrossEntropyLoss,
        max_epochs=2,
        train_split=None,
        verbose=0,
    ).fit(X_src.astype(np.float32) / 1e4, y_src)
    for src, network in [(module, module), (net, net.module_)]:
        before = state(network)
        model = target(src, strategy="full").fit(X, y)
        assert_same_state(before, state(network))
        assert model.module_.body is not network


def test_every_fit_starts_from_the_source(source, tasks):
    _, _, X, y = tasks
    model = target(source, strategy="full")
    first = model.fit(X, y % 2).predict_proba(X)
    second = model.fit(X, y % 2).predict_proba(X)
    np.testing.assert_array_equal(first, second)


def test_clone_shares_the_fitted_source(source):
    model = target(source)
    twin = clone(model)
    assert twin.source is source
    assert "source__max_epochs" not in model.get_params()
    with pytest.raises(ValueError, match="the source is never modified"):
        model.set_params(source__max_epochs=3)
    assert source.max_epochs == 30


def test_grid_search_over_strategy_with_a_fitted_source(source, tasks):
    _, _, X, y = tasks
    before = state(source.module_)
    search = GridSearchCV(target(source), {"strategy": ["linear_probe", "full"]}, cv=2)
    search.fit(X, y % 2)
    assert search.best_estimator_.source is source
    assert search.best_score_ > 0.6
    assert_same_state(before, state(source.module_))
    assert cross_val_score(target(source), X, y % 2, cv=2).mean() > 0.6


def test_unfitted_source_is_an_error(tasks):
    _, _, X, y = tasks
    with pytest.raises(NotFittedError, match="not fitted"):
        target(TransferClassifier()).fit(X, y)


def test_source_none_trains_from_scratch(tasks):
    X, y, _, _ = tasks
    model = TransferClassifier(**FAST, random_state=0).fit(X, y)
    assert model.score(X, y) > 0.9
    assert len(model.history_) == FAST["max_epochs"]


# --- the head --------------------------------------------------------------------


def test_head_is_kept_for_the_same_classes_and_replaced_otherwise(source, tasks):
    _, _, X, y = tasks
    head = source.module_.get_submodule(source.head_)
    kept = target(source, strategy="linear_probe", max_epochs=0 + 1, lr=1e-12).fit(X, y)
    np.testing.assert_allclose(
        kept.module_.get_submodule(kept.head_).weight.detach(), head.weight.detach(), atol=1e-9
    )
    fresh = target(source, strategy="linear_probe").fit(X, np.array(["a", "b", "c"])[y])
    assert fresh.module_.get_submodule(fresh.head_).out_features == 3
    assert not torch.allclose(fresh.module_.get_submodule(fresh.head_).weight, head.weight)
    binary = target(source).fit(X, y % 2)
    assert binary.module_.get_submodule(binary.head_).out_features == 2


def test_head_can_be_named(tasks):
    X_src, y_src, X, y = tasks

    class TwoHeads(nn.Module):
        def __init__(self):
            super().__init__()
            self.features = nn.Linear(6, 8)
            self.classifier = nn.Linear(8, 3)
            self.unused = nn.Linear(8, 8)

        def forward(self, x):
            return self.classifier(torch.relu(self.features(x)))

    model = target(TwoHeads(), head="classifier").fit(X, y % 2)
    assert model.head_ == "body.classifier"
    assert model.module_.body.classifier.out_features == 2
    with pytest.raises(ValueError, match="head='nope' is not a torch.nn.Linear"):
        target(TwoHeads(), head="nope").fit(X, y)


def test_source_without_linear_layer_is_an_error(tasks):
    _, _, X, y = tasks
    with pytest.raises(ValueError, match="no torch.nn.Linear layer"):
        target(nn.Sequential(nn.Flatten())).fit(X, y)


def test_target_with_other_features_is_an_error(source, tasks):
    _, _, X, y = tasks
    with pytest.raises(ValueError, match="X has 4 features, but the source network takes 6"):
        target(source).fit(X[:, :4], y)
    with pytest.raises(ValueError, match="cannot take input with 4 features"):
        target(nn.Linear(6, 3)).fit(X[:, :4], y)


# --- strategies freeze what they say ---------------------------------------------


class WithBatchNorm(nn.Module):
    def __init__(self, n_features_in, n_classes):
        super().__init__()
        self.layers = nn.Sequential(
            nn.Linear(n_features_in, 8),
            nn.BatchNorm1d(8),
            nn.ReLU(),
            nn.Linear(8, 8),
            nn.ReLU(),
            nn.Linear(8, n_classes),
        )

    def forward(self, x):
        return self.layers(x)


def moved(before, after):
    return {k for k in before if not torch.equal(before[k], after[k])}


@pytest.fixture(scope="module")
def bn_source(tasks):
    X, y, _, _ = tasks
    return TransferClassifier(module=WithBatchNorm, **FAST, random_state=0).fit(X, y)


@pytest.mark.parametrize(
    "strategy, params, frozen",
    [
        ("linear_probe", {}, {"layers.0", "layers.1", "layers.3"}),
        ("linear_probe", {"freeze_batchnorm": False}, {"layers.0", "layers.3"}),
        ("full", {}, set()),
        ("lp_ft", {}, set()),
        ("gradual", {}, set()),
    ],
)
def test_strategies_freeze_what_they_say(bn_source, tasks, strategy, params, frozen):
    _, _, X, y = tasks
    before = {k[5:]: v for k, v in state(bn_source.module_).items() if k.startswith("body.")}
    model = target(bn_source, strategy=strategy, **params).fit(X, y % 2)
    after = {k[5:]: v for k, v in state(model.module_).items() if k.startswith("body.")}
    before = {k: v for k, v in before.items() if not k.startswith("layers.5")}  # fresh head
    layers = {k.rsplit(".", 1)[0] for k in before if "num_batches" not in k}
    moved_layers = {k.rsplit(".", 1)[0] for k in moved(before, after)}
    assert moved_layers == layers - frozen


def test_gradual_unfreezes_one_group_per_stage(bn_source, tasks):
    _, _, X, y = tasks

    class RecordTrainable(Callback):
        def __init__(self):
            self.epochs = []

        def on_epoch_begin(self, net, **kwargs):
            trainable = {
                n.rsplit(".", 1)[0] for n, p in net.module_.named_parameters() if p.requires_grad
            }
            self.epochs.append(sorted(trainable))

    model = target(
        bn_source, strategy="gradual", stage_epochs=1, max_epochs=1, callbacks=[RecordTrainable()]
    ).fit(X, y % 2)
    recorded = dict(model.net_.callbacks_)["RecordTrainable"].epochs
    # The skorch net trains the body, which takes standardised inputs.
    assert recorded == [
        ["layers.5"],
        ["layers.3", "layers.5"],
        ["layers.0", "layers.1", "layers.3", "layers.5"],
    ]


def test_lp_ft_probes_the_head_before_fine_tuning(source, tasks):
    _, _, X, y = tasks
    model = target(source, strategy="lp_ft", probe_epochs=3, max_epochs=4).fit(X, y % 2)
    assert len(model.history_) == 7
    lrs = [g["lr"] for g in model.net_.optimizer_.param_groups]
    assert lrs == [pytest.approx(FAST["lr"] * 0.1)]
    assert all(p.requires_grad for p in model.module_.parameters())


def test_lr_decay_gives_lower_rates_to_deeper_layers(tasks):
    X_src, y_src, X, y = tasks
    src = TransferClassifier(**{**FAST, "hidden_layer_sizes": (8, 8)}, random_state=0)
    src.fit(X_src, y_src)
    model = target(src, strategy="full", lr_decay=0.5, max_epochs=1).fit(X, y % 2)
    lrs = sorted(g["lr"] for g in model.net_.optimizer_.param_groups)
    assert lrs == pytest.approx([FAST["lr"] * 0.25, FAST["lr"] * 0.5, FAST["lr"]])


def test_l2sp_pulls_toward_the_source(source, tasks):
    _, _, X, y = tasks

    def distance(model):
        src = dict(source.module_.named_parameters())
        return sum(
            (p - src[k]).pow(2).sum().item()
            for k, p in model.module_.named_parameters()
            if not k.startswith(model.head_)
        )

    free = target(source, strategy="full", max_epochs=20).fit(X, y % 2)
    pulled = target(source, strategy="full", max_epochs=20, l2sp=10.0).fit(X, y % 2)
    assert distance(pulled) < 0.5 * distance(free)
    assert pulled.net_.l2sp_reference_ == ()  # no source weights in the fitted model


# --- sources of every kind --------------------------------------------------------


def test_distilled_classifier_as_source(tasks):
    X_src, y_src, X, y = tasks
    src = DistilledClassifier(GaussianNB(), **FAST, random_state=0).fit(X_src, y_src)
    assert target(src).fit(X, y % 2).score(X, y % 2) > 0.6


@pytest.mark.parametrize("suffix", [".pt", ".safetensors"])
def test_weights_file_source(source, tasks, tmp_path, suffix):
    _, _, X, y = tasks
    path = tmp_path / f"source{suffix}"
    if suffix == ".pt":
        torch.save(source.module_.state_dict(), path)
    else:
        from safetensors.torch import save_file

        save_file(source.module_.state_dict(), str(path))
    model = target(
        str(path), strategy="linear_probe", hidden_layer_sizes=(16,), input_scaling="source"
    ).fit(X, y % 2)
    body = {k: v for k, v in state(model.module_).items() if not k.startswith(model.head_)}
    src = {k: v for k, v in state(source.module_).items() if not k.startswith(source.head_)}
    assert_same_state(src, body)  # a linear probe leaves the loaded weights as they were


def test_weights_file_of_the_body_alone(source, tasks, tmp_path):
    _, _, X, y = tasks
    path = tmp_path / "body.pt"
    torch.save(source.module_.body.state_dict(), path)
    model = target(path, strategy="linear_probe", hidden_layer_sizes=(16,)).fit(X, y % 2)
    assert model.module_.standardize.scale.item() == 1.0  # inputs left as they are


def test_pickled_module_file_is_refused(tmp_path, tasks):
    _, _, X, y = tasks
    path = tmp_path / "module.pt"
    torch.save(nn.Linear(6, 3), path)
    with pytest.raises(ValueError, match="weights_only=True"):
        target(str(path)).fit(X, y)


def test_weights_file_that_does_not_fit(source, tasks, tmp_path):
    _, _, X, y = tasks
    path = tmp_path / "source.pt"
    torch.save(source.module_.state_dict(), path)
    with pytest.raises(ValueError, match="does not fit the network"):
        target(str(path), hidden_layer_sizes=(32,)).fit(X, y)
    with pytest.raises(ValueError, match="does not exist"):
        target(str(tmp_path / "missing.pt")).fit(X, y)


def test_wrong_source_type(tasks):
    _, _, X, y = tasks
    with pytest.raises(TypeError, match="source must be None, a fitted sktkd estimator"):
        target(GaussianNB().fit(X, y)).fit(X, y)


# --- everything else ----------------------------------------------------------------


def test_transform_gives_penultimate_features_and_serves_in_a_pipeline(source, tasks):
    _, _, X, y = tasks
    features = source.transform(X)
    assert features.shape == (len(X), 16) and features.dtype == np.float32
    assert (features >= 0).all()  # after the ReLU
    pipe = make_pipeline(source, StandardScaler(), LogisticRegression()).fit(X, y % 2)
    assert pipe.score(X, y % 2) > 0.6


def test_pickle_round_trip(source, tasks):
    _, _, X, y = tasks
    model = target(source).fit(X, y % 2)
    loaded = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(loaded.predict_proba(X), model.predict_proba(X))
    np.testing.assert_array_equal(loaded.transform(X), model.transform(X))


def test_labels_and_pandas(source, tasks):
    pd = pytest.importorskip("pandas")
    _, _, X, y = tasks
    frame = pd.DataFrame(X, columns=list("abcdef"))
    model = TransferClassifier(**FAST, random_state=0).fit(frame, np.array(["x", "y", "z"])[y])
    assert list(model.classes_) == ["x", "y", "z"]
    assert list(model.feature_names_in_) == list("abcdef")


@pytest.mark.parametrize(
    "params, match",
    [
        ({"strategy": "freeze_all"}, "strategy"),
        ({"probe_epochs": -1}, "probe_epochs"),
        ({"lr_decay": 0.0}, "lr_decay"),
        ({"lr_decay": 1.5}, "lr_decay"),
        ({"l2sp": -1.0}, "l2sp"),
        ({"finetune_lr_scale": 0}, "finetune_lr_scale"),
        ({"freeze_batchnorm": "yes"}, "freeze_batchnorm"),
        ({"head": 3}, "head"),
    ],
)
def test_bad_parameters(source, tasks, params, match):
    _, _, X, y = tasks
    with pytest.raises(ValueError, match=match):
        target(source, **params).fit(X, y)


# --- inputs shifted between source and target -------------------------------------


@pytest.fixture(scope="module")
def sensors():
    """The same task; three sensors nearly constant at the source work at the target."""
    X, y = make_classification(1600, 20, n_informative=10, n_redundant=0, random_state=0)
    X_src = X[:1000].copy()
    X_src[:, :3] = 1.0 + np.random.default_rng(0).normal(0, 0.01, (1000, 3))
    source = TransferClassifier(max_epochs=30, random_state=0).fit(X_src, y[:1000])
    return source, X[1000:], y[1000:]


def test_target_statistics_rescue_a_shifted_column_and_the_shift_is_reported(sensors):
    source, X, y = sensors
    train, test = slice(0, 60), slice(60, None)
    scratch = TransferClassifier(random_state=0).fit(X[train], y[train]).score(X[test], y[test])
    with pytest.warns(UserWarning, match=r"shifted from the source's: \d of 20 columns"):
        default = TransferClassifier(source, random_state=0).fit(X[train], y[train])
    with pytest.warns(UserWarning, match="shifted"):
        kept = TransferClassifier(source, input_scaling="source", random_state=0)
        kept.fit(X[train], y[train])
    assert default.score(X[test], y[test]) > scratch + 0.05
    assert default.score(X[test], y[test]) > kept.score(X[test], y[test]) + 0.1
    np.testing.assert_allclose(default.standardize_.mean.numpy(), X[train].mean(axis=0))


def test_unshifted_targets_raise_no_shift_warning(source, tasks):
    _, _, X, y = tasks
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        target(source).fit(X[:20], y[:20] % 2)


def test_a_shifted_image_is_reported():
    """Digits moved one pixel right: columns change meaning, not only scale."""
    X, y = load_digits(return_X_y=True)
    source = TransferClassifier(max_epochs=5, random_state=0).fit(X[:900], y[:900])
    images = np.zeros_like(X[900:].reshape(-1, 8, 8))
    images[:, :, 2:] = X[900:].reshape(-1, 8, 8)[:, :, :6]
    with pytest.warns(UserWarning, match="compare with source=None"):
        TransferClassifier(source, max_epochs=5, probe_epochs=5).fit(
            images.reshape(-1, 64), y[900:]
        )


def test_weights_file_of_the_whole_network_gets_target_statistics(source, tasks, tmp_path):
    _, _, X, y = tasks
    torch.save(source.module_.state_dict(), tmp_path / "whole.pt")
    model = target(tmp_path / "whole.pt", strategy="linear_probe", hidden_layer_sizes=(16,))
    model.fit(X, y % 2)
    np.testing.assert_allclose(model.standardize_.mean.numpy(), X.mean(axis=0))


def test_unscaled_sources_take_raw_values_beyond_a_million(tasks):
    """Only z-scores are clipped; a module's raw inputs pass as they are."""
    _, _, X, y = tasks
    X = X.copy()
    X[:, 0] = 5e6 + 1e6 * X[:, 0] / X[:, 0].std()
    module = nn.Sequential(nn.Linear(X.shape[1], 8), nn.ReLU(), nn.Linear(8, 2))
    model = target(module, strategy="linear_probe").fit(X, y % 2)
    np.testing.assert_array_equal(model.standardize_.transform(X), X.astype(np.float32))


def test_a_non_finite_network_output_is_an_error_not_a_nan_probability(source, tasks):
    _, _, X, _ = tasks
    broken = pickle.loads(pickle.dumps(source))
    with torch.no_grad():
        broken.net_.module_.layers[0].bias[0] = float("nan")
    with pytest.raises(ValueError, match="output is not finite"):
        broken.predict_proba(X)


def test_a_whole_network_file_of_an_unscaled_model_is_reusable(source, tasks, tmp_path):
    _, _, X, y = tasks
    torch.save(source.module_.body.state_dict(), tmp_path / "body.pt")
    first = target(tmp_path / "body.pt", strategy="linear_probe").fit(X, y % 2)
    torch.save(first.module_.state_dict(), tmp_path / "whole.pt")
    again = target(tmp_path / "whole.pt", strategy="linear_probe").fit(X, y % 2)
    assert again.standardize_.mean.dim() == 0  # scalar statistics: inputs stay unscaled


def test_feature_names_must_match_the_sources(tasks):
    pd = pytest.importorskip("pandas")
    X_src, y_src, X, y = tasks
    columns = [f"f{i}" for i in range(X.shape[1])]
    src = target(None).fit(pd.DataFrame(X_src, columns=columns), y_src)
    with pytest.raises(ValueError, match="feature names of X differ from the source's"):
        target(src).fit(pd.DataFrame(X, columns=columns[::-1]), y)
    with pytest.warns(UserWarning, match="Only the source has feature names"):
        target(src).fit(X, y)
    target(src).fit(pd.DataFrame(X, columns=columns), y)
    module = nn.Sequential(nn.Linear(X.shape[1], 4), nn.ReLU(), nn.Linear(4, 3))
    with warnings.catch_warnings():  # a module never has feature names: nothing to match
        warnings.simplefilter("error", UserWarning)
        target(module).fit(pd.DataFrame(X, columns=columns), y)


def test_transform_and_predict_proba_from_threads(data):
    X, y = data
    model = TransferClassifier(**FAST, random_state=0).fit(X, y)
    features, proba = model.transform(X), model.predict_proba(X)

    def work(i):
        if i % 2:
            return np.array_equal(model.transform(X), features)
        return np.array_equal(model.predict_proba(X), proba)

    with ThreadPoolExecutor(8) as pool:
        assert all(pool.map(work, range(80)))


def test_a_float64_source_trains_in_float32_and_a_final_softmax_is_refused(tasks):
    _, _, X, y = tasks
    double = nn.Sequential(nn.Linear(X.shape[1], 8), nn.ReLU(), nn.Linear(8, 3)).double()
    model = target(double).fit(X, y)
    assert all(p.dtype == torch.float32 for p in model.module_.body.parameters())
    assert next(double.parameters()).dtype == torch.float64  # the source is untouched
    for final in (nn.Softmax(dim=1), nn.LogSoftmax(dim=1)):
        with pytest.raises(ValueError, match="probabilities or log-probabilities.*logits"):
            target(nn.Sequential(nn.Linear(X.shape[1], 3), final)).fit(X, y)

    class Gated(nn.Module):  # a softmax inside, registered last, yet logits out
        def __init__(self):
            super().__init__()
            self.fc, self.gate = nn.Linear(X.shape[1], 3), nn.Softmax(dim=1)

        def forward(self, X):
            return self.fc(X * self.gate(X))

    target(Gated()).fit(X, y)
