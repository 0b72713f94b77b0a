"""A grid search over the student's parameters: the teacher fitted once per fold.

``GridSearchCV`` over ``temperature`` x ``alpha`` (2 x 2, ``cv=3``) of a
``DistilledClassifier`` whose teacher is a ``RandomForestClassifier(100)``, on
30,000 x 20 rows: without a cache the search fits the teacher for every
candidate and fold and once more for the refit (13 fits); with
``teacher_memory`` once per fold and for the refit (4), the soft labels too.
Both searches must give the same ``cv_results_``. With ``--dask``, the cached
search also runs on a ``distributed.LocalCluster`` of two single-threaded
workers, and with loky's ``n_jobs=2``.

    python benchmarks/bench_search.py           # about 3 minutes on two cores
    python benchmarks/bench_search.py --dask
"""

import argparse
import contextlib
import tempfile
import time
import warnings

import joblib
import numpy as np
import torch
from sklearn.datasets import make_classification
from sklearn.ensemble import RandomForestClassifier
from sklearn.model_selection import GridSearchCV

from sktkd import DistilledClassifier


class CountingForest(RandomForestClassifier):
    """A forest that counts its fits in a file."""

    def fit(self, X, y, sample_weight=None):
        with open(COUNT_FILE, "a") as f:
            f.write("x")
        return super().fit(X, y, sample_weight)


COUNT_FILE = tempfile.mktemp()


def fits():
    """Teacher fits since the last call."""
    with open(COUNT_FILE, "a+") as f:
        f.seek(0)
        count = len(f.read())
        f.truncate(0)
    return count


def search(X, y, memory, n_jobs=None, backend=None):
    # Worker processes cannot pickle a class of this script's __main__: they get
    # the forest itself, and its fits go uncounted.
    forest = RandomForestClassifier if n_jobs or backend else CountingForest
    student = DistilledClassifier(
        forest(100, random_state=0, n_jobs=1),
        teacher_memory=memory,
        max_epochs=5,
        random_state=0,
        n_threads=1,
    )
    grid = {"temperature": [1.0, 3.0], "alpha": [0.3, 0.7]}
    start = time.perf_counter()
    with joblib.parallel_backend(backend) if backend else contextlib.nullcontext():
        result = GridSearchCV(student, grid, cv=3, n_jobs=n_jobs).fit(X, y)
    return time.perf_counter() - start, fits() if forest is CountingForest else None, result


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dask", action="store_true")
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    torch.set_num_threads(1)
    X, y = make_classification(30_000, 20, n_informative=10, n_classes=3, random_state=0)
    fits()
    rows = [("sequential, no cache", *search(X, y, None))]
    with tempfile.TemporaryDirectory() as cache:
        rows.append(("sequential, teacher_memory", *search(X, y, cache)))
    if args.dask:
        from distributed import Client, LocalCluster

        with tempfile.TemporaryDirectory() as cache:
            rows.append(("loky n_jobs=2, teacher_memory", *search(X, y, cache, n_jobs=2)))
        with (
            tempfile.TemporaryDirectory() as cache,
            LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=None) as cluster,
            Client(cluster),
        ):
            rows.append(("dask 2 workers, teacher_memory", *search(X, y, cache, backend="dask")))
    reference = rows[0][3].cv_results_["mean_test_score"]
    print(
        "GridSearchCV, 2 x 2 grid (temperature, alpha), cv=3, teacher RandomForestClassifier(100), "
        "30,000 x 20 rows, student 5 epochs, 1 thread per fit\n"
    )
    print("| search | time (s) | vs no cache | teacher fits | same cv_results_ |")
    print("|---|---:|---:|---:|---|")
    for name, seconds, count, result in rows:
        same = np.array_equal(result.cv_results_["mean_test_score"], reference)
        count = "not counted" if count is None else count
        print(f"| {name} | {seconds:.1f} | {seconds / rows[0][1]:.2f}x | {count} | {same} |")


if __name__ == "__main__":
    main()
