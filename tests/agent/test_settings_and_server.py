"""Settings stop the process with the variable's name; gunicorn starts from the folder."""

from __future__ import annotations

import os
import runpy
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from agent_app import create_app
from agent_app.settings import AgentSettings
from identity_core.settings import SettingsError

from tests.agent.conftest import agent_environ

AGENT_DIR = Path(__file__).resolve().parents[2] / "containers" / "agent"


@pytest.fixture
def env() -> dict[str, str]:
    return agent_environ("http://127.0.0.1:9", "pending-flows", "http://127.0.0.1:9")


@pytest.mark.parametrize(
    "name",
    [
        "WORKLOAD_NAME",
        "CREDENTIAL_PROVIDER_NAME",
        "CREDENTIAL_PROVIDER_VENDOR",
        "CREDENTIAL_PROVIDER_SCOPES",
        "SESSION_BINDING_URL",
        "MODEL_PROVIDER",
        "ALB_ARN",
        "OIDC_ISSUER",
        "PENDING_FLOW_TABLE",
    ],
)
def test_missing_setting_stops_the_app_naming_it(env, name):
    del env[name]

    with pytest.raises(SettingsError, match=name):
        create_app(env)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("SESSION_BINDING_URL", "http://agents.example.test/oauth2/session-binding"),
        ("SESSION_BINDING_URL", "https://agents.example.test/bind?next=/evil"),
        ("EXTERNAL_API_BASE_URL", "ftp://api.github.com"),
        ("MODEL_PROVIDER", "gpt"),
        ("CREDENTIAL_PROVIDER_VENDOR", "MicrosoftOAuth2"),  # AWS spells it MicrosoftOauth2
        ("CREDENTIAL_PROVIDER_NAME", "github provider"),
        ("WORKLOAD_NAME", "a/b"),
        ("WORKLOAD_TOKEN_TTL_SECONDS", "ten"),
        ("WORKLOAD_TOKEN_TTL_SECONDS", "86400"),
    ],
)
def test_malformed_setting_stops_the_app_naming_it(env, name, value):
    env[name] = value

    with pytest.raises(SettingsError, match=name):
        create_app(env)


def test_bedrock_needs_a_model_id(env):
    env["MODEL_PROVIDER"] = "bedrock"

    with pytest.raises(SettingsError, match="MODEL_ID"):
        create_app(env)


def test_loopback_http_binding_url_is_allowed_for_the_local_stack(env):
    env["SESSION_BINDING_URL"] = "http://127.0.0.1:8080/oauth2/session-binding"

    settings = AgentSettings.from_env(env)

    assert settings.session_binding_url == "http://127.0.0.1:8080/oauth2/session-binding"
    assert settings.workload_token_ttl_seconds == 300
    assert settings.scopes == ("repo", "read:user")


def test_microsoft_scopes_gain_offline_access_once(env):
    env.update(
        CREDENTIAL_PROVIDER_VENDOR="MicrosoftOauth2",
        CREDENTIAL_PROVIDER_SCOPES="User.Read,Mail.Read",
    )
    assert AgentSettings.from_env(env).scopes == ("User.Read", "Mail.Read", "offline_access")
    env["CREDENTIAL_PROVIDER_SCOPES"] = "offline_access User.Read"
    assert AgentSettings.from_env(env).scopes == ("offline_access", "User.Read")


def test_gunicorn_config_is_pinned(monkeypatch):
    monkeypatch.delenv("PORT", raising=False)
    monkeypatch.delenv("WEB_CONCURRENCY", raising=False)
    config = runpy.run_path(str(AGENT_DIR / "gunicorn.conf.py"))

    assert config["bind"] == "0.0.0.0:8080"
    assert config["workers"] == 2
    assert config["worker_class"] == "gthread"
    assert config["threads"] == 8
    assert config["timeout"] == 60
    assert config["keepalive"] == 75
    assert "%(U)s" in config["access_log_format"] and "%(r)s" not in config["access_log_format"]


def test_chat_page_loads_its_script_from_static_under_a_strict_csp(client, signer):
    page = client.get("/", headers={"x-amzn-oidc-data": signer.token()})
    html = page.get_data(as_text=True)
    script = client.get("/static/chat.js")

    csp = page.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert "unsafe-inline" not in csp
    assert page.headers["Cache-Control"] == "no-store"
    assert page.headers["Referrer-Policy"] == "no-referrer"
    assert '<script src="/static/chat.js"' in html and "<script>" not in html
    for element in ('id="message"', 'id="send"', 'id="log"', 'id="reply"', 'id="authorize"'):
        assert element in html
    assert script.status_code == 200
    assert "connected" in script.get_data(as_text=True)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_gunicorn_starts_from_the_folder_with_environment_settings_only(keys, table, github):
    port = _free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("AWS_")},
        **agent_environ(keys.url, table, github.url),
        "PORT": str(port),
        "WEB_CONCURRENCY": "1",
    }
    gunicorn = str(Path(sys.executable).with_name("gunicorn"))
    process = subprocess.Popen(
        [gunicorn, "--config", "gunicorn.conf.py", "--bind", f"127.0.0.1:{port}",
         "agent_app.wsgi:app"],
        cwd=AGENT_DIR,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                # The worker may still be importing the app: wait for it, within the deadline.
                health = requests.get(f"http://127.0.0.1:{port}/healthz", timeout=2)
                break
            except (requests.ConnectionError, requests.Timeout):
                assert process.poll() is None, "gunicorn exited"
                assert time.monotonic() < deadline, "gunicorn did not start"
                time.sleep(0.2)
        unauthenticated = requests.post(
            f"http://127.0.0.1:{port}/api/chat", json={"message": "hi"}, timeout=5
        )
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=20)

    assert health.json() == {"status": "ok"}
    assert unauthenticated.status_code == 401


def test_gunicorn_refuses_to_start_without_settings():
    env = {k: v for k, v in os.environ.items() if k not in ("WORKLOAD_NAME", "ALB_ARN")}
    gunicorn = str(Path(sys.executable).with_name("gunicorn"))
    result = subprocess.run(
        [gunicorn, "--config", "gunicorn.conf.py", "--bind", f"127.0.0.1:{_free_port()}",
         "agent_app.wsgi:app"],
        cwd=AGENT_DIR, env=env, capture_output=True, text=True, timeout=30,
    )  # fmt: skip

    assert result.returncode != 0
    assert "AWS_REGION" in result.stderr or "ALB_ARN" in result.stderr
