"""The student's preprocessor: raw tabular rows (categories, strings, NaN) for the
student, the rows as given for the teacher."""

import pickle

import numpy as np
import pandas as pd
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.compose import ColumnTransformer
from sklearn.dummy import DummyClassifier
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
from sklearn.frozen import FrozenEstimator
from sklearn.impute import SimpleImputer
from sklearn.model_selection import GridSearchCV
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from sklearn.utils import get_tags

from sktkd import DistilledClassifier, DistilledRegressor, TransferClassifier, TransferRegressor

from .conftest import FAST

ONE_EPOCH = {**FAST, "max_epochs": 1}

COLORS = np.array(["red", "green", "blue", "white"])


def raw_frame(n=600, seed=0):
    """Numbers with NaN, a category that matters, a string column and a flag:
    the class is 1 when f0 + the colour's offset > 0."""
    rng = np.random.default_rng(seed)
    f = rng.normal(size=(n, 4))
    color = COLORS[rng.integers(0, 3, n)]  # "white" never appears: an unknown category
    offset = pd.Series(color).map({"red": 1.5, "green": -1.5, "blue": 0.0}).to_numpy()
    y = (f[:, 0] + offset + 0.3 * rng.normal(size=n) > 0).astype(int)
    frame = pd.DataFrame(f * [1, 10, 100, 0.1], columns=["f0", "f1", "f2", "f3"])
    frame.loc[::7, "f1"] = np.nan
    frame["color"] = pd.Categorical(color, categories=COLORS[:3])
    frame["shop"] = pd.Categorical(rng.choice(["a", "b"], n))
    frame["member"] = rng.random(n) < 0.5
    return frame, y


@pytest.fixture(scope="module")
def frame():
    return raw_frame()


@pytest.fixture(scope="module")
def hgb(frame):
    X, y = frame
    return HistGradientBoostingClassifier(categorical_features="from_dtype", random_state=0).fit(
        X[:400], y[:400]
    )


def test_issue_reproducer_hgb_teacher_on_a_raw_frame(frame, hgb):
    X, y = frame
    before = X.copy()
    student = DistilledClassifier(FrozenEstimator(hgb), random_state=0, **FAST)
    student.fit(X[:400], y[:400])
    pd.testing.assert_frame_equal(X, before)  # nothing the user passed is modified
    assert list(student.feature_names_in_) == list(X.columns)
    assert student.n_features_in_ == X.shape[1]
    assert isinstance(student.preprocessor_, ColumnTransformer)
    agreement = np.mean(student.predict(X[400:]) == hgb.predict(X[400:]))
    assert agreement > 0.85, agreement
    assert student.score(X[400:], y[400:]) > 0.8


def test_lightgbm_teacher_on_a_raw_frame():
    lightgbm = pytest.importorskip("lightgbm")
    X, y = raw_frame(seed=1)
    teacher = lightgbm.LGBMClassifier(n_estimators=50, verbose=-1).fit(X[:400], y[:400])
    student = DistilledClassifier(FrozenEstimator(teacher), random_state=0, **FAST)
    student.fit(X[:400], y[:400])
    assert np.mean(student.predict(X[400:]) == teacher.predict(X[400:])) > 0.85


class Recording(ClassifierMixin, BaseEstimator):
    """A teacher that keeps the rows it is asked on (``seen_``), without an opinion."""

    def fit(self, X, y):
        self.classes_, self.seen_ = np.unique(y), []
        return self

    def predict_proba(self, X):
        self.seen_.append(X)
        return np.full((len(X), len(self.classes_)), 1 / len(self.classes_))


def test_teacher_sees_the_rows_as_given(frame):
    X, y = frame
    student = DistilledClassifier(Recording(), augment="munge", augment_factor=1, **ONE_EPOCH)
    training, synthetic = student.fit(X, y).teacher_.seen_
    pd.testing.assert_frame_equal(training, X)
    # MUNGE rows are rows of the same columns and types: categories stay categories.
    assert list(synthetic.dtypes) == list(X.dtypes)
    assert set(synthetic["color"].dropna()) <= set(X["color"].dropna())
    assert set(synthetic["shop"]) <= {"a", "b"}


