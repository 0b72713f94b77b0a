import pytest
import torch
from sklearn.naive_bayes import GaussianNB
from torch import nn

from sktkd import DistilledClassifier, TransferClassifier
from sktkd._batches import SliceLoader, TensorDataset


def make_dataset(n=10):
    X = torch.arange(n, dtype=torch.float32).reshape(n, 1)
    extras = {"teacher_logits": 10.0 * torch.arange(n).reshape(n, 1), "sample_weight": None}
    return TensorDataset(X, torch.arange(n), extras)


def rows(X):
    return X["X"] if isinstance(X, dict) else X


def test_every_row_once_per_pass_in_batches_of_the_given_size():
    loader = SliceLoader(
        make_dataset(10), batch_size=4, shuffle=True, generator=torch.Generator().manual_seed(0)
    )
    batches = list(loader)
    assert len(loader) == len(batches) == 3
    assert [len(rows(X)) for X, _ in batches] == [4, 4, 2]
    seen = torch.cat([rows(X)[:, 0] for X, _ in batches])
    assert sorted(seen.tolist()) == list(range(10))


def test_labels_and_soft_labels_stay_with_their_rows_when_shuffled():
    for X, y in SliceLoader(make_dataset(50), 7, shuffle=True):
        row = X["X"][:, 0].long()
        assert torch.equal(y, row)  # y holds the labels, as skorch's callbacks expect
        assert torch.equal(X["teacher_logits"][:, 0], 10.0 * row)
        assert set(X) == {"X", "teacher_logits"}  # no entry for an absent term


def test_without_extras_a_batch_is_plain_rows_and_labels():
    X, y = TensorDataset(torch.zeros(4, 2), torch.arange(4))[1:3]
    assert isinstance(X, torch.Tensor) and y.tolist() == [1, 2]


def test_shuffling_is_repeatable_with_a_seeded_generator_and_new_each_pass():
    def orders(seed):
        loader = SliceLoader(
            make_dataset(20), 20, shuffle=True, generator=torch.Generator().manual_seed(seed)
        )
        return [rows(next(iter(loader))[0])[:, 0].tolist() for _ in range(2)]

    first, second = orders(1)
    assert orders(1) == [first, second]
    assert first != second


def test_without_shuffle_batches_are_views_in_order():
    dataset = make_dataset(6)
    (X0, _), (X1, _) = SliceLoader(dataset, 3)
    X0, X1 = X0["X"], X1["X"]
    assert X0[:, 0].tolist() == [0, 1, 2] and X1[:, 0].tolist() == [3, 4, 5]
    assert X0.data_ptr() == dataset.X.data_ptr()


def test_rows_without_targets():
    ((X, y),) = SliceLoader(TensorDataset(torch.zeros(3, 2)), 8)
    assert X.shape == (3, 2) and y is None


# --- batch normalisation never sees a one-row batch ---------------------------------------


class WithBatchNorm(nn.Module):
    def __init__(self, n_features_in, n_classes):
        super().__init__()
        self.layers = nn.Sequential(
            nn.Linear(n_features_in, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Linear(8, n_classes)
        )

    def forward(self, X):
        return self.layers(X)


@pytest.mark.parametrize("n_rows", [33, 65, 97])  # n % batch_size == 1
@pytest.mark.parametrize("strategy", ["full", "linear_probe", "lp_ft", "gradual"])
def test_batch_norm_networks_train_whatever_the_row_count(n_rows, strategy, data):
    X, y = data
    X, y = X[:n_rows], y[:n_rows]
    params = {"module": WithBatchNorm, "batch_size": 32, "max_epochs": 2}
    source = TransferClassifier(**params, random_state=0).fit(X, y)
    TransferClassifier(source, strategy=strategy, probe_epochs=1, stage_epochs=1, **params).fit(
        X, y
    )
    DistilledClassifier(GaussianNB(), **params).fit(X, y)


def test_a_last_batch_of_one_row_joins_the_one_before():
    for shuffle in (False, True):
        loader = SliceLoader(make_dataset(9), batch_size=4, shuffle=shuffle)
        batches = list(loader)
        assert len(loader) == len(batches) == 2
        assert [len(rows(X)) for X, _ in batches] == [4, 5]
    assert [len(rows(X)) for X, _ in SliceLoader(make_dataset(1), batch_size=4)] == [1]


def test_the_dataset_says_whether_every_row_has_a_label():
    X = torch.zeros(3, 2)
    assert TensorDataset(X, torch.tensor([0, 1, 0])).all_labelled
    assert not TensorDataset(X, torch.tensor([0, -1, 0])).all_labelled
    assert not TensorDataset(X).all_labelled


@pytest.mark.parametrize("shuffle", [False, True])
def test_shards_split_every_batch_between_processes(shuffle):
    # Data parallelism: each process takes every count-th row of the same batch.
    def batches(n, shard):
        gen = torch.Generator().manual_seed(0)
        loader = SliceLoader(make_dataset(n), 4, shuffle=shuffle, generator=gen, shard=shard)
        return [rows(X)[:, 0].tolist() for X, _ in loader]

    whole = batches(12, (0, 1))
    first, second = batches(12, (0, 2)), batches(12, (1, 2))
    assert len(first) == len(second) == len(whole) == 3
    for batch, one, other in zip(whole, first, second, strict=True):
        assert one == batch[0::2] and other == batch[1::2]
    # A last batch too small to give each process two rows joins the one before.
    assert [len(b) for b in batches(11, (0, 2))] == [2, 4]
    assert [len(b) for b in batches(11, (1, 2))] == [2, 3]


def test_float_targets_are_labelled_unless_nan():
    X = torch.zeros(4, 2)
    assert TensorDataset(X, torch.tensor([[-1.0], [-2.0], [0.0], [3.0]])).all_labelled
    assert not TensorDataset(X, torch.tensor([[1.0], [float("nan")], [0.0], [3.0]])).all_labelled
    assert not TensorDataset(X, torch.tensor([0, -1, 1, 1])).all_labelled
