"""How many CPU threads torch uses while an estimator trains or predicts.

An estimator sets torch's thread count for the duration of a fit or a
prediction and puts back what it found. With torch's OpenMP backend the
count belongs to the calling thread, and a thread that starts using torch
takes the last count set in any thread: one started while another thread is
inside a block may have that block's temporary count. A thread entering
while another is inside, and finding exactly a count such a block set, gets
back the count the first of them found (the count all had before); any other
count it finds is its own, and it gets that back.
"""

import threading

import torch

# Below these sizes of a batch (rows x the network's parameters), one thread
# is as fast as two on an idle machine, and far faster on a busy
# one, where threads wait for each other at every operation. Measured with
# torch 2.13 on two cores (benchmarks/README.md, "Threads").
SMALL_TRAINING_BATCH = 10_000_000
SMALL_PREDICTION_BATCH = 2_000_000

_lock = threading.Lock()
_inside = 0  # threads inside a torch_threads block, all threads together
_original = None  # the count the first of them found
_temporary = []  # the counts the blocks inside set
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
            # Nested in this thread: the outer block's count. First in this thread
            # while another is inside, with the count that one set: inherited.
            inherited = not stack and found in _temporary
            restore = _original if inherited else found
            if found != self.n:
                torch.set_num_threads(self.n)  # may raise: then nothing to restore
            _inside += 1
            _temporary.append(self.n)
        stack.append(restore)

    def __exit__(self, *exc):
        global _inside
        if self.n is None:
            return
        restore = _saved.stack.pop()
        with _lock:
            _inside -= 1
            _temporary.remove(self.n)
            if torch.get_num_threads() != restore:
                torch.set_num_threads(restore)
