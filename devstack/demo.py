"""The demo: the whole consent flow and its attacks, told step by step against the local stack.

Each step drives the stack as a person (or an attacker) would, over real HTTP through the ALB
emulator, and checks what that person would see plus what AgentCore and the audit trail
recorded. ``Story.run`` stops at the first step that did not behave as described.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

import requests

from devstack.alb.signing import SigningKey, mint_oidc_data
from devstack.browser import Browser
from devstack.stack import Stack

REPO_REQUEST = "Which repositories do I have?"


class StepFailed(Exception):
    def __init__(self, step: str, why: str):
        super().__init__(f"step {step}: {why}")
        self.step = step
        self.why = why


@dataclass
class Chat:
    status: int
    body: dict[str, Any]

    @property
    def reply(self) -> str:
        return str(self.body.get("reply", ""))

    @property
    def authorization(self) -> dict[str, Any] | None:
        return self.body.get("authorization")


class Story:
    def __init__(self, stack: Stack, say: Callable[[str], None] = print):
        self.stack = stack
        self.config = stack.config
        self.say = say
        self.browsers: dict[str, Browser] = {}

    # -- what a person does ----------------------------------------------------------------

    def browser(self, user: str) -> Browser:
        if user not in self.browsers:
            self.browsers[user] = Browser(user)
        return self.browsers[user]

    def sign_in(self, user: str) -> requests.Response:
        """Open the application; the ALB sends the browser to the identity provider."""
        return self.open_consent_link(user, self.config.app_url + "/")

    def chat(self, user: str, message: str) -> Chat:
        response = self.browser(user).post_json(
            self.config.app_url + "/api/chat", {"message": message, "history": []}
        )
        try:
            body = response.json()
        except ValueError:
            body = {}
        return Chat(response.status_code, body)

    def open_consent_link(self, user: str, url: str) -> requests.Response:
        """Follow an authorization link in ``user``'s browser, signing in and consenting."""
        b = self.browser(user)
        page = b.get(url)
        page = b.sign_in_if_asked(page, user, self.config.users[user]["password"])
        return b.consent_if_asked(page)

    # -- what the operator can see ---------------------------------------------------------

    def agentcore_stats(self) -> dict[str, Any]:
        return requests.get(f"{self.config.agentcore_url}/_emulator/stats", timeout=5).json()

    def calls(self, operation: str) -> int:
        """How many times AgentCore was asked to run ``operation`` so far."""
        # Every outcome counts: ok and each error code.
        return sum(self.agentcore_stats()["calls"].get(operation, {}).values())

    def audit(self, event: str) -> list[dict[str, Any]]:
        return [e for e in self.stack.audit_events("agent", "binder") if e.get("event") == event]

    def repos_of(self, user: str) -> list[str]:
        return [r["name"] for r in self.config.users[user]["external"]["repos"]]

    # -- the story ---------------------------------------------------------------------------

    def step1_alice_asks_and_gets_a_link(self) -> dict[str, Any]:
        step = "1"
        page = self.sign_in("alice")
        if page.status_code != 200 or page.url.rstrip("/") != self.config.app_url:
            raise StepFailed(step, f"sign-in ended at {page.url} with {page.status_code}")
        chat = self.chat("alice", REPO_REQUEST)
        if chat.status != 200 or not chat.authorization:
            raise StepFailed(step, f"expected an authorization link, got {chat.status} {chat.body}")
        auth = chat.authorization
        if auth.get("provider") != self.config.provider_name:
            raise StepFailed(step, f"link is for {auth.get('provider')!r}")
        self.say(
            f"1. alice signed in through the ALB and asked for her repositories; the agent "
            f"answered with an 'Authorize {auth['provider']}' link (out of band, not in the "
            f"model's text)."
        )
        return auth

    def step2_alice_consents_and_gets_her_repos(self, auth: dict[str, Any]) -> None:
        step = "2"
        before = self.calls("CompleteResourceTokenAuth")
        landing = self.open_consent_link("alice", auth["url"])
        landed = urlsplit(landing.url)
        if landing.status_code != 200 or parse_qs(landed.query).get("connected") != [
            self.config.provider_name
        ]:
            raise StepFailed(
                step, f"after consent the browser ended at {landing.url} ({landing.status_code})"
            )
        if self.calls("CompleteResourceTokenAuth") != before + 1:
            raise StepFailed(step, "the binder did not complete the session exactly once")
        chat = self.chat("alice", REPO_REQUEST)
        if chat.authorization or chat.status != 200:
            raise StepFailed(step, f"still no token after binding: {chat.status} {chat.body}")
        missing = [r for r in self.repos_of("alice") if r not in chat.reply]
        leaked = [r for r in self.repos_of("mallory") if r in chat.reply]
        if missing or leaked:
            raise StepFailed(step, f"reply missing {missing} or showing mallory's {leaked}")
        self.say(
            "2. alice consented at the external service; AgentCore sent her browser to the "
            "binder, which checked her sign-in and completed the binding. The agent then "
            f"listed her repositories: {', '.join(self.repos_of('alice'))}."
        )

    def step3_mallory_swaps_the_link(self) -> None:
        step = "3"
        page = self.sign_in("mallory")
        if page.status_code != 200:
            raise StepFailed(step, f"mallory could not sign in ({page.status_code})")
        chat = self.chat("mallory", REPO_REQUEST)
        if not chat.authorization:
            raise StepFailed(step, f"mallory expected a link, got {chat.body}")
        completions = self.calls("CompleteResourceTokenAuth")
        refused_before = len(self.audit("binding.refused"))
        # Mallory sends her link to alice, who is signed in and consents in her own browser.
        landing = self.open_consent_link("alice", chat.authorization["url"])
        if landing.status_code != 403 or "another account" not in landing.text:
            raise StepFailed(
                step, f"the binder did not refuse: {landing.status_code} at {landing.url}"
            )
        if self.calls("CompleteResourceTokenAuth") != completions:
            raise StepFailed(step, "the binder called CompleteResourceTokenAuth for a foreign link")
        refusals = self.audit("binding.refused")[refused_before:]
        if not any(e.get("reason") == "other_user" for e in refusals):
            raise StepFailed(step, f"no audit event for the refusal: {refusals}")
        again = self.chat("mallory", REPO_REQUEST)
        leaked = [r for r in self.repos_of("alice") if r in json.dumps(again.body)]
        if not again.authorization or leaked:
            raise StepFailed(step, f"mallory got a token or alice's data: {again.body}")
        self.say(
            "3. mallory started her own flow and got alice to open the consent link in "
            "alice's browser. alice consented, but the binder saw that the link was "
            "started from another account and refused it without calling AgentCore. "
            "mallory still has no token and saw nothing of alice's."
        )

    def step4_token_expires_and_is_renewed(self) -> None:
        step = "4"
        requests.post(
            f"{self.config.agentcore_url}/_emulator/vault/expire-access-tokens",
            json={"provider": self.config.provider_name},
            timeout=5,
        ).raise_for_status()
        links_before = len(self.audit("authorization.required"))
        refreshes_before = self.agentcore_stats().get("refreshes", 0)
        chat = self.chat("alice", REPO_REQUEST)
        if chat.authorization or any(r not in chat.reply for r in self.repos_of("alice")):
            raise StepFailed(step, f"expected her repositories without consent: {chat.body}")
        if len(self.audit("authorization.required")) != links_before:
            raise StepFailed(step, "the agent asked for consent again")
        if self.agentcore_stats().get("refreshes", 0) != refreshes_before + 1:
            raise StepFailed(step, "AgentCore did not renew the token with the refresh token")
        self.say(
            "4. alice's access token expired; AgentCore renewed it with the refresh token "
            "and the agent answered without asking her to consent again."
        )

    def step5_forged_header_is_refused(self) -> None:
        step = "5"
        binding = f"http://{self.config.host}:{self.config.binder_port}{self.config.binding_path}"
        forged = _forged_alb_header(self.config.raw["alb"]["alb_arn"], self.config.oidc)
        completions = self.calls("CompleteResourceTokenAuth")
        response = requests.get(
            binding,
            params={"session_id": "urn:ietf:params:oauth:request_uri:forged"},
            headers={"x-amzn-oidc-data": forged},
            timeout=5,
        )
        if response.status_code != 401:
            raise StepFailed(step, f"binder answered {response.status_code} to a forged header")
        # Through the ALB, a client-supplied header is stripped and the request must sign in.
        via_alb = requests.get(
            self.config.app_url + self.config.binding_path,
            params={"session_id": "urn:ietf:params:oauth:request_uri:forged"},
            headers={"x-amzn-oidc-data": forged},
            allow_redirects=False,
            timeout=5,
        )
        if via_alb.status_code != 302:
            raise StepFailed(step, f"the ALB let a forged header through ({via_alb.status_code})")
        if self.calls("CompleteResourceTokenAuth") != completions:
            raise StepFailed(step, "a forged request reached AgentCore")
        self.say(
            "5. a request sent straight to the binder with a forged x-amzn-oidc-data was "
            "refused with 401, and through the ALB the forged header was stripped and the "
            "request sent to sign in; AgentCore was never called."
        )

    def run(self) -> None:
        auth = self.step1_alice_asks_and_gets_a_link()
        self.step2_alice_consents_and_gets_her_repos(auth)
        self.step3_mallory_swaps_the_link()
        self.step4_token_expires_and_is_renewed()
        self.step5_forged_header_is_refused()


def _forged_alb_header(alb_arn: str, oidc: dict[str, Any]) -> str:
    """A header with every claim right and a signature from a key that is not the ALB's."""
    return mint_oidc_data(
        {"sub": "attacker", "name": "Not Alice"},
        private_key=SigningKey().private_key,
        kid="forged-key",
        signer=alb_arn,
        issuer=oidc["issuer"],
        client_id=oidc["client_id"],
        expires_at=int(time.time()) + 60,
    )
