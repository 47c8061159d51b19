"""Review: PORT and WEB_CONCURRENCY are settings too; a bad one stops gunicorn naming it.

WEB_CONCURRENCY=0 used to start a master with no workers: the port accepted connections and
never answered, so the task only looked dead once the health check gave up.
"""

from __future__ import annotations

import runpy
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.alb_tokens import core_environ

DEFAULTS = Path(__file__).parents[2] / "containers/identity_core/identity_core/gunicorn_defaults.py"
BINDER = Path(__file__).parents[2] / "containers/binder"


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("WEB_CONCURRENCY", "0"),
        ("WEB_CONCURRENCY", "-3"),
        ("WEB_CONCURRENCY", "two"),
        ("WEB_CONCURRENCY", "1000"),
        ("PORT", "abc"),
        ("PORT", "0"),
        ("PORT", "99999"),
    ],
)
def test_malformed_value_stops_gunicorn_naming_it(name, value, monkeypatch):
    monkeypatch.setenv(name, value)
    with pytest.raises(SystemExit, match=name):
        runpy.run_path(str(DEFAULTS))


def test_valid_values_are_used(monkeypatch):
    monkeypatch.setenv("PORT", "8002")
    monkeypatch.setenv("WEB_CONCURRENCY", "4")
    config = runpy.run_path(str(DEFAULTS))
    assert (config["bind"], config["workers"]) == ("0.0.0.0:8002", 4)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_gunicorn_with_no_workers_requested_exits_instead_of_hanging():
    gunicorn = str(Path(sys.executable).with_name("gunicorn"))
    result = subprocess.run(
        [gunicorn, "--config", "gunicorn.conf.py", "binder_app.wsgi:app"],
        cwd=BINDER,
        # Every other setting valid: only the worker count is wrong.
        env={
            "PATH": "/usr/bin:/bin",
            "HOME": "/tmp",
            **core_environ("https://keys.example.test"),
            "WEB_CONCURRENCY": "0",
            "PORT": str(_free_port()),
        },
        capture_output=True,
        text=True,
        timeout=20,
    )
    assert result.returncode != 0
    assert "WEB_CONCURRENCY" in result.stderr
