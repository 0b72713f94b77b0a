"""How many CPU threads torch uses while an estimator trains or predicts.

An estimator sets torch's thread count for the duration of a fit or a
prediction and puts back what it found. With torch's OpenMP backend the
count belongs to the calling thread, and a new thread starts from the last
value set in any thread: a thread that enters while another is inside may
find that one's temporary count, so it restores the count found by the first
to enter instead.
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
_inside = 0  # threads inside a torch_threads block, all threads together
_original = None  # the count the first of them found
_saved = threading.local()  # each thread's stack of counts to restore


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
        global _inside, _original
        if self.n is None:
            return
        stack = _saved.__dict__.setdefault("stack", [])
        with _lock:
            found = torch.get_num_threads()
            if _inside == 0:
                _original = found
            # Nested in this thread: the outer block's count; first in this thread
            # while another is inside: the count found before any block began.
            restore = found if _inside == 0 or stack else _original
            if found != self.n:
                torch.set_num_threads(self.n)  # may raise: then nothing to restore
            _inside += 1
        stack.append(restore)

    def __exit__(self, *exc):
        global _inside
        if self.n is None:
            return
        restore = _saved.stack.pop()
        with _lock:
            _inside -= 1
            if torch.get_num_threads() != restore:
                torch.set_num_threads(restore)
