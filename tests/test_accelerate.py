"""Training through Hugging Face accelerate (skorch's AccelerateMixin), on CPU here."""

import contextlib
import io
import os
import pickle
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.utils._param_validation import InvalidParameterError
from skorch.callbacks import LRScheduler

from sktkd import DistilledClassifier, DistilledRegressor, TransferClassifier, TransferRegressor
from sktkd._net import Net, TransferNet

from .conftest import FAST

accelerate = pytest.importorskip("accelerate")
from accelerate.state import AcceleratorState  # noqa: E402


@pytest.fixture
def accelerator_of():
    """Accelerators with their own settings: accelerate keeps one state per process."""

    def make(**kwargs):
        AcceleratorState._reset_state(reset_partial_state=True)
        return accelerate.Accelerator(**kwargs)

    yield make
    AcceleratorState._reset_state(reset_partial_state=True)


def soft(y, n_classes=3):
    return np.eye(n_classes)[y] * 0.8 + 0.2 / n_classes


def weights(est):
    return torch.cat([p.detach().flatten() for p in est.net_.module_.parameters()])


def test_same_network_as_without_accelerator(data, accelerator_of):
    X, y = data
    acc = accelerator_of(cpu=True)
    params = {**FAST, "random_state": 0, "early_stopping": True}
    plain = DistilledClassifier(**params).fit(X, y, teacher_proba=soft(y))
    accelerated = DistilledClassifier(**params, accelerator=acc).fit(X, y, teacher_proba=soft(y))
    torch.testing.assert_close(weights(accelerated), weights(plain))
    assert accelerated.validation_scores_ == plain.validation_scores_
    # The fitted student is a plain net, which the accelerator no longer lists.
    assert type(accelerated.net_) is Net and accelerated.net_.device == "cpu"
    assert type(accelerated.net_.optimizer_) is torch.optim.Adam
    assert not vars(accelerated.net_).keys() & {"accelerator", "_wrapped_with_accelerator"}
    assert acc._models == [] and acc._optimizers == []


@pytest.mark.parametrize("make", [DistilledRegressor, TransferRegressor])
def test_regressors_train_as_without_accelerator(data, accelerator_of, make):
    X, y = data
    Y = np.column_stack([y * 1e3 + 5, -y])  # two outputs, in other units
    params = {**FAST, "random_state": 0, "early_stopping": True}
    recorded = {"teacher_pred": Y + 0.1} if make is DistilledRegressor else {}
    plain = make(**params).fit(X, Y, **recorded)
    accelerated = make(**params, accelerator=accelerator_of(cpu=True)).fit(X, Y, **recorded)
    torch.testing.assert_close(weights(accelerated), weights(plain))
    assert accelerated.validation_scores_ == plain.validation_scores_
    np.testing.assert_array_equal(accelerated.predict(X), plain.predict(X))


def test_mixed_precision_trains_a_float32_student(data, accelerator_of):
    X, y = data
    acc = accelerator_of(cpu=True, mixed_precision="bf16")
    params = {**FAST, "random_state": 0}
    reference = DistilledClassifier(**params).fit(X, y, teacher_proba=soft(y))
    clf = DistilledClassifier(**params, accelerator=acc).fit(X, y, teacher_proba=soft(y))
    # bfloat16 products: close to the float32 fit, not equal to it.
    assert clf.loss_curve_ != reference.loss_curve_
    np.testing.assert_allclose(clf.loss_curve_, reference.loss_curve_, rtol=0.05)
    assert {p.dtype for p in clf.net_.module_.parameters()} == {torch.float32}
    assert clf.score(X, y) > 0.9
    assert clf.predict_proba(X).dtype == reference.predict_proba(X).dtype


