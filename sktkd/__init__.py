"""Knowledge distillation and transfer learning for scikit-learn, on PyTorch via skorch."""

from ._distilled import DistilledClassifier, DistilledRegressor
from ._export import to_onnx
from ._transfer import TransferClassifier, TransferRegressor

__all__ = [
    "DistilledClassifier",
    "DistilledRegressor",
    "TransferClassifier",
    "TransferRegressor",
    "to_onnx",
]
__version__ = "0.1.0"
