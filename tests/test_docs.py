"""The documentation builds without warnings, and the README's code runs."""

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parents[1]


def test_docs_build_without_warnings(tmp_path):
    # The gallery's examples are not run here: tests/test_examples.py runs them.
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "sphinx",
            "-W",
            "-q",
            "-b",
            "html",
            "-D",
            "plot_gallery=0",
            str(ROOT / "docs"),
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    api = (tmp_path / "api.html").read_text()
    for name in (
        "DistilledClassifier",
        "TransferClassifier",
        "DistilledRegressor",
        "TransferRegressor",
        "teacher_agreement",
        "plot_agreement",
    ):
        assert name in api


def test_readme_python_blocks_run():
    blocks = re.findall(r"```python\n(.*?)```", (ROOT / "README.md").read_text(), re.S)
    assert blocks
    for block in blocks:
        exec(compile(block, "README.md", "exec"), {})
