"""Check 4: checkov, offline, with the project's own checks from checkov/checks.

checkov pins an older boto3 than the project, so it lives in its own virtualenv:
    python3 -m venv .venv-checkov && .venv-checkov/bin/pip install -r requirements-checkov.txt
Its settings, and every check skipped for the whole tree with its reason, are in
checkov/config.yaml.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess

import pytest
import yaml

from .conftest import FIXTURES, REPO_ROOT, report_count

CHECKOV = REPO_ROOT / ".venv-checkov" / "bin" / "checkov"
CONFIG = REPO_ROOT / "checkov" / "config.yaml"
CUSTOM = ["CKV_AECS_1", "CKV_AECS_2", "CKV_AECS_3", "CKV_AECS_4", "CKV_AECS_5"]


def run_checkov(*args: str) -> dict:
    if not CHECKOV.exists():
        pytest.fail(
            f"{CHECKOV} is missing: python3 -m venv .venv-checkov && "
            ".venv-checkov/bin/pip install -r requirements-checkov.txt"
        )
    result = subprocess.run(
        [str(CHECKOV), "--config-file", str(CONFIG), "--output", "json", *args],
        cwd=REPO_ROOT,
        # Offline and patient: no update check against PyPI, and a loaded CI machine gets more
        # than checkov's default 10 s per file before a slow parse counts as a parse error.
        env={**os.environ, "CKV_SKIP_PACKAGE_UPDATE_CHECK": "true", "HCL_PARSE_TIMEOUT_SEC": "60"},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    # Exit code 1 means failed checks, which the callers inspect; anything else is a crash.
    assert result.returncode in (0, 1), f"checkov exited {result.returncode}:\n{result.stderr}"
    return merge(result.stdout)


def merge(output: str) -> dict:
    """One report from checkov's JSON output, which holds one document per --directory."""
    decoder = json.JSONDecoder()
    documents, position = [], 0
    while position < len(output.rstrip()):
        document, position = decoder.raw_decode(output, position)
        documents += document if isinstance(document, list) else [document]
        while position < len(output) and output[position].isspace():
            position += 1
    assert {d.get("check_type") for d in documents} == {"terraform"}, output[:500]
    merged: dict = {"results": {}, "summary": {}}
    for document in documents:
        for key, values in document["results"].items():
            merged["results"].setdefault(key, []).extend(values)
        for key, value in document["summary"].items():
            total = merged["summary"].get(key)
            merged["summary"][key] = (
                value if total is None or isinstance(value, str) else total + value
            )
    for key in ("failed_checks", "passed_checks", "skipped_checks", "parsing_errors"):
        merged["results"].setdefault(key, [])
    return merged


def failed(report: dict) -> list[tuple[str, str]]:
    return sorted((f["check_id"], f["resource"]) for f in report["results"]["failed_checks"])


@pytest.fixture(scope="module")
def project_report() -> dict:
    return run_checkov()


def test_checkov_finds_nothing_in_the_project(request, project_report):
    summary = project_report["summary"]

    report_count(
        request,
        f"checkov {summary['checkov_version']}: {summary['resource_count']} resources, "
        f"{summary['passed']} passed, {summary['failed']} failed, {summary['skipped']} skipped "
        f"inline, {len(skipped_in_config())} skipped by config, "
        f"{summary['parsing_errors']} parse errors",
    )
    assert summary["parsing_errors"] == 0, project_report["results"].get("parsing_errors")
    assert failed(project_report) == []
    assert summary["resource_count"] > 0


def test_project_checks_include_our_own(project_report):
    ran = {r["check_id"] for r in project_report["results"]["passed_checks"]}

    # checkov resolves the project's rule paths and public IP settings, so these do run on it
    # (CKV_AECS_5 applies to JSON policies, and the project's are policy documents).
    assert {"CKV_AECS_1", "CKV_AECS_2", "CKV_AECS_3", "CKV_AECS_4"} <= ran


