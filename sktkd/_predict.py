"""Prediction, shared by all estimators: the fitted network called directly.

What the network's output means (logits, or standardised targets) is the
task's: :mod:`sktkd._classifier`, :mod:`sktkd._regressor`.

scikit-learn's names and checks (``validate_data`` for anything but a plain
float array of the fitted width), skorch's net left out of the way: its
dataset, loader and forward loop cost more than the arithmetic on the small
inputs of serving.
"""

import copy

import numpy as np
import torch
from sklearn.utils.validation import check_is_fitted, validate_data

from ._modules import whole_network
from ._preprocess import INPUT_DTYPES as _INPUT_DTYPES
from ._preprocess import raw_rows, student_rows
from ._threads import SMALL_PREDICTION_BATCH, threads_for, torch_threads

# Rows per forward pass at prediction time: large batches are fastest on CPU.
_PREDICT_BATCH_SIZE = 4096


def untensor(X):
    """A torch tensor as an ndarray (detached, on the CPU); anything else as it is.

    Data that is not in memory is refused with a ``TypeError`` saying what to
    do: a dask collection (computing it silently would hold it several times
    over) or a torch ``Dataset`` (rows of any structure).
    """
    if isinstance(X, np.ndarray):  # the common case, on every prediction: no more checks
        return X
    if isinstance(X, torch.Tensor):
        return X.detach().cpu().numpy()
    name = f"{type(X).__module__}.{type(X).__qualname__}"
    if hasattr(X, "__dask_graph__"):
        raise TypeError(
            f"Got a dask collection ({name}); sktkd trains and predicts on data in memory. "
            "Pass it computed (.compute()) if it fits; to train on data that does not, call "
            "partial_fit on one block at a time; to predict, X.map_blocks(model.predict, "
            "drop_axis=1, dtype=model.classes_.dtype). See the user guide, 'Scaling out'."
        )
    if isinstance(X, torch.utils.data.Dataset):
        raise TypeError(
            f"Got a torch Dataset ({name}); sktkd estimators take arrays, as scikit-learn's "
            "do. Stack its rows into arrays X, y, or call partial_fit on one batch at a time "
            "from a DataLoader."
        )
    return X


class Prediction:
    """The fitted network (``module_``), its history (``history_``) and its checked
    output on new rows, of an estimator with ``net_`` and ``standardize_``."""

    @property
    def module_(self):
        """The trained network, ``Sequential(standardize, body)``: it takes raw features
        (with a ``preprocessor_``, its output).

        ``standardize_`` stays on the CPU (it standardises numpy rows, and a
        pickle of it loads anywhere); here a copy joins the body's device.
        """
        check_is_fitted(self)
        body = self.net_.module_
        device = next(body.parameters(), self.standardize_.mean).device
        return whole_network(copy.deepcopy(self.standardize_).to(device), body)

    @property
    def history_(self):
        """skorch ``History`` of the fit: one row per epoch."""
        check_is_fitted(self)
        return self.net_.history

    def _checked_rows(self, X, reset=False):
        """``X`` checked by ``validate_data`` (``n_features_in_``, ``feature_names_in_``):
        without a ``preprocessor_``, float32 when given so and float64 otherwise,
        as the network takes it; with one, the rows as the preprocessor takes
        them (a frame as it is, see :func:`sktkd._preprocess.raw_rows`)."""
        X = untensor(X)
        if getattr(self, "preprocessor_", None) is None:  # (absent from older pickles)
            return validate_data(self, X, dtype=_INPUT_DTYPES, reset=reset)
        validate_data(self, X, skip_check_array=True, reset=reset)
        return raw_rows(X)

    def _check_predict_data(self, X):
        """``X`` checked as at fit, by ``validate_data``, and preprocessed when fit
        chose a preprocessor (``preprocessor_``): the network's input.

        A plain float ndarray of the right width and finite values, when the
        fit saw no feature names, is what ``validate_data`` would return as it
        is: it passes with these few checks, which cost a fraction of the full
        validation on the small inputs of serving.
        """
        preprocessor = getattr(self, "preprocessor_", None)  # absent from older pickles
        if (
            preprocessor is None
            and type(X) is np.ndarray
            and X.ndim == 2
            and X.dtype in _INPUT_DTYPES
            and 0 < len(X)
            and X.shape[1] == self.n_features_in_
            and not hasattr(self, "feature_names_in_")
            and np.isfinite(X).all()
        ):
            return X
        X = self._checked_rows(X)
        return X if preprocessor is None else student_rows(preprocessor, X)

    def _forward(self, X):
        """The network's output on ``X``, checked like the training rows (a CPU tensor)."""
        if not hasattr(self, "net_"):  # scikit-learn's check reads the tags: costly per call
            check_is_fitted(self)
        X = self._check_predict_data(X)
        out = self._body_forward(self.standardize_.transform(X))
        finite = np.isfinite(out.numpy()).all(axis=1)  # numpy: less overhead than torch ops
        if not finite.all():
            raise ValueError(
                f"The network's output is not finite (NaN or inf) for {int((~finite).sum())} "
                f"rows (first: row {int(np.argmin(finite))}): their values lie too far outside "
                "the range this network takes."
            )
        return out

    def _body_forward(self, Z):
        """The body's output on standardised rows ``Z``, in eval mode, as a CPU tensor.

        The module is called directly, a large batch at a time: skorch's
        forward (a dataset, a loader, its bookkeeping) costs more than the
        arithmetic on the small inputs of serving.
        """
        body, device = self.net_.module_, self.net_.device
        if body.training:
            body.eval()
        batch, n_params = min(len(Z), _PREDICT_BATCH_SIZE), self.net_.parameter_count()
        threads = threads_for(self.n_threads, batch, n_params, SMALL_PREDICTION_BATCH)
        Z = torch.from_numpy(Z)  # ours: float32, contiguous
        with torch_threads(threads), torch.inference_mode():
            if len(Z) <= _PREDICT_BATCH_SIZE and device == "cpu":
                return body(Z)
            out = [body(rows.to(device)) for rows in Z.split(_PREDICT_BATCH_SIZE)]
            return torch.cat(out).cpu()
