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

``--raw-frame`` measures instead a teacher fitted on a raw DataFrame: a
generated set of 20,000 rows with numeric columns (10% missing in four), three
categorical columns (``pd.Categorical``, one of 12 levels) and a flag, and
gradient boosting that takes categories and NaN natively (scikit-learn's
histogram gradient boosting; LightGBM where installed). The student is given
the raw frame (``preprocessor="auto"``), or, as a user would do by hand
without it, one-hot and mean-imputed columns with missing-value indicators
(``pd.get_dummies``, training means) and the teacher's probabilities on the
raw rows as ``teacher_proba``; scikit-learn's ``MLPClassifier`` on the same
hand-made columns is the student without a teacher users would pick. Also
reported (seed 0): ``predict_proba`` time of the teacher, of the student, and
of the student exported with ``sktkd.to_onnx`` in onnxruntime, one thread.

    python benchmarks/bench_compression.py --raw-frame [--seeds 5]
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


def raw_frame(seed, n=20_000):
    """A raw table: numbers with NaN, categories that carry signal, a flag."""
    import pandas as pd

    X, y = make_classification(
        n, n_features=10, n_informative=6, n_redundant=2, n_classes=3, random_state=seed
    )
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(X[:, 3:] * rng.uniform(0.1, 100, 7), columns=[f"x{i}" for i in range(7)])
    for i in range(4):
        frame.loc[rng.random(n) < 0.1, f"x{i}"] = np.nan
    # Informative columns seen only through categories: 12 noisy bins each.
    for j, name in enumerate(["region", "product", "channel"]):
        bins = np.digitize(X[:, j] + 0.3 * rng.normal(size=n), np.linspace(-2.5, 2.5, 11))
        frame[name] = pd.Categorical(np.array([f"{name}_{b}" for b in range(12)])[bins])
    frame["member"] = X[:, 0] + rng.normal(size=n) > 0
    return frame, y


def by_hand(X_tr, X_te):
    """One-hot categories, mean-imputed numbers and missing indicators, from the training rows."""
    import pandas as pd

    numeric = X_tr.select_dtypes("number").columns
    missing = [c for c in numeric if X_tr[c].isna().any()]

    def encode(X):
        out = X[numeric].fillna(X_tr[numeric].mean())
        out[[f"{c}_missing" for c in missing]] = X[missing].isna().to_numpy(float)
        others = pd.get_dummies(X.drop(columns=numeric), dtype=float)
        return pd.concat([out, others], axis=1)

    train = encode(X_tr)
    return train.to_numpy(float), encode(X_te).reindex(columns=train.columns, fill_value=0.0)


def run_raw_frame(seed):
    """Rows (teacher, model, accuracy, agreement) of the raw-frame set, for one split."""
    from sklearn.neural_network import MLPClassifier

    torch.set_num_threads(1)
    with threadpool_limits(1):
        X, y = raw_frame(seed)
        X_tr, X_te, y_tr, y_te = train_test_split(
            X, y, test_size=0.25, stratify=y, random_state=seed
        )
        H_tr, H_te = by_hand(X_tr, X_te)
        H_te = H_te.to_numpy(float)
        teachers = {
            "gradient boosting (native categories)": HistGradientBoostingClassifier(
                categorical_features="from_dtype", random_state=seed
            )
        }
        try:
            from lightgbm import LGBMClassifier

            teachers["LightGBM"] = LGBMClassifier(verbose=-1, random_state=seed)
        except ImportError:
            pass
        fit_params = {"max_epochs": 20, "batch_size": 128, "random_state": seed}
        rows, timings = [], []
        for name, teacher in teachers.items():
            teacher.fit(X_tr, y_tr)
            decided = teacher.predict(X_te)
            rows.append((name, "teacher", np.mean(decided == y_te), None))
            frozen = FrozenEstimator(teacher)
            hand = {"teacher_proba": teacher.predict_proba(X_tr)}
            # (model, its training rows, fit's extra arguments)
            students = {
                "raw frame (preprocessor='auto')": (DistilledClassifier(frozen), X_tr, {}),
                "raw frame + MUNGE": (
                    DistilledClassifier(frozen, augment="munge", augment_factor=2),
                    X_tr,
                    {},
                ),
                "one-hot by hand, teacher_proba": (DistilledClassifier(), H_tr, hand),
                "one-hot by hand, student alone": (DistilledClassifier(alpha=0.0), H_tr, hand),
            }
            for model_name, (student, rows_tr, extra) in students.items():
                student.set_params(**fit_params).fit(rows_tr, y_tr, **extra)
                pred = student.predict(H_te if rows_tr is H_tr else X_te)
                rows.append((name, model_name, np.mean(pred == y_te), np.mean(pred == decided)))
                if seed == 0 and model_name == "raw frame (preprocessor='auto')":
                    timings.append((name, *raw_frame_timings(teacher, student, X_te)))
            mlp = make_pipeline(StandardScaler(), MLPClassifier(max_iter=20, random_state=seed))
            pred = mlp.fit(H_tr, y_tr).predict(H_te)
            rows.append(
                (
                    name,
                    "one-hot by hand, MLPClassifier",
                    np.mean(pred == y_te),
                    np.mean(pred == decided),
                )
            )
        return rows, timings


