"""scripts/register_provider.py against the running stack, after the stack's own first run.

The stack's bootstrap ran the script once (it created the workload identity and the provider);
an operator running it again, or verifying, must change nothing.
"""

from __future__ import annotations

import json

import pytest

from devstack.bootstrap import run_register_provider

pytestmark = pytest.mark.e2e


def test_second_run_reports_everything_unchanged_and_writes_nothing(stack):
    before = _write_calls(stack)

    done = run_register_provider(stack.config, "--json")

    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    aws_steps = [s for s in result["steps"] if s["status"] != "manual"]
    assert len(aws_steps) == 2
    assert {s["status"] for s in aws_steps} == {"unchanged"}
    assert result["callback_url"] == stack.callback_url
    assert _write_calls(stack) == before
    assert stack.config.raw["external_as"]["clients"][0]["client_secret"] not in done.stdout


def test_verify_finds_the_binding_path_behind_sign_in_and_the_api_denying(stack):
    done = run_register_provider(stack.config, "--verify", "--app-url", stack.config.app_url)

    assert done.returncode == 0, done.stdout + done.stderr


def _write_calls(stack) -> int:
    import requests

    stats = requests.get(f"{stack.config.agentcore_url}/_emulator/stats", timeout=5).json()
    writes = ("Create", "Update", "Delete", "Set")
    return sum(
        sum(outcomes.values())
        for operation, outcomes in stats["calls"].items()
        if operation.startswith(writes)
    )
