"""
Learn from recorded expert decisions
====================================

Sometimes the teacher cannot be called at all: its decisions were recorded.
Here an expert (simulated by a model fitted at another hospital) gave a
probability of "benign" for every tumour of our training set, but the
confirmed diagnosis is known for only 20 of them. The expert's probabilities
go to ``fit`` as ``teacher_proba`` (with ``teacher=None``), and the rows
without a diagnosis are marked ``-1`` with ``unlabeled_label=-1``: they train
on the soft term alone.
"""

# %%
import numpy as np
from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sktkd import DistilledClassifier

X, y = load_breast_cancer(return_X_y=True)
X_elsewhere, X_ours, y_elsewhere, y_ours = train_test_split(
    X, y, test_size=0.6, stratify=y, random_state=0
)
expert = make_pipeline(StandardScaler(), LogisticRegression(C=0.1)).fit(X_elsewhere, y_elsewhere)

X_train, X_test, y_train, y_test = train_test_split(X_ours, y_ours, stratify=y_ours, random_state=0)
recorded = expert.predict_proba(X_train)  # columns: the sorted classes, 0 then 1

rng = np.random.default_rng(0)
confirmed = np.concatenate(
    [rng.choice(np.flatnonzero(y_train == c), 10, replace=False) for c in (0, 1)]
)
y_partial = np.full(len(y_train), -1)
y_partial[confirmed] = y_train[confirmed]

# %%
# The student trained on the 20 confirmed diagnoses alone, and the student that
# also learns from the expert's recorded decisions on every row:
alone = DistilledClassifier(alpha=0.0, hidden_layer_sizes=(32,), random_state=0)
alone.fit(X_train[confirmed], y_train[confirmed], teacher_proba=recorded[confirmed])
student = DistilledClassifier(hidden_layer_sizes=(32,), unlabeled_label=-1, random_state=0)
student.fit(X_train, y_partial, teacher_proba=recorded)

print(f"expert accuracy: {expert.score(X_test, y_test):.3f}")
print(f"student on 20 diagnoses: {alone.score(X_test, y_test):.3f}")
print(f"student on 20 diagnoses + the expert's decisions: {student.score(X_test, y_test):.3f}")
