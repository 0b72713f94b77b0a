"""ONNX export of sktkd estimators, alone or inside scikit-learn pipelines.

Importing this module registers converters for the four estimators with
scikit-learn-onnx (skl2onnx), so that ``skl2onnx.to_onnx`` converts a
``Pipeline`` with an sktkd estimator in it, scikit-learn transformers in
front included::

    import sktkd.onnx  # registers the converters
    onx = skl2onnx.to_onnx(pipeline, X[:1].astype(np.float32),
                           options={"zipmap": False})

(skl2onnx itself takes over a second to import, so ``import sktkd`` does not
do it.) The estimator's part is the graph of :func:`sktkd.to_onnx`: input
standardisation, network, softmax, labels. skl2onnx's classifier options
apply: ``zipmap`` (``False``: a probability matrix; the default ``True``: a
list of dicts) and ``nocl`` (``True``: class indices as labels). A
regressor's output is ``variable``, shape ``(n_samples, n_outputs_)``, of the
input's type, as scikit-learn-onnx's regressors give it. The converters export
predictions, so a transfer estimator must be the last step: as a transformer in
the middle of a pipeline (its ``transform``) it does not convert correctly.

It also registers a converter for scikit-learn's ``MissingIndicator`` (NaN as
the missing value), which skl2onnx lacks: ``preprocessor="auto"`` uses it. An
estimator with a fitted ``preprocessor_`` exports with :func:`to_onnx`, not as
a step of a skl2onnx pipeline (the converter would see the network alone).
"""

import numpy as np
import torch
from sklearn.base import is_regressor
from sklearn.impute import MissingIndicator

from ._distilled import DistilledClassifier, DistilledRegressor
from ._export import MIN_OPSET, _require, onnx_graph, to_onnx
from ._transfer import TransferClassifier, TransferRegressor

__all__ = ["register_converters", "to_onnx"]


def _convert(scope, operator, container):
    """skl2onnx converter: the estimator's ONNX graph, its names made unique in the model."""
    onnx = _require("onnx")
    from skl2onnx.proto import onnx_proto

    if container.target_opset < MIN_OPSET:
        raise ValueError(
            f"sktkd estimators convert at target_opset >= {MIN_OPSET} (torch's exporter); "
            f"got {container.target_opset}."
        )
    estimator = operator.raw_operator
    regressor = is_regressor(estimator)
    # nocl: class indices as labels, as skl2onnx's own classifiers give them.
    nocl = not regressor and container.get_options(estimator, dict(nocl=False))["nocl"]
    classes = np.arange(len(estimator.classes_)) if nocl else None

    def elem_type(variable):
        return variable.type.to_onnx_type().tensor_type.elem_type

    float32, float64 = onnx_proto.TensorProto.FLOAT, onnx_proto.TensorProto.DOUBLE
    # A classifier's second output, the probabilities; a regressor's only one, its
    # values (float64 in the graph, of the pipeline's type outside).
    rows, proba = operator.inputs[0].full_name, operator.outputs[-1].full_name
    # Doubles go into the float64 standardisation as they are; other types as float32.
    double = elem_type(operator.inputs[0]) == float64
    dtype = torch.float64 if double else torch.float32
    graph = onnx_graph(estimator, container.target_opset, classes, dtype).graph
    if not double and elem_type(operator.inputs[0]) != float32:
        rows = scope.get_unique_variable_name("sktkd_X")
        container.add_node(
            "Cast",
            [operator.inputs[0].full_name],
            [rows],
            to=float32,
            name=scope.get_unique_operator_name("Cast"),
        )
    produced = float64 if regressor else float32
    if elem_type(operator.outputs[-1]) != produced:  # e.g. a double pipeline's probabilities
        proba = scope.get_unique_variable_name("sktkd_output")
        container.add_node(
            "Cast",
            [proba],
            [operator.outputs[-1].full_name],
            to=elem_type(operator.outputs[-1]),
            name=scope.get_unique_operator_name("Cast"),
        )
    if regressor:
        names = {"X": rows, "variable": proba}
    else:
        names = {"X": rows, "label": operator.outputs[0].full_name, "probabilities": proba}

    def renamed(name):
        if name and name not in names:
            names[name] = scope.get_unique_variable_name(f"sktkd_{name}")
        return names.get(name, name)

    for tensor in graph.initializer:
        # skl2onnx copies a tensor's raw bytes; others (class labels as strings,
        # values stored in typed fields) travel as a flat list.
        content = tensor
        if not tensor.raw_data or tensor.data_type == onnx_proto.TensorProto.STRING:
            content = onnx.numpy_helper.to_array(tensor).ravel().tolist()
        container.add_initializer(
            renamed(tensor.name), tensor.data_type, list(tensor.dims), content
        )
    for node in graph.node:
        attributes = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
        container.add_node(
            node.op_type,
            [renamed(name) for name in node.input],
            [renamed(name) for name in node.output],
            op_domain=node.domain,
            op_version=container.target_opset,
            name=scope.get_unique_operator_name(f"sktkd_{node.op_type}"),
            **attributes,
        )