@pytest.mark.parametrize("strategy", ["lp_ft", "gradual"])
def test_transfer_phases_through_accelerate(data, accelerator_of, strategy):
    X, y = data
    acc = accelerator_of(cpu=True, mixed_precision="bf16")
    source = DistilledClassifier(**{**FAST, "hidden_layer_sizes": (16, 8)}, random_state=0)
    source.fit(X, y, teacher_proba=soft(y))
    # Each phase's optimizer is prepared (loss scaling), its schedule resumes.
    clf = TransferClassifier(
        source,
        strategy=strategy,
        probe_epochs=2,
        stage_epochs=1,
        max_epochs=3,
        random_state=0,
        accelerator=acc,
        callbacks=[LRScheduler("StepLR", step_size=1)],
    ).fit(X[:100], y[:100])
    assert type(clf.net_) is TransferNet
    assert type(clf.net_.optimizer_) is torch.optim.Adam
    scheduler = dict(clf.net_.callbacks_)["LRScheduler"].lr_scheduler_
    assert scheduler.optimizer is clf.net_.optimizer_
    assert all(p.requires_grad for p in clf.net_.module_.parameters())
    assert clf.score(X, y) > 0.8
    assert acc._models == [] and acc._optimizers == []


def test_partial_fit_and_search_through_accelerate(data, accelerator_of):
    from sklearn.model_selection import GridSearchCV

    X, y = data
    acc = accelerator_of(cpu=True)
    clf = DistilledClassifier(**FAST, random_state=0, accelerator=acc)
    clf.partial_fit(X[:150], y[:150], classes=[0, 1, 2], teacher_proba=soft(y[:150]))
    clf.partial_fit(X[150:], y[150:], teacher_proba=soft(y[150:]))
    assert clf.n_iter_ == 2 and len(clf.loss_curve_) == 2
    search = GridSearchCV(
        DistilledClassifier(**FAST, random_state=0, accelerator=acc),
        {"alpha": [0.0, 0.5]},
        cv=2,
    ).fit(X, y, teacher_proba=soft(y))
    assert search.best_estimator_.accelerator is acc  # clones share it
    assert acc._models == []


def test_verbose_decides_what_prints(data, accelerator_of):
    X, y = data
    acc = accelerator_of(cpu=True)
    for verbose, prints in [(0, False), (1, True)]:
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            DistilledClassifier(**{**FAST, "max_epochs": 2}, accelerator=acc, verbose=verbose).fit(
                X, y, teacher_proba=soft(y)
            )
        assert ("train_loss" in out.getvalue()) is prints


def test_failed_fit_leaves_accelerator_and_estimator(data, accelerator_of):
    X, y = data
    acc = accelerator_of(cpu=True)
    clf = DistilledClassifier(**{**FAST, "lr": 1e30}, optimizer=torch.optim.SGD, accelerator=acc)
    with pytest.raises(ValueError, match="diverged"):
        clf.fit(X, y, teacher_proba=soft(y))
    assert not hasattr(clf, "net_")
    assert acc._models == [] and acc._optimizers == []


def test_student_pickles_and_loads_without_accelerate(data, accelerator_of, tmp_path):
    X, y = data
    acc = accelerator_of(cpu=True, mixed_precision="bf16")
    clf = DistilledClassifier(**FAST, random_state=0, accelerator=acc)
    clf.fit(X, y, teacher_proba=soft(y))
    clf.set_params(accelerator=None)  # the parameter is the user's accelerator
    path = tmp_path / "student.pkl"
    path.write_bytes(pickle.dumps(clf))
    np.save(tmp_path / "X.npy", X)
    expected = clf.predict_proba(X)
    code = textwrap.dedent(f"""
        import sys, pickle, numpy as np
        sys.modules["accelerate"] = None  # not installed where the student serves
        clf = pickle.loads(open({str(path)!r}, "rb").read())
        X = np.load({str(tmp_path / "X.npy")!r})
        np.save({str(tmp_path / "P.npy")!r}, clf.predict_proba(X))
    """)
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)
    np.testing.assert_allclose(np.load(tmp_path / "P.npy"), expected, rtol=1e-6)


def test_accelerator_parameter_is_validated(data, accelerator_of):
    X, y = data
    with pytest.raises(InvalidParameterError, match="accelerator"):
        DistilledClassifier(**FAST, accelerator="cuda").fit(X, y, teacher_proba=soft(y))
    assert clone(DistilledClassifier(accelerator=None)).accelerator is None
    with pytest.raises(TypeError, match="must be an instance"):
        DistilledClassifier(accelerator=accelerate.Accelerator).fit(X, y, teacher_proba=soft(y))
    # Accumulated gradients would carry from batch to batch across epochs and fits.
    acc = accelerator_of(cpu=True, gradient_accumulation_steps=2)
    with pytest.raises(ValueError, match="batch_size 2 times larger"):
        DistilledClassifier(accelerator=acc).fit(X, y, teacher_proba=soft(y))
    # An accelerator copied into a process where accelerate has no state (a
    # joblib process worker) cannot train.
    acc = accelerator_of(cpu=True)
    AcceleratorState._reset_state(reset_partial_state=True)
    with pytest.raises(ValueError, match="no state in this process"):
        DistilledClassifier(accelerator=acc).fit(X, y, teacher_proba=soft(y))