def test_numbers_without_nan_take_the_plain_path(data):
    X, y = data
    for rows in (X, pd.DataFrame(X), X.tolist(), X.astype(np.float32)):
        student = DistilledClassifier(DummyClassifier(), alpha=0, **ONE_EPOCH).fit(rows, y)
        assert student.preprocessor_ is None
    # ... and the same network as with no preprocessor at all.
    auto = DistilledClassifier(DummyClassifier(), alpha=0, random_state=0, **FAST).fit(X, y)
    none = DistilledClassifier(
        DummyClassifier(), alpha=0, random_state=0, preprocessor=None, **FAST
    ).fit(X, y)
    np.testing.assert_array_equal(auto.predict_proba(X), none.predict_proba(X))


def test_inf_is_still_an_error(data):
    X, y = data
    X = X.copy()
    X[0, 0] = np.inf
    with pytest.raises(ValueError, match="infinity"):
        DistilledClassifier(DummyClassifier(), alpha=0, **FAST).fit(X, y)


def test_nan_in_a_numeric_array_is_imputed_with_an_indicator(data):
    X, y = data
    X = X.copy()
    X[::5, 2] = np.nan
    student = DistilledClassifier(DummyClassifier(), alpha=0, random_state=0, **FAST).fit(X, y)
    assert isinstance(student.preprocessor_, ColumnTransformer)
    assert student.module_.standardize.mean.shape == (X.shape[1] + 1,)  # one indicator
    assert student.score(X, y) > 0.8
    # NaN at prediction in a column that had none at fit: imputed too.
    X_new = X[:20].copy()
    X_new[:, 0] = np.nan
    assert np.isfinite(student.predict_proba(X_new)).all()


def test_unknown_categories_and_new_nan_give_predictions(frame, hgb):
    X, y = frame
    student = DistilledClassifier(FrozenEstimator(hgb), **FAST).fit(X, y)
    odd = X[:10].copy()
    odd["color"] = pd.Categorical(["white"] * 10, categories=COLORS)  # never seen
    odd["shop"] = ["z"] * 5 + [None] * 5
    odd["f0"] = np.nan  # no NaN at fit in this column
    proba = student.predict_proba(odd)
    assert proba.shape == (10, 2) and np.isfinite(proba).all()


def test_a_column_whose_type_changes_is_refused(frame, hgb):
    X, y = frame
    student = DistilledClassifier(FrozenEstimator(hgb), **ONE_EPOCH).fit(X, y)
    changed = X.copy()
    changed["f2"] = "high"
    with pytest.raises((ValueError, TypeError)):
        student.predict(changed)
    with pytest.raises(ValueError, match="feature names"):
        student.predict(X[list(reversed(X.columns))])
    with pytest.raises(ValueError, match="features"):
        student.predict(X.to_numpy()[:, :3])


def test_fitted_on_the_training_rows_only(frame):
    """Rows of weight 0 are absent: the imputer's mean ignores them."""
    X, y = frame
    X = X[["f0", "f1", "color"]].copy()
    X.loc[:9, "f0"] = 1e6
    weight = np.ones(len(X))
    weight[:10] = 0
    student = DistilledClassifier(DummyClassifier(), alpha=0, **ONE_EPOCH)
    student.fit(X, y, sample_weight=weight)
    imputer = student.preprocessor_.named_transformers_["numeric"]
    assert imputer.statistics_[0] == pytest.approx(X["f0"][10:].mean())


def test_user_preprocessor_cloned_and_grid_searchable(frame, hgb):
    X, y = frame
    mine = ColumnTransformer(
        [
            ("numeric", SimpleImputer(), ["f0", "f1", "f2", "f3"]),
            ("categorical", OneHotEncoder(handle_unknown="ignore"), ["color", "shop"]),
        ],
        sparse_threshold=0,
    )
    student = DistilledClassifier(FrozenEstimator(hgb), preprocessor=mine, **FAST)
    assert "preprocessor__numeric__strategy" in student.get_params()
    search = GridSearchCV(
        student.set_params(max_epochs=3),
        {"preprocessor__numeric__strategy": ["mean", "median"]},
        cv=2,
    ).fit(X, y)
    assert search.best_estimator_.preprocessor_.named_transformers_["numeric"].strategy in (
        "mean",
        "median",
    )
    assert not hasattr(mine, "transformers_")  # the user's object stays unfitted


