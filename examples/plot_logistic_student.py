"""
A logistic-regression student
=============================

``hidden_layer_sizes=()`` makes the student a single linear layer: a
multinomial logistic regression trained on the soft labels of a random forest.
It predicts as cheaply as any linear model, and its weights can be read. A
student of little capacity cannot follow the teacher's fine structure, so a
low temperature, which keeps the teacher's probabilities as they are, suits it.
"""

# %%
import matplotlib.pyplot as plt
from sklearn.datasets import load_digits
from sklearn.ensemble import RandomForestClassifier
from sklearn.frozen import FrozenEstimator
from sklearn.model_selection import train_test_split

from sktkd import DistilledClassifier
from sktkd.metrics import teacher_agreement

X, y = load_digits(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(X, y, stratify=y, random_state=0)
forest = RandomForestClassifier(300, random_state=0).fit(X_train, y_train)
teacher = FrozenEstimator(forest)

linear = {"hidden_layer_sizes": (), "random_state": 0}
on_labels = DistilledClassifier(teacher, alpha=0.0, **linear).fit(X_train, y_train)
distilled = DistilledClassifier(teacher, temperature=1.0, **linear).fit(X_train, y_train)
print(f"forest accuracy: {forest.score(X_test, y_test):.3f}")
for name, model in [("linear, labels only", on_labels), ("linear, distilled", distilled)]:
    print(
        f"{name}: accuracy {model.score(X_test, y_test):.3f}, "
        f"agreement with the forest {teacher_agreement(model, X_test):.3f}"
    )

# %%
# The network standardises its inputs (``module_.standardize``), then applies
# one linear layer: each class has one weight per pixel, shown as an image.
weights = distilled.module_.body.layers[0].weight.detach().numpy()
fig, axes = plt.subplots(2, 5, figsize=(10, 4))
for digit, ax in enumerate(axes.ravel()):
    ax.imshow(weights[digit].reshape(8, 8), cmap="RdBu_r")
    ax.set_title(str(digit))
    ax.axis("off")
fig.suptitle("weights of the distilled logistic regression, per class")
