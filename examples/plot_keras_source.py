"""
Transfer a Keras network to a target task with few labels
=========================================================

The workflow of :ref:`sphx_glr_auto_examples_plot_source_to_target.py`, with a
source network trained in Keras 3 (here on its torch backend). The source task
is reading handwritten digits; the target task, on other images, is telling
odd digits from even ones, with ten labelled images per class.

sktkd trains a torch copy of the Keras network: each Keras layer becomes the
torch layer computing the same, under the Keras layer's name, and the copy is
checked against the Keras model before training. The Keras model is never
modified, and the fitted student needs no Keras to predict.
"""

# %%
# The source network, in Keras
# ----------------------------
import os

os.environ.setdefault("KERAS_BACKEND", "torch")  # before Keras is imported

import keras
import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from sktkd import TransferClassifier

X, digit = load_digits(return_X_y=True)
X = X.astype(np.float32)
X_source, X_target, digit_source, digit_target = train_test_split(
    X, digit, test_size=0.5, stratify=digit, random_state=0
)
keras.utils.set_random_seed(0)
scale = keras.layers.Normalization(name="scale")
scale.adapt(X_source)
source = keras.Sequential(
    [
        keras.Input((64,)),
        scale,
        keras.layers.Dense(64, activation="relu", name="hidden"),
        keras.layers.Dropout(0.2, name="dropout"),
        keras.layers.Dense(10, activation="softmax", name="digits"),
    ]
)
source.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
source.fit(X_source, digit_source, epochs=30, batch_size=32, verbose=0)
accuracy = source.evaluate(X_target, digit_target, verbose=0)[1]
print(f"Keras source network, digit accuracy on the target images: {accuracy:.3f}")

# %%
# The target task: odd or even, from 10 labels per class
# -------------------------------------------------------
# The Keras head ``Dense("digits")`` and its softmax are replaced by a fresh
# two-class head giving logits; ``Normalization`` becomes the input scaling,
# recomputed from the target's rows (``input_scaling="target"``).
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
# The student is a torch network named as the Keras one was:
print(models["lp_ft"].module_.body)

fig, ax = plt.subplots(figsize=(5, 4))
ax.bar(list(scores), list(scores.values()), color="tab:orange")
ax.set_ylim(0.5, 1)
ax.set_ylabel("target test accuracy")
ax.set_title("Odd or even, 20 labels, from a Keras source")
fig.tight_layout()
