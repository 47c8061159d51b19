"""Checks 1 and 5: `terraform fmt` is clean, and every .tf and .tftest.hcl file parses.

`terraform test` needs the AWS provider (even mocked, `mock_provider` needs its schema), which
cannot be downloaded here; its files run in GitHub CI. Here they must be fmt-clean and parse.
"""

from __future__ import annotations

import subprocess

import hcl2
import pytest

from .conftest import TERRAFORM_DIR, report_count, terraform_files


def test_terraform_fmt_is_clean(request, terraform_bin, terraform_env):
    files = terraform_files("*.tf") + terraform_files("*.tftest.hcl") + terraform_files("*.tfvars*")
    assert files, f"no Terraform files under {TERRAFORM_DIR}"

    result = subprocess.run(
        [terraform_bin, "fmt", "-check", "-recursive", "-diff", str(TERRAFORM_DIR)],
        capture_output=True,
        text=True,
        env=terraform_env,
        timeout=120,
        check=False,
    )

    report_count(request, f"terraform fmt: {len(files)} files under terraform/")
    assert result.returncode == 0, f"terraform fmt -check found:\n{result.stdout}{result.stderr}"


def test_example_tfvars_is_fmt_clean(terraform_bin, terraform_env):
    # `fmt -recursive` skips files named *.tfvars.example: check it explicitly.
    example = TERRAFORM_DIR / "terraform.tfvars.example"
    assert example.exists(), f"{example} is missing"

    result = subprocess.run(
        [terraform_bin, "fmt", "-check", "-diff", "-"],
        input=example.read_text(encoding="utf-8"),
        capture_output=True,
        text=True,
        env=terraform_env,
        timeout=60,
        check=False,
    )

    assert result.returncode == 0, f"terraform.tfvars.example is not fmt-clean:\n{result.stdout}"


def test_every_terraform_test_file_parses_and_mocks_the_aws_provider(request):
    files = terraform_files("*.tftest.hcl")
    assert files, f"no .tftest.hcl files under {TERRAFORM_DIR}"

    runs = 0
    for path in files:
        with path.open(encoding="utf-8") as handle:
            doc = hcl2.load(handle)
        mocks = [list(m) for m in doc.get("mock_provider", [])]
        assert ['"aws"'] in mocks, f'{path}: no mock_provider "aws"'
        assert doc.get("run"), f"{path}: no run block"
        runs += sum(len(entry) for entry in doc["run"])

    report_count(request, f"terraform test files: {len(files)} files, {runs} run blocks parse")


@pytest.mark.parametrize("pattern", ["*.tf", "*.tfvars.example"])
def test_every_terraform_file_parses(pattern):
    files = terraform_files(pattern)
    assert files, f"no {pattern} files under {TERRAFORM_DIR}"

    for path in files:
        with path.open(encoding="utf-8") as handle:
            hcl2.load(handle)


def test_check_fixtures_are_fmt_clean(terraform_bin, terraform_env):
    fixtures = TERRAFORM_DIR.parent / "tests" / "terraform" / "fixtures"

    result = subprocess.run(
        [terraform_bin, "fmt", "-check", "-recursive", str(fixtures)],
        capture_output=True,
        text=True,
        env=terraform_env,
        timeout=120,
        check=False,
    )

    assert result.returncode == 0, f"not fmt-clean:\n{result.stdout}"
