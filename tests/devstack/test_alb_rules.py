"""ALB emulator: listener rule configuration, `allow`, the claims size limit, the entry point."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from devstack.alb.config import ConfigError, parse, path_pattern_regex

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("pattern", "path", "matches"),
    [
        ("/api/*", "/api/chat", True),
        ("/api/*", "/api/a/b/c", True),
        ("/api/*", "/api", False),
        ("/api/*", "/API/chat", False),
        ("/", "/", True),
        ("/", "/x", False),
        ("/file?.txt", "/file1.txt", True),
        ("/file?.txt", "/file12.txt", False),
        ("/a.b", "/aXb", False),
    ],
    ids=lambda v: str(v),
)
def test_path_patterns_follow_alb_wildcards(pattern, path, matches):
    assert bool(path_pattern_regex(pattern).fullmatch(path)) is matches


def _stack_alb() -> dict:
    return copy.deepcopy(
        json.loads((REPO / "devstack" / "config.json").read_text(encoding="utf-8"))["alb"]
    )


def test_stack_config_rules_are_valid_and_ordered_by_priority():
    config = parse(_stack_alb())

    assert [r.priority for r in config.rules] == sorted(r.priority for r in config.rules)
    assert config.match("/oauth2/session-binding").target == "http://127.0.0.1:8002"
    assert config.match("/api/chat").target == "http://127.0.0.1:8001"
    assert config.match("/nothing-here") is None


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda c: c.pop("alb_arn"), "alb.alb_arn"),
        (lambda c: c.update(alb_arn="arn:aws:s3:::bucket"), "alb.alb_arn"),
        (lambda c: c["rules"][1].update(priority=c["rules"][0]["priority"]), "used twice"),
        (lambda c: c["rules"][0]["actions"][0].update(authenticate_oidc="nope"), "unknown action"),
        (lambda c: c["rules"][0]["actions"].reverse(), "forward last"),
        (lambda c: c["authenticate_oidc"]["entra"].pop("client_secret"), "client_secret"),
        (lambda c: c["authenticate_oidc"]["entra"].update(scope="profile"), "openid"),
        (
            lambda c: c["authenticate_oidc"]["entra"].update(on_unauthenticated_request="maybe"),
            "on_unauthenticated",
        ),
        (
            lambda c: c["authenticate_oidc"]["entra"].update(token_endpoint="ftp://x"),
            "token_endpoint",
        ),
        (lambda c: c["rules"][0].update(path_patterns=[]), "path_patterns"),
    ],
    ids=[
        "missing-arn",
        "not-an-alb-arn",
        "duplicate-priority",
        "unknown-auth-ref",
        "forward-first",
        "missing-secret",
        "scope-without-openid",
        "bad-unauthenticated-mode",
        "bad-endpoint",
        "no-patterns",
    ],
)
def test_bad_config_is_refused_with_the_setting_named(change, message):
    raw = _stack_alb()
    change(raw)

    with pytest.raises(ConfigError, match=message):
        parse(raw)


def test_allow_rule_forwards_anonymous_requests_without_identity_headers(alb_server):
    response = requests.get(
        f"{alb_server.url}/api/allow/x", headers={"x-amzn-oidc-identity": "forged"}, timeout=10
    )

    assert response.status_code == 200
    assert [k for k, _ in response.json()["headers"] if k.lower().startswith("x-amzn-oidc-")] == []


def test_allow_rule_adds_identity_for_a_signed_in_browser(alb_server, alb_sign_in):
    browser = requests.Session()
    alb_sign_in(browser, "bob")

    echo = browser.get(f"{alb_server.url}/api/allow/x", timeout=10).json()

    assert any(k.lower() == "x-amzn-oidc-data" for k, _ in echo["headers"])


def test_claims_over_11_kb_make_the_alb_answer_500(alb_isolated_stack):
    def huge_name(config):
        config["users"]["bob"]["name"] = "Bob " + "x" * (12 * 1024)

    _idp, _alb, sign_in = alb_isolated_stack(huge_name)
    browser = requests.Session()

    response = sign_in(browser, "bob")

    assert response.status_code == 500
    assert not any(c.name.startswith("AWSELBAuthSessionCookie-") for c in browser.cookies)


def test_large_claims_under_the_limit_are_sharded_across_cookies(alb_isolated_stack):
    def long_name(config):
        config["users"]["bob"]["name"] = "Bob " + "é" * 4000  # 8 KB of UTF-8

    _idp, alb, sign_in = alb_isolated_stack(long_name)
    browser = requests.Session()

    echo = sign_in(browser, "bob").json()

    shards = sorted(
        c.name for c in browser.cookies if c.name.startswith("AWSELBAuthSessionCookie-")
    )
    assert len(shards) >= 3
    assert all(len(c.value) <= 4000 for c in browser.cookies if c.name in shards)
    assert any(k.lower() == "x-amzn-oidc-data" for k, _ in echo["headers"])
    logout = browser.get(f"{alb.url}/logout", allow_redirects=False, timeout=10)
    assert logout.status_code == 302
    assert not any(c.name.startswith("AWSELBAuthSessionCookie-") for c in browser.cookies)


def test_expired_session_sends_the_browser_back_to_the_idp(alb_isolated_stack):
    import time

    # Long enough that a loaded machine still finishes signing in inside the session.
    _idp, alb, sign_in = alb_isolated_stack(session_timeout=3)
    browser = requests.Session()
    assert sign_in(browser, "alice").status_code == 200

    time.sleep(3.5)
    response = browser.get(f"{alb.url}/api/whoami", allow_redirects=False, timeout=10)

    assert response.status_code == 302


def test_entry_point_serves_the_listener_and_key_endpoint_and_stops_cleanly(idp_server, tmp_path):
    from tests.devstack.conftest import _free_port, _wait_for_port

    raw = copy.deepcopy(idp_server.config["alb"])
    raw["port"], raw["key_endpoint_port"] = _free_port(), _free_port()
    path = tmp_path / "alb.json"
    path.write_text(json.dumps({"alb": raw}), encoding="utf-8")
    process = subprocess.Popen(
        [sys.executable, "-m", "devstack.alb", "--config", str(path)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        _wait_for_port(raw["port"], process)
        _wait_for_port(raw["key_endpoint_port"], process)
        assert requests.get(f"http://127.0.0.1:{raw['port']}/nothing", timeout=5).status_code == 404
        base = f"http://127.0.0.1:{raw['port']}"
        # As in Terraform: the page sends strangers to sign in, the API answers 401.
        assert requests.get(f"{base}/", allow_redirects=False, timeout=5).status_code == 302
        assert requests.get(f"{base}/api/x", allow_redirects=False, timeout=5).status_code == 401
    finally:
        process.terminate()
        output, _ = process.communicate(timeout=10)
    assert process.returncode == 0, output
    assert "public key at" in output


def test_entry_point_with_a_missing_setting_exits_2_naming_it(tmp_path):
    raw = _stack_alb()
    del raw["authenticate_oidc"]["entra"]["token_endpoint"]
    path = tmp_path / "alb.json"
    path.write_text(json.dumps(raw), encoding="utf-8")

    result = subprocess.run(
        [sys.executable, "-m", "devstack.alb", "--config", str(path)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=30,
    )

    assert result.returncode == 2
    assert "alb.authenticate_oidc.entra.token_endpoint" in result.stderr


def test_target_that_refuses_connections_gets_502(alb_server):
    response = requests.get(f"{alb_server.url}/dead/x", timeout=10)

    assert response.status_code == 502


def test_session_made_for_another_idp_client_is_not_accepted(alb_server):
    import time

    from devstack.alb.session import session_set_cookies

    def session_for(client: list) -> requests.Session:
        browser = requests.Session()
        cookies = session_set_cookies(
            alb_server.emulator.box,
            "AWSELBAuthSessionCookie",
            {
                "claims": {"sub": "s"},
                "access_token": "t",
                "client": client,
                "exp": int(time.time()) + 60,
            },
            max_age=60,
            secure=False,
        )
        for header in cookies:
            name, _, rest = header.partition("=")
            browser.cookies.set(name, rest.split(";", 1)[0], domain="127.0.0.1", path="/")
        return browser

    auth = alb_server.config.match("/api/x").authenticate
    ours = session_for([auth.issuer, auth.client_id])
    theirs = session_for([auth.issuer, "another-client"])

    assert ours.get(f"{alb_server.url}/api/x", allow_redirects=False, timeout=10).status_code == 200
    assert (
        theirs.get(f"{alb_server.url}/api/x", allow_redirects=False, timeout=10).status_code == 302
    )
