"""How many CPU threads torch uses while an estimator trains or predicts.

torch's thread count is one setting for the whole process. An estimator sets
it for the duration of a fit or a prediction and puts back what it found;
fits running at once in several threads share one saved value, restored when
the last of them ends.
"""

import threading

import torch

# Below these sizes of a batch (rows x the network's parameters), one thread
# is faster than two even on an idle machine (5-20%), and far faster on a busy
# one, where threads wait for each other at every operation. Measured with
# torch 2.13 on two cores (benchmarks/README.md, "Threads").
SMALL_TRAINING_BATCH = 10_000_000
SMALL_PREDICTION_BATCH = 2_000_000

_lock = threading.Lock()
_users = 0
_found = None


def threads_for(n_threads, batch_size, n_params, small):
    """The estimator's ``n_threads`` for batches of ``batch_size`` rows through ``n_params``.

    ``None``: one thread for a batch smaller than ``small`` (rows x
    parameters), else torch's current setting (``None`` here); an int: that many.
    """
    if n_threads is not None:
        return n_threads
    return 1 if batch_size * n_params < small else None


class torch_threads:
    """Context: ``torch.set_num_threads(n)`` inside (``None``: as it is), restored after."""

    def __init__(self, n):
        self.n = n

    def __enter__(self):
        global _users, _found
        if self.n is None:
            return
        with _lock:
            if _users == 0:
                _found = torch.get_num_threads()
            _users += 1
            if torch.get_num_threads() != self.n:
                torch.set_num_threads(self.n)

    def __exit__(self, *exc):
        global _users
        if self.n is None:
            return
        with _lock:
            _users -= 1
            if _users == 0 and torch.get_num_threads() != _found:
                torch.set_num_threads(_found)
