"""Speed of sktkd against what a user would run instead, side by side in one run.

Fit (the default table): 20,000 x 100 raw float32 rows, one hidden layer of
100, Adam at lr 1e-3, 5 epochs, no early stopping, batches of 64 and 200,
every contender on one thread (torch and numpy's BLAS alike):

- plain PyTorch loop: the reference, the same network, loss and optimizer
  written by hand as fast as we know how (rows gathered with
  ``index_select``, fused Adam as sktkd uses), on rows standardised once with
  the same float64 statistics as sktkd (inside the timed function);
- sktkd ``DistilledClassifier`` with recorded soft labels (``teacher_proba``:
  the timing covers the student, not a teacher), and the student without a
  teacher (``TransferClassifier(source=None)``, cross-entropy);
- scikit-learn's ``MLPClassifier`` (same layer, Adam, batch size and epochs;
  its own float32 arithmetic, no input scaling);
- stock skorch: ``NeuralNetClassifier``, cross-entropy, as shipped (per-row
  ``DataLoader``, torch's default Adam);
- ``TransferClassifier`` in ``lp_ft`` from a fitted source (2 epochs of the
  head alone, 3 of everything at a tenth of the rate) against the same two
  phases written by hand, and against ``MLPClassifier`` for 5 epochs.

Prediction: ``predict_proba`` on one row and on 10,000 rows, against
``MLPClassifier`` alone and after a ``StandardScaler`` (what a user with raw
features runs; sktkd standardises inside).

``--regression``: the same fit table for values (targets ``1e3 * y + 5e4``
of a smooth function of the rows, recorded teacher predictions ``y + noise``,
squared error): the plain loop (targets standardised inside the timed
function, as sktkd does), ``DistilledRegressor`` with ``teacher_pred``,
``TransferRegressor`` without a source, scikit-learn's ``MLPRegressor`` and
stock skorch's ``NeuralNetRegressor``.

``--compile``: the plain loop with its module compiled by ``torch.compile``
(inductor), epoch by epoch, against the same loop run eagerly: whether
compiling would pay for itself.

``--scale``: one epoch at batch 200 over 10,000 to 1,000,000 rows (width
100) and widths 32 to 1,024 (100,000 rows); rows on a CUDA device are added
when one exists. ``--threads``: time per epoch on one and two threads, on an
idle machine and with a busy process beside it, and what ``n_threads=None``
picks.

    python benchmarks/bench_speed.py [--repeats 5] [--epochs 5]
    python benchmarks/bench_speed.py --scale [--repeats 3]
    python benchmarks/bench_speed.py --threads [--repeats 3]
    python benchmarks/bench_speed.py --compile
    python benchmarks/bench_speed.py --regression [--repeats 5]
"""

import argparse
import contextlib
import statistics
import subprocess
import sys
import time
import warnings
from functools import partial

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.datasets import make_classification
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from skorch import NeuralNetClassifier, NeuralNetRegressor
from threadpoolctl import threadpool_limits
from torch import nn

from sktkd import DistilledClassifier, DistilledRegressor, TransferClassifier, TransferRegressor
from sktkd._modules import MLP, Standardize

LR = 1e-3
TEMPERATURE, ALPHA = 2.0, 0.9
PROBE_EPOCHS = 2


def make_data(n_samples=20_000, seed=0):
    X, y = make_classification(
        n_samples=n_samples, n_features=100, n_informative=40, n_classes=5, random_state=seed
    )
    X = (X * 10 + 3).astype(np.float32)  # raw, unscaled features
    rng = np.random.default_rng(seed)
    logits = rng.normal(size=(len(X), 5)) + 3 * np.eye(5)[y]
    proba = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    return X, y, proba


def standardised(X):
    """The rows scaled once, as sktkd does inside its fit."""
    return Standardize.from_data(X).transform(X)


def hand_epoch(model, optimizer, X_t, y_t, batch_size, generator, teacher=None, whole=False):
    """One epoch of the hand-written loop: shuffled rows gathered by ``index_select``.

    ``teacher``: log-probabilities, for the distillation loss (sktkd's at
    ``TEMPERATURE`` and ``ALPHA``); ``whole``: whole batches only (a last,
    smaller one would make a compiled model compile again).
    """
    order = torch.randperm(len(X_t), generator=generator).to(X_t.device)
    stop = len(X_t) - batch_size + 1 if whole else len(X_t)
    for start in range(0, stop, batch_size):
        idx = order[start : start + batch_size]
        s = model(X_t.index_select(0, idx))
        loss = F.cross_entropy(s, y_t.index_select(0, idx))
        if teacher is not None:
            soft = F.kl_div(
                F.log_softmax(s / TEMPERATURE, 1),
                F.log_softmax(teacher.index_select(0, idx) / TEMPERATURE, 1),
                reduction="batchmean",
                log_target=True,
            )
            loss = ALPHA * TEMPERATURE**2 * soft + (1 - ALPHA) * loss
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()


