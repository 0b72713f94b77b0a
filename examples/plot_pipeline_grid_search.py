"""
Both estimators in a Pipeline and a grid search
===============================================

sktkd's estimators are ordinary scikit-learn classifiers. Inside a
``Pipeline`` the teacher sees the same transformed ``X`` as the student; an
unfitted teacher is refitted on each fold of a grid search; the student's
fidelity to its teacher is a scorer, :func:`sktkd.metrics.teacher_agreement`.
"""

# %%
# Distillation: search the temperature and the teacher's depth
# -------------------------------------------------------------
from sklearn.datasets import load_digits, load_wine
from sklearn.decomposition import PCA
from sklearn.ensemble import RandomForestClassifier
from sklearn.frozen import FrozenEstimator
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sktkd import DistilledClassifier, TransferClassifier
from sktkd.metrics import teacher_agreement

X, y = load_wine(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(X, y, stratify=y, random_state=0)

pipe = make_pipeline(
    StandardScaler(),
    PCA(n_components=8),
    DistilledClassifier(RandomForestClassifier(100, random_state=0), max_epochs=50, random_state=0),
)
grid = {
    "distilledclassifier__temperature": [1.0, 3.0],
    "distilledclassifier__teacher__max_depth": [3, None],
}
search = GridSearchCV(pipe, grid, scoring=teacher_agreement, cv=3).fit(X_train, y_train)
print("best:", search.best_params_)
print(
    f"test agreement {teacher_agreement(search.best_estimator_, X_test):.3f}, "
    f"test accuracy {search.best_estimator_.score(X_test, y_test):.3f}"
)

# %%
# Transfer: search the strategy, with a fitted source
# ----------------------------------------------------
# A network reads digits; the target task is odd or even, from 200 images.
# ``clone`` shares a fitted source instead of unfitting it, so every candidate
# of the search starts from the same source weights.
X, digit = load_digits(return_X_y=True)
X_source, X_target, digit_source, digit_target = train_test_split(
    X, digit, test_size=0.5, stratify=digit, random_state=0
)
source = TransferClassifier(hidden_layer_sizes=(64,), max_epochs=50, random_state=0)
source.fit(X_source, digit_source)
X_small, odd_small = X_target[:200], digit_target[:200] % 2

search = GridSearchCV(
    TransferClassifier(source, max_epochs=50, random_state=0),
    {"strategy": ["linear_probe", "lp_ft"], "l2sp": [0.0, 0.01]},
    cv=3,
).fit(X_small, odd_small)
print("best:", search.best_params_, f"cross-validated accuracy {search.best_score_:.3f}")

# %%
# A fitted network is also a featurizer: ``transform`` returns what it feeds its
# head. Frozen, it serves as the first step of a pipeline that fits a
# logistic regression on its features (a linear probe, the scikit-learn way).
probe = make_pipeline(FrozenEstimator(source), StandardScaler(), LogisticRegression())
search = GridSearchCV(probe, {"logisticregression__C": [0.1, 1.0]}, cv=3).fit(X_small, odd_small)
print(f"frozen features + logistic regression: {search.best_score_:.3f}")
