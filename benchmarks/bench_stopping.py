"""When to stop training: every epoch, the training-loss rule, or a validation split.

``MLPClassifier`` stops by default once its training loss has not improved by
``tol`` for more than ``n_iter_no_change`` epochs; with ``early_stopping=True``
it follows the accuracy on a held-out ``validation_fraction`` instead and keeps
the best epoch. sktkd has both rules, with the same names. This script decides
the default: on four data sets and five seeded splits, the test accuracy, the
agreement with the teacher (a random forest, passed frozen), the epochs run and
the fit time of

- a DistilledClassifier and a TransferClassifier trained from scratch for all
  ``max_epochs`` epochs (``callbacks__early_stopping=None``),
- the same with the training-loss rule (``n_iter_no_change=10``, ``tol=1e-4``),
- the same with ``early_stopping=True``,
- scikit-learn's MLPClassifier (100 hidden units, Adam, batch 64, at most
  ``max_epochs``, on standardised inputs) with its default rule and with early
  stopping.

    python benchmarks/bench_stopping.py                    # max_epochs=100
    python benchmarks/bench_stopping.py --max-epochs 400

Medians over the splits; one thread per process, two processes.
"""

import argparse
import time
import warnings

import numpy as np
import torch
from joblib import Parallel, delayed
from sklearn.datasets import load_breast_cancer, load_digits, load_wine, make_classification
from sklearn.ensemble import RandomForestClassifier
from sklearn.exceptions import ConvergenceWarning
from sklearn.frozen import FrozenEstimator
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sktkd import DistilledClassifier, TransferClassifier


def synthetic(return_X_y=True):
    return make_classification(5000, 20, n_informative=10, n_classes=4, random_state=0)


DATASETS = {
    "digits": load_digits,
    "breast_cancer": load_breast_cancer,
    "wine": load_wine,
    "synthetic 5000x20": synthetic,
}
RULES = {
    "all epochs": {"callbacks__early_stopping": None},
    "training-loss rule": {},
    "early_stopping=True": {"early_stopping": True},
}


def run_split(name, seed, max_epochs):
    torch.set_num_threads(1)
    warnings.simplefilter("ignore", ConvergenceWarning)
    warnings.simplefilter("ignore", UserWarning)
    X, y = DATASETS[name](return_X_y=True)
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=0.25, stratify=y, random_state=seed)
    teacher = RandomForestClassifier(300, random_state=seed, n_jobs=1).fit(X_tr, y_tr)
    teacher_pred = teacher.predict(X_te)
    rows = []

    def record(model_name, rule, model, seconds, epochs):
        pred = model.predict(X_te)
        rows.append(
            (
                name,
                model_name,
                rule,
                np.mean(pred == y_te),
                np.mean(pred == teacher_pred),
                epochs,
                seconds,
            )
        )

    for rule, params in RULES.items():
        for model_name, model in [
            ("DistilledClassifier", DistilledClassifier(FrozenEstimator(teacher))),
            ("TransferClassifier (scratch)", TransferClassifier()),
        ]:
            model.set_params(max_epochs=max_epochs, random_state=seed, **params)
            start = time.perf_counter()
            model.fit(X_tr, y_tr)
            record(model_name, rule, model, time.perf_counter() - start, model.n_iter_)
    for rule, early in [("training-loss rule", False), ("early_stopping=True", True)]:
        mlp = make_pipeline(
            StandardScaler(),
            MLPClassifier(
                batch_size=64, max_iter=max_epochs, early_stopping=early, random_state=seed
            ),
        )
        start = time.perf_counter()
        mlp.fit(X_tr, y_tr)
        record("MLPClassifier", rule, mlp, time.perf_counter() - start, mlp[-1].n_iter_)
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--max-epochs", type=int, default=100)
    args = parser.parse_args()
    seeds = list(range(args.seeds))
    results = Parallel(n_jobs=2)(
        delayed(run_split)(name, seed, args.max_epochs) for name in DATASETS for seed in seeds
    )
    rows = [row for split in results for row in split]
    print(
        f"max_epochs={args.max_epochs}; medians over seeds {seeds}; agreement: with the "
        "random-forest teacher on test rows\n"
    )
    print("| data | model | stopping | test accuracy | agreement | epochs | fit time (s) |")
    print("|---|---|---|---:|---:|---:|---:|")
    keys = list(dict.fromkeys(row[:3] for row in rows))
    for key in keys:
        values = np.array([row[3:] for row in rows if row[:3] == key], dtype=float)
        acc, agree, epochs, seconds = np.median(values, axis=0)
        print(f"| {' | '.join(key)} | {acc:.4f} | {agree:.4f} | {epochs:.0f} | {seconds:.2f} |")


if __name__ == "__main__":
    main()