def test_a_preprocessor_must_give_dense_numbers(frame, hgb):
    X, y = frame
    sparse = ColumnTransformer([("c", OneHotEncoder(), ["color", "shop"])], sparse_threshold=1)
    student = DistilledClassifier(FrozenEstimator(hgb), preprocessor=sparse, **FAST)
    with pytest.raises(ValueError, match="preprocessor OneHotEncoder|preprocessor ColumnTr"):
        student.fit(X, y)
    with pytest.raises(ValueError, match="convert|cast"):
        DistilledClassifier(FrozenEstimator(hgb), preprocessor=None, **FAST).fit(X, y)


def test_strings_in_an_array_without_pandas(frame):
    X, y = frame
    rows = X[["f0", "f1", "shop"]].to_numpy(dtype=object)
    student = DistilledClassifier(DummyClassifier(), alpha=0, random_state=0, **FAST).fit(rows, y)
    assert student.preprocessor_ is not None
    assert student.predict(rows[:5]).shape == (5,)


def test_network_teacher_on_strings_is_a_clear_error(frame):
    import torch

    X, y = frame
    with pytest.raises(ValueError, match="teacher network .* takes numbers"):
        DistilledClassifier(torch.nn.Linear(7, 2), **FAST).fit(X, y)


def test_pickle_keeps_the_preprocessor(frame, hgb):
    X, y = frame
    student = DistilledClassifier(FrozenEstimator(hgb), keep_teacher=False, **FAST).fit(X, y)
    loaded = pickle.loads(pickle.dumps(student))
    np.testing.assert_array_equal(loaded.predict_proba(X), student.predict_proba(X))


def test_skops_keeps_the_preprocessor(frame, hgb, tmp_path):
    sio = pytest.importorskip("skops.io")
    X, y = frame
    student = DistilledClassifier(FrozenEstimator(hgb), keep_teacher=False, **FAST).fit(X, y)
    path = tmp_path / "student.skops"
    sio.dump(student, path)
    loaded = sio.load(path, trusted=sio.get_untrusted_types(file=path))
    np.testing.assert_array_equal(loaded.predict_proba(X), student.predict_proba(X))


def test_tags_allow_nan_with_a_preprocessor():
    assert get_tags(DistilledClassifier()).input_tags.allow_nan
    assert not get_tags(DistilledClassifier(preprocessor=None)).input_tags.allow_nan


def test_regressor_on_a_raw_frame(frame):
    X, _ = frame
    y = X["f0"].to_numpy() + X["color"].map({"red": 1.0, "green": -1.0, "blue": 0.0}).to_numpy()
    y = y.astype(float)
    teacher = HistGradientBoostingRegressor(categorical_features="from_dtype", random_state=0)
    teacher.fit(X[:400], y[:400])
    student = DistilledRegressor(FrozenEstimator(teacher), random_state=0, **FAST)
    student.set_params(augment="munge", augment_factor=2).fit(X[:400], y[:400])
    assert student.score(X[400:], y[400:]) > 0.7


def test_transfer_keeps_a_source_students_preprocessor(frame, hgb):
    X, y = frame
    source = DistilledClassifier(FrozenEstimator(hgb), random_state=0, **FAST).fit(X, y)
    # The target rows lack a category and NaN: a new encoding would give other columns.
    target = X[X["color"] != "blue"].fillna({"f1": 0.0})
    target_y = y[(X["color"] != "blue").to_numpy()]
    model = TransferClassifier(source, strategy="linear_probe", **FAST).fit(target, target_y)
    assert model.preprocessor_.estimator is not source.preprocessor_  # a frozen copy
    assert model.predict(X).shape == (len(X),)
    # A preprocessor of its own, on numeric rows, is the user's choice.
    numeric = X[["f0", "f2"]].fillna(0.0)
    regressor = TransferRegressor(preprocessor=StandardScaler(), **FAST).fit(numeric, X["f3"])
    assert isinstance(regressor.preprocessor_, StandardScaler)


def test_clone_keeps_the_preprocessor_parameter():
    scaler = StandardScaler()
    assert clone(DistilledClassifier(preprocessor=scaler)).preprocessor is not scaler


def test_metrics_take_the_raw_rows(frame, hgb):
    from sktkd.metrics import teacher_agreement, teacher_fidelity

    X, y = frame
    student = DistilledClassifier(FrozenEstimator(hgb), random_state=0, **FAST).fit(X, y)
    assert teacher_agreement(student, X) > 0.85
    regressor = DistilledRegressor(
        FrozenEstimator(HistGradientBoostingRegressor(categorical_features="from_dtype").fit(X, y)),
        **ONE_EPOCH,
    ).fit(X, y.astype(float))
    assert np.isfinite(teacher_fidelity(regressor, X))