def test_accelerator_left_as_before_and_student_unmarked(data, accelerator_of, tmp_path):
    from skorch.callbacks import Checkpoint

    X, y = data
    acc = accelerator_of(cpu=True, mixed_precision="bf16")
    step = acc.step
    clf = DistilledClassifier(
        **FAST,
        random_state=0,
        accelerator=acc,
        callbacks=[Checkpoint(monitor="train_loss_best", f_pickle="net.pkl", dirname=tmp_path)],
        callbacks__print_log__sink=print,  # a routed sink stays the user's
    ).fit(X, y, teacher_proba=soft(y))
    assert acc.step == step
    assert (tmp_path / "net.pkl").exists()  # the accelerated net pickles too
    # Nothing of accelerate's in the network: a copy is prepared (wrapped)
    # afresh, and skops saves it.
    module = clf.net_.module_
    assert not {"_is_accelerate_prepared", "forward"} & vars(module).keys()
    skops_io = pytest.importorskip("skops.io")
    dumped = skops_io.dumps(clf.set_params(accelerator=None))
    loaded = skops_io.loads(dumped, trusted=skops_io.get_untrusted_types(data=dumped))
    np.testing.assert_allclose(loaded.predict_proba(X), clf.predict_proba(X))


def test_device_must_agree_with_accelerator(data, accelerator_of, monkeypatch):
    X, y = data
    acc = accelerator_of(cpu=True)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    clf = DistilledClassifier(**FAST, device="cuda", accelerator=acc)
    with pytest.raises(ValueError, match="accelerator places the network on cpu"):
        clf.fit(X, y, teacher_proba=soft(y))


_DATA_PARALLEL = """
import sys, numpy as np, torch, accelerate
from sktkd import DistilledClassifier, DistilledRegressor, TransferClassifier
X, y = np.load(sys.argv[1]), np.load(sys.argv[2])
P = np.eye(3)[y] * 0.8 + 0.2 / 3
acc = accelerate.Accelerator(cpu=True)
assert acc.num_processes == int(sys.argv[4])
params = dict(max_epochs=4, batch_size=32, lr=1e-2, hidden_layer_sizes=(16, 8), random_state=0)
clf = DistilledClassifier(**params, accelerator=acc).fit(X, y, teacher_proba=P)
tl = TransferClassifier(clf, strategy="lp_ft", probe_epochs=2, max_epochs=2, random_state=0,
                        accelerator=acc, batch_size=32).fit(X, y)
Y = np.column_stack([1e3 * y + 5.0, -y])  # a regressor: two outputs, standardised inside
reg = DistilledRegressor(**params, accelerator=acc).fit(X, Y, teacher_pred=Y + X[:, :2])
# Unseeded, with a teacher fitted in each process and a stopping rule: the
# processes still agree (the main one's seed and soft labels).
from sklearn.ensemble import RandomForestClassifier
unseeded = DistilledClassifier(RandomForestClassifier(5), max_epochs=30, n_iter_no_change=1,
                               tol=0.05, batch_size=30, early_stopping=True, accelerator=acc)
unseeded.fit(X, y)
# A per-batch callback (history rows written live) with the default stopping
# rule on the training loss: the processes stop together.
from skorch.callbacks import Callback
class BatchListener(Callback):
    def on_batch_end(self, net, **kwargs):
        pass
listened = DistilledClassifier(max_epochs=30, n_iter_no_change=1, tol=0.01, random_state=0,
                               callbacks=[BatchListener()], accelerator=acc)
listened.fit(X, y, teacher_proba=P)
out = [torch.cat([p.detach().flatten() for p in e.net_.module_.parameters()])
       for e in (clf, tl, unseeded, listened, reg)]
# The network trains in training mode: a source's batch norm moves.
torch.manual_seed(0)
source = torch.nn.Sequential(torch.nn.Linear(6, 8), torch.nn.BatchNorm1d(8), torch.nn.ReLU(),
                             torch.nn.Linear(8, 3))
bn = TransferClassifier(source, strategy="full", max_epochs=2, random_state=0,
                        accelerator=acc).fit(X, y)
stats = bn.module_.body[1].running_mean
moved = not torch.allclose(stats, source[1].running_mean)
# Refused: scores of the training shares, rows that differ, fits in threads.
import threading
from skorch.callbacks import EpochScoring
refusals = []
attempts = [
    lambda: DistilledClassifier(callbacks=[EpochScoring("accuracy", on_train=True)],
                                accelerator=acc, max_epochs=1).fit(X, y, teacher_proba=P),
    lambda: DistilledClassifier(accelerator=acc, max_epochs=1).fit(
        X[acc.process_index:], y[acc.process_index:], teacher_proba=P[acc.process_index:]),
    # The same rows in another order in each process.
    lambda: DistilledClassifier(accelerator=acc, max_epochs=1).fit(
        np.roll(X, acc.process_index, axis=0), np.roll(y, acc.process_index),
        teacher_proba=np.roll(P, acc.process_index, axis=0)),
    lambda: DistilledClassifier(accelerator=acc, max_epochs=1, batch_size=3).fit(
        X, y, teacher_proba=P),
]
for attempt in attempts:
    try:
        attempt()
    except ValueError as exc:
        refusals.append(str(exc)[:40])
thread = threading.Thread(target=lambda: refusals.append(attempt_in_thread()))
def attempt_in_thread():
    try:
        DistilledClassifier(accelerator=acc, max_epochs=1).fit(X, y, teacher_proba=P)
    except ValueError as exc:
        return str(exc)[:40]
thread.start()
thread.join()
refusals = [r for r in refusals if r]
torch.save({"weights": out, "moved": moved, "stats": stats, "refusals": refusals},
           f"{sys.argv[3]}-{acc.process_index}.pt")
"""


