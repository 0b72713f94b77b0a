"""Distillation losses, for classes and for values: pure functions and the criterion
modules skorch calls."""

import math

import torch
import torch.nn.functional as F
from torch import nn

_LOG_PROBA_FLOOR = math.log(1e-30)


def distillation_loss(
    student_logits,
    labels,
    teacher_logits=None,
    sample_weight=None,
    *,
    temperature=1.0,
    alpha=0.0,
    loss="kl",
    all_labelled=False,
):
    """Mean distillation loss of a batch (Hinton et al. 2015).

    ``loss = alpha * soft + (1 - alpha) * CE(y, softmax(s))``, averaged over
    the rows of the batch, each multiplied by its ``sample_weight``. The soft
    term is ``T**2 * KL(softmax(t / T) || softmax(s / T))`` for ``loss="kl"``,
    or ``mean((s - mean(s) - t + mean(t))**2) / 2`` over the classes for
    ``loss="mse"`` (logit matching, Ba & Caruana 2014: the large-``T`` limit of
    the KL term; ``T`` is unused).
    Rows labelled ``-1`` have no label and contribute only the soft term.

    Parameters
    ----------
    student_logits : tensor of shape (n_samples, n_classes)
    labels : int64 tensor of shape (n_samples,)
        Encoded labels, ``-1`` for an unlabelled row.
    teacher_logits : tensor of shape (n_samples, n_classes), default=None
        Required when ``alpha > 0``.
    sample_weight : tensor of shape (n_samples,), default=None
        Row weights, scaled by the caller to mean 1 over the training set so
        that a batch's loss stays comparable to the unweighted mean.
    temperature : float, default=1.0
    alpha : float, default=0.0
        Weight of the soft term; ``alpha=0`` is plain cross-entropy.
    loss : {"kl", "mse"}, default="kl"
    all_labelled : bool, default=False
        The caller knows no label is ``-1``: the same loss with fewer
        operations (each costs about as much as a small layer on CPU).

    Returns
    -------
    loss : scalar tensor
    """
    # Unweighted, the terms are reduced inside their operations: plain means
    # when every row has a label, else sums divided by the batch size at the
    # end (an unlabelled row counts, with no hard term).
    mean = sample_weight is None and all_labelled
    reduction = "mean" if mean else "sum" if sample_weight is None else "none"

    def reduced(per_row):
        return per_row.mean() if mean else per_row.sum() if sample_weight is None else per_row

    total = None
    if alpha > 0 and loss == "mse":
        # A probability of 0 (logit -inf) is matched as log(1e-30).
        teacher_logits = torch.nan_to_num(teacher_logits, neginf=_LOG_PROBA_FLOOR)
        gap = student_logits - teacher_logits
        per_row = (gap - gap.mean(dim=1, keepdim=True)).pow(2).mean(dim=1)
        total = (alpha / 2) * reduced(per_row)
    elif alpha > 0:
        # KL(p_t || p_s) = CE(p_t, p_s) - H(p_t): cross-entropy with the soft
        # labels, one fused operation, minus the teacher's entropy, a constant.
        # A teacher probability of 0 (logit -inf) adds nothing (xlogy(0, 0) = 0).
        p_teacher = F.softmax(teacher_logits / temperature, dim=1)
        neg_entropy = torch.special.xlogy(p_teacher, p_teacher).sum(dim=1)
        soft = F.cross_entropy(student_logits / temperature, p_teacher, reduction=reduction)
        soft = soft + reduced(neg_entropy)
        total = (alpha * temperature**2) * soft
    if alpha < 1:
        hard = F.cross_entropy(student_logits, labels, reduction=reduction, ignore_index=-1)
        total = hard if alpha == 0 else total + (1 - alpha) * hard
    if sample_weight is not None:
        return (total * sample_weight).mean()
    return total if mean else total / len(student_logits)


class DistillationLoss(nn.Module):
    """Criterion module around :func:`distillation_loss` for skorch.

    The net sets ``all_labelled`` for each pass, from its dataset.
    """

    all_labelled = False

    def __init__(self, temperature=1.0, alpha=0.0, loss="kl"):
        super().__init__()
        self.temperature = temperature
        self.alpha = alpha
        self.loss = loss

    def forward(self, student_logits, labels, teacher_logits=None, sample_weight=None):
        return distillation_loss(
            student_logits,
            labels,
            teacher_logits,
            sample_weight,
            temperature=self.temperature,
            alpha=self.alpha,
            loss=self.loss,
            all_labelled=self.all_labelled,
        )


def regression_distillation_loss(
    outputs, targets, teacher_pred=None, sample_weight=None, *, alpha=0.0, all_labelled=False
):
    """Mean regression distillation loss of a batch.

    ``loss = alpha * MSE(s, t) + (1 - alpha) * MSE(s, y)`` per row, the
    squared errors averaged over the outputs, then over the rows of the batch,
    each multiplied by its ``sample_weight``. Rows whose targets are NaN have
    no label and contribute only the teacher term (they count in the batch's
    mean). All values are standardised targets, so neither term depends on
    the units of ``y``.

    Parameters
    ----------
    outputs : tensor of shape (n_samples, n_outputs)
    targets : float tensor of shape (n_samples, n_outputs)
        Standardised targets; a row of NaN has no label.
    teacher_pred : tensor of shape (n_samples, n_outputs), default=None
        The teacher's standardised predictions; required when ``alpha > 0``.
    sample_weight : tensor of shape (n_samples,), default=None
        Row weights of mean 1 over the training set.
    alpha : float, default=0.0
        Weight of the teacher term; ``alpha=0`` is plain mean squared error.
    all_labelled : bool, default=False
        The caller knows no target is NaN: fewer operations.

    Returns
    -------
    loss : scalar tensor
    """
    if sample_weight is None and all_labelled:  # plain means: fused operations
        hard = F.mse_loss(outputs, targets) if alpha < 1 else 0.0
        soft = F.mse_loss(outputs, teacher_pred) if alpha > 0 else 0.0
        return alpha * soft + (1 - alpha) * hard
    per_row = 0.0
    if alpha > 0:
        per_row = alpha * (outputs - teacher_pred).pow(2).mean(dim=1)
    if alpha < 1:
        if all_labelled:
            hard = (outputs - targets).pow(2).mean(dim=1)
        else:  # an unlabelled row is NaN throughout: no hard term
            labelled = ~targets.isnan().any(dim=1)
            hard = (outputs - targets.nan_to_num()).pow(2).mean(dim=1) * labelled
        per_row = per_row + (1 - alpha) * hard
    if sample_weight is not None:
        per_row = per_row * sample_weight
    return per_row.mean()


class RegressionDistillationLoss(nn.Module):
    """Criterion module around :func:`regression_distillation_loss` for skorch."""

    all_labelled = False

    def __init__(self, alpha=0.0):
        super().__init__()
        self.alpha = alpha

    def forward(self, outputs, targets, teacher_pred=None, sample_weight=None):
        return regression_distillation_loss(
            outputs,
            targets,
            teacher_pred,
            sample_weight,
            alpha=self.alpha,
            all_labelled=self.all_labelled,
        )
