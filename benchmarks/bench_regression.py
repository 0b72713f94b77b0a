"""Regression: distilling forests and boosting into a small network, and transfer.

Compression. For load_diabetes, make_friedman1 (2,000 rows, noise 1) and a
200,000-row make_friedman1 set (20 features, 10 of them noise), seeded
train/test splits (75/25), two teachers (a 300-tree random forest,
histogram gradient boosting) and these models:

- MLPRegressor: scikit-learn's, ``hidden_layer_sizes=(100,)``, what a user
  would fit instead;
- student alone: DistilledRegressor with ``alpha=0`` (``y`` only);
- distilled: sktkd's defaults, the fitted teacher's predictions;
- distilled + MUNGE: ``augment="munge"``, 5 synthetic rows per training row;
- distilled + OOF: ``teacher_cv=5``, out-of-fold predictions.

Reported: test R² against the truth, test R² against the teacher's
predictions (fidelity), and (first seed) the ``predict`` time of the teacher
and of the distilled student on 100,000 rows, one thread each, median of 3
calls. On the 200,000-row set the students train for 10 epochs in batches of
256, the forest has 100 trees of at least 5 rows a leaf, and out-of-fold
predictions are measured for boosting only (five refits of the forest take
too long on two cores).

Transfer. A source task, make_friedman1 (5,000 rows), and a related target
task on the same features: ``y_t = 0.5 * friedman1(x) + 3 * x_5 - 2`` (a
feature the source ignores, other units). With 20 and 50 target rows:
TransferRegressor from the source network (``lp_ft``, ``full``) against
training from scratch (TransferRegressor without source, MLPRegressor,
HistGradientBoostingRegressor); test R² on 5,000 target rows.

    python benchmarks/bench_regression.py [--seeds 3] [--n-jobs 2]
"""

import argparse
import statistics
import time

import numpy as np
import torch
from joblib import Parallel, delayed
from sklearn.datasets import load_diabetes, make_friedman1
from sklearn.ensemble import HistGradientBoostingRegressor, RandomForestRegressor
from sklearn.frozen import FrozenEstimator
from sklearn.metrics import r2_score
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPRegressor
from threadpoolctl import threadpool_limits

from sktkd import DistilledRegressor, TransferRegressor

LARGE = "make_friedman1 200k"
DATASETS = {
    "diabetes": lambda: load_diabetes(return_X_y=True),
    "make_friedman1": lambda: make_friedman1(2_000, noise=1.0, random_state=0),
    LARGE: lambda: make_friedman1(200_000, n_features=20, noise=1.0, random_state=0),
}
TEACHERS = {
    "random forest": lambda seed, large: RandomForestRegressor(
        100 if large else 300, min_samples_leaf=5 if large else 1, random_state=seed
    ),
    "gradient boosting": lambda seed, large: HistGradientBoostingRegressor(random_state=seed),
}
MODELS = ["MLPRegressor", "student alone", "distilled", "distilled + MUNGE", "distilled + OOF"]
TIMED_ROWS = 100_000


def median_time(fn, X, repeats=3):
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn(X)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def compress(data, seed):
    """Rows (data, teacher, model, R², fidelity) and timings for one split."""
    torch.set_num_threads(1)
    with threadpool_limits(1):
        X, y = DATASETS[data]()
        X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=0.25, random_state=seed)
        large = data == LARGE
        fit_params = {"max_epochs": 10, "batch_size": 256} if large else {}
        rows, timings = [], []
        for name, make_teacher in TEACHERS.items():
            teacher = make_teacher(seed, large).fit(X_tr, y_tr)
            decided = teacher.predict(X_te)
            rows.append((data, name, "teacher", r2_score(y_te, decided), None))
            frozen = FrozenEstimator(teacher)
            models = {
                "MLPRegressor": MLPRegressor(random_state=seed, max_iter=10 if large else 200),
                "student alone": DistilledRegressor(frozen, alpha=0.0),
                "distilled": DistilledRegressor(frozen),
                "distilled + MUNGE": DistilledRegressor(frozen, augment="munge"),
                "distilled + OOF": DistilledRegressor(make_teacher(seed, large), teacher_cv=5),
            }
            for model_name, model in models.items():
                if large and "OOF" in model_name and "boosting" not in name:
                    continue
                if model_name != "MLPRegressor":
                    model.set_params(random_state=seed, **fit_params)
                model.fit(X_tr, y_tr)
                pred = model.predict(X_te)
                rows.append((data, name, model_name, r2_score(y_te, pred), r2_score(decided, pred)))
                if seed == 0 and model_name == "distilled":
                    X_time = np.resize(X_te, (TIMED_ROWS, X_te.shape[1]))
                    timings.append(
                        (
                            data,
                            name,
                            median_time(teacher.predict, X_time),
                            median_time(model.predict, X_time),
                        )
                    )
        return rows, timings


