"""The Node identity provider: the Entra-like instance and the external authorization server."""

from __future__ import annotations

import requests


def test_entra_instance_publishes_an_entra_v2_shaped_issuer(idp_server):
    issuer = idp_server.entra_issuer
    tenant = idp_server.config["idp"]["tenant_id"]
    discovery = requests.get(f"{issuer}/.well-known/openid-configuration", timeout=5).json()

    assert discovery["issuer"] == issuer
    assert issuer.endswith(f"/{tenant}/v2.0")
    assert discovery["userinfo_endpoint"] == f"{issuer}/oidc/userinfo"
    assert discovery["response_types_supported"] == ["code"]
    assert {"oid", "tid", "preferred_username", "name", "email"} <= set(
        discovery["claims_supported"]
    )


def test_external_as_offers_the_github_scopes_and_introspection(idp_server):
    discovery = requests.get(
        f"{idp_server.as_url}/.well-known/openid-configuration", timeout=5
    ).json()

    assert {"repo", "read:user"} <= set(discovery["scopes_supported"])
    assert discovery["introspection_endpoint"] == f"{idp_server.as_url}/token/introspection"
    assert discovery["token_endpoint"] == f"{idp_server.as_url}/login/oauth/access_token"
