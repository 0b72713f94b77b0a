"""Knowledge distillation and transfer learning for scikit-learn, on PyTorch via skorch."""

from ._distilled import DistilledClassifier

__all__ = ["DistilledClassifier"]
__version__ = "0.1.0"
