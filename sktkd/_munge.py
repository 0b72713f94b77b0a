"""MUNGE: synthetic transfer rows for model compression (Buciluǎ et al. 2006)."""

import numpy as np
from sklearn.neighbors import NearestNeighbors


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
    mean, std = X.mean(axis=0), X.std(axis=0)
    Z = (X - mean) / np.where(std > 0, std, 1.0)
    _, index = NearestNeighbors(n_neighbors=2).fit(Z).kneighbors(Z)
    # The nearest row is the row itself, unless an exact duplicate came first.
    rows = np.arange(len(X))
    neighbour = np.where(index[:, 0] == rows, index[:, 1], index[:, 0])

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
