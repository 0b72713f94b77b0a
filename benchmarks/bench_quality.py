"""Does distillation help? Teacher, student alone and distilled student.

For load_digits and load_breast_cancer, five seeded train/test splits, four
teachers (logistic regression, random forest, gradient boosting, a calibrated
RBF SVM): the test accuracy of the teacher, of the student trained on hard
labels alone (``alpha=0``), of the distilled student (sktkd's defaults) and of
one distilled at ``temperature=3``, and how often each student agrees with the
teacher on the test rows. The students are the default DistilledClassifier
network with the same seed and receive the same fitted teacher
(FrozenEstimator), so the soft labels are the only difference.

    python benchmarks/bench_quality.py                # the table
    python benchmarks/bench_quality.py --sweep        # how the defaults were chosen
    python benchmarks/bench_quality.py --batch-sizes 64 200   # the default batch size

``--sweep --seeds 5`` scores temperature x alpha on other splits (seeds 100 to
104), never on the test rows of the table.
"""

import argparse
import itertools

import numpy as np
import torch
from joblib import Parallel, delayed
from sklearn.calibration import CalibratedClassifierCV
from sklearn.datasets import load_breast_cancer, load_digits
from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
from sklearn.frozen import FrozenEstimator
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC

from sktkd import DistilledClassifier

DATASETS = {"digits": load_digits, "breast_cancer": load_breast_cancer}
TEACHERS = {
    "logistic regression": lambda seed: make_pipeline(
        StandardScaler(), LogisticRegression(max_iter=5000)
    ),
    "random forest": lambda seed: RandomForestClassifier(300, random_state=seed),
    "gradient boosting": lambda seed: HistGradientBoostingClassifier(random_state=seed),
    "calibrated RBF SVM": lambda seed: CalibratedClassifierCV(
        make_pipeline(StandardScaler(), SVC()), ensemble=False
    ),
}


def splits(seeds):
    """(dataset, seed, X_train, X_test, y_train, y_test) for every split."""
    for name, load in DATASETS.items():
        X, y = load(return_X_y=True)
        for seed in seeds:
            yield (
                name,
                seed,
                *train_test_split(X, y, test_size=0.25, stratify=y, random_state=seed),
            )


def evaluate_split(data, seed, X_tr, X_te, y_tr, y_te, student_params):
    """[(dataset, teacher, model, test accuracy, test agreement)] of one split."""
    torch.set_num_threads(1)  # one process per core; tiny networks gain nothing from more
    rows = []
    for teacher_name, make_teacher in TEACHERS.items():
        teacher = make_teacher(seed).fit(X_tr, y_tr)
        teacher_pred = teacher.predict(X_te)
        rows.append((data, teacher_name, "teacher", np.mean(teacher_pred == y_te), 1.0))
        for student_name, params in student_params.items():
            student = DistilledClassifier(
                FrozenEstimator(teacher), random_state=seed, **params
            ).fit(X_tr, y_tr)
            pred = student.predict(X_te)
            rows.append(
                (
                    data,
                    teacher_name,
                    student_name,
                    np.mean(pred == y_te),
                    np.mean(pred == teacher_pred),
                )
            )
    return rows


def evaluate(seeds, student_params):
    """Per (dataset, teacher, model): a list of (test accuracy, agreement)."""
    jobs = (delayed(evaluate_split)(*split, student_params) for split in splits(seeds))
    results = {}
    for rows in Parallel(n_jobs=-1)(jobs):
        for data, teacher, model, acc, agree in rows:
            results.setdefault((data, teacher, model), []).append((acc, agree))
    return results


def mean_std(values):
    return f"{np.mean(values):.4f} ± {np.std(values):.4f}"


def table(seeds, batch_sizes=None):
    students = {
        "student alone (alpha=0)": {"alpha": 0.0},
        "distilled student (defaults)": {},
        "distilled, temperature=3": {"temperature": 3.0},
    }
    if batch_sizes:  # the same students at each batch size, side by side
        students = {
            f"{name}, batch {size}": {**params, "batch_size": size}
            for name, params in students.items()
            for size in batch_sizes
        }
    results = evaluate(seeds, students)
    print(
        f"Test accuracy and test agreement with the teacher, mean ± std over seeds {list(seeds)}\n"
    )
    print("| data | teacher | model | test accuracy | agreement with teacher |")
    print("|---|---|---|---:|---:|")
    for (data, teacher, model), rows in results.items():
        acc, agree = zip(*rows, strict=True)
        agreement = "—" if model == "teacher" else mean_std(agree)
        print(f"| {data} | {teacher} | {model} | {mean_std(acc)} | {agreement} |")


def sweep(seeds, temperatures, alphas):
    grid = {
        f"T={T}, alpha={a}": {"temperature": T, "alpha": a}
        for T, a in itertools.product(temperatures, alphas)
    }
    results = evaluate(seeds, {"alpha=0": {"alpha": 0.0}, **grid})
    pairs = sorted({(d, t) for d, t, _ in results})
    print(
        f"Mean test agreement with the teacher on seeds {list(seeds)}; the last column "
        "is the mean test accuracy\n"
    )
    print(
        "| setting | "
        + " | ".join(f"{d}, {t}" for d, t in pairs)
        + " | mean agreement | mean accuracy |"
    )
    print("|---|" + "---:|" * (len(pairs) + 2))
    for name in ["alpha=0", *grid]:
        agree = [np.mean([r[1] for r in results[(d, t, name)]]) for d, t in pairs]
        acc = np.mean([r[0] for d, t in pairs for r in results[(d, t, name)]])
        print(
            f"| {name} | "
            + " | ".join(f"{a:.4f}" for a in agree)
            + f" | {np.mean(agree):.4f} | {acc:.4f} |",
            flush=True,
        )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sweep", action="store_true")
    parser.add_argument("--seeds", type=int, default=3, help="splits in the sweep")
    parser.add_argument("--temperatures", type=float, nargs="+", default=[1, 2, 4, 8])
    parser.add_argument("--alphas", type=float, nargs="+", default=[0.5, 0.9, 1.0])
    parser.add_argument("--batch-sizes", type=int, nargs="+", help="students at each size")
    args = parser.parse_args()
    if args.sweep:
        sweep(range(100, 100 + args.seeds), args.temperatures, args.alphas)
    else:
        table(range(5), args.batch_sizes)


if __name__ == "__main__":
    main()
