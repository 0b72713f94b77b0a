"""Training through accelerate on one CPU: what the ``accelerator`` parameter costs.

A ``DistilledClassifier`` (MLP (100,), recorded soft labels, 10 epochs at
batch 200, 20,000 x 20 rows) fitted without an accelerator, with
``Accelerator(cpu=True)`` and with ``mixed_precision="bf16"``, beside stock
skorch with its ``AccelerateMixin`` (a ``NeuralNetClassifier`` on hard labels,
the same network and batches) and a plain PyTorch loop. Each row is the
median of ``--repeats`` fits, each the second fit of a process of its own
(accelerate keeps one state per process; the first pays one-time costs).
Several GPUs need ``accelerate launch``; see the scaling guide.

    python benchmarks/bench_accelerate.py          # about two minutes on two cores
"""

import argparse
import json
import statistics
import subprocess
import sys
import time

import numpy as np
import torch
from sklearn.datasets import make_classification

N_ROWS, EPOCHS, BATCH = 20_000, 10, 200


def data():
    X, y = make_classification(N_ROWS, 20, n_informative=10, n_classes=3, random_state=0)
    X = ((X - X.mean(0)) / X.std(0)).astype(np.float32)
    return X, y, np.eye(3)[y] * 0.8 + 0.2 / 3


def mlp():
    return torch.nn.Sequential(torch.nn.Linear(20, 100), torch.nn.ReLU(), torch.nn.Linear(100, 3))


def sktkd_fit(precision):
    from sktkd import DistilledClassifier

    accelerator = None
    if precision is not None:
        from accelerate import Accelerator

        accelerator = Accelerator(cpu=True, mixed_precision=precision)
    X, y, P = data()
    clf = DistilledClassifier(
        max_epochs=EPOCHS, batch_size=BATCH, random_state=0, accelerator=accelerator
    )
    start = time.perf_counter()
    clf.fit(X, y, teacher_proba=P)
    return time.perf_counter() - start, clf.score(X, y)


def skorch_fit(_):
    from accelerate import Accelerator
    from skorch import NeuralNetClassifier
    from skorch.hf import AccelerateMixin

    class AcceleratedNet(AccelerateMixin, NeuralNetClassifier):
        pass

    X, y, _ = data()
    torch.manual_seed(0)
    net = AcceleratedNet(
        mlp(),
        criterion=torch.nn.CrossEntropyLoss,
        optimizer=torch.optim.Adam,
        lr=1e-3,
        max_epochs=EPOCHS,
        batch_size=BATCH,
        train_split=None,
        iterator_train__shuffle=True,
        verbose=0,
        accelerator=Accelerator(cpu=True),
        callbacks__print_log__sink=print,
    )
    start = time.perf_counter()
    net.fit(X, y)
    return time.perf_counter() - start, float((net.predict(X) == y).mean())


def torch_loop(_):
    X, y, _ = data()
    torch.manual_seed(0)
    model, X, y = mlp(), torch.as_tensor(X), torch.as_tensor(y)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    start = time.perf_counter()
    for _ in range(EPOCHS):
        for rows in torch.randperm(len(X)).split(BATCH):
            optimizer.zero_grad()
            torch.nn.functional.cross_entropy(model(X[rows]), y[rows]).backward()
            optimizer.step()
    seconds = time.perf_counter() - start
    return seconds, float((model(X).argmax(1) == y).float().mean())


CONTENDERS = {
    "sktkd, no accelerator": (sktkd_fit, None),
    "sktkd, Accelerator(cpu=True)": (sktkd_fit, "no"),
    'sktkd, Accelerator(cpu=True, mixed_precision="bf16")': (sktkd_fit, "bf16"),
    "skorch NeuralNetClassifier + AccelerateMixin": (skorch_fit, None),
    "plain PyTorch loop": (torch_loop, None),
}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--one", help=argparse.SUPPRESS)
    args = parser.parse_args()
    torch.set_num_threads(1)
    if args.one:
        function, precision = CONTENDERS[args.one]
        function(precision)  # warm-up: torch's and accelerate's one-time costs
        print(json.dumps(function(precision)))
        return
    print("| contender | fit (s), median | vs sktkd without accelerator | training accuracy |")
    print("|---|---:|---:|---:|")
    base = None
    for name in CONTENDERS:
        runs = []
        for _ in range(args.repeats):
            command = [sys.executable, __file__, "--one", name]
            out = subprocess.run(command, capture_output=True, text=True, check=True)
            runs.append(json.loads(out.stdout.strip().splitlines()[-1]))
        seconds = statistics.median(r[0] for r in runs)
        base = base or seconds
        print(f"| {name} | {seconds:.2f} | {seconds / base:.2f}x | {runs[-1][1]:.3f} |")


if __name__ == "__main__":
    main()
