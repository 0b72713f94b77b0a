"""Export to ONNX: the student whole (input scaling, network, softmax, labels).

torch's exporter (``torch.onnx.export(dynamo=True)``, which needs
``onnxscript``) turns the network into ONNX; the class labels are added as a
lookup at the end. The graph's names follow scikit-learn-onnx's for a
classifier (input ``X``, outputs ``label`` and ``probabilities``), and the
same graph serves :func:`to_onnx` and the skl2onnx converter
(:mod:`sktkd.onnx`), so that a pipeline converts with sktkd estimators in
it.
"""

import contextlib
import copy
import io
import logging
import re
import warnings

import numpy as np
import torch
from sklearn.base import is_regressor
from sklearn.frozen import FrozenEstimator
from sklearn.pipeline import Pipeline
from sklearn.utils.validation import check_is_fitted

from ._base import NeuralBase
from ._preprocess import auto_steps, numeric_columns, raw_rows

# The oldest opset torch's exporter writes.
MIN_OPSET = 18


def _require(module):
    try:
        return __import__(module)
    except ImportError as exc:
        raise ImportError(
            f"Exporting to ONNX needs {module}: pip install 'sktkd[onnx]' (onnx, onnxscript, "
            "skl2onnx, onnxruntime)."
        ) from exc


class _Outputs(torch.nn.Module):
    """The network's logits as scikit-learn-onnx's outputs: class index, probabilities."""

    def __init__(self, network):
        super().__init__()
        self.network = network

    def forward(self, X):
        logits = self.network(X)
        return logits.argmax(dim=1), torch.softmax(logits, dim=1)


class _Values(torch.nn.Module):
    """A regressor's network as scikit-learn-onnx's output ``variable``, always 2-D."""

    def __init__(self, network):
        super().__init__()
        self.network = network

    def forward(self, X):
        return self.network(X)


def _label_values(classes):
    """``classes_`` as an ONNX tensor's values: int64 or strings."""
    if classes.dtype.kind in "iub":
        return classes.astype(np.int64)
    if classes.dtype.kind == "f" and np.all(classes == np.round(classes)):
        return classes.astype(np.int64)  # 0.0, 1.0, ...: integers, as scikit-learn-onnx has them
    if classes.dtype.kind in "OUS":
        return np.array([str(c) for c in classes], dtype=object)
    raise ValueError(
        f"Class labels of dtype {classes.dtype} ({classes[:3]}...) have no ONNX label type; "
        "use integer or string labels."
    )


def _check_estimator(estimator):
    if not isinstance(estimator, NeuralBase):
        raise TypeError(
            f"to_onnx exports sktkd estimators; got {type(estimator).__name__} (use "
            "skl2onnx.to_onnx for scikit-learn models)."
        )
    check_is_fitted(estimator)


def _reason(exc):
    """The innermost cause of an exporter error, its first line, without terminal colours."""
    while exc.__cause__ is not None:
        exc = exc.__cause__
    text = re.sub(r"\x1b\[[0-9;]*m", "", str(exc)).strip()
    return f"{type(exc).__name__}: {text.splitlines()[0] if text else ''}"


