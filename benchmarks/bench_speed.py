"""Fit time of DistilledClassifier vs a plain PyTorch loop vs stock skorch.

All contenders train the same network, MLP(128, 128), on the same 50,000 x
100 raw float32 rows standardised once with the same statistics (the plain
loop and skorch inside the timed fit, as a user would with a scaler; sktkd
inside its fit), with Adam at lr 1e-3, on one thread, timed side by side and
interleaved; the table reports medians and ratios.

- plain PyTorch loop: the reference, written by hand as fast as we know how
  (rows gathered with ``index_select``, fused Adam, sktkd's default).
- sktkd: ``DistilledClassifier`` with recorded soft labels (``teacher_proba``),
  so the timing covers the student's fit, not a teacher's.
- stock skorch: ``NeuralNetClassifier`` with cross-entropy (it has no
  distillation loss), no validation split, as shipped (per-row ``DataLoader``,
  torch's default Adam) and with the fused Adam sktkd uses.

A second table times ``predict_proba`` on one row and on 10,000 rows: a
``DistilledClassifier`` and a ``TransferClassifier`` (``lp_ft`` from a source)
with one hidden layer of 100, against scikit-learn's ``MLPClassifier`` with
the same layer, each trained one epoch on the same rows; medians of
interleaved runs.

    python benchmarks/bench_speed.py [--repeats 5] [--epochs 3]
"""

import argparse
import statistics
import time
import warnings

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.datasets import make_classification
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier
from skorch import NeuralNetClassifier
from torch import nn

from sktkd import DistilledClassifier, TransferClassifier
from sktkd._modules import MLP, Standardize

HIDDEN = (128, 128)
LR = 1e-3
TEMPERATURE, ALPHA = 2.0, 0.9


def make_data(seed=0):
    X, y = make_classification(
        n_samples=50_000, n_features=100, n_informative=40, n_classes=5, random_state=seed
    )
    X = (X * 10 + 3).astype(np.float32)  # raw, unscaled features
    rng = np.random.default_rng(seed)
    logits = rng.normal(size=(len(X), 5)) + 3 * np.eye(5)[y]
    proba = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    return X, y, proba


def network(X, seed):
    torch.manual_seed(seed)
    return MLP(X.shape[1], 5, HIDDEN)


def standardised(X):
    """The rows scaled once, as sktkd does inside its fit."""
    return Standardize.from_data(X).transform(X)


def plain_loop(X, y, proba, batch_size, epochs, seed=0, distill=True):
    """The reference: a hand-written loop with the same loss and optimizer."""
    net = network(X, seed)
    optimizer = torch.optim.Adam(net.parameters(), lr=LR, fused=True)
    X_t, y_t = torch.tensor(standardised(X)), torch.tensor(y)
    t_t = torch.tensor(np.log(proba), dtype=torch.float32)
    generator = torch.Generator().manual_seed(seed)
    net.train()
    for _ in range(epochs):
        order = torch.randperm(len(X_t), generator=generator)
        for start in range(0, len(X_t), batch_size):
            idx = order[start : start + batch_size]
            s = net(X_t.index_select(0, idx))
            loss = F.cross_entropy(s, y_t.index_select(0, idx))
            if distill:
                soft = F.kl_div(
                    F.log_softmax(s / TEMPERATURE, 1),
                    F.log_softmax(t_t.index_select(0, idx) / TEMPERATURE, 1),
                    reduction="batchmean",
                    log_target=True,
                )
                loss = ALPHA * TEMPERATURE**2 * soft + (1 - ALPHA) * loss
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    return net


def sktkd_fit(X, y, proba, batch_size, epochs, seed=0, distill=True):
    model = DistilledClassifier(
        hidden_layer_sizes=HIDDEN,
        alpha=ALPHA if distill else 0.0,
        temperature=TEMPERATURE,
        max_epochs=epochs,
        batch_size=batch_size,
        lr=LR,
        random_state=seed,
    )
    return model.fit(X, y, teacher_proba=proba)


def skorch_fit(X, y, proba, batch_size, epochs, seed=0, fused=False):
    net = NeuralNetClassifier(
        network(X, seed),
        criterion=nn.CrossEntropyLoss,
        optimizer=torch.optim.Adam,
        lr=LR,
        max_epochs=epochs,
        batch_size=batch_size,
        iterator_train__shuffle=True,
        train_split=None,
        verbose=0,
        **({"optimizer__fused": True} if fused else {}),
    )
    return net.fit(standardised(X), y.astype(np.int64))


