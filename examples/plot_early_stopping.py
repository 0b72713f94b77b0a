"""
Early stopping and learning curves
==================================

``early_stopping=True`` holds out a stratified ``validation_fraction`` of the
training rows (before the teacher is fitted, so it never sees them), scores
them after every epoch, stops once the validation accuracy has not improved by
``tol`` for more than ``n_iter_no_change`` epochs, and keeps the best epoch's
weights: ``MLPClassifier``'s names and rule. The history then holds the
validation loss, and :func:`sktkd.plot.plot_learning_curve` draws it next to
the training loss, with the kept epoch marked.
"""

# %%
import matplotlib.pyplot as plt
from sklearn.datasets import load_digits
from sklearn.ensemble import RandomForestClassifier
from sklearn.model_selection import train_test_split

from sktkd import DistilledClassifier
from sktkd.plot import plot_learning_curve

X, y = load_digits(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(X, y, stratify=y, random_state=0)

student = DistilledClassifier(
    RandomForestClassifier(300, random_state=0),
    temperature=2.0,
    max_epochs=300,
    early_stopping=True,
    n_iter_no_change=10,
    random_state=0,
).fit(X_train, y_train)
print(
    f"stopped after {student.n_iter_} of 300 epochs; best validation accuracy "
    f"{student.best_validation_score_:.3f}; test accuracy {student.score(X_test, y_test):.3f}"
)
ax = plot_learning_curve(student, label="distilled student")
ax.set_title("training and validation loss")
plt.show()

# %%
# Each epoch's scores are in ``history_``, as skorch records them: the
# validation loss, the accuracy that early stopping follows, and the student's
# agreement with the teacher on the held-out rows.
for row in student.history_[-3:]:
    print(
        f"epoch {row['epoch']}: valid_loss {row['valid_loss']:.3f}, "
        f"valid_acc {row['valid_acc']:.3f}, valid_agreement {row['valid_agreement']:.3f}"
    )

# %%
# The rule is skorch's ``EarlyStopping``, named ``"early_stopping"``: route
# parameters to it to follow another score, here the agreement with the
# teacher. Any other skorch callback works the same way, e.g.
# ``callbacks=[EpochScoring("f1_macro", lower_is_better=False)]``.
follower = DistilledClassifier(
    RandomForestClassifier(300, random_state=0),
    temperature=2.0,
    max_epochs=300,
    early_stopping=True,
    callbacks__early_stopping__monitor="valid_agreement",
    random_state=0,
).fit(X_train, y_train)
print(f"following the agreement: stopped after {follower.n_iter_} epochs")
