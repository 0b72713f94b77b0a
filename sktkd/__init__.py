"""Knowledge distillation and transfer learning for scikit-learn, on PyTorch via skorch."""

from ._distilled import DistilledClassifier
from ._export import to_onnx
from ._transfer import TransferClassifier

__all__ = ["DistilledClassifier", "TransferClassifier", "to_onnx"]
__version__ = "0.1.0"
