"""The skorch net both estimators train: sliced batches and a criterion over targets."""

from skorch import NeuralNet

from ._batches import SliceLoader


class Net(NeuralNet):
    """skorch ``NeuralNet`` fed by :class:`~sktkd._batches.SliceLoader`.

    Its ``y`` is a :class:`~sktkd._batches.Targets` tuple, unpacked into the
    criterion, so the soft labels and weights of a row travel with its label.
    """

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("iterator_train", SliceLoader)
        kwargs.setdefault("iterator_valid", SliceLoader)
        kwargs.setdefault("iterator_train__shuffle", True)
        kwargs.setdefault("train_split", None)
        kwargs.setdefault("predict_nonlinearity", None)
        super().__init__(*args, **kwargs)

    @property
    def _default_callbacks(self):
        # No internal validation split, so no valid_loss to record.
        return [(name, cb) for name, cb in super()._default_callbacks if name != "valid_loss"]

    def _set_training(self, training=True):
        # skorch sets the mode before every batch; walking the module tree
        # each time costs more than a small batch's forward pass.
        if self.module_.training != training:
            super()._set_training(training)

    def get_loss(self, y_pred, y_true, X=None, training=False):
        return self.criterion_(y_pred, *y_true)