def test_inline_skips_carry_a_reason(project_report):
    for skipped in project_report["results"]["skipped_checks"]:
        reason = (skipped.get("check_result") or {}).get("suppress_comment") or ""
        assert len(reason.strip()) >= 10 and reason != "No comment provided", (
            f"{skipped['check_id']} on {skipped['resource']} is skipped without a reason"
        )


def test_inline_skips_are_listed_in_the_config_too(project_report):
    listed: dict[str, set[str]] = {}
    for match in re.finditer(r"^# inline (\S+): ([\w,]+): (.{20,})$", CONFIG.read_text(), re.M):
        listed[match.group(1)] = set(match.group(2).split(","))

    for skipped in project_report["results"]["skipped_checks"]:
        assert skipped["check_id"] in listed.get(skipped["resource"], set()), (
            f"{skipped['check_id']} on {skipped['resource']} is skipped inline but not listed "
            f"in {CONFIG.name} as `# inline {skipped['resource']}: <ids>: <reason>`"
        )


def skipped_in_config() -> list[str]:
    return yaml.safe_load(CONFIG.read_text(encoding="utf-8")).get("skip-check", [])


def test_every_check_skipped_by_config_has_its_reason_on_the_same_line():
    lines = CONFIG.read_text(encoding="utf-8").splitlines()
    skips = skipped_in_config()
    assert skips, "skip-check is empty: then drop this test's expectation"

    for check_id in skips:
        line = next(line for line in lines if re.match(rf"\s*-\s*{check_id}\b", line))
        reason = line.partition("#")[2].strip()
        assert len(reason) >= 30, f"{check_id}: no reason on its line in {CONFIG.name}"


@pytest.fixture(scope="module")
def fixture_report(tmp_path_factory) -> dict:
    # One run over copies of the fixture folders side by side: checkov's start-up is most of
    # its time (and several --directory flags make it report the first folder repeatedly).
    root = tmp_path_factory.mktemp("checkov-fixtures")
    for name in ("checkov_insecure", "stack_secure"):
        shutil.copytree(FIXTURES / name, root / name)
    (root / "broken").mkdir()
    (root / "broken" / "main.tf").write_text(
        'resource "aws_lb" "x" {\n  name =\n', encoding="utf-8"
    )
    return run_checkov("--directory", str(root), "--check", ",".join(CUSTOM))


def failed_in(report: dict, folder: str) -> list[tuple[str, str]]:
    return sorted(
        (f["check_id"], f["resource"])
        for f in report["results"]["failed_checks"]
        if f"/{folder}/" in f["file_abs_path"]
    )


def test_custom_checks_catch_each_planted_defect(fixture_report):
    assert failed_in(fixture_report, "checkov_insecure") == [
        ("CKV_AECS_1", "aws_lb_listener_rule.forward_before_sign_in"),
        ("CKV_AECS_1", "aws_lb_listener_rule.forward_without_sign_in"),
        ("CKV_AECS_2", "aws_lb_listener_rule.api_redirects_to_sign_in"),
        ("CKV_AECS_3", "aws_ecs_service.public"),
        ("CKV_AECS_4", "aws_iam_policy_document.agentcore_wildcard"),
        ("CKV_AECS_5", "aws_iam_role_policy.star_action"),
    ]


def test_custom_checks_pass_the_secure_fixture(fixture_report):
    passed = [
        p
        for p in fixture_report["results"]["passed_checks"]
        if "/stack_secure/" in p["file_abs_path"]
    ]

    assert failed_in(fixture_report, "stack_secure") == []
    assert {p["check_id"] for p in passed} >= {"CKV_AECS_1", "CKV_AECS_3", "CKV_AECS_4"}


def test_a_file_that_does_not_parse_is_reported(fixture_report):
    errors = fixture_report["results"]["parsing_errors"]

    assert fixture_report["summary"]["parsing_errors"] == 1
    assert [e.rsplit("/", 2)[-1] for e in errors] == ["main.tf"]