# --- found by break-testing: each a kind of input -------------------------------


def test_unlabelled_rows_never_reach_a_preprocessor_as_a_label(frame):
    from sklearn.preprocessing import TargetEncoder

    X, y = frame
    y = y.copy()
    y[::4] = -1
    encoder = ColumnTransformer([("target", TargetEncoder(), ["color"])])
    student = DistilledClassifier(
        FrozenEstimator(DummyClassifier().fit(X, y)),
        preprocessor=encoder,
        unlabeled_label=-1,
        **ONE_EPOCH,
    ).fit(X, y)
    # Yours may need y: it is fitted on the labelled rows, the marker no class of its.
    assert list(student.preprocessor_.named_transformers_["target"].classes_) == [0, 1]
    # A regressor's NaN marker: "auto" needs no y, and is fitted on all rows.
    target = np.where(y == -1, np.nan, y.astype(float))
    regressor = DistilledRegressor(
        FrozenEstimator(HistGradientBoostingRegressor().fit(X[y >= 0], target[y >= 0])),
        unlabeled_label=np.nan,
        **ONE_EPOCH,
    ).fit(X, target)
    assert regressor.preprocessor_ is not None


def test_text_with_pandas_na_and_lists_of_mixed_values():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 90)
    text = pd.DataFrame(
        {
            "x": rng.normal(size=90),
            "s": pd.array(["a", None, "b"] * 30, dtype="string"),
            "c": pd.Categorical(pd.array(["u", "v", None] * 30, dtype="string")),
        }
    )
    student = DistilledClassifier(DummyClassifier(), alpha=0, **ONE_EPOCH).fit(text, y)
    assert np.isfinite(student.predict_proba(text)).all()
    rows = [[0.5, "a"], [1.5, "b"], [2.5, "a"], [3.5, "b"]] * 10  # numpy makes them all text
    labels = [0, 1, 0, 1] * 10
    student = DistilledClassifier(DummyClassifier(), alpha=0, **ONE_EPOCH).fit(rows, labels)
    assert student.predict(rows).shape == (40,)


def test_columns_that_change_kind_are_refused(hgb, frame):
    X, y = frame
    student = DistilledClassifier(FrozenEstimator(hgb), **ONE_EPOCH).fit(X, y)
    codes = X.copy()
    codes["color"] = codes["color"].cat.codes  # categories became numbers
    with pytest.raises(ValueError, match=r"Columns \['color'\] hold other kinds"):
        student.predict(codes)
    numbers = pd.DataFrame({"n": pd.Categorical([1, 2, 3] * 20), "x": np.arange(60.0)})
    labels = np.arange(60) % 2
    model = DistilledClassifier(DummyClassifier(), alpha=0, **ONE_EPOCH).fit(numbers, labels)
    texts = numbers.assign(n=pd.Categorical(["1", "2", "3"] * 20))  # unknown, silently
    with pytest.raises(ValueError, match=r"Columns \['n'\] hold other kinds"):
        model.predict(texts)


def test_dates_are_refused_and_identifiers_warned(frame):
    X, y = frame
    dated = X.assign(when=pd.date_range("2020-01-01", periods=len(X)))
    with pytest.raises(ValueError, match=r"\['when'\] hold dates"):
        DistilledClassifier(DummyClassifier(), alpha=0, **ONE_EPOCH).fit(dated, y)
    ids = X.assign(customer=[f"c{i}" for i in range(len(X))])
    with pytest.warns(UserWarning, match="'customer' has 600 categories"):
        DistilledClassifier(DummyClassifier(), alpha=0, **ONE_EPOCH).fit(ids, y)


def test_preprocessor_params_need_a_transformer():
    with pytest.raises(ValueError, match="pass the transformer itself"):
        DistilledClassifier().set_params(preprocessor__categorical__min_frequency=5)
    model = DistilledClassifier().set_params(
        preprocessor=StandardScaler(), preprocessor__with_mean=False
    )
    assert model.preprocessor.with_mean is False


def test_munge_rows_of_a_numeric_frame_keep_their_types(data):
    X, y = data
    frame = pd.DataFrame({"a": X[:, 0], "n": np.arange(len(X)) % 7, "flag": X[:, 1] > 50})
    student = DistilledClassifier(Recording(), augment="munge", augment_factor=1, **ONE_EPOCH)
    synthetic = student.fit(frame, y).teacher_.seen_[-1]
    assert list(synthetic.dtypes) == list(frame.dtypes)


