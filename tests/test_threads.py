"""Threads: one for small networks, the user's choice otherwise, the setting restored."""

import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
import torch
from sklearn.datasets import make_classification
from sklearn.naive_bayes import GaussianNB
from torch import nn

from sktkd import DistilledClassifier, TransferClassifier
from sktkd._threads import torch_threads


class Recorder(nn.Module):
    """An MLP that notes torch's thread count at each forward pass."""

    seen = []

    def __init__(self, n_features_in, n_classes, width=8):
        super().__init__()
        self.layers = nn.Sequential(
            nn.Linear(n_features_in, width), nn.ReLU(), nn.Linear(width, n_classes)
        )

    def forward(self, X):
        Recorder.seen.append(torch.get_num_threads())
        return self.layers(X)


@pytest.fixture
def process_threads():
    """The process at 3 threads (what a user set), put back after the test."""
    before = torch.get_num_threads()
    torch.set_num_threads(3)
    yield 3
    torch.set_num_threads(before)


@pytest.fixture
def data():
    return make_classification(200, 8, n_informative=5, n_classes=3, random_state=0)


def fit(X, y, **params):
    Recorder.seen = []
    params = {"module": Recorder, "max_epochs": 2, "batch_size": 32, "random_state": 0, **params}
    return TransferClassifier(**params).fit(X, y)


def test_a_small_network_trains_and_predicts_on_one_thread(process_threads, data):
    X, y = data
    model = fit(X, y)
    assert set(Recorder.seen) == {1}
    assert torch.get_num_threads() == process_threads  # restored
    Recorder.seen = []
    model.predict_proba(X)
    assert Recorder.seen == [1] and torch.get_num_threads() == process_threads


def test_n_threads_sets_them_for_fit_and_predict(process_threads, data):
    X, y = data
    model = fit(X, y, n_threads=2)
    assert set(Recorder.seen) == {2}
    Recorder.seen = []
    model.predict(X)
    assert Recorder.seen == [2] and torch.get_num_threads() == process_threads


def test_a_large_batch_keeps_the_process_setting(process_threads, data):
    X, y = data
    fit(X, y, module__width=20_000, batch_size=200)  # 200 rows x 240,000 parameters
    # The two training batches (and the check on the training rows); a check
    # of the output on two rows is small work, on one thread.
    assert Recorder.seen.count(process_threads) == 3


def test_the_setting_is_restored_when_a_fit_fails(process_threads, data):
    X, y = data
    with pytest.raises(ValueError, match="diverged"):
        fit(X * 1e30, y, lr=1e30)
    assert torch.get_num_threads() == process_threads


def test_concurrent_fits_restore_the_setting_once_all_end(process_threads, data):
    X, y = data

    def one(seed):
        model = DistilledClassifier(GaussianNB(), max_epochs=3, random_state=seed)
        return model.fit(X, y).predict(X)

    with ThreadPoolExecutor(4) as pool:
        predictions = list(pool.map(one, range(8)))
    assert all(len(p) == len(y) for p in predictions)
    assert torch.get_num_threads() == process_threads


def test_nested_uses_restore_in_turn(process_threads):
    with torch_threads(1):
        with torch_threads(2):
            assert torch.get_num_threads() == 2
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == process_threads
    with torch_threads(None):
        assert torch.get_num_threads() == process_threads


@pytest.mark.parametrize("bad", [0, -1, 1.5, "2"])
def test_n_threads_must_be_a_positive_int(bad, data):
    X, y = data
    with pytest.raises((ValueError, TypeError), match="n_threads"):
        TransferClassifier(n_threads=bad, max_epochs=1).fit(X, y)


def test_results_do_not_depend_on_the_thread_count(data):
    X, y = data
    one, two = (
        DistilledClassifier(GaussianNB(), max_epochs=3, random_state=0, n_threads=n).fit(X, y)
        for n in (1, 2)
    )
    np.testing.assert_allclose(one.predict_proba(X), two.predict_proba(X), atol=1e-5)


@pytest.mark.parametrize("bad", [True, 4097])
def test_bad_counts_are_refused_before_anything_changes(bad, data, process_threads):
    X, y = data
    with pytest.raises((ValueError, TypeError), match="n_threads"):
        TransferClassifier(n_threads=bad, max_epochs=1).fit(X, y)
    TransferClassifier(max_epochs=1, n_threads=2).fit(X, y)
    assert torch.get_num_threads() == process_threads


def new_thread_count():
    seen = []
    thread = threading.Thread(target=lambda: seen.append(torch.get_num_threads()))
    thread.start()
    thread.join()
    return seen[0]


def test_a_thread_entering_while_another_is_inside_restores_the_count_found_first(
    process_threads,
):
    """A thread started while another holds 1 thread starts with 1 (torch's OpenMP
    backend): on leaving, it restores the count found before any block began."""
    inside, done, seen = threading.Event(), threading.Event(), {}

    def first():
        with torch_threads(1):
            inside.set()
            done.wait()
        seen["first"] = torch.get_num_threads()

    def second():
        inside.wait()
        with torch_threads(2):
            pass
        seen["second"] = torch.get_num_threads()
        done.set()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert seen == {"first": process_threads, "second": process_threads}
    assert new_thread_count() == process_threads


def test_estimators_pickled_before_n_threads_existed_still_predict(data):
    X, y = data
    model = fit(X, y)
    del model.__dict__["n_threads"]  # as an older pickle holds it
    assert model.get_params()["n_threads"] is None
    assert len(model.predict(X)) == len(y)


def test_a_thread_keeps_its_own_count_while_another_is_inside(process_threads):
    """A count a thread chose itself (not one a block set) is what it gets back."""
    inside, done, seen = threading.Event(), threading.Event(), {}

    def worker():
        torch.set_num_threads(1)  # its own choice
        with torch_threads(1):
            inside.set()
            done.wait()
        seen["worker"] = torch.get_num_threads()

    thread = threading.Thread(target=worker)
    thread.start()
    inside.wait()
    with torch_threads(2):
        pass
    seen["main"] = torch.get_num_threads()
    done.set()
    thread.join()
    assert seen == {"main": process_threads, "worker": 1}