def _regressor_output_shapes(operator):
    """skl2onnx shape calculator of a regressor: ``(n_samples, n_outputs_)``, of the
    input's floating type (as scikit-learn-onnx's regressors)."""
    from skl2onnx.common.data_types import DoubleTensorType, FloatTensorType

    rows = operator.inputs[0]
    kind = DoubleTensorType if isinstance(rows.type, DoubleTensorType) else FloatTensorType
    n_rows = rows.get_first_dimension()
    operator.outputs[0].type = kind([n_rows, operator.raw_operator.n_outputs_])


def _missing_indicator_shapes(operator):
    """skl2onnx shape calculator of ``MissingIndicator``: ``(n_samples, len(features_))``
    floats (0/1), as a ``ColumnTransformer`` stacks them with the other columns."""
    from skl2onnx.common.data_types import FloatTensorType

    n_rows = operator.inputs[0].get_first_dimension()
    operator.outputs[0].type = FloatTensorType([n_rows, len(operator.raw_operator.features_)])


def _convert_missing_indicator(scope, operator, container):
    """skl2onnx converter of ``MissingIndicator`` (NaN as the missing value): which
    of its ``features_`` are NaN, as 0/1 floats. sktkd's default preprocessor
    uses it for the indicator columns of ``SimpleImputer(add_indicator=True)``,
    which skl2onnx's own converter leaves out."""
    from skl2onnx.common.data_types import guess_proto_type
    from skl2onnx.proto import onnx_proto

    indicator = operator.raw_operator
    if not (isinstance(indicator.missing_values, float) and np.isnan(indicator.missing_values)):
        raise NotImplementedError(
            f"sktkd converts MissingIndicator for NaN only, not missing_values="
            f"{indicator.missing_values!r}."
        )
    inputs = [variable.full_name for variable in operator.inputs]
    rows = inputs[0]
    if len(inputs) > 1:
        rows = scope.get_unique_variable_name("sktkd_missing_rows")
        container.add_node(
            "Concat", inputs, [rows], axis=1, name=scope.get_unique_operator_name("Concat")
        )
    nan = scope.get_unique_variable_name("sktkd_isnan")
    container.add_node("IsNaN", [rows], [nan], name=scope.get_unique_operator_name("IsNaN"))
    columns = scope.get_unique_variable_name("sktkd_missing_columns")
    container.add_initializer(
        columns,
        onnx_proto.TensorProto.INT64,
        [len(indicator.features_)],
        [int(i) for i in indicator.features_],
    )
    chosen = scope.get_unique_variable_name("sktkd_missing")
    container.add_node(
        "Gather", [nan, columns], [chosen], axis=1, name=scope.get_unique_operator_name("Gather")
    )
    container.add_node(
        "Cast",
        [chosen],
        [operator.outputs[0].full_name],
        to=guess_proto_type(operator.outputs[0].type),
        name=scope.get_unique_operator_name("Cast"),
    )


def register_converters():
    """Register the converters of the four estimators with skl2onnx (done on import).

    Raises
    ------
    ImportError
        Without skl2onnx (``pip install 'sktkd[onnx]'``).
    """
    _require("skl2onnx")
    from skl2onnx import update_registered_converter
    from skl2onnx.common.shape_calculator import calculate_linear_classifier_output_shapes

    for estimator in (DistilledClassifier, TransferClassifier):
        update_registered_converter(
            estimator,
            f"Sktkd{estimator.__name__}",
            calculate_linear_classifier_output_shapes,
            _convert,
            options={"zipmap": [True, False, "columns"], "nocl": [True, False]},
        )
    for estimator in (DistilledRegressor, TransferRegressor):
        update_registered_converter(
            estimator, f"Sktkd{estimator.__name__}", _regressor_output_shapes, _convert
        )
    update_registered_converter(
        MissingIndicator,
        "SktkdMissingIndicator",
        _missing_indicator_shapes,
        _convert_missing_indicator,
    )


register_converters()
