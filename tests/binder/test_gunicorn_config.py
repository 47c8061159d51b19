"""The binder's gunicorn settings, pinned: changing one of them is a decision, not an accident."""

from __future__ import annotations

import runpy
import sys
import types
from pathlib import Path

import pytest
from gunicorn.config import KNOWN_SETTINGS

CONF = Path(__file__).resolve().parents[2] / "containers" / "binder" / "gunicorn.conf.py"


@pytest.fixture
def load(monkeypatch):
    def load(**environ: str) -> dict:
        for name in ("PORT", "WEB_CONCURRENCY"):
            monkeypatch.delenv(name, raising=False)
        for name, value in environ.items():
            monkeypatch.setenv(name, value)
        # The shared defaults read the environment when first imported: import them afresh.
        monkeypatch.delitem(sys.modules, "identity_core.gunicorn_defaults", raising=False)
        namespace = runpy.run_path(str(CONF))
        return {
            k: v
            for k, v in namespace.items()
            if not k.startswith("_") and not isinstance(v, types.ModuleType)
        }

    return load


def test_gunicorn_settings_are_pinned(load):
    conf = load()

    assert conf["bind"] == "0.0.0.0:8080"
    assert conf["workers"] == 2
    assert conf["worker_class"] == "gthread"
    assert conf["threads"] == 8
    assert conf["timeout"] == 30
    assert conf["graceful_timeout"] == 20
    assert conf["keepalive"] == 75
    assert conf["preload_app"] is True
    assert conf["proc_name"] == "binder"
    assert conf["control_socket_disable"] is True
    assert conf["limit_request_field_size"] == 16384
    assert conf["accesslog"] == "-"


def test_port_comes_from_the_environment(load):
    assert load(PORT="9123")["bind"] == "0.0.0.0:9123"


def test_every_setting_is_one_gunicorn_knows(load):
    # A misspelt name in a config file is silently ignored by gunicorn.
    known = {setting.name for setting in KNOWN_SETTINGS}
    assert set(load()) <= known


def test_access_log_never_contains_the_query_string(load):
    # The query carries the session id. %(r)s is the request line, %(q)s the query, %(f)s the
    # referer (which may carry the agent's URL); only the path %(U)s may appear.
    fmt = load()["access_log_format"]

    assert "%(U)s" in fmt
    for atom in ("%(r)s", "%(q)s", "%(f)s", "%({raw_uri}e)s", "%({query_string}e)s"):
        assert atom not in fmt
