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

import warnings

import numpy as np
from scipy.sparse import issparse
from sklearn.base import clone
from sklearn.compose import ColumnTransformer
from sklearn.frozen import FrozenEstimator
from sklearn.impute import MissingIndicator, SimpleImputer
from sklearn.preprocessing import OneHotEncoder
from sklearn.utils import _safe_indexing
from sklearn.utils.validation import _num_samples, check_array

# Inputs keep float32 when given so, and become float64 otherwise.
INPUT_DTYPES = (np.float64, np.float32)


def is_frame(X):
    """Whether ``X`` is a table with typed columns (pandas, or any with ``dtypes``)."""
    return hasattr(X, "columns") and hasattr(X, "dtypes")


def raw_rows(X):
    """``X`` as a preprocessor takes it: a frame as it is, anything else a 2-D
    array of the type its values need (numbers, or objects), checked as
    scikit-learn checks inputs (NaN allowed: the preprocessor decides).

    A missing value in a text or category column (``None``, pandas' ``NA``)
    becomes ``NaN`` (on a copy), one missing category for scikit-learn's
    encoders, which refuse ``NA``; an array of text
    (``np.array`` of numbers and strings) becomes objects, its numbers numbers.
    """
    if is_frame(X):
        if X.ndim != 2 or not _num_samples(X):
            check_array(X, dtype=None, ensure_all_finite=False)  # scikit-learn's message
        missing = {}
        for name, dtype in X.dtypes.items():
            if _holds_pandas_na(dtype):
                missing[name] = X[name].to_numpy(dtype=object, na_value=np.nan)
            elif isinstance(dtype, np.dtype) and dtype.kind == "O":
                absent = X[name].isna().to_numpy()  # None, pd.NA
                if absent.any():
                    missing[name] = np.where(absent, np.nan, X[name].to_numpy())
        if missing:
            X = X.copy()
            for name, values in missing.items():
                X[name] = values
        return X
    X = check_array(X, dtype=None, ensure_all_finite="allow-nan")
    if X.dtype.kind in "US":  # lists of numbers and strings: numpy made them all text
        X = X.astype(object)
        for j, number in enumerate(numeric_columns(X)):
            if number:
                X[:, j] = X[:, j].astype(np.float64)
    return X


def _holds_pandas_na(dtype):
    """Whether a column of ``dtype`` is text (or categories of text) that marks
    missing values with ``pd.NA``, which scikit-learn's encoders refuse."""
    categories = getattr(getattr(dtype, "categories", None), "dtype", None)
    return getattr(dtype, "kind", "O") not in "biuf" and any(
        type(getattr(d, "na_value", None)).__name__ == "NAType" for d in (dtype, categories)
    )


def numeric_columns(X):
    """Per column of ``X`` (a frame or a 2-D array), whether its values are numbers
    (booleans included, and numbers held as objects)."""
    if is_frame(X) or X.dtype.kind in "biuf":
        return [kind in "biuf" for kind in _kinds(X)]
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
    times = [name for name, d in zip(names, _kinds(X), strict=True) if d in "mM"]
    if times:
        raise ValueError(
            f"Columns {times} hold dates or durations, which preprocessor='auto' does not "
            "encode (one-hot of each timestamp would generalise to none): turn them into "
            "numbers (e.g. days since a date, the month) or pass a preprocessor of your own."
        )
    mixed = [
        name for name, kind in zip(names, numeric, strict=True) if not kind and _mixed(X, name)
    ]
    if mixed:
        raise ValueError(
            f"Columns {mixed} mix numbers and text, which one-hot encoding cannot order: "
            "give each column one type (e.g. .astype(str) for labels)."
        )
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


def _mixed(X, name):
    """Whether a column of ``X`` holds both numbers and text (missing values aside)."""
    values = X[name] if is_frame(X) else X[:, name]
    if getattr(values, "dtype", None) == "category":
        values = values.cat.categories
    if type(values).__module__.split(".")[0] == "pandas":  # pandas infers it in C
        from pandas.api.types import infer_dtype

        return infer_dtype(values, skipna=True) in ("mixed", "mixed-integer")
    return len({isinstance(v, str) for v in values if not _missing(v)}) > 1


def _kinds(X):
    """numpy's kind letter of each column of ``X``."""
    if is_frame(X):
        return [getattr(d, "kind", "O") for d in X.dtypes]
    return [X.dtype.kind] * X.shape[1]


def conform_columns(preprocessor, X):
    """Rows ``X`` as ``preprocessor="auto"``'s ``ColumnTransformer`` (or one built
    alike) was fitted on them, or a ``ValueError`` naming the columns that changed
    kind: numbers that became text, or one-hot encoded text or categories that
    became numbers (or the reverse), which would otherwise turn silently into
    unknown categories. A column's kind is that of its values, missing ones
    aside; an encoded column that is all missing (read as NaN floats, say) is
    given as objects, one missing category."""
    if not is_frame(X) or type(X).__module__.split(".")[0] != "pandas":
        return X
    steps = auto_steps(preprocessor)
    if steps is None:
        return X
    numeric, encoder, texts = steps
    changed = [
        name
        for name in numeric
        if X[name].dtype.kind not in "biuf" and _value_kind(X[name]) not in (None, "number")
    ]
    empty = []
    for name, categories in zip(texts, getattr(encoder, "categories_", ()), strict=True):
        now = _value_kind(X[name])
        was = _category_kind(categories)
        if now is None:
            empty.append(name)
        elif was in ("number", "text") and now != was:
            changed.append(name)
    if changed:
        raise ValueError(
            f"Columns {changed} hold other kinds of values than in fit (numbers, or "
            "text and categories): give them the types they had."
        )
    if empty:
        X = X.copy()
        for name in empty:
            X[name] = np.full(len(X), np.nan, dtype=object)
    return X


