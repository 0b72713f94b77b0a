"""Transfer with few labels: from scratch vs each fine-tuning strategy.

On load_digits, each seed splits the images in two halves. A source network
(TransferClassifier, sktkd's default MLP) is trained on all ten classes of one
half. Target tasks come from the other half, with few labelled images; every
other image of that half is a test row:

- "odd/even, 5+5": a binary task derived from the digits, 5 labels per class;
- "10 new labels, 2 each" / "5 each": the ten digits under new names, so the
  source's head cannot be reused and a fresh head is learnt;
- "shifted 1 px / 2 px, 5 each": the same ten digits, 5 labels each, with
  the target images moved right by one or two pixels: inputs shifted away
  from the source's (pixel columns nearly blank at the source are not at the
  target), where the source's input statistics mislead.

Each contender is a TransferClassifier with that source (or none) and the
seed of the split; the table gives the target test accuracy, mean ± std.

    python benchmarks/bench_transfer.py            # the table (seeds 0-4)
    python benchmarks/bench_transfer.py --sweep    # how the defaults were chosen

``--sweep`` scores each strategy over learning rates and epochs on other
splits (seeds 100-104), never on the rows of the table.
"""

import argparse
import ast
import itertools
import warnings

import numpy as np
import torch
from joblib import Parallel, delayed
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from sktkd import TransferClassifier


def renamed(digit):
    return np.char.add("digit ", digit.astype(str))


def shifted(X, pixels):
    """The 8 x 8 images moved right by ``pixels``, blank columns on the left."""
    images = X.reshape(-1, 8, 8)
    out = np.zeros_like(images)
    out[:, :, pixels:] = images[:, :, : 8 - pixels]
    return out.reshape(len(X), 64)


# task: (labels from digits, labels per class, pixels the target is shifted by)
TASKS = {
    "odd/even, 5+5": (lambda digit: digit % 2, 5, 0),
    "10 new labels, 2 each": (renamed, 2, 0),
    "10 new labels, 5 each": (renamed, 5, 0),
    "shifted 1 px, 5 each": (lambda digit: digit, 5, 1),
    "shifted 2 px, 5 each": (lambda digit: digit, 5, 2),
}

TABLE = {
    "from scratch": {"source": None},
    "full": {"strategy": "full"},
    "linear_probe": {"strategy": "linear_probe"},
    "lp_ft (default)": {},
    "gradual": {"strategy": "gradual"},
    "full, lr_decay=0.5": {"strategy": "full", "lr_decay": 0.5},
    "full, l2sp=0.01": {"strategy": "full", "l2sp": 0.01},
    "lp_ft, input_scaling='source'": {"input_scaling": "source"},
}


def few_labels(y, per_class, rng):
    """Indices of ``per_class`` rows of every class."""
    return np.concatenate(
        [rng.choice(np.flatnonzero(y == c), per_class, replace=False) for c in np.unique(y)]
    )


def run_seed(seed, settings):
    """{(task, setting): target test accuracy} for one split."""
    torch.set_num_threads(1)  # one process per core
    warnings.simplefilter("ignore")  # near-chance warnings of the weakest contenders
    X, digits = load_digits(return_X_y=True)
    X_src, X_tgt, y_src, d_tgt = train_test_split(
        X, digits, test_size=0.5, stratify=digits, random_state=seed
    )
    source = TransferClassifier(random_state=seed).fit(X_src, y_src)
    rng = np.random.default_rng(seed)
    scores = {}
    for task, (relabel, per_class, pixels) in TASKS.items():
        y, X = relabel(d_tgt), shifted(X_tgt, pixels) if pixels else X_tgt
        train = few_labels(y, per_class, rng)
        test = np.setdiff1d(np.arange(len(y)), train)
        for name, params in settings.items():
            params = {"source": source, "random_state": seed, **params}
            model = TransferClassifier(**params).fit(X[train], y[train])
            scores[(task, name)] = model.score(X[test], y[test])
    return scores


def evaluate(seeds, settings):
    runs = Parallel(n_jobs=-1)(delayed(run_seed)(seed, settings) for seed in seeds)
    return {key: [run[key] for run in runs] for key in runs[0]}


def print_table(results, settings, title):
    print(title + "\n")
    print("| contender | " + " | ".join(TASKS) + " | mean |")
    print("|---|" + "---:|" * (len(TASKS) + 1))
    for name in settings:
        accs = [results[(task, name)] for task in TASKS]
        cells = [f"{np.mean(a):.3f} ± {np.std(a):.3f}" for a in accs]
        print(f"| {name} | " + " | ".join(cells) + f" | {np.mean(accs):.3f} |", flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sweep", action="store_true")
    parser.add_argument(
        "--strategies", nargs="+", default=["scratch", "full", "linear_probe", "lp_ft", "gradual"]
    )
    parser.add_argument("--lrs", type=float, nargs="+", default=[1e-3, 3e-3, 1e-2])
    parser.add_argument("--epochs", type=int, nargs="+", default=[50, 100, 200])
    parser.add_argument(
        "--extra",
        nargs="*",
        default=[],
        help="more parameters for every swept setting, as name=value",
    )
    args = parser.parse_args()
    if not args.sweep:
        results = evaluate(range(5), TABLE)
        print_table(results, TABLE, "Target test accuracy, mean ± std over seeds 0-4")
        return
    extra = {k: ast.literal_eval(v) for k, v in (item.split("=") for item in args.extra)}
    settings = {
        f"{s}, lr={lr:g}, max_epochs={e}": {"strategy": s, "lr": lr, "max_epochs": e, **extra}
        for s, lr, e in itertools.product(args.strategies, args.lrs, args.epochs)
    }
    for params in settings.values():
        if params["strategy"] == "scratch":  # no source: trained from scratch
            params.update(source=None, strategy="full")
    results = evaluate(range(100, 105), settings)
    print_table(results, settings, f"Sweep, seeds 100-104, extra {extra}")


if __name__ == "__main__":
    main()
