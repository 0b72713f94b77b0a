"""In-memory batches: tensors sliced per batch instead of fetched row by row.

skorch's default ``DataLoader`` path collates one row at a time (about 6 µs a
row); tabular data fits in memory, so a batch is one indexing operation.
"""

import skorch.dataset
import torch


class TensorDataset(skorch.dataset.Dataset):
    """Rows ``X`` (a float32 tensor), their labels ``y``, and what the loss alone needs.

    A batch is ``(X, y)`` as skorch and its callbacks expect, ``y`` the encoded
    class indices (``-1``: no label) or standardised targets (NaN: no label).
    Per-row terms of the loss (``extras``, e.g. ``teacher_logits`` and
    ``sample_weight``) travel with ``X``: a batch's ``X`` is then the dict
    ``{"X": rows, **extras}``, which the net unpacks
    (:meth:`sktkd._net.Net.infer`, :meth:`~sktkd._net.Net.get_loss`). Scorers
    and callbacks thus read labels where they read ``y``; being a skorch
    ``Dataset``, it also gives them ``X`` and ``y`` whole
    (``EpochScoring(use_caching=False)``).
    """

    def __init__(self, X, y=None, extras=None):
        # Not skorch's __init__: it would wrap arrays, and ours are tensors already.
        self.X = X
        self.y = y
        self.extras = {k: v for k, v in (extras or {}).items() if v is not None}
        # No row without a label (class code -1, or NaN targets): the loss can take
        # plain means (one check per fit).
        self.all_labelled = y is not None and bool(
            (~y.isnan()).all() if y.is_floating_point() else (y >= 0).all()
        )

    def __len__(self):
        return len(self.X)

    def __getitem__(self, index):
        # ``index`` is a slice (a view, no copy) or a tensor of row indices.
        X, y = _take(self.X, index), _take(self.y, index)
        if self.extras:
            X = {"X": X, **{k: _take(v, index) for k, v in self.extras.items()}}
        return X, y


def _take(tensor, index):
    if tensor is None or isinstance(index, slice):
        return None if tensor is None else tensor[index]
    return tensor.index_select(0, index)


class SliceLoader:
    """Iterate over a :class:`TensorDataset` in batches of ``batch_size`` rows.

    Parameters
    ----------
    dataset : TensorDataset
    batch_size : int
    shuffle : bool, default=False
        Draw a new row order for each pass.
    generator : torch.Generator, default=None
        Source of the shuffling order, for repeatable fits.
    rows_per_epoch : int, default=None
        With ``shuffle``, a pass visits this many rows, drawn afresh without
        replacement each time; ``None``: all of them.
    shard : (int, int), default=(0, 1)
        ``(index, count)``: of each batch, this process takes every ``count``-th
        row from the ``index``-th, as data parallelism over ``count`` processes
        (with the same generator) needs. Batch sizes and counts stay those of
        one process.
    """

    def __init__(
        self, dataset, batch_size, shuffle=False, generator=None, rows_per_epoch=None, shard=(0, 1)
    ):
        self.dataset = dataset
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.generator = generator
        self.rows_per_epoch = rows_per_epoch
        self.shard = shard

    def _n_rows(self):
        n = len(self.dataset)
        return n if self.rows_per_epoch is None or not self.shuffle else min(n, self.rows_per_epoch)

    def _bounds(self):
        """(start, stop) of each batch. A last batch of one row (per process)
        joins the one before it: batch normalisation cannot train on a single row."""
        n, size = self._n_rows(), self.batch_size
        starts = list(range(0, n, size))
        if len(starts) > 1 and n - starts[-1] < 2 * self.shard[1]:
            starts.pop()
        return list(zip(starts, [*starts[1:], n], strict=True))

    def __len__(self):
        return len(self._bounds())

    def __iter__(self):
        index, count = self.shard
        if not self.shuffle:
            for start, stop in self._bounds():
                yield self.dataset[start + index : stop : count]
            return
        order = torch.randperm(len(self.dataset), generator=self.generator)[: self._n_rows()]
        order = order.to(self.dataset.X.device)
        for start, stop in self._bounds():
            yield self.dataset[order[start + index : stop : count]]
