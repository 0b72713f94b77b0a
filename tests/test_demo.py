import subprocess
import sys

import pytest

from sktkd import __version__
from sktkd.__main__ import main
from sktkd._demo import format_results, run_demo


@pytest.fixture(scope="module")
def results():
    return run_demo(seed=0, quick=True)


def test_demo_results(results):
    names = [row[0] for row in results["distillation"]]
    assert names == ["random forest (teacher)", "student alone", "distilled student"]
    for _, accuracy, agreement, speed_up in results["distillation"]:
        assert 0.5 < accuracy <= 1 and speed_up > 0
        assert agreement is None or 0.5 < agreement <= 1
    assert [row[0] for row in results["transfer"]] == ["from scratch", "transferred (lp_ft)"]
    text = format_results(results)
    assert "agreement" in text and "transferred (lp_ft)" in text


def test_demo_command_with_a_plot(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    figure = tmp_path / "demo.png"
    assert main(["demo", "--quick", "--plot", str(figure)]) == 0
    out = capsys.readouterr().out
    assert "[5/5]" in out and "distilled student" in out and "figure saved" in out
    assert figure.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_help_explains_the_options():
    done = subprocess.run(
        [sys.executable, "-m", "sktkd", "demo", "--help"], capture_output=True, text=True
    )
    assert done.returncode == 0
    for option in ("--plot", "--seed", "--quick"):
        assert option in done.stdout


def test_a_subcommand_is_required(capsys):
    with pytest.raises(SystemExit) as exit_:
        main([])
    assert exit_.value.code == 2


@pytest.mark.parametrize(
    "path, message",
    [("/no/such/dir/x.png", "cannot write into"), ("demo.unknownext", "not an image format")],
)
def test_a_bad_plot_path_fails_before_the_demo(capsys, path, message):
    with pytest.raises(SystemExit):
        main(["demo", "--plot", path])
    err = capsys.readouterr()
    assert message in err.err and "forest" not in err.out


def test_the_command_prints_its_version(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["--version"])
    assert exit_.value.code == 0
    assert capsys.readouterr().out.strip() == f"sktkd {__version__}"