def onnx_graph(estimator, opset=None, classes=None, dtype=torch.float32):
    """The fitted estimator as an ``onnx.ModelProto`` (see :func:`to_onnx`).

    ``classes``: the label values, instead of ``classes_``; ``dtype``: of the
    input ``X`` (float64 for a pipeline of doubles: the standardisation
    computes in float64 either way, as ``predict`` does).
    """
    onnx = _require("onnx")
    _require("onnxscript")
    _check_estimator(estimator)
    if getattr(estimator, "preprocessor_", None) is not None:
        # (skl2onnx's converter gets the network's part only: the preprocessor would be lost.)
        raise ValueError(
            f"This {type(estimator).__name__} has a fitted preprocessor_ (its rows were not "
            "all numbers): export it with sktkd.to_onnx(estimator, X), which converts the "
            "preprocessor too, or fit it with preprocessor=None inside a Pipeline whose "
            "steps turn the rows into numbers."
        )
    newest = onnx.defs.onnx_opset_version()
    if opset is not None and not MIN_OPSET <= opset <= newest:
        raise ValueError(
            f"target_opset={opset}: torch's exporter writes opsets {MIN_OPSET} to {newest} "
            "(the newest this onnx knows)."
        )
    # The standardisation keeps its float64 statistics (large offsets keep
    # their precision); the body computes in float32.
    network = copy.deepcopy(estimator.module_).cpu().eval()
    regressor = is_regressor(estimator)
    example = torch.zeros(2, estimator.n_features_in_, dtype=dtype)
    # torch and onnxscript log notes, graph dumps and warnings while they
    # work; an error carries the reason.
    logs = [logging.getLogger(name) for name in ("torch", "onnxscript")]
    levels = [log.level for log in logs]
    for log in logs:
        log.setLevel(logging.CRITICAL)
    try:
        # (The streams are the process's: another thread's output in these
        # seconds goes with them. An export is a rare, deliberate call.)
        with (
            contextlib.redirect_stdout(io.StringIO()),
            contextlib.redirect_stderr(io.StringIO()),
            warnings.catch_warnings(),
        ):
            warnings.simplefilter("ignore", FutureWarning)  # torch's own deprecations
            program = torch.onnx.export(
                (_Values(network) if regressor else _Outputs(network)).eval(),
                (example,),
                input_names=["X"],
                output_names=["variable"] if regressor else ["label_index", "probabilities"],
                dynamic_shapes={"X": {0: torch.export.Dim("n_samples")}},
                opset_version=max(opset or MIN_OPSET, MIN_OPSET),
                dynamo=True,
                verbose=False,
            )
    except Exception as exc:  # the exporter raises many kinds
        raise ValueError(
            f"torch's ONNX exporter cannot export this network ({type(network[1]).__name__}): "
            f"{_reason(exc)}"
        ) from exc
    finally:
        for log, level in zip(logs, levels, strict=True):
            log.setLevel(level)
    model = program.model_proto
    if regressor:
        onnx.checker.check_model(model)
        return model
    graph = model.graph
    classes = estimator.classes_ if classes is None else classes
    labels = onnx.numpy_helper.from_array(_label_values(classes), "classes")
    graph.initializer.append(labels)
    graph.node.append(
        onnx.helper.make_node("Gather", ["classes", "label_index"], ["label"], name="label")
    )
    index = next(o for o in graph.output if o.name == "label_index")
    graph.output.remove(index)
    graph.output.insert(
        0, onnx.helper.make_tensor_value_info("label", labels.data_type, ["n_samples"])
    )
    onnx.checker.check_model(model)
    return model


def to_onnx(estimator, X=None, *, target_opset=None):
    """Export a fitted sktkd estimator to ONNX, input scaling and labels included.

    Parameters
    ----------
    estimator : DistilledClassifier, TransferClassifier, DistilledRegressor or \
TransferRegressor
        Fitted; its ``module_`` (input standardisation, then the network) is
        exported by torch's exporter, so a custom ``module`` must be one it
        can handle.
    X : array-like of shape (n_samples, n_features), default=None
        Rows like those the model takes, for scikit-learn-onnx's signature
        (``to_onnx(model, X)``); only their width is checked.
    target_opset : int, default=None
        ONNX opset of the graph, from 18 (torch's exporter; the default) to
        the newest the installed onnx knows.

    Returns
    -------
    onnx.ModelProto
        One input ``X``: float32, shape ``(n_samples, n_features_in_)``. Two
        outputs, as scikit-learn-onnx names a classifier's with
        ``zipmap=False``: ``label``, shape ``(n_samples,)``, the values of
        ``classes_`` (int64 for numbers and bools, as scikit-learn-onnx
        gives them; otherwise strings), and ``probabilities``, float32,
        shape ``(n_samples, n_classes)``, columns in the order of
        ``classes_``. The input is standardised in float64 inside the graph,
        as ``predict`` does; on the same float32 rows, the outputs match
        ``predict`` and ``predict_proba`` to float32 precision (about 1e-6).
        A regressor's one output is ``variable``, float64, shape
        ``(n_samples, n_outputs)``: the network's values scaled back to
        ``y``'s units in float64, as ``predict`` gives them (in a
        skl2onnx pipeline, of the pipeline's type: see :mod:`sktkd.onnx`).

    Raises
    ------
    ImportError
        Without ``onnx`` and ``onnxscript`` (``pip install 'sktkd[onnx]'``).
    sklearn.exceptions.NotFittedError
        If the estimator is not fitted.
    TypeError
        If the estimator is not an sktkd estimator.
    ValueError
        If ``X`` has another width than the training rows, ``target_opset``
        is out of range, or torch's exporter cannot export the network, or
        skl2onnx the preprocessor (the reason it gives is included).

    Examples
    --------
    >>> import numpy as np, onnxruntime
    >>> from sklearn.datasets import load_iris
    >>> from sktkd import TransferClassifier, to_onnx
    >>> X, y = load_iris(return_X_y=True)
    >>> model = TransferClassifier(max_epochs=20, random_state=0).fit(X, y)
    >>> onx = to_onnx(model, X)
    >>> session = onnxruntime.InferenceSession(onx.SerializeToString())
    >>> label, proba = session.run(None, {"X": X.astype(np.float32)})
    >>> bool((label == model.predict(X)).all())
    True
    """
    _check_estimator(estimator)
    if getattr(estimator, "preprocessor_", None) is not None:
        return _with_preprocessor(estimator, X, target_opset)
    if X is not None and np.shape(X)[1:] != (estimator.n_features_in_,):
        raise ValueError(
            f"X has shape {np.shape(X)}; {type(estimator).__name__} takes "
            f"{estimator.n_features_in_} features."
        )
    return onnx_graph(estimator, target_opset)


