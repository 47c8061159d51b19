"""Sign-in through the ALB emulator and the headers the containers receive."""

from __future__ import annotations

import base64
import json

import jwt
import requests
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature


def _header(echo: dict, name: str) -> str | None:
    values = [value for key, value in echo["headers"] if key.lower() == name.lower()]
    assert len(values) <= 1, f"{name} sent {len(values)} times"
    return values[0] if values else None


def test_alice_signs_in_and_the_upstream_gets_a_verifiable_padded_header(
    alb_server, alb_sign_in, idp_server
):
    browser = requests.Session()
    response = alb_sign_in(browser, "alice")

    assert response.status_code == 200, response.text
    echo = response.json()
    assert echo["path"] == "/api/whoami"
    token = _header(echo, "x-amzn-oidc-data")
    header_segment, payload_segment, signature_segment = token.split(".")
    # The ALB keeps base64 padding; at least one segment of a real token needs it.
    assert any(
        s.endswith("=") for s in (header_segment, payload_segment, signature_segment)
    ) or all(len(s) % 4 == 0 for s in (header_segment, payload_segment, signature_segment))
    header = json.loads(base64.urlsafe_b64decode(header_segment))
    assert header["alg"] == "ES256"
    assert header["typ"] == "JWT"
    assert header["signer"] == alb_server.config.alb_arn
    assert header["client"] == "alb-local-client"
    assert header["iss"] == idp_server.entra_issuer

    pem = requests.get(f"{alb_server.key_url}/{header['kid']}", timeout=5).content
    public_key = serialization.load_pem_public_key(pem)

    # PyJWT 2.15 accepts the padded segments.
    claims = jwt.decode(token, public_key, algorithms=["ES256"], issuer=idp_server.entra_issuer)
    alice = json.loads((idp_server.config_file).read_text(encoding="utf-8"))["users"]["alice"]
    assert claims["name"] == "Alice Müller"
    assert claims["sub"] == alice["entra"]["sub"]
    assert claims["oid"] == alice["entra"]["oid"]
    assert claims["tid"] == idp_server.config["idp"]["tenant_id"]
    assert claims["preferred_username"] == claims["email"] == "alice@example.test"
    assert "iat" not in claims and "aud" not in claims
    assert claims["exp"] == header["exp"]

    # And a bare ES256 check over the exact bytes received, padding included.
    raw_signature = base64.urlsafe_b64decode(signature_segment)
    assert len(raw_signature) == 64
    der = encode_dss_signature(
        int.from_bytes(raw_signature[:32], "big"), int.from_bytes(raw_signature[32:], "big")
    )
    public_key.verify(
        der, f"{header_segment}.{payload_segment}".encode("ascii"), ec.ECDSA(hashes.SHA256())
    )

    assert _header(echo, "x-amzn-oidc-identity") == alice["entra"]["sub"]
    assert _header(echo, "x-amzn-oidc-accesstoken")
    assert _header(echo, "X-Amzn-Trace-Id").startswith("Root=1-")


def test_client_sent_oidc_headers_never_reach_the_upstream(alb_server, alb_sign_in):
    browser = requests.Session()
    forged = {
        "x-amzn-oidc-data": "forged.header.value",
        "X-Amzn-Oidc-Identity": "mallory",
        "x-amzn-oidc-accesstoken": "forged-token",
        "x-amzn-oidc-extra": "anything",
        # WSGI servers fold "_" into "-": this one must not sneak through as x-amzn-oidc-data.
        "x_amzn_oidc_data": "forged.underscore.value",
    }
    alb_sign_in(browser, "alice")
    echo = browser.get(f"{alb_server.url}/api/whoami", headers=forged, timeout=10).json()

    assert _header(echo, "x-amzn-oidc-data") not in (
        "forged.header.value",
        "forged.underscore.value",
    )
    assert _header(echo, "x-amzn-oidc-identity") != "mallory"
    assert _header(echo, "x-amzn-oidc-accesstoken") != "forged-token"
    assert _header(echo, "x-amzn-oidc-extra") is None

    # On a rule without authentication they are removed and nothing is added.
    echo = requests.get(f"{alb_server.url}/public/page", headers=forged, timeout=10).json()
    assert [k for k, _ in echo["headers"] if k.lower().startswith("x-amzn-oidc-")] == []


def test_unauthenticated_request_is_redirected_to_the_entra_like_idp(alb_server, idp_server):
    response = requests.get(f"{alb_server.url}/api/chat?x=1", allow_redirects=False, timeout=10)

    assert response.status_code == 302
    location = response.headers["Location"]
    assert location.startswith(f"{idp_server.entra_issuer}/oauth2/authorize?")
    assert "nonce=" in location and "state=" in location
    assert "AWSELBAuthNonce" in response.cookies


