"""Model compression: a small student that keeps the teacher's decisions.

For load_digits, load_breast_cancer and a 200,000-row make_classification set,
five seeded train/test splits (75/25), three teachers (a 500-tree random
forest, histogram gradient boosting, a calibrated RBF SVM) and four students:

- student alone: DistilledClassifier with ``alpha=0`` (hard labels only);
- distilled: sktkd's defaults, soft labels of the fitted teacher;
- distilled + OOF: ``teacher_cv=5``, out-of-fold soft labels;
- distilled + MUNGE: ``augment="munge"``, 5 synthetic rows per training row.

Reported: test accuracy, test agreement with the teacher, and (seed 0) the
``predict_proba`` time of teacher and distilled student on 100,000 rows, one
thread each, median of 3 alternating calls.

On the 200,000-row set the students train for 10 epochs in batches of 256
(the defaults, 100 epochs of 64, suit small data) and the SVM is fitted on a
10,000-row subsample (kernel SVMs do not scale to 150,000 rows). Out-of-fold
labels refit the teacher five times: on that set they are measured for
boosting only, since five refits of the 500-tree forest take hours on two
cores and the SVM would be refitted on all 150,000 rows.

    python benchmarks/bench_compression.py [--seeds 5] [--n-jobs 2]
"""

import argparse
import statistics
import time

import numpy as np
import torch
from joblib import Parallel, delayed
from sklearn.calibration import CalibratedClassifierCV
from sklearn.datasets import load_breast_cancer, load_digits, make_classification
from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
from sklearn.frozen import FrozenEstimator
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC
from threadpoolctl import threadpool_limits

from sktkd import DistilledClassifier

LARGE = "make_classification 200k"
DATASETS = {
    "digits": lambda: load_digits(return_X_y=True),
    "breast_cancer": lambda: load_breast_cancer(return_X_y=True),
    LARGE: lambda: make_classification(
        200_000,
        n_features=20,
        n_informative=10,
        n_redundant=5,
        n_classes=3,
        flip_y=0.01,
        random_state=0,
    ),
}
TEACHERS = {
    "random forest (500)": lambda seed: RandomForestClassifier(500, random_state=seed),
    "gradient boosting": lambda seed: HistGradientBoostingClassifier(random_state=seed),
    "calibrated RBF SVM": lambda seed: CalibratedClassifierCV(
        make_pipeline(StandardScaler(), SVC()), ensemble=False
    ),
}
STUDENTS = ["student alone", "distilled", "distilled + OOF", "distilled + MUNGE"]
TIMED_ROWS = 100_000


def median_time(fn, X, repeats=3):
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn(X)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def run(data, seed):
    """Rows (data, teacher, model, accuracy, agreement) and timings for one split."""
    torch.set_num_threads(1)
    with threadpool_limits(1):
        X, y = DATASETS[data]()
        X_tr, X_te, y_tr, y_te = train_test_split(
            X, y, test_size=0.25, stratify=y, random_state=seed
        )
        large = data == LARGE
        fit_params = {"max_epochs": 10, "batch_size": 256} if large else {}
        rows, timings = [], []
        for name, make_teacher in TEACHERS.items():
            X_fit, y_fit = X_tr, y_tr
            if large and "SVM" in name:
                sub = np.random.default_rng(seed).choice(len(X_tr), 10_000, replace=False)
                X_fit, y_fit = X_tr[sub], y_tr[sub]
            teacher = make_teacher(seed).fit(X_fit, y_fit)
            decided = teacher.predict(X_te)
            rows.append((data, name, "teacher", np.mean(decided == y_te), None))
            frozen = FrozenEstimator(teacher)
            students = {
                "student alone": DistilledClassifier(frozen, alpha=0.0),
                "distilled": DistilledClassifier(frozen),
                "distilled + OOF": DistilledClassifier(make_teacher(seed), teacher_cv=5),
                "distilled + MUNGE": DistilledClassifier(frozen, augment="munge"),
            }
            for model_name, student in students.items():
                if large and "OOF" in model_name and "boosting" not in name:
                    continue
                student.set_params(random_state=seed, **fit_params).fit(X_tr, y_tr)
                pred = student.predict(X_te)
                rows.append(
                    (data, name, model_name, np.mean(pred == y_te), np.mean(pred == decided))
                )
                if seed == 0 and model_name == "distilled":
                    X_time = np.resize(X_te, (TIMED_ROWS, X_te.shape[1]))
                    t_student, t_teacher = (
                        median_time(student.predict_proba, X_time),
                        median_time(teacher.predict_proba, X_time),
                    )
                    timings.append((data, name, t_teacher, t_student))
        return rows, timings


def mean_std(values):
    return f"{np.mean(values):.4f} ± {np.std(values):.4f}"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--n-jobs", type=int, default=2)
    parser.add_argument("--datasets", nargs="+", default=list(DATASETS))
    args = parser.parse_args()

    # The large set first: its jobs are the longest.
    jobs = [(d, s) for d in reversed(args.datasets) for s in range(args.seeds)]
    out = Parallel(n_jobs=args.n_jobs)(delayed(run)(d, s) for d, s in jobs)
    results, timings = {}, []
    for rows, times in out:
        timings += times
        for data, teacher, model, acc, agree in rows:
            results.setdefault((data, teacher, model), []).append((acc, agree))

    print(f"Test accuracy and agreement with the teacher, mean ± std over {args.seeds} seeds\n")
    print("| data | teacher | model | test accuracy | agreement with teacher |")
    print("|---|---|---|---:|---:|")
    for data in args.datasets:
        for teacher in TEACHERS:
            for model in ["teacher", *STUDENTS]:
                if (data, teacher, model) not in results:
                    continue
                acc, agree = zip(*results[(data, teacher, model)], strict=True)
                agreement = "—" if model == "teacher" else mean_std(agree)
                print(f"| {data} | {teacher} | {model} | {mean_std(acc)} | {agreement} |")

    print(f"\npredict_proba on {TIMED_ROWS:,} rows, one thread, seed 0, median of 3\n")
    print("| data | teacher | teacher (s) | distilled student (s) | student speed-up |")
    print("|---|---|---:|---:|---:|")
    for data, teacher, t_teacher, t_student in sorted(
        timings, key=lambda t: (args.datasets.index(t[0]), list(TEACHERS).index(t[1]))
    ):
        print(
            f"| {data} | {teacher} | {t_teacher:.3f} | {t_student:.3f} | "
            f"{t_teacher / t_student:.1f}x |"
        )


if __name__ == "__main__":
    main()
