import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from sktkd._losses import DistillationLoss, distillation_loss, regression_distillation_loss

N, K = 5, 3
logits = arrays(np.float32, (N, K), elements=st.floats(-20, 20, width=32))
labels = arrays(np.int64, (N,), elements=st.integers(0, K - 1))
temperatures = st.floats(0.1, 20)
alphas = st.floats(0, 1)


def t(a):
    return torch.from_numpy(np.asarray(a))


@settings(max_examples=50, deadline=None)
@given(logits, logits, labels, temperatures, alphas)
def test_loss_is_non_negative(s, teacher, y, T, alpha):
    loss = distillation_loss(t(s), t(y), t(teacher), temperature=T, alpha=alpha)
    assert loss.item() >= -1e-5


@settings(max_examples=50, deadline=None)
@given(logits, labels, temperatures)
def test_soft_term_is_zero_when_student_matches_teacher(s, y, T):
    loss = distillation_loss(t(s), t(y), t(s), temperature=T, alpha=1.0)
    assert loss.item() == pytest.approx(0.0, abs=1e-4 * T**2)


@settings(max_examples=50, deadline=None)
@given(logits, logits, labels, temperatures)
def test_alpha_zero_is_cross_entropy(s, teacher, y, T):
    loss = distillation_loss(t(s), t(y), t(teacher), temperature=T, alpha=0.0)
    assert loss.item() == pytest.approx(F.cross_entropy(t(s), t(y)).item(), rel=1e-5, abs=1e-6)


@settings(max_examples=50, deadline=None)
@given(logits, logits, labels, temperatures, alphas)
def test_soft_term_is_T_squared_times_the_kl_at_T(s, teacher, y, T, alpha):
    p_t = torch.softmax(t(teacher).double() / T, 1)
    log_p_s = torch.log_softmax(t(s).double() / T, 1)
    kl = (p_t * (torch.log(p_t.clamp_min(1e-300)) - log_p_s)).sum(1).mean()
    ce = F.cross_entropy(t(s).double(), t(y))
    expected = alpha * T**2 * kl + (1 - alpha) * ce
    loss = distillation_loss(t(s), t(y), t(teacher), temperature=T, alpha=alpha)
    assert loss.item() == pytest.approx(expected.item(), rel=1e-3, abs=1e-4)


def test_golden_value():
    s = torch.tensor([[2.0, 0.0, -1.0], [0.5, 0.5, 0.0]])
    teacher = torch.tensor([[1.0, 1.0, 0.0], [0.0, 3.0, 0.0]])
    y = torch.tensor([0, 1])
    loss = distillation_loss(s, y, teacher, temperature=2.0, alpha=0.7)
    # Computed by hand in float64 from the formula.
    assert loss.item() == pytest.approx(0.66122835, rel=1e-6)


def test_unit_weights_change_nothing_and_weights_scale_rows():
    s, teacher = torch.randn(4, 3), torch.randn(4, 3)
    y = torch.tensor([0, 1, 2, 0])
    plain = distillation_loss(s, y, teacher, temperature=3.0, alpha=0.5)
    ones = distillation_loss(s, y, teacher, torch.ones(4), temperature=3.0, alpha=0.5)
    assert ones.item() == pytest.approx(plain.item(), rel=1e-6)  # up to float32 rounding
    w = torch.tensor([2.0, 0.0, 0.0, 2.0])
    weighted = distillation_loss(s, y, teacher, w, temperature=3.0, alpha=0.5)
    rows = [
        distillation_loss(
            s[i : i + 1], y[i : i + 1], teacher[i : i + 1], temperature=3.0, alpha=0.5
        )
        for i in (0, 3)
    ]
    assert weighted.item() == pytest.approx((2 * rows[0] + 2 * rows[1]).item() / 4, rel=1e-6)


def test_unlabelled_rows_get_only_the_soft_term():
    s, teacher = torch.randn(2, 3), torch.randn(2, 3)
    both = distillation_loss(s, torch.tensor([1, -1]), teacher, temperature=2.0, alpha=0.5)
    soft = distillation_loss(s, torch.tensor([1, 1]), teacher, temperature=2.0, alpha=1.0)
    hard_first = F.cross_entropy(s[:1], torch.tensor([1]))
    assert both.item() == pytest.approx(0.5 * soft.item() + 0.5 * hard_first.item() / 2, rel=1e-5)


def test_gradients_flow_to_the_student_only():
    s = torch.randn(3, 4, requires_grad=True)
    teacher = torch.randn(3, 4, requires_grad=True)
    loss = DistillationLoss(temperature=2.0, alpha=0.9)
    loss(s, torch.tensor([0, 1, 2]), teacher.detach()).backward()
    assert s.grad is not None and teacher.grad is None


