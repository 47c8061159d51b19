"""Checks 1 and 5: `terraform fmt` is clean, and every .tf and .tftest.hcl file parses.

`terraform test` needs the AWS provider (even mocked, `mock_provider` needs its schema), which
cannot be downloaded here; its files run in GitHub CI. Here they must be fmt-clean and parse.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import hcl2
import pytest

from scripts import tfschema

from .conftest import FIXTURES, TERRAFORM_DIR, report_count, terraform_files


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


def _module_blocks(module_dir: Path) -> tuple[set[str], set[str], set[str]]:
    """(variables, resource addresses, output names) declared by one module's .tf files."""
    variables, addresses, outputs = set(), set(), set()
    for path in sorted(module_dir.glob("*.tf")):
        doc = _read(path)
        for entry in doc.get("variable", []):
            variables |= set(entry)
        for entry in doc.get("output", []):
            outputs |= set(entry)
        for kind in ("resource", "data"):
            for entry in doc.get(kind, []):
                for tf_type, by_name in entry.items():
                    prefix = "data." if kind == "data" else ""
                    addresses |= {f"{prefix}{tf_type}.{name}" for name in by_name}
        for entry in doc.get("module", []):
            addresses |= {f"module.{name}" for name in entry}
    return variables, addresses, outputs


def _read(path: Path) -> dict:
    options = hcl2.SerializationOptions(strip_string_quotes=True, with_comments=False)
    with path.open(encoding="utf-8") as handle:
        return hcl2.load(handle, serialization_options=options)


_ADDRESS = re.compile(
    r"(?<![\w.])((?:data\.)?aws_[a-z0-9_]+\.[A-Za-z_][\w-]*|module\.[A-Za-z_][\w-]*)"
)
_VAR = re.compile(r"(?<![\w.])var\.([A-Za-z_][\w-]*)")
_OUTPUT = re.compile(r"(?<![\w.])output\.([A-Za-z_][\w-]*)")


def tftest_problems(paths: list[Path], root: Path) -> tuple[int, int, list[str]]:
    """(run blocks, references checked, problems) for some .tftest.hcl files."""
    schema = tfschema.load_schema()
    types = {"resource": set(schema["resource_types"]), "data": set(schema["data_source_types"])}
    problems: list[str] = []
    runs = references = 0
    for path in paths:
        module_dir = path.parent.parent if path.parent.name == "tests" else path.parent
        variables, addresses, outputs = _module_blocks(module_dir)
        doc = _read(path)
        rel = path.relative_to(root)
        for entry in doc.get("variables", []):
            problems += [
                f"{rel}: variables.{k}: undeclared"
                for k in entry
                if not k.startswith("__") and k not in variables
            ]
        for mock in doc.get("mock_provider", []):
            for body in mock.values():
                for kind, key in (("resource", "mock_resource"), ("data", "mock_data")):
                    for entry in body.get(key, []):
                        names = [t for t in entry if not t.startswith("__")]
                        references += len(names)
                        problems += [
                            f"{rel}: {key} {t}: no such type" for t in names if t not in types[kind]
                        ]
        for run in doc.get("run", []):
            for name, body in run.items():
                if name.startswith("__"):
                    continue
                runs += 1
                where = f"{rel}: run {name}"
                if body.get("module"):
                    continue  # a run against another module: its declarations are elsewhere
                for entry in body.get("variables", []):
                    problems += [
                        f"{where}: variables.{k}: undeclared"
                        for k in entry
                        if not k.startswith("__") and k not in variables
                    ]
                text = json.dumps(body)
                found_vars = _VAR.findall(text)
                found_addresses = _ADDRESS.findall(text)
                found_outputs = _OUTPUT.findall(text)
                references += len(found_vars) + len(found_addresses) + len(found_outputs)
                problems += [
                    f"{where}: var.{v}: undeclared" for v in found_vars if v not in variables
                ]
                problems += [
                    f"{where}: {a}: not in the module"
                    for a in found_addresses
                    if a not in addresses
                ]
                problems += [
                    f"{where}: output.{o}: not in the module"
                    for o in found_outputs
                    if o not in outputs
                ]
    return runs, references, sorted(set(problems))


def test_terraform_test_files_name_only_what_their_module_declares(request):
    """Variables, expected failures, asserted resources and outputs, and mocked types exist.

    `terraform test` cannot run here; this catches the drift it would report first.
    """
    runs, references, problems = tftest_problems(terraform_files("*.tftest.hcl"), TERRAFORM_DIR)

    report_count(
        request, f"terraform test files: {runs} run blocks, {references} references checked"
    )
    assert problems == []
    assert references > runs


def test_terraform_test_file_naming_what_its_module_lacks_is_caught():
    root = FIXTURES / "tftest_drift"

    _, _, problems = tftest_problems([root / "tests" / "drift.tftest.hcl"], root)

    assert problems == [
        "tests/drift.tftest.hcl: mock_data aws_caller_identities: no such type",
        "tests/drift.tftest.hcl: run renamed: aws_lb.main: not in the module",
        "tests/drift.tftest.hcl: run renamed: output.url: not in the module",
        "tests/drift.tftest.hcl: run renamed: var.old_name: undeclared",
        "tests/drift.tftest.hcl: variables.old_name: undeclared",
    ]
