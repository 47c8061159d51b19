"""Shared paths and helpers for the offline Terraform checks."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
TERRAFORM_DIR = REPO_ROOT / "terraform"
FIXTURES = Path(__file__).resolve().parent / "fixtures"


def terraform_files(pattern: str) -> list[Path]:
    return sorted(p for p in TERRAFORM_DIR.rglob(pattern) if ".terraform" not in p.parts)


@pytest.fixture(scope="session")
def terraform_bin() -> str:
    found = shutil.which("terraform")
    if not found:
        pytest.skip("terraform is not on PATH on this machine: fmt check skipped, others still run")
    return found


@pytest.fixture(scope="session")
def terraform_env(tmp_path_factory) -> dict[str, str]:
    # An empty CLI config keeps terraform from warning about a missing ~/.terraformrc and from
    # reading a developer's own plugin cache or credentials.
    config = tmp_path_factory.mktemp("tfcli") / "terraformrc"
    config.write_text("", encoding="utf-8")
    return {**os.environ, "TF_CLI_CONFIG_FILE": str(config), "TF_IN_AUTOMATION": "1"}


def report_count(request: pytest.FixtureRequest, line: str) -> None:
    """Record a count line; pytest prints them all at the end of the run (see below)."""
    print(line)
    request.node.user_properties.append(("terraform-check-count", line))


_COUNTS: list[str] = []


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.when == "call":
        _COUNTS.extend(v for k, v in report.user_properties if k == "terraform-check-count")


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:
    if _COUNTS:
        terminalreporter.section("terraform checks: what was checked")
        for line in _COUNTS:
            terminalreporter.write_line(line)
