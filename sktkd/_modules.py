"""Networks the estimators build: input standardisation and the default MLP."""

import numpy as np
import torch
from torch import nn


class Standardize(nn.Module):
    """Fixed affine input scaling ``(x - mean) / scale``, stored as buffers.

    The statistics come from the training rows and never train, so a student
    copes with raw, unscaled features and its exported network still takes
    them as they are.

    Parameters
    ----------
    mean, scale : array-like of shape (n_features,)
    """

    def __init__(self, mean, scale):
        super().__init__()
        self.register_buffer("mean", torch.as_tensor(mean, dtype=torch.float32))
        self.register_buffer("scale", torch.as_tensor(scale, dtype=torch.float32))

    @classmethod
    def from_data(cls, X):
        """Column statistics of ``X``, accumulated in float64."""
        mean = X.mean(axis=0, dtype=np.float64)
        scale = X.std(axis=0, dtype=np.float64)
        # Constant features are centred only, as in StandardScaler.
        scale[scale <= 10 * np.finfo(X.dtype).eps * np.maximum(1.0, np.abs(mean))] = 1.0
        return cls(mean, scale)

    def forward(self, X):
        return (X - self.mean) / self.scale


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
