"""
Serve a distilled forest
========================

A random forest of 300 trees reads digits well but is heavy to ship and slow
to call one row at a time. A small network distilled from it keeps its
decisions at a fraction of the size and of the latency. This example drops
the teacher before saving (``keep_teacher=False``), compares pickle sizes and
prediction times of forest and student, exports the student to ONNX, and
checks that onnxruntime gives the same answers as ``predict_proba``.
Timings depend on the machine: read them as ratios.
"""

# %%
import pickle
import time

import matplotlib.pyplot as plt
import numpy as np
import onnxruntime
from sklearn.datasets import load_digits
from sklearn.ensemble import RandomForestClassifier
from sklearn.model_selection import train_test_split

from sktkd import DistilledClassifier, to_onnx
from sktkd.metrics import teacher_agreement

X, y = load_digits(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(X, y, stratify=y, random_state=0)
forest = RandomForestClassifier(300, random_state=0).fit(X_train, y_train)
student = DistilledClassifier(
    # Fitted inside on the same rows with the same seed: the same forest as above.
    RandomForestClassifier(300, random_state=0),
    temperature=2.0,
    keep_teacher=False,
    max_epochs=60,
    random_state=0,
).fit(X_train, y_train)
print(f"forest accuracy {forest.score(X_test, y_test):.3f}")
print(f"student accuracy {student.score(X_test, y_test):.3f}")
print(f"agreement {teacher_agreement(student, X_test, teacher=forest):.3f}")

# %%
# The student was given an unfitted forest and fitted it as its teacher;
# ``keep_teacher=False`` dropped that teacher after training, so the pickle
# holds the network alone (``teacher_agreement`` then takes the teacher as an
# argument). A teacher given already fitted is a parameter of the student, and
# would be pickled with it: ``student.set_params(teacher=None)`` before saving.
sizes = {"forest": len(pickle.dumps(forest)), "student": len(pickle.dumps(student))}
for name, size in sizes.items():
    print(f"{name} pickle: {size / 1e3:,.0f} kB")

# %%
# The student exported to ONNX (standardisation, network and softmax in one
# graph) runs in onnxruntime, here with the same answers.
session = onnxruntime.InferenceSession(to_onnx(student, X_train).SerializeToString())
X32 = X_test.astype(np.float32)
label, proba = session.run(None, {"X": X32})
print(f"same labels: {bool((label == student.predict(X_test)).all())}")
print(f"largest probability difference: {np.abs(proba - student.predict_proba(X_test)).max():.1e}")


# %%
# Latency of one row and of the whole test set, median of repeated calls.
def latency(predict, rows, repeats=50):
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        predict(rows)
        times.append(time.perf_counter() - start)
    return float(np.median(times))


models = {
    "forest": forest.predict_proba,
    "student": student.predict_proba,
    "student, onnxruntime": lambda rows: session.run(None, {"X": rows}),
}
one, many = {}, {}
for name, predict in models.items():
    one[name] = latency(predict, X32[:1])
    many[name] = latency(predict, X32, repeats=10)
    print(f"{name}: {one[name] * 1e3:.2f} ms for one row, {many[name] * 1e3:.1f} ms for 450")

fig, ax = plt.subplots(figsize=(6, 3))
ax.barh(list(one), [t * 1e3 for t in one.values()])
ax.set_xlabel("milliseconds for one row (lower is faster)")
ax.set_title("predict_proba latency")
fig.tight_layout()
plt.show()