def test_data_parallel_over_two_processes_trains_the_one_process_network(data, tmp_path):
    # torchrun starts two CPU processes (gloo); each takes half of every batch.
    X, y = data
    X, y = X[:256], y[:256]  # batches of 32 split evenly: the same gradients
    script = tmp_path / "train.py"
    script.write_text(_DATA_PARALLEL)
    np.save(tmp_path / "X.npy", X)
    np.save(tmp_path / "y.npy", y)
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    args = [str(script), str(tmp_path / "X.npy"), str(tmp_path / "y.npy")]
    launch = [sys.executable, "-m", "torch.distributed.run", "--standalone"]
    subprocess.run(
        [*launch, "--nproc_per_node", "2", *args, str(tmp_path / "two"), "2"],
        check=True,
        timeout=300,
        env=env,
        capture_output=True,
    )
    subprocess.run(
        [sys.executable, *args, str(tmp_path / "one"), "1"], check=True, timeout=300, env=env
    )
    one = torch.load(tmp_path / "one-0.pt")["weights"]
    results = [torch.load(tmp_path / f"two-{rank}.pt") for rank in (0, 1)]
    for result in results:
        for index in (0, 1, 4):  # classifiers, and the regressor
            torch.testing.assert_close(result["weights"][index], one[index], rtol=1e-4, atol=1e-5)
        assert result["moved"]
        assert len(result["refusals"]) == 5, result["refusals"]
    for index in (2, 3):  # unseeded, and with a per-batch callback: the ranks agree
        torch.testing.assert_close(
            results[0]["weights"][index], results[1]["weights"][index], rtol=0, atol=0
        )
    # Batch-norm statistics: the main process's in both.
    torch.testing.assert_close(results[0]["stats"], results[1]["stats"], rtol=0, atol=0)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_mixed_precision(data, accelerator_of):
    X, y = data
    acc = accelerator_of(mixed_precision="fp16")
    clf = DistilledClassifier(**FAST, random_state=0, accelerator=acc)
    clf.fit(X, y, teacher_proba=soft(y))
    assert clf.net_.device.startswith("cuda")
    assert {p.dtype for p in clf.net_.module_.parameters()} == {torch.float32}
    assert clf.score(X, y) > 0.9
