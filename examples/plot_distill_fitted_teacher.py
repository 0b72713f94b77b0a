"""
Distil a fitted expert into a small network
===========================================

A gradient-boosted ensemble is accurate but awkward to serve. A small network
trained on its soft labels keeps its decisions and predicts faster. The expert
is already fitted: wrapped in :class:`~sklearn.frozen.FrozenEstimator`, it is
used as it is and never refitted.
"""

# %%
import time

import matplotlib.pyplot as plt
from sklearn.datasets import load_digits
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.frozen import FrozenEstimator
from sklearn.model_selection import train_test_split

from sktkd import DistilledClassifier
from sktkd.metrics import teacher_agreement
from sktkd.plot import plot_agreement

X, y = load_digits(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(X, y, stratify=y, random_state=0)
expert = HistGradientBoostingClassifier(random_state=0).fit(X_train, y_train)

# %%
# The student takes the raw pixel values: it standardises its inputs inside
# the network. ``alpha=0`` trains the same network on the hard labels alone.
#
# At the default temperature of 1 the distilled student prints the same
# numbers as the student alone, and ``fit`` warns why: on its own training
# rows a boosted ensemble is so sure of itself that its probabilities are
# nearly 0 or 1, and teach nothing the labels do not. A temperature of 3
# softens them (``softmax(logits / 3)``), so that the student also learns
# which digits the expert finds alike; here that buys test accuracy, while
# the student copies fewer of the expert's own mistakes. Out-of-fold soft
# labels (``teacher_cv=5`` with the unfitted expert) are the other remedy.
teacher = FrozenEstimator(expert)
alone = DistilledClassifier(teacher, alpha=0.0, random_state=0).fit(X_train, y_train)
student = DistilledClassifier(teacher, random_state=0).fit(X_train, y_train)
softened = DistilledClassifier(teacher, temperature=3.0, random_state=0).fit(X_train, y_train)

print(f"expert accuracy: {expert.score(X_test, y_test):.3f}")
students = [("student alone", alone), ("distilled, T=1", student), ("distilled, T=3", softened)]
for name, model in students:
    print(
        f"{name}: accuracy {model.score(X_test, y_test):.3f}, "
        f"agreement with the expert {teacher_agreement(model, X_test):.3f}"
    )

# %%
# Prediction time of the expert and the student on the same rows.
for name, model in [("expert", expert), ("student", student)]:
    start = time.perf_counter()
    model.predict_proba(X_test.repeat(20, axis=0))
    print(f"{name} predict_proba: {time.perf_counter() - start:.3f} s")

# %%
# Where the student and the expert disagree:
fig, ax = plt.subplots(figsize=(6, 5))
plot_agreement(student, X_test, ax=ax)
