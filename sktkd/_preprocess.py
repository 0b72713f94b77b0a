"""The student's input: raw tabular rows (strings, categories, missing values) as numbers.

A teacher fitted on a raw ``DataFrame`` (gradient boosting with native
categories and NaN) is asked on the rows as given; the student's network
needs numbers. ``preprocessor`` turns the one into the other for the student
alone. Its default, ``"auto"``, leaves rows that are already finite numbers
as they are (the network standardises them), and otherwise builds scikit-learn's
own ``ColumnTransformer`` (so that skl2onnx converts it):

- numeric and boolean columns: ``SimpleImputer()``, the mean for a missing
  value, and ``MissingIndicator()``, a 0/1 column per column that had missing
  values (what ``SimpleImputer(add_indicator=True)`` gives, in a form skl2onnx
  converts); a boolean is its own 0/1 column (one-hot without the redundant
  second column);
- other columns (categories, strings, objects): ``OneHotEncoder(
  handle_unknown="ignore")``, a missing value its own category, an unknown
  category all zeros.
"""

import numpy as np
from sklearn.base import clone
from sklearn.compose import ColumnTransformer
from sklearn.impute import MissingIndicator, SimpleImputer
from sklearn.preprocessing import OneHotEncoder
from sklearn.utils.validation import _num_samples, check_array

# Inputs keep float32 when given so, and become float64 otherwise.
INPUT_DTYPES = (np.float64, np.float32)


def is_frame(X):
    """Whether ``X`` is a table with typed columns (pandas, or any with ``dtypes``)."""
    return hasattr(X, "columns") and hasattr(X, "dtypes")


def raw_rows(X):
    """``X`` as a preprocessor takes it: a frame as it is, anything else a 2-D
    array of the type its values need (numbers, or objects), checked as
    scikit-learn checks inputs (NaN allowed: the preprocessor decides)."""
    if is_frame(X):
        if X.ndim != 2 or not _num_samples(X):
            check_array(X, dtype=None, ensure_all_finite=False)  # scikit-learn's message
        return X
    return check_array(X, dtype=None, ensure_all_finite="allow-nan")


def numeric_columns(X):
    """Per column of ``X`` (a frame or a 2-D array), whether its values are numbers
    (booleans included, and numbers held as objects)."""
    if is_frame(X):
        return [getattr(d, "kind", "O") in "biuf" for d in X.dtypes]
    if X.dtype.kind in "biuf":
        return [True] * X.shape[1]
    numeric = []
    for column in X.T:
        try:
            column.astype(np.float64)
        except (TypeError, ValueError):
            numeric.append(False)
        else:
            numeric.append(True)
    return numeric


def auto_preprocessor(X):
    """The default ``preprocessor`` for the training rows ``X`` (unfitted), or
    ``None`` when ``X`` is finite numbers, which the network takes as they are.

    Columns are named for a frame, numbered otherwise; a frame at prediction
    needs the same columns, as for any scikit-learn estimator.
    """
    numeric = numeric_columns(X)
    if all(numeric):
        values = X if isinstance(X, np.ndarray) else check_array(X, ensure_all_finite=False)
        # A sum is finite unless a value is not: the common case costs one pass.
        if np.isfinite(values.sum()) or not np.isnan(values).any():
            return None  # the network takes them (an inf is validate_data's error)
    names = list(X.columns) if is_frame(X) else list(range(X.shape[1]))
    steps = []
    numbers = [name for name, kind in zip(names, numeric, strict=True) if kind]
    if numbers:
        steps.append(("numeric", SimpleImputer(keep_empty_features=True), numbers))
        # SimpleImputer(add_indicator=True)'s columns, as a step of their own, which
        # sktkd.onnx converts (skl2onnx drops add_indicator). A column without NaN
        # at fit gets none, and a NaN there later is imputed (error_on_new=False).
        steps.append(("missing", MissingIndicator(error_on_new=False), numbers))
    others = [name for name, kind in zip(names, numeric, strict=True) if not kind]
    if others:
        encoder = OneHotEncoder(handle_unknown="ignore", sparse_output=False)
        steps.append(("categorical", encoder, others))
    return ColumnTransformer(steps)


def resolve_preprocessor(preprocessor, X):
    """The preprocessor to fit on ``X``: ``None`` (the rows are numbers already),
    the default for ``"auto"``, or a clone of the user's transformer."""
    if preprocessor is None:
        return None
    if isinstance(preprocessor, str):  # "auto", the only string the constraints allow
        return auto_preprocessor(X)
    return clone(preprocessor)


def student_rows(preprocessor, X):
    """The rows ``X`` (raw) as the student's numbers, by the fitted ``preprocessor``:
    a float array, checked (a transformer that gives anything else is named)."""
    out = preprocessor.transform(X)
    try:
        return check_array(
            out, dtype=INPUT_DTYPES, accept_sparse=False, input_name="the preprocessor's output"
        )
    except (TypeError, ValueError) as exc:
        raise ValueError(
            f"The preprocessor {type(preprocessor).__name__} must turn X into finite numbers, "
            f"a dense 2-D array, for the student's network: {exc}"
        ) from exc