def plain_loop(X, y, proba, batch_size, epochs, hidden=(100,), distill=False, device="cpu"):
    """The reference: a hand-written loop with the same loss and optimizer."""
    torch.manual_seed(0)
    net = MLP(X.shape[1], 5, hidden).to(device)
    optimizer = torch.optim.Adam(net.parameters(), lr=LR, fused=True)
    X_t = torch.tensor(standardised(X), device=device)
    y_t = torch.tensor(y, device=device)
    t_t = torch.tensor(np.log(proba), dtype=torch.float32, device=device) if distill else None
    generator = torch.Generator().manual_seed(0)
    net.train()
    for _ in range(epochs):
        hand_epoch(net, optimizer, X_t, y_t, batch_size, generator, t_t)
    if device != "cpu":
        torch.cuda.synchronize()
    return net


def plain_lp_ft(X, y, proba, batch_size, epochs, source):
    """lp_ft by hand: the source's body, a new head alone, then everything at lr / 10."""
    net = MLP(X.shape[1], 5, (100,))
    net.load_state_dict(source.state_dict())
    torch.manual_seed(0)
    net.layers[-1].reset_parameters()
    X_t, y_t = torch.tensor(standardised(X)), torch.tensor(y)
    generator = torch.Generator().manual_seed(0)
    net.train()
    head = list(net.layers[-1].parameters())
    for phase_epochs, params, lr in (
        (PROBE_EPOCHS, head, LR),
        (epochs - PROBE_EPOCHS, list(net.parameters()), LR / 10),
    ):
        trains = {id(p) for p in params}
        for p in net.parameters():
            p.requires_grad_(id(p) in trains)
        optimizer = torch.optim.Adam(params, lr=lr, fused=True)
        for _ in range(phase_epochs):
            hand_epoch(net, optimizer, X_t, y_t, batch_size, generator)
    return net


def sktkd_distilled(X, y, proba, batch_size, epochs, hidden=(100,), device="cpu"):
    model = DistilledClassifier(
        hidden_layer_sizes=hidden,
        alpha=ALPHA,
        temperature=TEMPERATURE,
        max_epochs=epochs,
        batch_size=batch_size,
        lr=LR,
        device=device,
        random_state=0,
    )
    return model.fit(X, y, teacher_proba=proba)


def sktkd_student(X, y, proba, batch_size, epochs, hidden=(100,), device="cpu"):
    model = TransferClassifier(
        hidden_layer_sizes=hidden,
        max_epochs=epochs,
        batch_size=batch_size,
        lr=LR,
        device=device,
        random_state=0,
    )
    return model.fit(X, y)


def sktkd_lp_ft(X, y, proba, batch_size, epochs, source):
    model = TransferClassifier(
        source,
        probe_epochs=PROBE_EPOCHS,
        max_epochs=epochs - PROBE_EPOCHS,
        batch_size=batch_size,
        lr=LR,
        random_state=0,
    )
    return model.fit(X, y)


def mlp_classifier(X, y, proba, batch_size, epochs, hidden=(100,)):
    model = MLPClassifier(
        hidden, batch_size=batch_size, learning_rate_init=LR, max_iter=epochs, random_state=0
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # few epochs, on purpose
        return model.fit(X, y)


def stock_skorch(X, y, proba, batch_size, epochs):
    torch.manual_seed(0)
    net = NeuralNetClassifier(
        MLP(X.shape[1], 5, (100,)),
        criterion=nn.CrossEntropyLoss,
        optimizer=torch.optim.Adam,
        lr=LR,
        max_epochs=epochs,
        batch_size=batch_size,
        iterator_train__shuffle=True,
        train_split=None,
        verbose=0,
    )
    return net.fit(standardised(X), y.astype(np.int64))


def median_times(contenders, repeats):
    """``{name: median seconds}``; runs interleaved, so drift hits all alike."""
    times = {name: [] for name in contenders}
    for _ in range(repeats):
        for name, fit in contenders.items():
            start = time.perf_counter()
            fit()
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(t) for name, t in times.items()}


