"""The agent's tools: a small part of GitHub's REST API, called with the user's token.

The base URL is a setting so the local stack can stand in for api.github.com. Answers are cut
down to the fields the model needs: less to send to the model, and nothing it should not see.
"""

from __future__ import annotations

from typing import Any

import requests
from requests.adapters import HTTPAdapter

from .outbound import AccessToken

# (connect, read): a slow external API must not hold a gunicorn thread for long.
TIMEOUT = (3.0, 10.0)
MAX_REPOS = 30


class ExternalUnauthorized(Exception):
    """The external API refused the token (401): revoked, or expired without refresh."""


class ExternalApiError(Exception):
    """The external API failed or answered something we cannot use. Message has no token."""


def _pooled_session() -> requests.Session:
    # One connection per gunicorn thread and then some, like the boto3 clients' pools.
    session = requests.Session()
    session.mount("https://", HTTPAdapter(pool_maxsize=32))
    session.mount("http://", HTTPAdapter(pool_maxsize=32))
    return session


class GitHubClient:
    def __init__(self, base_url: str, session: requests.Session | None = None):
        self._base_url = base_url.rstrip("/")
        self._session = session or _pooled_session()

    def profile(self, token: AccessToken) -> dict[str, Any]:
        user = self._get("/user", token)
        if not isinstance(user, dict):
            raise ExternalApiError("unexpected profile answer")
        return {k: user.get(k) for k in ("login", "name", "html_url", "public_repos")}

    def repositories(self, token: AccessToken) -> dict[str, Any]:
        repos = self._get("/user/repos", token, params={"per_page": MAX_REPOS, "sort": "updated"})
        if not isinstance(repos, list):
            raise ExternalApiError("unexpected repositories answer")
        return {
            "repositories": [
                {
                    "full_name": r.get("full_name"),
                    "private": r.get("private"),
                    "description": r.get("description"),
                    "html_url": r.get("html_url"),
                }
                for r in repos[:MAX_REPOS]
                if isinstance(r, dict)
            ]
        }

    def _get(self, path: str, token: AccessToken, params: dict[str, Any] | None = None) -> Any:
        try:
            response = self._session.get(
                f"{self._base_url}{path}",
                params=params,
                headers={
                    "Authorization": f"Bearer {token.value}",
                    "Accept": "application/vnd.github+json",
                    "X-GitHub-Api-Version": "2022-11-28",
                    "User-Agent": "agentcore-ecs-agent",
                },
                timeout=TIMEOUT,
                # A redirect to another host would carry the Authorization header along.
                allow_redirects=False,
            )
        except requests.RequestException as exc:
            raise ExternalApiError(f"{path}: {type(exc).__name__}") from None
        if response.status_code == 401:
            raise ExternalUnauthorized(path)
        if response.status_code != 200:
            raise ExternalApiError(f"{path}: HTTP {response.status_code}")
        try:
            return response.json()
        except ValueError:
            raise ExternalApiError(f"{path}: not JSON") from None
