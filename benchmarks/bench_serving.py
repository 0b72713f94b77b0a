"""Serving: size and prediction latency of teachers and their distilled students.

On 20,000 rows of a synthetic 10-class problem with 40 features (10,000 to
train, 10,000 to predict): a random forest (300 trees), gradient boosting
(``HistGradientBoostingClassifier``), the student distilled from the forest
with ``keep_teacher=False`` called in Python (``predict_proba``), and the same
student exported with :func:`sktkd.to_onnx` and run in onnxruntime. For each:
the test accuracy, the pickle's size (the ONNX model's for onnxruntime),
and the median time of
``predict_proba`` on one row and on the 10,000 rows, interleaved, one thread
everywhere (torch, numpy's BLAS, scikit-learn's OpenMP, onnxruntime), with
the speed-up over the forest.

    python benchmarks/bench_serving.py [--repeats 7]
"""

import argparse
import pickle
import statistics
import time

import numpy as np
import onnxruntime
import torch
from sklearn.datasets import make_classification
from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
from threadpoolctl import threadpool_limits

from sktkd import DistilledClassifier, to_onnx
from sktkd.metrics import teacher_agreement


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    torch.set_num_threads(1)
    X, y = make_classification(
        20_000, 40, n_informative=20, n_classes=10, n_clusters_per_class=2, random_state=0
    )
    X_train, y_train = X[:10_000], y[:10_000]
    X_test, y_test = X[10_000:].astype(np.float32), y[10_000:]
    with threadpool_limits(1):
        forest = RandomForestClassifier(300, n_jobs=1, random_state=0).fit(X_train, y_train)
        boosting = HistGradientBoostingClassifier(random_state=0).fit(X_train, y_train)
        student = DistilledClassifier(
            RandomForestClassifier(300, n_jobs=1, random_state=0),
            temperature=2.0,
            keep_teacher=False,
            max_epochs=30,
            random_state=0,
        ).fit(X_train, y_train)
        onx = to_onnx(student, X_train)
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = options.inter_op_num_threads = 1
        session = onnxruntime.InferenceSession(onx.SerializeToString(), options)
        models = {
            "random forest (300 trees)": (forest.predict_proba, len(pickle.dumps(forest))),
            "gradient boosting": (boosting.predict_proba, len(pickle.dumps(boosting))),
            "student, Python": (student.predict_proba, len(pickle.dumps(student))),
            "student, onnxruntime": (
                lambda rows: session.run(None, {"X": rows})[1],
                len(onx.SerializeToString()),
            ),
        }
        times = {}
        for rows, calls in ((1, 200), (10_000, 3)):
            batch = X_test[:rows]
            for _ in range(args.repeats):
                for name, (predict, _) in models.items():
                    predict(batch)  # warm
                    start = time.perf_counter()
                    for _ in range(calls):
                        predict(batch)
                    times.setdefault((rows, name), []).append((time.perf_counter() - start) / calls)
    median = {key: statistics.median(t) for key, t in times.items()}
    agreement = teacher_agreement(student, X_test, teacher=forest)
    print(
        f"Serving: 10,000 test rows x 40 features, 10 classes, 1 thread, median of "
        f"{args.repeats} runs; the student agrees with the forest on {agreement:.3f} of them\n"
    )
    print("| model | test accuracy | size | 1 row | speed-up | 10,000 rows | speed-up |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    forest_name = "random forest (300 trees)"
    for name, (predict, size) in models.items():
        one, many = median[1, name], median[10_000, name]
        with threadpool_limits(1):
            accuracy = np.mean(np.argmax(predict(X_test), axis=1) == y_test)
        print(
            f"| {name} | {accuracy:.3f} | {size / 1e3:,.0f} kB | {one * 1e3:.3f} ms | "
            f"{median[1, forest_name] / one:.0f}x | {many * 1e3:.1f} ms | "
            f"{median[10_000, forest_name] / many:.0f}x |",
            flush=True,
        )


if __name__ == "__main__":
    main()