def fit_table(X, y, proba, args):
    E = args.epochs
    source = TransferClassifier(hidden_layer_sizes=(100,), max_epochs=1, random_state=1)
    source = source.fit(X, y)  # sktkd takes the estimator, the plain loop its network
    # name: (fit, loss)
    rows = {
        "plain PyTorch loop, KD": (lambda b: plain_loop(X, y, proba, b, E, distill=True), "KD"),
        "sktkd DistilledClassifier": (lambda b: sktkd_distilled(X, y, proba, b, E), "KD"),
        "plain PyTorch loop": (lambda b: plain_loop(X, y, proba, b, E), "CE"),
        "sktkd student without a teacher": (lambda b: sktkd_student(X, y, proba, b, E), "CE"),
        "MLPClassifier": (lambda b: mlp_classifier(X, y, proba, b, E), "CE"),
        "stock skorch": (lambda b: stock_skorch(X, y, proba, b, E), "CE"),
        "plain PyTorch loop, lp_ft": (
            lambda b: plain_lp_ft(X, y, proba, b, E, source.net_.module_),
            "CE",
        ),
        "sktkd TransferClassifier, lp_ft": (
            lambda b: sktkd_lp_ft(X, y, proba, b, E, source),
            "CE",
        ),
    }
    reference = {
        "sktkd DistilledClassifier": "plain PyTorch loop, KD",
        "sktkd student without a teacher": "plain PyTorch loop",
        "stock skorch": "plain PyTorch loop",
        "sktkd TransferClassifier, lp_ft": "plain PyTorch loop, lp_ft",
    }
    print(
        f"Fit: {E} epochs over {len(X):,} x {X.shape[1]} float32 rows, one hidden layer of 100, "
        f"1 thread, median of {args.repeats} interleaved runs\n"
    )
    print("| batch | contender | loss | median fit (s) | vs plain loop | vs MLPClassifier |")
    print("|---:|---|---|---:|---:|---:|")
    for batch_size in args.batch_sizes:
        contenders = {name: partial(fit, batch_size) for name, (fit, _) in rows.items()}
        median = median_times(contenders, args.repeats)
        for name, (_, loss) in rows.items():
            ref = reference.get(name)
            vs_plain = f"{median[name] / median[ref]:.2f}x" if ref else "—"
            vs_mlp = f"{median[name] / median['MLPClassifier']:.2f}x"
            print(
                f"| {batch_size} | {name} | {loss} | {median[name]:.3f} | {vs_plain} | {vs_mlp} |",
                flush=True,
            )


def prediction_table(X, y, proba, repeats):
    params = {"hidden_layer_sizes": (100,), "max_epochs": 1, "batch_size": 200, "random_state": 0}
    source = TransferClassifier(**params).fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # one epoch, on purpose
        mlp = MLPClassifier((100,), max_iter=1, batch_size=200, random_state=0)
        models = {
            "MLPClassifier": mlp.fit(X, y),
            "StandardScaler + MLPClassifier": make_pipeline(StandardScaler(), mlp).fit(X, y),
            "sktkd DistilledClassifier": DistilledClassifier(**params).fit(
                X, y, teacher_proba=proba
            ),
            "sktkd TransferClassifier, lp_ft": TransferClassifier(
                source, probe_epochs=1, **params
            ).fit(X, y),
        }
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
    median = {key: statistics.median(t) for key, t in times.items()}
    print(f"\npredict_proba, one hidden layer of 100, 1 thread, median of {repeats} runs\n")
    print("| rows | model | median per call | vs MLPClassifier |")
    print("|---:|---|---:|---:|")
    for rows in (1, 10_000):
        for name in models:
            seconds = median[rows, name]
            shown = f"{seconds * 1e6:.0f} µs" if seconds < 1e-3 else f"{seconds * 1e3:.2f} ms"
            ratio = seconds / median[rows, "MLPClassifier"]
            print(f"| {rows:,} | {name} | {shown} | {ratio:.2f}x |", flush=True)


