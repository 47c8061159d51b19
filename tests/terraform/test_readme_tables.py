"""Each Terraform README's inputs and outputs table matches its variables.tf and outputs.tf."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "terraform" / "readme_tables.py"


def test_every_module_readme_table_is_current():
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--check"], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_a_stale_table_is_reported(tmp_path):
    """A copy of the tree where one module gained a variable its README lacks: --check fails."""
    copy = tmp_path / "terraform"
    shutil.copytree(ROOT / "terraform", copy, ignore=shutil.ignore_patterns(".terraform"))
    variables = copy / "modules" / "ecr" / "variables.tf"
    variables.write_text(
        variables.read_text("utf-8")
        + '\nvariable "planted_for_the_test" {\n  type        = string\n'
        + '  description = "Not in the README."\n  default     = ""\n}\n',
        "utf-8",
    )

    done = subprocess.run(
        [sys.executable, str(copy / "readme_tables.py"), "--check"],
        capture_output=True,
        text=True,
        check=False,
    )

    assert done.returncode == 1, done.stdout + done.stderr
    assert "ecr" in done.stdout + done.stderr
