"""
Distil a forest regressor into a small network
==============================================

A random forest fits ``make_friedman1`` well, but it is large and slow to
call, and its predictions are step functions of the inputs. A small network
distilled from it with :class:`~sktkd.DistilledRegressor` predicts over ten
times faster and is smooth. Between the training rows the student must guess
what the forest would say; synthetic MUNGE rows, labelled by the forest,
show it. This example compares the student trained on ``y`` alone, the
distilled student, and the distilled student with MUNGE rows: R² against
the truth and against the forest's predictions (fidelity), and prediction
time. Timings depend on the machine: read them as ratios.
"""

# %%
import time

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import make_friedman1
from sklearn.ensemble import RandomForestRegressor
from sklearn.frozen import FrozenEstimator
from sklearn.metrics import r2_score
from sklearn.model_selection import train_test_split

from sktkd import DistilledRegressor

X, y = make_friedman1(n_samples=2000, noise=1.0, random_state=0)
X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)
forest = RandomForestRegressor(300, random_state=0).fit(X_train, y_train)
teacher = FrozenEstimator(forest)  # fitted above: used as it is, never refitted

students = {
    "y alone (alpha=0)": DistilledRegressor(teacher, alpha=0.0, random_state=0),
    "distilled": DistilledRegressor(teacher, random_state=0),
    "distilled + MUNGE": DistilledRegressor(teacher, augment="munge", random_state=0),
}
forest_test = forest.predict(X_test)
print(f"forest: R² {r2_score(y_test, forest_test):.3f}")
for name, student in students.items():
    predicted = student.fit(X_train, y_train).predict(X_test)
    print(
        f"{name}: R² {r2_score(y_test, predicted):.3f}, "
        f"fidelity {r2_score(forest_test, predicted):.3f}"
    )

# %%
# Read the two scores apart. On this smooth function a network fitted to
# ``y`` alone is more accurate than the forest: distillation copies the
# teacher, its errors included, so the fidelity rises (most with MUNGE rows)
# while R² against the truth follows the teacher's. Distil when the teacher
# is the model you want to serve faster, or when it knows more than ``y``
# says (see ``benchmarks/bench_regression.py`` for gradient boosting, where
# both rise).
#
# Prediction time on 100,000 rows. The student's network standardises its
# inputs and scales its outputs back to ``y``'s units itself.
rows = np.resize(X_test, (100_000, X.shape[1]))
times = {}
for name, model in {"forest": forest, "student": students["distilled + MUNGE"]}.items():
    start = time.perf_counter()
    model.predict(rows)
    times[name] = time.perf_counter() - start
print(
    f"forest {times['forest']:.3f} s, student {times['student']:.3f} s "
    f"({times['forest'] / times['student']:.0f}x faster)"
)

# %%
# Along one input, the others held at 0.5: the forest's steps, the student's
# smooth curve.
grid = np.full((200, X.shape[1]), 0.5)
grid[:, 3] = np.linspace(0, 1, 200)
fig, ax = plt.subplots(figsize=(6, 4))
ax.plot(grid[:, 3], forest.predict(grid), label="forest (teacher)")
ax.plot(grid[:, 3], students["distilled + MUNGE"].predict(grid), label="student, + MUNGE")
ax.set_xlabel("x3 (other inputs at 0.5)")
ax.set_ylabel("prediction")
ax.legend()
plt.show()