def scale_table(repeats):
    sizes = [(n, 100) for n in (10_000, 100_000, 1_000_000)]
    sizes += [(100_000, width) for width in (32, 256, 1024)]
    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    print(f"Scale: one epoch at batch 200, 1 CPU thread, median of {repeats} interleaved runs\n")
    print(
        "| device | rows | hidden | plain loop (s) | sktkd (s) | MLPClassifier (s) | "
        "sktkd vs plain | sktkd vs MLPClassifier |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    data = {}
    for device in devices:
        for n, width in sizes:
            if n not in data:
                data[n] = make_data(n)
            X, y, proba = data[n]
            hidden = (width,)
            contenders = {
                "plain": partial(plain_loop, X, y, proba, 200, 1, hidden, device=device),
                "sktkd": partial(sktkd_student, X, y, proba, 200, 1, hidden, device=device),
            }
            if device == "cpu":
                contenders["mlp"] = partial(mlp_classifier, X, y, proba, 200, 1, hidden)
            median = median_times(contenders, repeats)
            mlp = median.get("mlp")
            mlp_s = f"{mlp:.2f}" if mlp else "—"
            vs_mlp = f"{median['sktkd'] / mlp:.2f}x" if mlp else "—"
            print(
                f"| {device} | {n:,} | {width} | {median['plain']:.2f} | {median['sktkd']:.2f} | "
                f"{mlp_s} | {median['sktkd'] / median['plain']:.2f}x | {vs_mlp} |",
                flush=True,
            )


@contextlib.contextmanager
def busy_process():
    """Another program keeping one core busy, as on a shared machine."""
    proc = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        time.sleep(0.5)
        yield
    finally:
        proc.kill()
        proc.wait()


def threads_table(repeats):
    X, y, proba = make_data(20_000)
    print(
        "Threads: seconds per epoch of sktkd's student (20,000 x 100 rows, 2 epochs), "
        f"median of {repeats} runs\n"
    )
    print("| hidden | batch | machine | 1 thread | 2 threads | n_threads=None |")
    print("|---:|---:|---|---:|---:|---:|")
    for width, batch_size in ((100, 64), (100, 200), (512, 200), (1024, 200)):
        for machine in ("idle", "one core busy"):
            context = busy_process() if machine != "idle" else contextlib.nullcontext()
            with context:
                times = {}
                for n_threads in (1, 2, None):
                    model = TransferClassifier(
                        hidden_layer_sizes=(width,),
                        max_epochs=2,
                        batch_size=batch_size,
                        n_threads=n_threads,
                        random_state=0,
                    )
                    fits = {"fit": lambda m=model: m.fit(X, y)}
                    times[n_threads] = median_times(fits, repeats)["fit"] / 2
            print(
                f"| {width} | {batch_size} | {machine} | {times[1]:.2f} | {times[2]:.2f} | "
                f"{times[None]:.2f} |",
                flush=True,
            )


def compile_table(X, y, epochs=5, batch_size=64):
    X_t, y_t = torch.tensor(standardised(X)), torch.tensor(y)
    print(f"torch.compile: seconds per epoch of the plain loop, batch {batch_size}, 1 thread\n")
    print("| module | " + " | ".join(f"epoch {e + 1}" for e in range(epochs)) + " |")
    print("|---|" + "---:|" * epochs)
    for name in ("eager", "torch.compile"):
        torch.manual_seed(0)
        net = MLP(X.shape[1], 5, (100,))
        optimizer = torch.optim.Adam(net.parameters(), lr=LR, fused=True)
        model = torch.compile(net) if name != "eager" else net
        generator, times = torch.Generator().manual_seed(0), []
        for _ in range(epochs):
            start = time.perf_counter()
            hand_epoch(model, optimizer, X_t, y_t, batch_size, generator, whole=True)
            times.append(time.perf_counter() - start)
        print(f"| {name} | " + " | ".join(f"{t:.3f}" for t in times) + " |", flush=True)


def make_values(X, seed=0):
    """Targets of a smooth function of the rows, in large units, and a teacher's
    recorded predictions of them (the targets plus noise)."""
    rng = np.random.default_rng(seed)
    w = rng.normal(size=(X.shape[1], 1)) / X.shape[1] ** 0.5
    Z = standardised(X)
    y = np.tanh(Z @ w).ravel() + 0.3 * np.sin(Z[:, 0]) + 0.1 * rng.normal(size=len(X))
    y = 1e3 * y + 5e4
    return y, y + 50 * rng.normal(size=len(X))


def plain_regression_loop(X, y, teacher, batch_size, epochs):
    """The reference for values: targets (and teacher predictions) standardised in
    float64 once, squared error, alpha 0.5 with a teacher."""
    torch.manual_seed(0)
    net = MLP(X.shape[1], 1, (100,))
    optimizer = torch.optim.Adam(net.parameters(), lr=LR, fused=True)
    mean, scale = y.mean(), y.std()
    X_t = torch.tensor(standardised(X))
    y_t = torch.tensor((y - mean) / scale, dtype=torch.float32).reshape(-1, 1)
    t_t = None
    if teacher is not None:
        t_t = torch.tensor((teacher - mean) / scale, dtype=torch.float32).reshape(-1, 1)
    generator = torch.Generator().manual_seed(0)
    net.train()
    for _ in range(epochs):
        order = torch.randperm(len(X_t), generator=generator)
        for start in range(0, len(X_t), batch_size):
            idx = order[start : start + batch_size]
            s = net(X_t.index_select(0, idx))
            loss = F.mse_loss(s, y_t.index_select(0, idx))
            if t_t is not None:
                loss = 0.5 * F.mse_loss(s, t_t.index_select(0, idx)) + 0.5 * loss
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    return net


def regression_table(X, args):
    y, teacher = make_values(X)
    E, common = args.epochs, {"max_epochs": args.epochs, "lr": LR, "random_state": 0}

    def distilled(b):
        return DistilledRegressor(batch_size=b, **common).fit(X, y, teacher_pred=teacher)

    def student(b):
        return TransferRegressor(batch_size=b, **common).fit(X, y)

    def mlp(b):
        model = MLPRegressor(
            hidden_layer_sizes=(100,), batch_size=b, learning_rate_init=LR, max_iter=E
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)  # few epochs, on purpose
            return model.set_params(random_state=0).fit(X, y)

    def skorch_regressor(b):
        torch.manual_seed(0)
        net = NeuralNetRegressor(
            MLP(X.shape[1], 1, (100,)),
            optimizer=torch.optim.Adam,
            lr=LR,
            max_epochs=E,
            batch_size=b,
            iterator_train__shuffle=True,
            train_split=None,
            verbose=0,
        )
        return net.fit(standardised(X), y.astype(np.float32).reshape(-1, 1))

    rows = {
        "plain PyTorch loop, with teacher": (
            lambda b: plain_regression_loop(X, y, teacher, b, E),
            None,
        ),
        "sktkd DistilledRegressor": (distilled, "plain PyTorch loop, with teacher"),
        "plain PyTorch loop": (lambda b: plain_regression_loop(X, y, None, b, E), None),
        "sktkd student without a teacher": (student, "plain PyTorch loop"),
        "MLPRegressor": (mlp, None),
        "stock skorch NeuralNetRegressor": (skorch_regressor, "plain PyTorch loop"),
    }
    print(
        f"Fit, regression: {E} epochs over {len(X):,} x {X.shape[1]} float32 rows, one hidden "
        f"layer of 100, 1 thread, median of {args.repeats} interleaved runs\n"
    )
    print("| batch | contender | median fit (s) | vs plain loop | vs MLPRegressor |")
    print("|---:|---|---:|---:|---:|")
    for batch_size in args.batch_sizes:
        contenders = {name: partial(fit, batch_size) for name, (fit, _) in rows.items()}
        median = median_times(contenders, args.repeats)
        for name, (_, ref) in rows.items():
            vs_plain = f"{median[name] / median[ref]:.2f}x" if ref else "—"
            vs_mlp = f"{median[name] / median['MLPRegressor']:.2f}x"
            print(
                f"| {batch_size} | {name} | {median[name]:.3f} | {vs_plain} | {vs_mlp} |",
                flush=True,
            )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[64, 200])
    parser.add_argument("--scale", action="store_true", help="fit time by rows and width")
    parser.add_argument("--threads", action="store_true", help="one thread against two")
    parser.add_argument("--compile", action="store_true", help="torch.compile against eager")
    parser.add_argument("--regression", action="store_true", help="the fit table for values")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(2)
        threads_table(args.repeats)
        return
    torch.set_num_threads(1)
    with threadpool_limits(1):  # numpy's BLAS on one thread too: MLPClassifier's arithmetic
        if args.scale:
            scale_table(args.repeats)
            return
        X, y, proba = make_data()
        if args.compile:
            compile_table(X, y)
            return
        if args.regression:
            regression_table(X, args)
            return
        fit_table(X, y, proba, args)
        prediction_table(X, y, proba, args.repeats)


if __name__ == "__main__":
    main()
