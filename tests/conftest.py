import numpy as np
import pytest
from sklearn.datasets import make_classification


@pytest.fixture(scope="session")
def data():
    """A small three-class problem on raw, unscaled features."""
    X, y = make_classification(
        n_samples=300,
        n_features=6,
        n_informative=4,
        n_redundant=0,
        n_classes=3,
        class_sep=2.0,
        random_state=0,
    )
    X = X * np.array([1, 10, 100, 1000, 1e4, 0.01]) + 50
    return X, y


FAST = {"max_epochs": 15, "batch_size": 32, "lr": 1e-2, "hidden_layer_sizes": (16,)}


def pytest_configure(config):
    # The test networks are tiny: threads only add contention on a shared machine.
    import torch

    torch.set_num_threads(1)
