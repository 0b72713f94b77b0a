"""Unlabelled rows: does a student come closer to its teacher with them?

Two cases of the issue that found the problem, 60% of the rows for training
and 15% of those labelled: a calibrated RBF SVM on a 10-class
``make_classification`` set, and a distance-weighted 5-nearest-neighbour
teacher on ``load_digits / 16``. The teacher is fitted on the labelled rows;
students get it frozen, with sktkd's defaults:

- "labelled rows only": ``fit`` on the labelled rows;
- "+ unlabelled rows, every row a step (before)": ``unlabeled_label=-1`` with
  ``max_epochs`` scaled so the fit takes as many steps as when an epoch
  visited every row, and no stopping rule (the behaviour before the fix);
- "+ unlabelled rows (sktkd)": ``unlabeled_label=-1``, an epoch visiting as
  many rows as are labelled, drawn among all rows;
- "+ unlabelled rows + MUNGE": the same with ``augment="munge"``, five
  synthetic rows per row labelled by the teacher.

    python benchmarks/bench_unlabelled.py
"""

import warnings

import numpy as np
import torch
from joblib import Parallel, delayed
from sklearn.calibration import CalibratedClassifierCV
from sklearn.datasets import load_digits, make_classification
from sklearn.frozen import FrozenEstimator
from sklearn.model_selection import train_test_split
from sklearn.neighbors import KNeighborsClassifier
from sklearn.svm import SVC

from sktkd import DistilledClassifier

SEEDS = range(3)
CASES = {
    "make_classification, calibrated SVM": (
        lambda: make_classification(
            3000,
            30,
            n_informative=15,
            n_classes=10,
            n_clusters_per_class=1,
            class_sep=1.5,
            random_state=5,
        ),
        lambda: CalibratedClassifierCV(SVC(C=3), ensemble=False),
    ),
    "digits / 16, 5-NN": (
        lambda: (load_digits().data / 16, load_digits().target),
        lambda: KNeighborsClassifier(5, weights="distance"),
    ),
}


def run(case, seed):
    torch.set_num_threads(1)
    warnings.simplefilter("ignore")
    load, make_teacher = CASES[case]
    X, y = load()
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, train_size=0.6, random_state=seed, stratify=y)
    y_u = np.where(np.random.default_rng(seed).random(len(y_tr)) < 0.85, -1, y_tr)
    lab = y_u != -1
    teacher = make_teacher().fit(X_tr[lab], y_u[lab])
    frozen, decided = FrozenEstimator(teacher), teacher.predict(X_te)
    every_row = round(100 * len(y_u) / lab.sum())  # the old number of steps
    students = {
        "labelled rows only": (X_tr[lab], y_u[lab], {}),
        "+ unlabelled rows, every row a step (before)": (
            X_tr,
            y_u,
            {"max_epochs": every_row, "callbacks__early_stopping": None},  # no rule then
        ),
        "+ unlabelled rows (sktkd)": (X_tr, y_u, {}),
        "+ unlabelled rows + MUNGE": (X_tr, y_u, {"augment": "munge"}),
    }
    rows = {"teacher": (teacher.score(X_te, y_te), 1.0)}
    for name, (X_fit, y_fit, params) in students.items():
        model = DistilledClassifier(frozen, unlabeled_label=-1, random_state=seed, **params)
        pred = model.fit(X_fit, y_fit).predict(X_te)
        rows[name] = (np.mean(pred == y_te), np.mean(pred == decided))
    return case, rows


def main():
    jobs = [delayed(run)(case, seed) for case in CASES for seed in SEEDS]
    results = {}
    for case, rows in Parallel(n_jobs=-1)(jobs):
        for name, scores in rows.items():
            results.setdefault((case, name), []).append(scores)
    print(f"Test accuracy and agreement with the teacher, mean over seeds {list(SEEDS)}\n")
    print("| case | model | test accuracy | agreement with teacher |")
    print("|---|---|---:|---:|")
    for (case, name), scores in results.items():
        acc, agree = np.mean(scores, axis=0)
        print(f"| {case} | {name} | {acc:.3f} | {'—' if name == 'teacher' else f'{agree:.3f}'} |")


if __name__ == "__main__":
    main()
