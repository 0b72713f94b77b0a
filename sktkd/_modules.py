"""Networks the estimators build: input standardisation and the default MLP."""

import contextlib
from collections import OrderedDict

import numpy as np
import torch
from torch import nn

# Standardised inputs are clipped to this many standard deviations: training
# rows never reach it (a z-score is below sqrt(n_samples)), and it keeps the
# float32 layers finite on a huge but finite row at prediction time.
_Z_CLIP = 1e6
# Values per chunk of rows when computing statistics, standardising or asking
# a teacher: temporaries of at most a few times 8 MB (float64), whatever the
# width of the rows.
CHUNK_VALUES = 2**20
# Magnitudes whose squares (and sums of a few billion of them) stay normal floats.
_SAFE_MIN, _SAFE_MAX = 1e-100, 1e100


def row_chunks(n_rows, width):
    """Slices of at most ``CHUNK_VALUES // width`` rows (at least one) covering ``n_rows``."""
    size = max(1, CHUNK_VALUES // max(1, width))
    return [slice(start, start + size) for start in range(0, n_rows, size)] or [slice(0, 0)]


def _take(X, rows, chunk):
    """The rows ``chunk`` (a slice) of ``X``, or of ``X[rows]`` without copying it whole."""
    return X[chunk] if rows is None else X[rows[chunk]]


def column_statistics(X, sample_weight=None, rows=None, constant="magnitude"):
    """Weighted mean and scale of each column, in float64, a chunk of rows at a time.

    A row of weight zero counts as absent. The scale is the standard deviation,
    except for a column constant up to rounding (spread within the rounding
    error of its computation, ``n * eps * magnitude``, the bound of
    scikit-learn's ``StandardScaler``). For inputs (``constant="magnitude"``)
    dividing by that spread would send any later change millions of
    deviations away, so such a column is scaled by its largest magnitude
    instead. For targets (``constant="rounding"``) the scale multiplies the
    network's error at prediction time, so it is the spread itself, floored
    at that rounding error. An all-zero column is scaled by 1.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
    sample_weight : ndarray of shape (n_rows,), default=None
        Weights of the rows used.
    rows : ndarray of int of shape (n_rows,), default=None
        The rows of ``X`` to use, read a chunk at a time (``X[rows]`` is never
        made whole); ``None``: all of them.
    constant : {"magnitude", "rounding"}, default="magnitude"
        The scale of a column constant up to rounding.

    Returns
    -------
    mean, scale : ndarray of shape (n_features,), float64
    """
    w = None
    if sample_weight is not None:
        w = np.asarray(sample_weight, dtype=np.float64)
        w = w / w.max()  # no overflow in the sums
    n_rows = len(X) if rows is None else len(rows)
    kept = None if w is None or (w > 0).all() else w > 0
    n_kept = n_rows if kept is None else np.count_nonzero(kept)
    # Up to one chunk of rows is converted to float64 once, not once per pass.
    chunks = row_chunks(n_rows, X.shape[1])
    whole = np.asarray(_take(X, rows, chunks[0]), dtype=np.float64) if len(chunks) == 1 else None

    def weighted_rows():
        for chunk in chunks:
            x = whole if whole is not None else np.asarray(_take(X, rows, chunk), dtype=np.float64)
            wc = None if w is None else w[chunk]
            yield (wc, x) if kept is None else (wc[kept[chunk]], x[kept[chunk]])

    # First pass: each column's magnitude and sum; second: the residuals.
    magnitude, sums = np.zeros(X.shape[1]), np.zeros(X.shape[1])
    total = n_kept if w is None else w.sum()
    with np.errstate(over="ignore", invalid="ignore"):
        for wc, x in weighted_rows():
            high, low = x.max(axis=0, initial=0.0), x.min(axis=0, initial=0.0)
            magnitude = np.maximum(magnitude, np.maximum(high, -low))
            sums += _weighted_sum(wc, x)
    # Squares of values beyond 1e±100 would overflow or underflow: such
    # columns are divided by their magnitude first (values at most 1), their
    # moments taken, and scaled back; the others are used as they are.
    plain = (magnitude == 0) | ((magnitude > _SAFE_MIN) & (magnitude < _SAFE_MAX))
    unit = np.where(plain, 1.0, magnitude)
    if plain.all():
        mean, var = _moments(weighted_rows, total, mean=sums / total)
    else:
        mean, var = _moments(weighted_rows, total, unit=unit)
    std = np.sqrt(np.maximum(var, 0.0)) * unit
    mean = mean * unit
    rounding = n_kept * np.finfo(np.float64).eps * magnitude
    if constant == "rounding":
        scale = np.maximum(std, rounding)
    else:
        scale = np.where(std <= rounding, magnitude, std)
    scale = np.where(scale > 0, scale, 1.0)
    return mean, scale


def _weighted_sum(wc, x):
    return x.sum(axis=0) if wc is None else wc @ x


def _moments(weighted_rows, total, unit=None, mean=None):
    """Weighted mean and variance of the columns of ``x / unit``, in two passes.

    The second pass, on the residuals, also corrects the mean's rounding
    error (large offsets, such as timestamps). ``mean``: the first pass's
    result, when the caller made it.
    """

    def scaled(x):
        return x if unit is None else x / unit

    if mean is None:
        mean = sum(_weighted_sum(wc, scaled(x)) for wc, x in weighted_rows()) / total
    shift = square = 0.0
    for wc, x in weighted_rows():
        d = scaled(x) - mean
        shift = shift + _weighted_sum(wc, d)
        square = square + _weighted_sum(wc, np.square(d, out=d))
    shift = shift / total
    return mean + shift, square / total - shift**2


class Standardize(nn.Module):
    """Fixed affine input scaling ``(x - mean) / scale``, computed in float64.

    The statistics come from the training rows (:func:`column_statistics`) and
    never train, so a student copes with raw, unscaled features: columns such
    as timestamps (``1.7e9 + seconds``) keep their precision, because the
    shift happens in float64 before the float32 network sees the values.
    Results are clipped to ``±1e6`` standard deviations, so a huge but
    finite row gives finite outputs.

    Scalar statistics ``Standardize(0, 1)`` leave the inputs as they are (a
    source network trained without sktkd): they are only clipped to the
    float32 range.

    Parameters
    ----------
    mean, scale : array-like of shape (n_features,) or scalars
    """

    def __init__(self, mean, scale):
        super().__init__()
        self.register_buffer("mean", torch.as_tensor(mean, dtype=torch.float64))
        self.register_buffer("scale", torch.as_tensor(scale, dtype=torch.float64))

    # What transform works with: the statistics as numpy arrays and the columns
    # near the float64 limit, where x - mean itself may overflow. Found at the
    # first transform, not at every (one-row) one; None: not yet, or the
    # buffers have changed since (loaded, moved, cast).
    _numpy = None

    def _load_from_state_dict(self, *args, **kwargs):
        super()._load_from_state_dict(*args, **kwargs)
        self._numpy = None

    def _apply(self, *args, **kwargs):
        self._numpy = None
        return super()._apply(*args, **kwargs)

    def _statistics(self):
        if self._numpy is None:
            mean, scale = self.mean.cpu().numpy(), self.scale.cpu().numpy()
            big = np.maximum(np.abs(mean), scale) > _SAFE_MAX
            wide = np.flatnonzero(big) if mean.ndim else np.array([], dtype=int)
            self._numpy = mean, scale, wide
        return self._numpy

    @classmethod
    def from_data(cls, X, sample_weight=None, rows=None):
        """Scaling with the (weighted) column statistics of ``X`` (its ``rows``)."""
        return cls(*column_statistics(X, sample_weight, rows))

    @property
    def _bound(self):
        return _Z_CLIP if self.mean.dim() else float(np.finfo(np.float32).max)

    def transform(self, X, rows=None):
        """Standardised float32 copy of the ndarray ``X``, a chunk of rows at a time.

        Three passes over a chunk: the float64 difference, its division in
        place, and the clipped result written as float32. ``rows`` (an index
        array): standardise ``X[rows]`` without making it whole.
        """
        # Wide columns are divided first (rare; less exact for large offsets,
        # hence not the rule).
        mean, scale, wide = self._statistics()
        bound = self._bound
        n_rows = len(X) if rows is None else len(rows)
        Z = np.empty((n_rows, *X.shape[1:]), dtype=np.float32)
        for chunk in row_chunks(n_rows, X.shape[1]):
            x = _take(X, rows, chunk)
            quiet = np.errstate(over="ignore", invalid="ignore")
            with quiet if len(wide) else contextlib.nullcontext():
                z = np.subtract(x, mean, dtype=np.float64)
            z /= scale
            if len(wide):
                xw = np.asarray(x[:, wide], dtype=np.float64)
                z[:, wide] = xw / scale[wide] - mean[wide] / scale[wide]
            np.clip(z, -bound, bound, out=Z[chunk])
        return Z

    def forward(self, X):
        z = (X.to(torch.float64) - self.mean) / self.scale
        return z.clamp(-self._bound, self._bound).to(torch.float32)


class MLP(nn.Module):
    """Multi-layer perceptron returning logits.

    Parameters
    ----------
    n_features_in : int
        Width of the input, set from the data.
    n_classes : int
        Width of the output, set from the data.
    hidden_layer_sizes : tuple of int, default=(100,)
        ``()`` gives a single linear layer: a logistic-regression model.
    activation : type of torch.nn.Module, default=torch.nn.ReLU
    dropout : float, default=0.0
        Dropout probability after each hidden activation.
    """

    def __init__(
        self,
        n_features_in,
        n_classes,
        hidden_layer_sizes=(100,),
        activation=nn.ReLU,
        dropout=0.0,
    ):
        super().__init__()
        layers = []
        width = n_features_in
        for size in hidden_layer_sizes:
            layers += [nn.Linear(width, size), activation()]
            if dropout:
                layers.append(nn.Dropout(dropout))
            width = size
        layers.append(nn.Linear(width, n_classes))
        self.layers = nn.Sequential(*layers)

    def forward(self, X):
        return self.layers(X)


class TargetScaling(nn.Module):
    """The network's standardised outputs back in ``y``'s units: ``z * scale + mean``,
    in float64 (the last step of a regressor's ``module_``)."""

    def __init__(self, mean, scale):
        super().__init__()
        self.register_buffer("mean", torch.as_tensor(mean, dtype=torch.float64))
        self.register_buffer("scale", torch.as_tensor(scale, dtype=torch.float64))

    def forward(self, Z):
        return Z.to(torch.float64) * self.scale + self.mean


def whole_network(standardize, body):
    """``Sequential(standardize, body)``: the network that takes raw features."""
    return nn.Sequential(OrderedDict(standardize=standardize, body=body))
