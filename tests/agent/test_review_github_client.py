"""Review findings on the GitHub client: the user's token goes to the configured API only."""

from __future__ import annotations

import pytest
from agent_app.github import ExternalApiError, GitHubClient
from agent_app.outbound import AccessToken
from werkzeug.wrappers import Request, Response

from tests.agent.fakes import FakeGitHub, LoopbackServer

TOKEN = "ext-token-review-fixture"


class Redirecting(LoopbackServer):
    """Answers every request with a redirect to ``target``, as a compromised proxy might."""

    def __init__(self, target: str, status: int) -> None:
        super().__init__()
        self.target = target
        self.status = status

    def handle(self, request: Request) -> Response:
        return Response("", status=self.status, headers={"Location": self.target + request.path})


@pytest.mark.parametrize("status", [301, 302, 307, 308])
def test_redirect_from_the_api_is_not_followed_with_the_users_token(status):
    with FakeGitHub() as elsewhere:
        elsewhere.accounts[TOKEN] = "alice"
        with Redirecting(elsewhere.url, status) as api:
            client = GitHubClient(api.url)
            with pytest.raises(ExternalApiError, match=f"HTTP {status}"):
                client.profile(AccessToken(TOKEN))

    # Not even a request without the token: the redirect target is never contacted.
    assert elsewhere.requests == []
