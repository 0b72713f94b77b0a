"""MUNGE: synthetic transfer rows for model compression (Buciluǎ et al. 2006)."""

import numpy as np
from sklearn.neighbors import NearestNeighbors

from ._preprocess import is_frame, numeric_columns


def _nearest_others(X):
    """Each row's nearest other row of ``X``, by Euclidean distance on standardised features."""
    mean, std = X.mean(axis=0), X.std(axis=0)
    Z = (X - mean) / np.where(std > 0, std, 1.0)
    _, index = NearestNeighbors(n_neighbors=2).fit(Z).kneighbors(Z)
    # The nearest row is the row itself, unless an exact duplicate came first.
    rows = np.arange(len(X))
    return np.where(index[:, 0] == rows, index[:, 1], index[:, 0])


def munge(X, n_rounds, swap_prob, sd_divisor, rng):
    """Synthetic rows drawn around ``X``, ``n_rounds`` per row of ``X``.

    Each row ``x`` is paired with its nearest neighbour ``x'`` in ``X``
    (Euclidean distance on standardised features). For each round, a copy of
    ``x`` is made in which each feature ``a``, with probability ``swap_prob``,
    is redrawn from ``N(x'_a, |x_a - x'_a| / sd_divisor)``: the copy moves
    toward its neighbour, with noise on the scale of the local spread. Values
    are clipped to each feature's range in ``X``. A feature whose values in
    ``X`` are all integers (a code, a count, a flag) takes the neighbour's
    value ``x'_a`` instead, as the paper does for nominal attributes.

    Unlike the paper's loop, which also perturbs the neighbour in place, the
    rounds are independent: the same distribution of rows, drawn vectorised.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        At least two rows.
    n_rounds : int
    swap_prob : float in [0, 1]
    sd_divisor : float > 0
    rng : numpy.random.Generator

    Returns
    -------
    X_new : ndarray of shape (n_rounds * n_samples, n_features), dtype of ``X``
    """
    neighbour = _nearest_others(X)
    x = np.tile(X, (n_rounds, 1))
    x_near = np.tile(X[neighbour], (n_rounds, 1))
    redraw = rng.random(x.shape) < swap_prob
    drawn = rng.normal(x_near, np.abs(x - x_near) / sd_divisor)
    # Integer-valued columns (codes, counts, flags) take the neighbour's value,
    # as the paper does for nominal attributes: no fraction a teacher never saw.
    integral = np.all(X == np.round(X), axis=0)
    drawn = np.where(integral, x_near, drawn)
    x_new = np.where(redraw, drawn, x)
    return np.clip(x_new, X.min(axis=0), X.max(axis=0)).astype(X.dtype)


def munge_table(X, Z, n_rounds, swap_prob, sd_divisor, rng):
    """:func:`munge` on raw rows ``X`` (a frame, or an array of objects) whose
    numbers, as the student takes them, are ``Z``: synthetic rows of the same
    columns and types, for a teacher that takes ``X`` as it is.

    Neighbours are found in ``Z``. A numeric column is redrawn as :func:`munge`
    does; a missing value, on either side, takes the neighbour's value. Other
    columns (categories, strings) take the neighbour's value, as the paper
    does for nominal attributes.

    Returns
    -------
    X_new : frame or ndarray of shape (n_rounds * n_samples, n_features)
        Of ``X``'s kind, column names and types.
    """
    neighbour = _nearest_others(Z)
    take = np.tile(np.arange(len(Z)), n_rounds)
    near = neighbour[take]
    frame = is_frame(X)
    numeric = numeric_columns(X)
    redraw = rng.random((len(take), len(numeric))) < swap_prob
    columns = []
    for j, is_number in enumerate(numeric):
        values = X.iloc[:, j] if frame else X[:, j]
        if is_number:
            values = (
                values.to_numpy(dtype=np.float64, na_value=np.nan)
                if frame
                else values.astype(np.float64)
            )
            x, x_near = values[take], values[near]
            drawn = x_near
            known = values[~np.isnan(values)]
            if len(known) and not np.all(known == np.round(known)):  # else codes, counts
                spread = np.nan_to_num(np.abs(x - x_near)) / sd_divisor
                drawn = rng.normal(np.nan_to_num(x_near), spread)
                drawn = np.where(np.isnan(x) | np.isnan(x_near), x_near, drawn)
                drawn = np.clip(drawn, known.min(), known.max())
        else:
            values = values.to_numpy() if frame else values
            x, x_near = values[take], values[near]
            drawn = x_near
        columns.append(np.where(redraw[:, j], drawn, x))
    if not frame:
        return np.column_stack(columns).astype(X.dtype)
    import pandas as pd

    return pd.DataFrame(
        {
            name: pd.Series(column).astype(dtype)
            for name, column, dtype in zip(X.columns, columns, X.dtypes, strict=True)
        }
    )