def test_a_sparse_output_names_the_remedy(frame, hgb):
    X, y = frame
    sparse = ColumnTransformer([("c", OneHotEncoder(), ["color", "shop"])], sparse_threshold=1)
    with pytest.raises(ValueError, match="sparse_output=False"):
        DistilledClassifier(FrozenEstimator(hgb), preprocessor=sparse, **ONE_EPOCH).fit(X, y)


def test_transfer_width_error_names_the_encoding(frame):
    X, y = frame
    numbers = X[["f0", "f2"]]
    source = TransferClassifier(**ONE_EPOCH).fit(numbers, y)
    gaps = numbers.copy()
    gaps.loc[::5, "f0"] = np.nan  # "auto" adds a missing-value column
    with pytest.raises(ValueError, match="as the preprocessor encodes them"):
        TransferClassifier(source, **ONE_EPOCH).fit(gaps, y)


def test_a_kind_is_read_from_the_values_not_the_dtype(frame, hgb):
    X, y = frame
    student = DistilledClassifier(FrozenEstimator(hgb), **ONE_EPOCH).fit(X, y)
    serving = [
        pd.DataFrame([{**X.iloc[0].to_dict(), "f1": None}]),  # a number missing: object
        X[:3].assign(color=np.nan),  # a category all missing: floats
        X[:3].assign(f0=X["f0"][:3].astype(object)),  # numbers held as objects
        X[:3].assign(member=[True, None, False]),  # a flag with a gap
    ]
    for rows in serving:
        assert np.isfinite(student.predict_proba(rows)).all()
    mixed = X.assign(shop=pd.Series(["a", 1] * 300, dtype=object))  # text and numbers
    with pytest.raises(ValueError, match=r"Columns \['shop'\] hold other kinds"):
        student.predict(mixed)
    with pytest.raises(ValueError, match=r"Columns \['shop'\] mix numbers and text"):
        DistilledClassifier(DummyClassifier(), alpha=0, **ONE_EPOCH).fit(mixed, y)


def test_user_transformers_named_like_autos_are_left_alone(frame):
    from sklearn.pipeline import make_pipeline

    X, y = frame
    X = X.assign(zip=np.arange(len(X)) % 5)
    mine = ColumnTransformer(
        [
            ("numeric", make_pipeline(SimpleImputer(), StandardScaler()), ["f0", "f1"]),
            ("categorical", OneHotEncoder(sparse_output=False), ["color", "zip"]),
        ]
    )
    student = DistilledClassifier(DummyClassifier(), alpha=0, preprocessor=mine, **ONE_EPOCH)
    assert student.fit(X, y).predict(X).shape == (len(X),)


def test_a_transfer_keeping_a_source_preprocessor_checks_kinds_too(frame):
    X, y = frame
    source = TransferClassifier(**ONE_EPOCH).fit(X, y)
    target = TransferClassifier(source, **ONE_EPOCH).fit(X, y)
    with pytest.raises(ValueError, match=r"Columns \['color'\] hold other kinds"):
        target.predict(X.assign(color=X["color"].cat.codes))


def test_missing_text_of_any_spelling_is_one_category(frame):
    X, y = frame
    gaps = X.assign(note=pd.Series(["a", None, pd.NA, np.nan] * 150, dtype=object))
    student = DistilledClassifier(DummyClassifier(), alpha=0, **ONE_EPOCH).fit(gaps, y)
    encoder = student.preprocessor_.named_transformers_["categorical"]
    note = list(student.preprocessor_.transformers_[2][2]).index("note")
    assert len(encoder.categories_[note]) == 2  # "a" and one missing category
    assert gaps["note"].isna().sum() == 450  # the user's frame is untouched


@pytest.mark.parametrize(
    "value, error, match",
    [
        ("onehot", ValueError, "preprocessor"),
        (3, ValueError, "preprocessor"),
        (StandardScaler, TypeError, "instead of a class"),  # clone's, as in scikit-learn
    ],
)
def test_preprocessor_values_are_validated(data, value, error, match):
    X, y = data
    with pytest.raises(error, match=match):
        DistilledClassifier(DummyClassifier(), preprocessor=value, **ONE_EPOCH).fit(X, y)