def target_task(X):
    """The target task: half the source's function, plus a feature it ignores."""
    return 0.5 * make_friedman1_function(X) + 3 * X[:, 5] - 2


def make_friedman1_function(X):
    return (
        10 * np.sin(np.pi * X[:, 0] * X[:, 1])
        + 20 * (X[:, 2] - 0.5) ** 2
        + 10 * X[:, 3]
        + 5 * X[:, 4]
    )


def transfer(n_rows, seed):
    """Rows (n_rows, model, R²) for one draw of target rows."""
    torch.set_num_threads(1)
    with threadpool_limits(1):
        X_s, y_s = make_friedman1(5_000, noise=1.0, random_state=100)
        source = TransferRegressor(max_epochs=50, random_state=0).fit(X_s, y_s)
        rng = np.random.default_rng(seed)
        X_t = rng.random((n_rows + 5_000, 10))
        y_t = target_task(X_t) + rng.normal(0, 0.5, len(X_t))
        X_tr, y_tr, X_te, y_te = X_t[:n_rows], y_t[:n_rows], X_t[n_rows:], y_t[n_rows:]
        models = {
            "TransferRegressor, lp_ft": TransferRegressor(source, random_state=seed),
            "TransferRegressor, full": TransferRegressor(
                source, strategy="full", random_state=seed
            ),
            "from scratch: TransferRegressor": TransferRegressor(random_state=seed),
            "from scratch: MLPRegressor": MLPRegressor(max_iter=2_000, random_state=seed),
            "from scratch: HistGradientBoosting": HistGradientBoostingRegressor(
                min_samples_leaf=5, random_state=seed
            ),
        }
        return [
            (n_rows, name, r2_score(y_te, model.fit(X_tr, y_tr).predict(X_te)))
            for name, model in models.items()
        ]


def mean_std(values):
    return f"{np.mean(values):.3f} ± {np.std(values):.3f}"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--n-jobs", type=int, default=2)
    parser.add_argument("--datasets", nargs="+", default=list(DATASETS))
    args = parser.parse_args()

    # The large set first: its jobs are the longest.
    jobs = [delayed(compress)(d, s) for d in reversed(args.datasets) for s in range(args.seeds)]
    jobs += [delayed(transfer)(n, s) for n in (20, 50) for s in range(args.seeds)]
    out = Parallel(n_jobs=args.n_jobs)(jobs)
    results, timings, transferred = {}, [], {}
    for answer in out:
        if isinstance(answer, tuple):
            rows, times = answer
            timings += times
            for data, teacher, model, r2, fidelity in rows:
                results.setdefault((data, teacher, model), []).append((r2, fidelity))
        else:
            for n_rows, model, r2 in answer:
                transferred.setdefault((n_rows, model), []).append(r2)

    print(f"Test R² and fidelity (R² against the teacher), mean ± std over {args.seeds} seeds\n")
    print("| data | teacher | model | test R² | fidelity |")
    print("|---|---|---|---:|---:|")
    for data in args.datasets:
        for teacher in TEACHERS:
            for model in ["teacher", *MODELS]:
                if (data, teacher, model) not in results:
                    continue
                r2, fidelity = zip(*results[(data, teacher, model)], strict=True)
                shown = "" if model == "teacher" else mean_std(fidelity)
                print(f"| {data} | {teacher} | {model} | {mean_std(r2)} | {shown} |")

    print(f"\npredict on {TIMED_ROWS:,} rows, one thread, median of 3 (seed 0)\n")
    print("| data | teacher | teacher (s) | distilled student (s) | speed-up |")
    print("|---|---|---:|---:|---:|")
    for data, teacher, t_teacher, t_student in timings:
        print(
            f"| {data} | {teacher} | {t_teacher:.3f} | {t_student:.3f} | "
            f"{t_teacher / t_student:.1f}x |"
        )

    print(f"\nTransfer: test R² on the target task, mean ± std over {args.seeds} draws\n")
    print("| target rows | model | test R² |")
    print("|---:|---|---:|")
    for (n_rows, model), r2 in transferred.items():
        print(f"| {n_rows} | {model} | {mean_std(r2)} |")


if __name__ == "__main__":
    main()
