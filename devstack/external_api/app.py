"""The external API: `GET /user`, `GET /user/repos`, `GET /repos/<owner>/<repo>`, shaped like
GitHub's REST API, with each user's data from the stack's config.

Only bearer access tokens that the external authorization server issued are accepted: each
request is checked by token introspection (RFC 7662) with the API's own client credentials, so an
expired, revoked or unknown token gets 401 at once, the case the agent's "reconnect after 401"
path needs. Results are not cached for the same reason. The token must be meant for this API
(`aud`) and carry the scope the endpoint needs; GitHub's scope names are used:

    GET /user                 read:user (or user)
    GET /user/repos           repo
    GET /repos/<owner>/<repo> repo (public repositories: any valid token)

GitHub answers a missing scope on a private resource with 404 and a public one with data; this
subset answers 403 with the `X-Accepted-OAuth-Scopes` header, so the missing scope is visible.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import requests
from flask import Flask, jsonify, request

log = logging.getLogger("devstack.external_api")

INTROSPECTION_TIMEOUT_SECONDS = 5
DOCS_URL = "https://docs.github.com/rest"


@dataclass(frozen=True)
class ExternalApiConfig:
    base_url: str
    introspection_endpoint: str
    client_id: str
    client_secret: str
    audience: str
    users: dict  # AS account id (the user name) -> the user's `external` section

    def __repr__(self) -> str:
        return f"ExternalApiConfig(base_url={self.base_url!r}, client_secret=<present>)"


class ConfigError(ValueError):
    """A setting is missing; the message names it."""


def config_from_stack(raw: dict) -> ExternalApiConfig:
    """Read what the API needs from the stack's config.json."""

    def need(section: str, key: str):
        value = raw.get(section, {}).get(key)
        if value in (None, ""):
            raise ConfigError(f"missing setting {section}.{key}")
        return value

    server = need("external_as", "resource_server")
    for key in ("client_id", "client_secret"):
        if not server.get(key):
            raise ConfigError(f"missing setting external_as.resource_server.{key}")
    users = {}
    for name, user in raw.get("users", {}).items():
        external = user.get("external")
        if not isinstance(external, dict) or not external.get("login") or "id" not in external:
            raise ConfigError(f"missing setting users.{name}.external (login, id, repos)")
        users[name] = external
    host = raw.get("external_api", {}).get("host", "127.0.0.1")
    port = need("external_api", "port")
    return ExternalApiConfig(
        base_url=f"http://{host}:{port}",
        introspection_endpoint=need("external_api", "introspection_endpoint"),
        client_id=server["client_id"],
        client_secret=server["client_secret"],
        audience=need("external_as", "resource"),
        users=users,
    )


def _error(status: int, message: str, headers: dict | None = None):
    response = jsonify({"message": message, "documentation_url": DOCS_URL, "status": str(status)})
    response.status_code = status
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def _repo_json(config: ExternalApiConfig, owner: dict, repo: dict, index: int) -> dict:
    full_name = f"{owner['login']}/{repo['name']}"
    return {
        "id": owner["id"] * 1000 + index,
        "name": repo["name"],
        "full_name": full_name,
        "private": bool(repo.get("private", False)),
        "owner": {"login": owner["login"], "id": owner["id"], "type": "User"},
        "html_url": f"{config.base_url}/{full_name}",
        "description": repo.get("description"),
        "fork": False,
        "url": f"{config.base_url}/repos/{full_name}",
        "default_branch": repo.get("default_branch", "main"),
        "visibility": "private" if repo.get("private") else "public",
    }


def create_app(config: ExternalApiConfig) -> Flask:
    app = Flask(__name__)
    app.config["JSON_SORT_KEYS"] = False

    def introspect(token: str) -> dict | None:
        """The token's introspection answer when it is active and meant for this API."""
        response = requests.post(
            config.introspection_endpoint,
            data={"token": token, "token_type_hint": "access_token"},
            auth=(config.client_id, config.client_secret),
            timeout=INTROSPECTION_TIMEOUT_SECONDS,
        )
        response.raise_for_status()
        info = response.json()
        if info.get("active") is not True or info.get("token_type", "Bearer") != "Bearer":
            return None
        audience = info.get("aud")
        audiences = audience if isinstance(audience, list) else [audience]
        # A token the AS issued for another resource server must not open this one.
        if config.audience not in audiences:
            return None
        return info

    def authorize(*scopes: str):
        """(user, granted scopes) or an error response."""
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() not in ("bearer", "token") or not token.strip():
            return None, _error(
                401, "Requires authentication", {"WWW-Authenticate": 'Bearer realm="external-api"'}
            )
        try:
            info = introspect(token.strip())
        except (requests.RequestException, ValueError):
            log.warning("external_api: introspection failed")
            return None, _error(503, "Service unavailable")
        if info is None or info.get("sub") not in config.users:
            return None, _error(
                401,
                "Bad credentials",
                {"WWW-Authenticate": 'Bearer realm="external-api", error="invalid_token"'},
            )
        granted = set(str(info.get("scope", "")).split())
        if scopes and not granted & set(scopes):
            return None, _error(
                403,
                "Resource not accessible with this token's scopes",
                {
                    "X-Accepted-OAuth-Scopes": ", ".join(scopes),
                    "X-OAuth-Scopes": ", ".join(sorted(granted)),
                    "WWW-Authenticate": (
                        f'Bearer realm="external-api", error="insufficient_scope", '
                        f'scope="{" ".join(scopes)}"'
                    ),
                },
            )
        return (config.users[info["sub"]], granted), None

    @app.get("/user")
    def user():
        result, error = authorize("read:user", "user")
        if error:
            return error
        owner, granted = result
        response = jsonify(
            {
                "login": owner["login"],
                "id": owner["id"],
                "type": "User",
                "name": owner.get("name"),
                "html_url": f"{config.base_url}/{owner['login']}",
                "url": f"{config.base_url}/users/{owner['login']}",
                "public_repos": sum(1 for r in owner.get("repos", []) if not r.get("private")),
            }
        )
        response.headers["X-OAuth-Scopes"] = ", ".join(sorted(granted))
        return response

    @app.get("/user/repos")
    def user_repos():
        result, error = authorize("repo")
        if error:
            return error
        owner, granted = result
        repos = [_repo_json(config, owner, r, i) for i, r in enumerate(owner.get("repos", []), 1)]
        response = jsonify(repos)
        response.headers["X-OAuth-Scopes"] = ", ".join(sorted(granted))
        return response

    @app.get("/repos/<owner_login>/<name>")
    def repo(owner_login: str, name: str):
        result, error = authorize()
        if error:
            return error
        caller, granted = result
        for owner in config.users.values():
            if owner["login"] != owner_login:
                continue
            for index, candidate in enumerate(owner.get("repos", []), 1):
                if candidate["name"] != name:
                    continue
                # Someone else's private repository does not exist, as far as GitHub says.
                if candidate.get("private") and (owner is not caller or "repo" not in granted):
                    break
                return jsonify(_repo_json(config, owner, candidate, index))
        return _error(404, "Not Found")

    @app.errorhandler(404)
    def not_found(_exc):
        return _error(404, "Not Found")

    @app.errorhandler(405)
    def not_allowed(_exc):
        return _error(405, "Method Not Allowed")

    return app
