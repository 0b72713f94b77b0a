"""Training on data larger than memory: partial_fit over chunks of a file, peak memory.

Writes ``--rows`` x 50 float32 rows (2,000,000 by default: 400 MB) to a ``.npy``
file, a chunk at a time, with three classes from a random two-layer rule; a
``HistGradientBoostingClassifier`` fitted on the first 100,000 rows is the
teacher. Each contender runs in a fresh process and
trains ``--passes`` passes over the file, ``--chunk`` rows at a time, each
chunk read from the file and dropped before the next, and is scored on the
last 100,000 rows:

- ``DistilledClassifier(teacher).partial_fit``: the fitted teacher labels
  each chunk once per pass, or once in all with ``teacher_memory`` (a cache
  on disk, keyed by the chunk's rows);
- ``MLPClassifier.partial_fit`` and ``SGDClassifier.partial_fit`` (after a
  ``StandardScaler.partial_fit`` pass), scikit-learn's out-of-core learners;
- for reference, ``DistilledClassifier.fit`` on the whole array in memory
  (one epoch per pass), the peak that out-of-core training avoids.

Peak memory is the process's resident set (``/proc/self/status``, sampled
every 2 ms; Linux) above its baseline after imports and the teacher's fit,
and the part of it that is anonymous memory (not file pages).

    python benchmarks/bench_scale.py                 # 2,000,000 rows, about 4 minutes
    python benchmarks/bench_scale.py --rows 400000   # quicker
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import warnings

import numpy as np

N_FEATURES, N_CLASSES, TEST_ROWS, TEACHER_ROWS = 50, 3, 100_000, 100_000


def memory():
    """(resident, anonymous resident) in MB, from /proc/self/status."""
    values = {}
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(("VmRSS:", "RssAnon:")):
                key, value = line.split(":")
                values[key] = int(value.split()[0]) / 1024
    return values["VmRSS"], values.get("RssAnon", values["VmRSS"])


class PeakMemory:
    """Highest (resident, anonymous) memory while the block runs, sampled every 2 ms."""

    def __enter__(self):
        self.base = memory()
        self.peak = self.base
        self.running = True
        self.thread = threading.Thread(target=self._sample, daemon=True)
        self.thread.start()
        return self

    def _sample(self):
        while self.running:
            now = memory()
            self.peak = (max(self.peak[0], now[0]), max(self.peak[1], now[1]))
            time.sleep(0.002)

    def __exit__(self, *exc):
        self.running = False
        self.thread.join()
        self.peak = (max(self.peak[0], memory()[0]), max(self.peak[1], memory()[1]))


def write_data(path, n_rows, seed=0):
    """X (float32, n_rows x 50) to ``path`` a chunk at a time, and y (int64) beside it."""
    rng = np.random.default_rng(seed)
    w1 = rng.normal(size=(N_FEATURES, 16)) / np.sqrt(N_FEATURES)
    w2 = rng.normal(size=(16, N_CLASSES)) * 2
    X = np.lib.format.open_memmap(path, mode="w+", dtype=np.float32, shape=(n_rows, N_FEATURES))
    y = np.empty(n_rows, dtype=np.int64)
    for start in range(0, n_rows, 100_000):
        rows = slice(start, min(start + 100_000, n_rows))
        x = rng.normal(size=(rows.stop - rows.start, N_FEATURES)) * 3 + 10
        X[rows] = x
        y[rows] = np.argmax(np.tanh((x - 10) / 3 @ w1) @ w2, axis=1)
    X.flush()
    del X
    np.save(path + ".y.npy", y)


def chunks(path, n_train, size):
    """(X, y) chunks of the training rows: each read from the file, its pages then unmapped."""
    y = np.load(path + ".y.npy", mmap_mode="r")
    for start in range(0, n_train, size):
        stop = min(start + size, n_train)
        X = np.load(path, mmap_mode="r")
        yield np.array(X[start:stop]), np.array(y[start:stop])
        del X  # the map goes, and its file pages leave the resident set


TEACHER_SECONDS = [0.0]  # outside the teacher: teacher_memory keys on its pickle


class TimedTeacher:
    """A fitted teacher used as it is (no fit), timing its predict_proba."""

    def __init__(self, model):
        self.model, self.classes_ = model, model.classes_

    def predict_proba(self, X):
        start = time.perf_counter()
        proba = self.model.predict_proba(X)
        TEACHER_SECONDS[0] += time.perf_counter() - start
        return proba


def run_one(name, path, passes, chunk):
    import torch
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.frozen import FrozenEstimator
    from sklearn.linear_model import SGDClassifier
    from sklearn.neural_network import MLPClassifier
    from sklearn.preprocessing import StandardScaler

    from sktkd import DistilledClassifier

    warnings.simplefilter("ignore")
    torch.set_num_threads(1)
    n_rows = len(np.load(path + ".y.npy", mmap_mode="r"))
    n_train = n_rows - TEST_ROWS
    X_raw = X_test = np.array(np.load(path, mmap_mode="r")[n_train:])
    y_test = np.load(path + ".y.npy")[n_train:]
    X_first, y_first = next(chunks(path, TEACHER_ROWS, TEACHER_ROWS))
    teacher = HistGradientBoostingClassifier(max_iter=100, random_state=0).fit(X_first, y_first)
    del X_first, y_first
    classes = np.arange(N_CLASSES)
    timed = TimedTeacher(teacher)
    cache = tempfile.mkdtemp() if "teacher_memory" in name else None
    student = DistilledClassifier(
        timed, teacher_memory=cache, keep_teacher=False, random_state=0, max_epochs=passes
    )
    # One-time costs (imports, torch's first optimizer) out of the measure.
    DistilledClassifier(FrozenEstimator(teacher), max_epochs=1).fit(X_test[:200], y_test[:200])
    TEACHER_SECONDS[0] = 0.0
    start = time.perf_counter()
    with PeakMemory() as peak:
        if name == "sktkd fit in memory":
            X = np.load(path)[:n_train]
            y = np.load(path + ".y.npy")[:n_train]
            model = student.fit(X, y)
            del X, y
        elif name.startswith("sktkd partial_fit"):
            model = student
            for _ in range(passes):
                for X, y in chunks(path, n_train, chunk):
                    model.partial_fit(X, y, classes=classes)
        else:
            scaler = StandardScaler()
            for X, _ in chunks(path, n_train, chunk):
                scaler.partial_fit(X)
            if name == "MLPClassifier partial_fit":
                model = MLPClassifier(batch_size=64, random_state=0)
            else:
                model = SGDClassifier(loss="log_loss", random_state=0)
            for _ in range(passes):
                for X, y in chunks(path, n_train, chunk):
                    model.partial_fit(scaler.transform(X), y, classes=classes)
            X_test = scaler.transform(X_test)
    seconds = time.perf_counter() - start
    predicted = model.predict(X_test)
    expected = teacher.predict(X_raw)
    return {
        "seconds": seconds,
        "teacher_seconds": TEACHER_SECONDS[0],
        "rss": peak.peak[0] - peak.base[0],
        "anon": peak.peak[1] - peak.base[1],
        "accuracy": float(np.mean(predicted == y_test)),
        "agreement": float(np.mean(predicted == expected)),
        "teacher_accuracy": float(np.mean(expected == y_test)),
    }


CONTENDERS = [
    "sktkd partial_fit",
    "sktkd partial_fit, teacher_memory",
    "MLPClassifier partial_fit",
    "SGDClassifier partial_fit",
    "sktkd fit in memory",
]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=2_000_000)
    parser.add_argument("--chunk", type=int, default=100_000)
    parser.add_argument("--passes", type=int, default=2)
    parser.add_argument("--one", help=argparse.SUPPRESS)
    parser.add_argument("--path", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(run_one(args.one, args.path, args.passes, args.chunk)))
        return
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "X.npy")
        write_data(path, args.rows)
        size = os.path.getsize(path) / 2**20
        results = {}
        for name in CONTENDERS:
            out = subprocess.run(
                [
                    sys.executable,
                    __file__,
                    "--one",
                    name,
                    "--path",
                    path,
                    "--passes",
                    str(args.passes),
                    "--chunk",
                    str(args.chunk),
                ],
                capture_output=True,
                text=True,
                check=True,
            )
            results[name] = json.loads(out.stdout.strip().splitlines()[-1])
    teacher = results["sktkd partial_fit"]["teacher_accuracy"]
    print(
        f"{args.rows:,} x {N_FEATURES} float32 rows ({size:,.0f} MB file), {args.passes} passes "
        f"of chunks of {args.chunk:,} rows, test on the last {TEST_ROWS:,}; teacher "
        f"HistGradientBoostingClassifier (fitted on {TEACHER_ROWS:,} rows), test accuracy "
        f"{teacher:.3f}; 1 thread\n"
    )
    print(
        "| contender | time (s) | of which the teacher (s) | peak RSS above baseline (MB) "
        "| of which anonymous (MB) | test accuracy | agreement with teacher |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|")
    for name, r in results.items():
        print(
            f"| {name} | {r['seconds']:.1f} | {r['teacher_seconds']:.1f} | {r['rss']:.0f} "
            f"| {r['anon']:.0f} | {r['accuracy']:.3f} | {r['agreement']:.3f} |"
        )


if __name__ == "__main__":
    main()
