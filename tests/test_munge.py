import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from sktkd._munge import munge

data = arrays(
    np.float32,
    st.tuples(st.integers(2, 30), st.integers(1, 5)),
    elements=st.floats(-1e3, 1e3, width=32),
)


@settings(max_examples=50, deadline=None)
@given(data, st.integers(1, 3), st.floats(0, 1), st.floats(0.1, 10), st.integers(0, 2**32 - 1))
def test_rows_stay_in_the_range_of_each_feature(X, rounds, p, s, seed):
    X_new = munge(X, rounds, p, s, np.random.default_rng(seed))
    assert X_new.shape == (rounds * len(X), X.shape[1]) and X_new.dtype == X.dtype
    assert (X_new >= X.min(axis=0)).all() and (X_new <= X.max(axis=0)).all()


def test_reproducible_with_the_same_generator():
    X = np.random.default_rng(0).normal(size=(50, 4))
    a = munge(X, 3, 0.5, 1.0, np.random.default_rng(7))
    b = munge(X, 3, 0.5, 1.0, np.random.default_rng(7))
    c = munge(X, 3, 0.5, 1.0, np.random.default_rng(8))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_no_swap_copies_the_rows():
    X = np.random.default_rng(0).normal(size=(20, 3))
    np.testing.assert_array_equal(
        munge(X, 2, 0.0, 1.0, np.random.default_rng(0)), np.tile(X, (2, 1))
    )


def test_features_move_toward_the_nearest_neighbour():
    # Two tight pairs far apart: every redrawn value stays near its pair.
    X = np.array([[0.0, 0.0], [1.0, 1.0], [100.0, 100.0], [101.0, 101.0]])
    X_new = munge(X, 50, 1.0, 1e6, np.random.default_rng(0))  # tiny noise: lands on x'
    pairs = {0: 1, 1: 0, 2: 3, 3: 2}
    expected = np.tile(X[[pairs[i] for i in range(4)]], (50, 1))
    np.testing.assert_allclose(X_new, expected, atol=1e-3)


def test_duplicate_rows_pair_with_each_other():
    X = np.array([[1.0, 1.0], [1.0, 1.0], [5.0, 5.0]])
    X_new = munge(X, 10, 1.0, 1.0, np.random.default_rng(0))
    np.testing.assert_array_equal(X_new[:2], X[:2])  # the neighbour's value, zero spread


def test_integer_valued_features_take_the_neighbours_value():
    """Codes and counts stay values seen in the data (the paper's rule for nominal ones)."""
    rng = np.random.default_rng(0)
    X = np.column_stack([rng.normal(size=200), rng.integers(0, 4, 200), rng.integers(0, 2, 200)])
    X_new = munge(X, 3, 0.5, 1.0, np.random.default_rng(1))
    assert set(np.unique(X_new[:, 1])) <= {0, 1, 2, 3}
    assert set(np.unique(X_new[:, 2])) <= {0, 1}
    assert not np.all(X_new[:, 0] == np.round(X_new[:, 0]))  # the real column is still drawn
