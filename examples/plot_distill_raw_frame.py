"""
Compress a boosted model fitted on a raw DataFrame
==================================================

Gradient boosting takes a table as it comes: categorical columns and missing
values need no encoding. :class:`~sklearn.ensemble.HistGradientBoostingClassifier`
with ``categorical_features="from_dtype"`` (or LightGBM) is fitted here on such
a frame. A network needs numbers, but its teacher must be asked on the rows it
was fitted on: :class:`~sktkd.DistilledClassifier` gives the teacher the frame
as it is and the student its own numbers, through ``preprocessor`` (by default
one-hot categories, mean-imputed numbers and a column per number that had
missing values, built from scikit-learn's ``ColumnTransformer``). The same
preprocessor goes with the student into ``predict``, the pickle and
:func:`sktkd.to_onnx`. Timings depend on the machine: read them as ratios.
"""

# %%
# A raw table: numbers with gaps, categories that carry signal, a flag
# --------------------------------------------------------------------
import time

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from sklearn.datasets import make_classification
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.frozen import FrozenEstimator
from sklearn.model_selection import train_test_split

from sktkd import DistilledClassifier

X, y = make_classification(4000, n_features=8, n_informative=5, n_classes=3, random_state=0)
rng = np.random.default_rng(0)
frame = pd.DataFrame(X[:, 2:] * [1, 10, 100, 0.1, 1, 5], columns=[f"x{i}" for i in range(6)])
frame.loc[rng.random(len(frame)) < 0.15, "x0"] = np.nan
for j, name in enumerate(["region", "product"]):  # two informative columns, as categories
    bins = np.digitize(X[:, j] + 0.3 * rng.normal(size=len(X)), np.linspace(-2, 2, 9))
    frame[name] = pd.Categorical([f"{name}_{b}" for b in bins])
frame["member"] = rng.random(len(frame)) < 0.5
X_train, X_test, y_train, y_test = train_test_split(frame, y, random_state=0)
print(frame.head(3))

boosting = HistGradientBoostingClassifier(categorical_features="from_dtype", random_state=0)
boosting.fit(X_train, y_train)
print(f"boosting: test accuracy {boosting.score(X_test, y_test):.3f}")

# %%
# The student: the raw frame in, as the teacher took it
# -----------------------------------------------------
# MUNGE rows (``augment="munge"``) are made in the table's own terms: a
# category takes its neighbour's category, a number moves toward its
# neighbour's, so the teacher is asked on rows of the same columns and types.
student = DistilledClassifier(
    FrozenEstimator(boosting), augment="munge", augment_factor=2, max_epochs=30, random_state=0
)
student.fit(X_train, y_train)
agreement = np.mean(student.predict(X_test) == boosting.predict(X_test))
print(f"student:  test accuracy {student.score(X_test, y_test):.3f}, agreement {agreement:.3f}")
print(student.preprocessor_)

# %%
# Unknown categories and new gaps give predictions
# ------------------------------------------------
odd = X_test[:3].copy()
odd["region"] = pd.Categorical(["region_new"] * 3)  # never seen in fit: all zeros
odd["x3"] = np.nan  # no gap here during fit: imputed with the training mean
print(student.predict_proba(odd).round(3))

# %%
# Prediction time
# ---------------
rows = pd.concat([X_test] * 20, ignore_index=True)
times = {}
for name, model in {"boosting": boosting, "student": student}.items():
    start = time.perf_counter()
    model.predict_proba(rows)
    times[name] = time.perf_counter() - start
print({name: f"{seconds * 1e3:.0f} ms" for name, seconds in times.items()}, f"on {len(rows)} rows")

# %%
# Agreement with the teacher, per region
# --------------------------------------
agree = pd.Series(student.predict(X_test) == boosting.predict(X_test), index=X_test.index)
per_region = agree.groupby(X_test["region"], observed=True).mean()
per_region.plot.bar(ylim=(0.5, 1.0), ylabel="agreement with boosting", rot=45)
plt.title("Student vs teacher on held-out rows")
plt.tight_layout()
plt.show()
