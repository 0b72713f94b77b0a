import torch

from sktkd._batches import SliceLoader, Targets, TensorDataset


def make_dataset(n=10):
    X = torch.arange(n, dtype=torch.float32).reshape(n, 1)
    targets = Targets(torch.arange(n), 10.0 * torch.arange(n).reshape(n, 1), None)
    return TensorDataset(X, targets)


def test_every_row_once_per_pass_in_batches_of_the_given_size():
    loader = SliceLoader(
        make_dataset(10), batch_size=4, shuffle=True, generator=torch.Generator().manual_seed(0)
    )
    batches = list(loader)
    assert len(loader) == len(batches) == 3
    assert [len(X) for X, _ in batches] == [4, 4, 2]
    seen = torch.cat([X[:, 0] for X, _ in batches])
    assert sorted(seen.tolist()) == list(range(10))


def test_soft_labels_stay_with_their_rows_when_shuffled():
    for X, targets in SliceLoader(make_dataset(50), 7, shuffle=True):
        row = X[:, 0].long()
        assert torch.equal(targets.labels, row)
        assert torch.equal(targets.teacher_logits[:, 0], 10.0 * row)
        assert targets.sample_weight is None


def test_shuffling_is_repeatable_with_a_seeded_generator_and_new_each_pass():
    def orders(seed):
        loader = SliceLoader(
            make_dataset(20), 20, shuffle=True, generator=torch.Generator().manual_seed(seed)
        )
        return [next(iter(loader))[0][:, 0].tolist() for _ in range(2)]

    first, second = orders(1)
    assert orders(1) == [first, second]
    assert first != second


def test_without_shuffle_batches_are_views_in_order():
    dataset = make_dataset(6)
    (X0, _), (X1, _) = SliceLoader(dataset, 3)
    assert X0[:, 0].tolist() == [0, 1, 2] and X1[:, 0].tolist() == [3, 4, 5]
    assert X0.data_ptr() == dataset.X.data_ptr()


def test_rows_without_targets():
    ((X, y),) = SliceLoader(TensorDataset(torch.zeros(3, 2)), 8)
    assert X.shape == (3, 2) and y is None