@settings(max_examples=50, deadline=None)
@given(logits, logits, labels, st.floats(-50, 50))
def test_logit_matching_ignores_shifts_and_is_zero_on_a_match(s, teacher, y, shift):
    def mse(a, b):
        return distillation_loss(t(a), t(y), t(b), alpha=1.0, loss="mse").item()

    assert mse(s, s + np.float32(shift)) == pytest.approx(0.0, abs=1e-3)
    assert mse(s, teacher) >= 0
    assert mse(s, teacher + np.float32(shift)) == pytest.approx(mse(s, teacher), rel=1e-3, abs=1e-3)


def test_kl_approaches_logit_matching_at_high_temperature():
    s = torch.tensor([[0.3, -0.2, 0.1]], dtype=torch.float64)
    teacher = torch.tensor([[-0.1, 0.4, 0.0]], dtype=torch.float64)
    y = torch.tensor([0])
    mse = distillation_loss(s, y, teacher, alpha=1.0, loss="mse").item()
    kl = distillation_loss(s, y, teacher, alpha=1.0, temperature=1e3).item()
    assert kl == pytest.approx(mse, rel=1e-3)


@pytest.mark.parametrize("temperature", [1.0, 20.0])
def test_teacher_zeros_stay_zero_finite_loss_and_gradients(temperature):
    """Logit -inf (probability 0): KL(p_t || p_s) = -sum over p_t > 0 of p_t log(p_s / p_t)."""
    s = torch.tensor([[2.0, 1.0, -1.0]], requires_grad=True)
    teacher = torch.tensor([[0.0, float("-inf"), float("-inf")]])
    loss = distillation_loss(s, t([0]), teacher, temperature=temperature, alpha=1.0)
    expected = -(temperature**2) * F.log_softmax(s / temperature, dim=1)[0, 0]
    torch.testing.assert_close(loss, expected)
    loss.backward()
    assert torch.isfinite(s.grad).all()
    # Logit matching treats 0 as the documented floor, 1e-30.
    mse = distillation_loss(s, t([0]), teacher, alpha=1.0, loss="mse")
    floored = distillation_loss(s, t([0]), teacher.clamp_min(np.log(1e-30)), alpha=1.0, loss="mse")
    torch.testing.assert_close(mse, floored)


@pytest.mark.parametrize("loss", ["kl", "mse"])
@pytest.mark.parametrize("alpha", [0.0, 0.5, 1.0])
def test_all_labelled_is_the_same_loss_in_fewer_operations(alpha, loss):
    s = torch.randn(6, 3, requires_grad=True)
    teacher, y = torch.randn(6, 3), torch.tensor([0, 1, 2, 0, 1, 2])
    args = dict(temperature=2.0, alpha=alpha, loss=loss)
    general = distillation_loss(s, y, teacher, **args)
    (grad,) = torch.autograd.grad(general, s)
    fast = distillation_loss(s, y, teacher, all_labelled=True, **args)
    (fast_grad,) = torch.autograd.grad(fast, s)
    assert fast.item() == pytest.approx(general.item(), rel=1e-6)
    torch.testing.assert_close(fast_grad, grad)


def test_regression_loss_is_the_stated_formula():
    torch.manual_seed(0)
    s, t, y = torch.randn(8, 2), torch.randn(8, 2), torch.randn(8, 2)
    w = torch.rand(8) + 0.5
    mse = lambda a, b: (a - b).pow(2).mean(dim=1)  # noqa: E731
    expected = (0.3 * mse(s, t) + 0.7 * mse(s, y)) * w
    got = regression_distillation_loss(s, y, t, w, alpha=0.3)
    torch.testing.assert_close(got, expected.mean())
    fast = regression_distillation_loss(s, y, t, w, alpha=0.3, all_labelled=True)
    torch.testing.assert_close(fast, got)
    assert regression_distillation_loss(s, y, alpha=0.0) == mse(s, y).mean()
    for alpha in (0.0, 0.3, 1.0):  # the fused path of unweighted, labelled batches
        plain = regression_distillation_loss(s, y, t, alpha=alpha)
        fused = regression_distillation_loss(s, y, t, alpha=alpha, all_labelled=True)
        torch.testing.assert_close(fused, plain)


def test_rows_without_a_target_get_the_teacher_term_only():
    s, t, y = torch.randn(6, 1), torch.randn(6, 1), torch.randn(6, 1)
    y[:3] = float("nan")
    got = regression_distillation_loss(s, y, t, alpha=0.5)
    hard = torch.cat([torch.zeros(3), (s[3:] - y[3:]).pow(2).ravel()])
    expected = (0.5 * (s - t).pow(2).ravel() + 0.5 * hard).mean()
    torch.testing.assert_close(got, expected)
    assert torch.isfinite(got)
    s.requires_grad_(True)
    regression_distillation_loss(s, y, t, alpha=0.5).backward()
    assert torch.isfinite(s.grad).all()  # NaN targets leave no NaN gradient