def raw_frame_timings(teacher, student, X):
    """``predict_proba`` on one row (median of 200 calls) and on ``X`` (median of 3),
    in ms: the teacher, the student, and the student in onnxruntime where installed."""

    def one_and_all(fn, one, every):
        return 1e3 * median_time(fn, one, 200), 1e3 * median_time(fn, every)

    times = [
        one_and_all(teacher.predict_proba, X[:1], X),
        one_and_all(student.predict_proba, X[:1], X),
    ]
    try:
        import onnxruntime

        from sktkd import to_onnx
    except ImportError:
        return (*times, (None, None))
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = options.inter_op_num_threads = 1
    session = onnxruntime.InferenceSession(to_onnx(student).SerializeToString(), options)
    numbers = set(student.preprocessor_.transformers_[0][2])

    def feeds(rows):  # numbers as float32, text and categories as strings ("nan": missing)
        return {
            c: rows[[c]].to_numpy(np.float32)
            if c in numbers
            else rows[[c]].astype(object).fillna("nan").astype(str).to_numpy()
            for c in rows.columns
        }

    one, every = feeds(X[:1]), feeds(X)
    times.append(one_and_all(lambda f: session.run(None, f), one, every))
    return tuple(times)


def main_raw_frame(seeds, n_jobs):
    out = Parallel(n_jobs=n_jobs)(delayed(run_raw_frame)(s) for s in range(seeds))
    results, timings = {}, []
    for rows, times in out:
        timings += times
        for teacher, model, acc, agree in rows:
            results.setdefault((teacher, model), []).append((acc, agree))
    print(
        f"Raw frame (20,000 rows: numbers with NaN, 3 categorical columns, a flag), "
        f"mean ± std over {seeds} seeds\n"
    )
    print("| teacher | model | test accuracy | agreement with teacher |")
    print("|---|---|---:|---:|")
    for (teacher, model), values in results.items():
        acc, agree = zip(*values, strict=True)
        agreement = "—" if model == "teacher" else mean_std(agree)
        print(f"| {teacher} | {model} | {mean_std(acc)} | {agreement} |")

    print("\npredict_proba in ms, one thread, seed 0: one row (median of 200), 5,000 rows\n")
    print(
        "| teacher | teacher: 1 row | 5,000 rows | student: 1 row | 5,000 rows "
        "| student in onnxruntime: 1 row | 5,000 rows |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|")
    for teacher, *pairs in timings:
        cells = [f"{t:.3f}" if t is not None else "—" for pair in pairs for t in pair]
        print(f"| {teacher} | " + " | ".join(cells) + " |")


def mean_std(values):
    return f"{np.mean(values):.4f} ± {np.std(values):.4f}"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--n-jobs", type=int, default=2)
    parser.add_argument("--datasets", nargs="+", default=list(DATASETS))
    parser.add_argument("--raw-frame", action="store_true", help="the raw-DataFrame table")
    args = parser.parse_args()
    if args.raw_frame:
        return main_raw_frame(args.seeds, args.n_jobs)

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