def test_deny_rule_answers_401_without_a_session(alb_server):
    response = requests.get(f"{alb_server.url}/api/deny/x", allow_redirects=False, timeout=10)

    assert response.status_code == 401


def test_deny_rule_forwards_a_signed_in_browser(alb_server, alb_sign_in):
    browser = requests.Session()
    alb_sign_in(browser, "alice")

    response = browser.get(f"{alb_server.url}/api/deny/x", allow_redirects=False, timeout=10)

    assert response.status_code == 200
    assert _header(response.json(), "x-amzn-oidc-data")


def test_path_no_rule_matches_gets_the_default_fixed_404(alb_server, alb_sign_in):
    browser = requests.Session()
    alb_sign_in(browser, "alice")

    response = browser.get(f"{alb_server.url}/admin", allow_redirects=False, timeout=10)

    assert response.status_code == 404


def test_logout_expires_every_session_shard(alb_server, alb_sign_in):
    browser = requests.Session()
    alb_sign_in(browser, "alice")
    assert any(c.name.startswith("AWSELBAuthSessionCookie-") for c in browser.cookies)

    response = browser.get(f"{alb_server.url}/logout", allow_redirects=False, timeout=10)

    expired = [h for h in response.raw.headers.getlist("Set-Cookie") if "Max-Age=0" in h]
    for index in range(4):
        assert any(h.startswith(f"AWSELBAuthSessionCookie-{index}=") for h in expired)
    assert not any(c.name.startswith("AWSELBAuthSessionCookie-") for c in browser.cookies)
    after = browser.get(f"{alb_server.url}/api/whoami", allow_redirects=False, timeout=10)
    assert after.status_code == 302


def test_logout_then_idp_sign_out_lets_another_user_sign_in_in_the_same_browser(
    alb_server, alb_sign_in, idp_server, idp_follow, idp_submit
):
    browser = requests.Session()
    alb_sign_in(browser, "alice")

    logout = browser.get(f"{alb_server.url}/logout", allow_redirects=False, timeout=10)
    assert logout.headers["Location"] == f"{idp_server.entra_issuer}/oauth2/logout"
    confirm = idp_follow(browser, logout)
    assert "fonts.googleapis" not in confirm.text
    done = idp_follow(browser, idp_submit(browser, confirm, "/oauth2/logout/confirm", logout="yes"))
    assert "You are signed out" in done.text

    # The IdP forgot alice: the next visit asks for a password, and mallory can use it.
    echo = alb_sign_in(browser, "mallory").json()
    identity = next(v for k, v in echo["headers"] if k.lower() == "x-amzn-oidc-identity")
    assert identity == idp_server.config["users"]["mallory"]["entra"]["sub"]


def test_tampered_session_cookie_is_treated_as_signed_out(alb_server, alb_sign_in):
    browser = requests.Session()
    alb_sign_in(browser, "alice")
    cookie = next(c for c in browser.cookies if c.name == "AWSELBAuthSessionCookie-0")
    flipped = cookie.value[:-2] + ("A" if cookie.value[-2] != "A" else "B") + cookie.value[-1]
    browser.cookies.set(cookie.name, flipped, domain=cookie.domain, path=cookie.path)

    response = browser.get(f"{alb_server.url}/api/whoami", allow_redirects=False, timeout=10)

    assert response.status_code == 302


def test_idp_response_with_a_state_from_another_browser_is_refused(alb_server, idp_server):
    victim = requests.Session()
    start = victim.get(f"{alb_server.url}/api/whoami", allow_redirects=False, timeout=10)
    state = dict(p.split("=", 1) for p in start.headers["Location"].split("?", 1)[1].split("&"))[
        "state"
    ]

    attacker = requests.Session()
    attacker.get(f"{alb_server.url}/api/whoami", allow_redirects=False, timeout=10)
    response = victim.get(
        f"{alb_server.url}/oauth2/idpresponse",
        params={"code": "anything", "state": state + "x"},
        allow_redirects=False,
        timeout=10,
    )

    assert response.status_code == 401
    assert not any(c.name.startswith("AWSELBAuthSessionCookie-") for c in victim.cookies)