def auto_steps(preprocessor):
    """The numeric columns, the encoder and its columns of a fitted ``ColumnTransformer``
    built as :func:`auto_preprocessor` builds one (a transfer source's, frozen,
    too); ``None`` for any other."""
    if isinstance(preprocessor, FrozenEstimator):
        preprocessor = preprocessor.estimator
    if not isinstance(preprocessor, ColumnTransformer) or not hasattr(
        preprocessor, "transformers_"
    ):
        return None
    kinds = {"numeric": SimpleImputer, "missing": MissingIndicator, "categorical": OneHotEncoder}
    steps = {name: (step, list(columns)) for name, step, columns in preprocessor.transformers_}
    steps.pop("remainder", None)
    if not all(
        name in kinds and isinstance(step, kinds[name]) for name, (step, _) in steps.items()
    ):
        return None
    encoder, texts = steps.get("categorical", (None, []))
    return steps.get("numeric", (None, []))[1], encoder, texts


def _category_kind(categories):
    """``"text"`` or ``"number"``: the kind of a fitted encoder's categories
    (missing ones aside); ``None`` for a mix, or none."""
    kinds = {isinstance(c, str) for c in categories if not _missing(c)}
    return None if len(kinds) != 1 else "text" if kinds.pop() else "number"


def _value_kind(values):
    """``"number"``, ``"text"``, another of pandas' inferred kinds (``"mixed"``),
    or ``None`` when every value is missing, of a column (a pandas Series)."""
    import pandas as pd
    from pandas.api.types import infer_dtype

    if getattr(values.dtype, "kind", "O") in "biuf":  # numbers, or NaN alone
        return "number" if values.notna().any() else None
    if isinstance(values.dtype, pd.CategoricalDtype):  # its categories', if it holds any
        values = values.cat.categories if values.notna().any() else values[:0]
    else:
        values = values.dropna()
    if not len(values):
        return None
    kind = infer_dtype(values, skipna=True)
    if kind == "empty":
        return None
    if kind in ("string", "unicode", "bytes"):
        return "text"
    if kind in ("integer", "floating", "mixed-integer-float", "decimal", "boolean", "integer-na"):
        return "number"
    return kind


def _missing(value):
    """Whether ``value`` is a missing value (None, NaN, pandas' NA)."""
    if isinstance(value, float):
        return bool(np.isnan(value))
    return value is None or type(value).__name__ == "NAType"


def resolve_preprocessor(preprocessor, X):
    """The preprocessor to fit on ``X``: ``None`` (the rows are numbers already),
    the default for ``"auto"``, or a clone of the user's transformer."""
    if preprocessor is None:
        return None
    if isinstance(preprocessor, str):  # "auto", the only string the constraints allow
        return auto_preprocessor(X)
    return clone(preprocessor)


def fit_preprocessor(preprocessor, X, y, labelled, auto):
    """Fit ``preprocessor`` on the training rows ``X``, their labels ``y`` and the
    mask of the ``labelled`` ones.

    With unlabelled rows, ``"auto"``'s (which needs no ``y``) is fitted on all
    rows without ``y``; a transformer of the user's, which may use ``y`` (a
    ``TargetEncoder``), on the labelled rows alone: the marker of unlabelled
    rows is never a label to it.
    """
    if not labelled.all():
        if auto:
            y = None
        else:
            X, y = _safe_indexing(X, np.flatnonzero(labelled)), y[labelled]
    preprocessor.fit(X, y)
    _warn_if_wide(preprocessor, _num_samples(X))


def _warn_if_wide(preprocessor, n_rows):
    """Warn of a one-hot column with very many categories (an identifier?)."""
    _, encoder, texts = auto_steps(preprocessor) or (None, None, [])
    for column, categories in zip(texts, getattr(encoder, "categories_", ()), strict=True):
        if len(categories) > max(100, n_rows // 20):
            warnings.warn(
                f"Column {column!r} has {len(categories)} categories among {n_rows} "
                "training rows: one-hot encoded, it makes the network as wide, and a "
                "category seen once teaches little. Drop an identifier, or pass "
                "preprocessor= a ColumnTransformer with OneHotEncoder(max_categories=...) "
                "for it.",
                stacklevel=2,
            )


def student_rows(preprocessor, X):
    """The rows ``X`` (raw) as the student's numbers, by the fitted ``preprocessor``:
    a float array, checked (a transformer that gives anything else is named)."""
    out = preprocessor.transform(conform_columns(preprocessor, X))
    try:
        return check_array(
            out, dtype=INPUT_DTYPES, accept_sparse=False, input_name="the preprocessor's output"
        )
    except (TypeError, ValueError) as exc:
        dense = " (set its sparse_output=False, or sparse_threshold=0)" if issparse(out) else ""
        raise ValueError(
            f"The preprocessor {type(preprocessor).__name__} must turn X into finite numbers, "
            f"a dense 2-D array{dense}, for the student's network: {exc}"
        ) from exc