def _network_width(estimator):
    """How many numbers the network takes: its input standardisation's, else the
    preprocessor's output columns, else ``X``'s."""
    mean = estimator.standardize_.mean
    if mean.dim():
        return len(mean)
    if getattr(estimator, "preprocessor_", None) is None:
        return estimator.n_features_in_
    return len(estimator.preprocessor_.get_feature_names_out())


def _raw_inputs(estimator, preprocessor, X):
    """skl2onnx input types of the rows ``preprocessor`` takes: one per column of a
    frame (float32 for numbers and booleans, strings for the others), or one
    float32 ``X`` for an array of numbers."""
    from skl2onnx.common.data_types import FloatTensorType, StringTensorType

    if X is not None:
        numeric = numeric_columns(raw_rows(X))
        if len(numeric) != estimator.n_features_in_:
            raise ValueError(
                f"X has {len(numeric)} columns; {type(estimator).__name__} takes "
                f"{estimator.n_features_in_}."
            )
    elif (steps := auto_steps(preprocessor)) is not None:  # preprocessor="auto"'s
        numbers = set(steps[0])
        names = getattr(estimator, "feature_names_in_", range(estimator.n_features_in_))
        numeric = [name in numbers for name in names]
    else:
        raise ValueError(
            "to_onnx needs X, rows like the training ones, to type the inputs of the "
            f"preprocessor {type(preprocessor).__name__}."
        )
    names = getattr(estimator, "feature_names_in_", None)
    if names is None:
        if not all(numeric):  # (scikit-learn records no names unless all are strings)
            raise ValueError(
                "The student was fitted on rows holding text, without column names (an "
                "array, or a frame whose column names are not all strings); an ONNX input "
                "holds one type. Fit it on a DataFrame with string column names (one input "
                "per column) to export it."
            )
        return [("X", FloatTensorType([None, estimator.n_features_in_]))]
    return [
        (str(name), FloatTensorType([None, 1]) if number else StringTensorType([None, 1]))
        for name, number in zip(names, numeric, strict=True)
    ]


def _with_preprocessor(estimator, X, target_opset):
    """The preprocessor and the network in one graph, converted by skl2onnx (with
    sktkd's converters): a ``Pipeline`` of the fitted preprocessor and a view of
    the estimator that takes the preprocessor's numbers."""
    _require("skl2onnx")
    import skl2onnx

    from . import onnx as _registers_the_converters  # noqa: F401

    student = copy.copy(estimator)  # shallow: the same fitted network
    vars(student).pop("feature_names_in_", None)
    student.preprocessor_, student.n_features_in_ = None, _network_width(estimator)
    preprocessor = estimator.preprocessor_
    if isinstance(preprocessor, FrozenEstimator):  # a transfer source's, kept as it was
        preprocessor = preprocessor.estimator
    pipeline = Pipeline([("preprocessor", preprocessor), ("student", student)])
    options = None if is_regressor(estimator) else {id(student): {"zipmap": False}}
    try:
        return skl2onnx.to_onnx(
            pipeline,
            initial_types=_raw_inputs(estimator, preprocessor, X),
            options=options,
            target_opset=target_opset,
        )
    except (RuntimeError, NotImplementedError, TypeError) as exc:
        raise ValueError(
            f"skl2onnx cannot convert the preprocessor {type(preprocessor).__name__}: "
            f"{_reason(exc)}"
        ) from exc