def test_cookies_of_both_idp_instances_and_the_alb_share_one_jar_without_collision(
    alb_server, alb_sign_in, extapi_as
):
    browser = requests.Session()
    alb_sign_in(browser, "alice")
    extapi_as.authorize(browser, "alice", "repo read:user")

    # Every cookie in the jar belongs to exactly one of the three services (the same name may
    # appear under several paths: the providers scope interaction cookies to their page).
    names = {c.name for c in browser.cookies}
    entra = {n for n in names if n.startswith("entra_")}
    external = {n for n in names if n.startswith("extas_")}
    alb = {n for n in names if n.startswith("AWSELBAuth")}
    assert "entra_session" in entra and "extas_session" in external
    assert "AWSELBAuthSessionCookie-0" in alb
    assert entra | external | alb == names, names - (entra | external | alb)

    # Both sessions still work from the same jar: the ALB lets alice in, and the external AS
    # remembers her without a new sign-in or consent.
    assert browser.get(f"{alb_server.url}/api/whoami", timeout=10).status_code == 200
    query = extapi_as.authorize(browser, "alice", "repo read:user")
    assert "code" in query


def test_upstream_set_cookie_and_location_pass_unchanged(alb_server, alb_sign_in):
    browser = requests.Session()
    alb_sign_in(browser, "alice")

    response = browser.get(f"{alb_server.url}/api/set-cookies", allow_redirects=False, timeout=10)

    assert response.status_code == 302
    assert response.headers["Location"] == "/api/after?x=1"
    assert response.raw.headers.getlist("Set-Cookie") == [
        "app_a=1; Path=/; HttpOnly",
        "app_b=2; Path=/api",
    ]


def test_request_and_response_bodies_are_proxied_intact(alb_server, alb_sign_in):
    import hashlib

    browser = requests.Session()
    alb_sign_in(browser, "alice")
    body = bytes(range(256)) * 4096  # 1 MiB

    echo = browser.post(f"{alb_server.url}/api/upload", data=body, timeout=30).json()
    assert echo["body_length"] == len(body)
    assert echo["body_sha256"] == hashlib.sha256(body).hexdigest()

    chunked = browser.post(
        f"{alb_server.url}/api/upload", data=iter([body[:1000], body[1000:5000]]), timeout=30
    )
    assert chunked.json()["body_length"] == 5000

    streamed = browser.get(f"{alb_server.url}/api/stream", stream=True, timeout=30)
    assert sum(len(c) for c in streamed.iter_content(8192)) == 50 * 1024


def test_trace_id_sent_by_the_client_is_kept(alb_server, alb_sign_in):
    browser = requests.Session()
    alb_sign_in(browser, "alice")
    trace = "Root=1-67891233-abcdef012345678912345678"

    echo = browser.get(
        f"{alb_server.url}/api/x", headers={"X-Amzn-Trace-Id": trace}, timeout=10
    ).json()

    assert _header(echo, "X-Amzn-Trace-Id") == trace


def test_wrong_password_keeps_the_user_on_the_sign_in_page(
    alb_server, idp_server, idp_follow, idp_submit
):
    browser = requests.Session()
    response = idp_follow(
        browser, browser.get(f"{alb_server.url}/", allow_redirects=False, timeout=10)
    )

    response = idp_submit(
        browser, response, "/login", username="alice", password="not-her-password"
    )

    assert response.status_code == 401
    assert "Wrong user name or password" in response.text
    assert not any(c.name.startswith("AWSELBAuthSessionCookie-") for c in browser.cookies)


def test_key_endpoint_serves_only_the_current_kid(alb_server):
    kid = alb_server.emulator.key.kid

    assert requests.get(f"{alb_server.key_url}/{kid}", timeout=5).text.startswith(
        "-----BEGIN PUBLIC KEY-----"
    )
    assert (
        requests.get(
            f"{alb_server.key_url}/00000000-0000-0000-0000-000000000000", timeout=5
        ).status_code
        == 404
    )


def test_path_and_query_reach_the_upstream_as_the_client_encoded_them(alb_server, alb_sign_in):
    browser = requests.Session()
    alb_sign_in(browser, "alice")

    echo = browser.get(f"{alb_server.url}/api/a%2Fb/M%C3%BCller?q=%C3%A9+x&k=1", timeout=10).json()

    assert echo["raw_uri"] == "/api/a%2Fb/M%C3%BCller?q=%C3%A9+x&k=1"


def test_sign_in_returns_the_browser_to_the_page_it_asked_for(alb_server, alb_sign_in):
    browser = requests.Session()

    echo = alb_sign_in(browser, "alice", path="/api/chat?thread=7&x=%C3%A9").json()

    assert echo["path"] == "/api/chat"
    assert echo["query"] == "thread=7&x=%C3%A9"