# name: (fit function, keyword arguments, loss, name of the reference row)
CONTENDERS = {
    "plain PyTorch loop": (plain_loop, {}, "KD", None),
    "sktkd DistilledClassifier": (sktkd_fit, {}, "KD", "plain PyTorch loop"),
    "plain PyTorch loop, CE": (plain_loop, {"distill": False}, "CE", None),
    "sktkd, alpha=0": (sktkd_fit, {"distill": False}, "CE", "plain PyTorch loop, CE"),
    "stock skorch": (skorch_fit, {}, "CE", "sktkd, alpha=0"),
    "stock skorch, fused Adam": (skorch_fit, {"fused": True}, "CE", "sktkd, alpha=0"),
}


def prediction_models(X, y, proba):
    """Fitted one-hidden-layer models of the prediction table (one epoch each)."""
    params = {"hidden_layer_sizes": (100,), "max_epochs": 1, "batch_size": 200, "random_state": 0}
    source = TransferClassifier(**params).fit(X, y)
    lp_ft = {**params, "probe_epochs": 1}
    return {
        "MLPClassifier": MLPClassifier((100,), max_iter=1, batch_size=200, random_state=0).fit(
            X, y
        ),
        "sktkd DistilledClassifier": DistilledClassifier(**params).fit(X, y, teacher_proba=proba),
        "sktkd TransferClassifier, lp_ft": TransferClassifier(source, **lp_ft).fit(X, y),
    }


def time_predictions(models, X, repeats):
    """``{(rows, model): median seconds per predict_proba call}``, runs interleaved."""
    times = {}
    for rows, calls in ((1, 2000), (10_000, 20)):
        batch = X[:rows]
        for _ in range(repeats):
            for name, model in models.items():
                model.predict_proba(batch)  # warm
                start = time.perf_counter()
                for _ in range(calls):
                    model.predict_proba(batch)
                times.setdefault((rows, name), []).append((time.perf_counter() - start) / calls)
    return {key: statistics.median(t) for key, t in times.items()}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[64, 512])
    args = parser.parse_args()

    torch.set_num_threads(1)
    X, y, proba = make_data()
    print(
        f"{args.epochs} epochs over 50,000 x 100 float32 rows, MLP(128, 128), 1 thread, "
        f"median of {args.repeats} interleaved runs\n"
    )
    print("| batch | contender | loss | median fit (s) | ratio |")
    print("|---:|---|---|---:|---|")
    for batch_size in args.batch_sizes:
        times = {name: [] for name in CONTENDERS}
        for _ in range(args.repeats):  # interleaved, so drift hits all alike
            for name, (fit, kwargs, _, _) in CONTENDERS.items():
                start = time.perf_counter()
                fit(X, y, proba, batch_size, args.epochs, **kwargs)
                times[name].append(time.perf_counter() - start)
        median = {name: statistics.median(t) for name, t in times.items()}
        for name, (_, _, loss, ref) in CONTENDERS.items():
            ratio = f"{median[name] / median[ref]:.2f}x of {ref}" if ref else "reference"
            print(f"| {batch_size} | {name} | {loss} | {median[name]:.2f} | {ratio} |", flush=True)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # one epoch, on purpose
        models = prediction_models(X, y, proba)
    median = time_predictions(models, X, args.repeats)
    print(f"\npredict_proba, one hidden layer of 100, 1 thread, median of {args.repeats} runs\n")
    print("| rows | model | median per call | ratio |")
    print("|---:|---|---:|---|")
    for rows in (1, 10_000):
        for name in models:
            seconds = median[rows, name]
            shown = f"{seconds * 1e6:.0f} µs" if seconds < 1e-3 else f"{seconds * 1e3:.2f} ms"
            ratio = seconds / median[rows, "MLPClassifier"]
            ratio = "reference" if name == "MLPClassifier" else f"{ratio:.2f}x of MLPClassifier"
            print(f"| {rows:,} | {name} | {shown} | {ratio} |", flush=True)


if __name__ == "__main__":
    main()
