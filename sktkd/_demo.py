"""The demo: distillation and transfer on load_digits, end to end."""

import time

import numpy as np
import torch
from sklearn.datasets import load_digits
from sklearn.ensemble import RandomForestClassifier
from sklearn.frozen import FrozenEstimator
from sklearn.model_selection import train_test_split

from ._distilled import DistilledClassifier
from ._transfer import TransferClassifier
from .metrics import teacher_agreement


class _Progress:
    """One line per step: what runs, then how long it took."""

    def __init__(self, n_steps, out):
        self.n_steps, self.step, self.out = n_steps, 0, out

    def __call__(self, what, fn):
        self.step += 1
        print(f"[{self.step}/{self.n_steps}] {what} ...", end="", flush=True, file=self.out)
        start = time.perf_counter()
        result = fn()
        print(f" {time.perf_counter() - start:.1f} s", flush=True, file=self.out)
        return result


def _predict_time(model, X, repeats=3):
    """Median time of ``predict_proba`` on one thread, as the forest predicts."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        model.predict_proba(X[:1000])  # warm-up: a first call pays one-off set-up costs
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            model.predict_proba(X)
            times.append(time.perf_counter() - start)
    finally:
        torch.set_num_threads(threads)
    return float(np.median(times))


def run_demo(seed=0, quick=False, out=None):
    """Run both seed workflows on load_digits and return their results.

    Parameters
    ----------
    seed : int, default=0
        Seeds the splits, the forest and the networks.
    quick : bool, default=False
        A reduced setting (small forest, few epochs) for tests.
    out : file-like, default=None
        Where progress lines go; ``None`` prints nothing.

    Returns
    -------
    results : dict
        ``"distillation"``: rows (model, test accuracy, agreement with the
        teacher, predict_proba speed-up over the teacher); ``"transfer"``:
        rows (model, target test accuracy); ``"models"``: the fitted models and
        test data, for plots.
    """
    progress = _Progress(5, out) if out is not None else (lambda what, fn: fn())
    n_trees, epochs = (20, 5) if quick else (300, 100)
    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.25, stratify=y, random_state=seed
    )

    # Distillation: a forest's decisions in a small network.
    forest = progress(
        f"teacher: random forest of {n_trees} trees",
        lambda: RandomForestClassifier(n_trees, random_state=seed).fit(X_train, y_train),
    )
    teacher = FrozenEstimator(forest)
    common = {"random_state": seed, "max_epochs": epochs}
    alone = progress(
        "student alone (hard labels, alpha=0)",
        lambda: DistilledClassifier(teacher, alpha=0.0, **common).fit(X_train, y_train),
    )
    distilled = progress(
        "distilled student (soft labels of the forest)",
        lambda: DistilledClassifier(teacher, **common).fit(X_train, y_train),
    )
    X_timed = np.resize(X_test, (50_000, X_test.shape[1]))
    t_forest = _predict_time(forest, X_timed)
    distillation = [("random forest (teacher)", forest.score(X_test, y_test), None, 1.0)]
    for name, model in [("student alone", alone), ("distilled student", distilled)]:
        distillation.append(
            (
                name,
                model.score(X_test, y_test),
                teacher_agreement(model, X_test),
                t_forest / _predict_time(model, X_timed),
            )
        )

    # Transfer: a network that reads digits learns to tell digits >= 5 from 10 labels each.
    half = np.arange(len(y_train)) % 2 == 0
    source = progress(
        "source network reading digits (half the training images)",
        lambda: TransferClassifier(**common).fit(X_train[half], y_train[half]),
    )
    size = np.array(["low", "high"])
    X_target, y_target = X_train[~half], size[(y_train[~half] >= 5).astype(int)]
    rng = np.random.default_rng(seed)
    few = np.concatenate(
        [rng.choice(np.flatnonzero(y_target == c), 10, replace=False) for c in size]
    )

    def adapt():
        scratch = TransferClassifier(**common).fit(X_target[few], y_target[few])
        transferred = TransferClassifier(source, **common).fit(X_target[few], y_target[few])
        return scratch, transferred

    scratch, transferred = progress("target task, digit >= 5 or not, from 10 labels each", adapt)
    y_test_target = size[(y_test >= 5).astype(int)]
    transfer = [
        (name, model.score(X_test, y_test_target))
        for name, model in [("from scratch", scratch), ("transferred (lp_ft)", transferred)]
    ]
    models = {
        "alone": alone,
        "distilled": distilled,
        "forest": forest,
        "scratch": scratch,
        "transferred": transferred,
        "X_test": X_test,
        "y_test": y_test,
    }
    return {"distillation": distillation, "transfer": transfer, "models": models}


def format_results(results):
    """The demo's tables, as text."""
    lines = ["Distillation: a random forest's decisions in a small network (load_digits)", ""]
    lines.append(f"{'model':<26}{'test accuracy':>15}{'agreement':>12}{'predict speed-up':>19}")
    for name, acc, agree, speed in results["distillation"]:
        agreement = "-" if agree is None else f"{agree:.3f}"
        lines.append(f"{name:<26}{acc:>15.3f}{agreement:>12}{speed:>18.1f}x")
    lines += [
        "",
        "Transfer: is the digit 5 or more? From 10 labels each, starting from a",
        "network that reads digits (trained on other images)",
        "",
    ]
    lines.append(f"{'model':<26}{'test accuracy':>15}")
    for name, acc in results["transfer"]:
        lines.append(f"{name:<26}{acc:>15.3f}")
    return "\n".join(lines)


def plot_results(results, path):
    """Save a figure of the demo's results to ``path``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from .plot import plot_agreement, plot_learning_curve, plot_reliability

    m = results["models"]
    fig, axes = plt.subplots(2, 2, figsize=(11, 9))
    plot_learning_curve(m["alone"], label="student alone: cross-entropy", ax=axes[0, 0])
    plot_learning_curve(m["distilled"], label="distilled: soft + hard terms", ax=axes[0, 0])
    axes[0, 0].set_title("training loss of the students")
    plot_agreement(m["distilled"], m["X_test"], ax=axes[0, 1])
    plot_reliability(m["distilled"], m["X_test"], m["y_test"], ax=axes[1, 0])
    axes[1, 0].set_title("reliability on the test rows")
    names, accs = zip(*results["transfer"], strict=True)
    axes[1, 1].bar(names, accs, color=["tab:gray", "tab:blue"])
    axes[1, 1].set_ylim(0, 1)
    axes[1, 1].set_ylabel("target test accuracy")
    axes[1, 1].set_title("digit >= 5 or not, from 10 labels per class")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path
