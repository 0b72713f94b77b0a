"""
Transfer a source network to a target task with few labels
==========================================================

A network trained on a large source task is adapted to a target task that
has few labels. Here the source task is reading handwritten digits; the target
task, on other images, is telling odd digits from even ones, with ten labelled
images per class.
"""

# %%
# The source model
# ----------------
# ``TransferClassifier()`` without a source trains from scratch: that is how a
# source model is made.
import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from sktkd import TransferClassifier
from sktkd.plot import plot_learning_curve

X, digit = load_digits(return_X_y=True)
X_source, X_target, digit_source, digit_target = train_test_split(
    X, digit, test_size=0.5, stratify=digit, random_state=0
)
source = TransferClassifier(hidden_layer_sizes=(64,), random_state=0)
source.fit(X_source, digit_source)
accuracy = source.score(X_target, digit_target)
print(f"source network, digit accuracy on the target images: {accuracy:.3f}")

# %%
# The target task: odd or even, from 10 labels per class
# -------------------------------------------------------
# The target's classes (0 = even, 1 = odd) differ from the source's digits, so
# the network gets a fresh two-class head. Every ``fit`` starts again from the
# source's weights; the source itself is never modified.
odd = digit_target % 2
rng = np.random.default_rng(0)
labelled = np.concatenate([rng.choice(np.flatnonzero(odd == c), 10, replace=False) for c in (0, 1)])
test = np.setdiff1d(np.arange(len(odd)), labelled)

models = {
    "from scratch": TransferClassifier(hidden_layer_sizes=(64,), random_state=0),
    "linear_probe": TransferClassifier(source, strategy="linear_probe", random_state=0),
    "full": TransferClassifier(source, strategy="full", random_state=0),
    "lp_ft": TransferClassifier(source, strategy="lp_ft", random_state=0),
}
scores = {}
for name, model in models.items():
    model.fit(X_target[labelled], odd[labelled])
    scores[name] = model.score(X_target[test], odd[test])
    print(f"{name:>12}: {scores[name]:.3f}")

# %%
# ``lp_ft`` first trains the head alone (``probe_epochs``), then everything at
# ``lr * finetune_lr_scale`` with a fresh optimizer: its history shows both phases.
fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
left.bar(list(scores), list(scores.values()), color="tab:blue")
left.set_ylim(0.5, 1)
left.set_ylabel("target test accuracy")
plot_learning_curve(models["lp_ft"], label="lp_ft: probe, then fine-tune", ax=right)
right.axvline(models["lp_ft"].probe_epochs + 0.5, color="gray", linestyle=":")
fig.tight_layout()
