"""The demo's story and its attacks, step by step, against the running local stack.

The steps build on each other (alice's consent in the second is what the fourth renews), so
they run in file order on one ``Story``; each asserts what the person or attacker would see.
"""

from __future__ import annotations

import boto3
import pytest
import requests

from devstack.demo import REPO_REQUEST, Story

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def alice_link(story: Story) -> dict:
    return story.step1_alice_asks_and_gets_a_link()


def test_signed_in_user_asking_for_repos_gets_an_out_of_band_consent_link(story, alice_link):
    assert alice_link["provider"] == "github"
    assert alice_link["url"].startswith(story.config.external_as_url)
    # The link travels beside the reply, never inside the model's text.
    chat = story.chat("alice", REPO_REQUEST)
    assert chat.authorization["url"] not in chat.reply


def test_consent_then_binding_gives_alice_her_repos_and_not_mallorys(story, alice_link):
    story.step2_alice_consents_and_gets_her_repos(alice_link)


def test_consent_link_opened_in_another_users_browser_binds_nothing(story):
    story.step3_mallory_swaps_the_link()


def test_expired_access_token_is_renewed_without_consent(story):
    story.step4_token_expires_and_is_renewed()


def test_forged_header_is_refused_directly_and_stripped_by_the_alb(story):
    story.step5_forged_header_is_refused()


def test_replayed_binding_link_is_refused(story):
    """bob completes a flow, then the same binding URL is opened again: nothing is bound twice."""
    story.sign_in("bob")
    link = story.chat("bob", REPO_REQUEST).authorization
    assert link
    first = story.open_consent_link("bob", link["url"])
    assert first.status_code == 200
    binding_url = first.history[-1].url if first.history else None
    assert binding_url and story.config.binding_path in binding_url
    completions = story.calls("CompleteResourceTokenAuth")

    replay = story.browser("bob").get(binding_url)

    assert replay.status_code in (403, 409)
    assert "already" in replay.text.lower()
    assert story.calls("CompleteResourceTokenAuth") == completions


def test_api_request_without_a_session_gets_401_not_a_login_page(story):
    response = requests.post(
        story.config.app_url + "/api/chat", json={"message": "hi"}, allow_redirects=False, timeout=5
    )
    assert response.status_code == 401


def test_page_request_without_a_session_is_sent_to_sign_in(story):
    response = requests.get(story.config.app_url + "/", allow_redirects=False, timeout=5)
    assert response.status_code == 302
    assert response.headers["Location"].startswith(story.config.oidc["authorization_endpoint"])


def test_audit_trail_links_sign_in_to_agent_action_for_one_user(story):
    events = story.stack.audit_events("agent", "binder")
    alice = next(e["user_id"] for e in events if e.get("event") == "binding.completed")
    chain = {e["event"] for e in events if e.get("user_id") == alice}
    assert {
        "identity.verified",
        "authorization.required",
        "binding.completed",
        "oauth_token.obtained",
        "tool.call",
    } <= chain
    assert all(e.get("trace_id") for e in events if e.get("user_id") == alice)


def test_alices_access_token_reaches_no_log_and_no_page(story):
    """Fetch the very token the agent used, as the agent would, then look for it everywhere."""
    config = story.config
    env = config.aws_environ()
    agentcore = boto3.session.Session(
        aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
        region_name=config.region,
    ).client("bedrock-agentcore", endpoint_url=config.agentcore_url)
    alice = next(e["user_id"] for e in story.audit("binding.completed"))
    workload_token = agentcore.get_workload_access_token_for_user_id(
        workloadName=config.workload_name, userId=alice
    )["workloadAccessToken"]
    token = agentcore.get_resource_oauth2_token(
        workloadIdentityToken=workload_token,
        resourceCredentialProviderName=config.provider_name,
        scopes=list(config.provider_scopes),
        oauth2Flow="USER_FEDERATION",
        resourceOauth2ReturnUrl=config.session_binding_url,
    )["accessToken"]
    assert len(token) >= 16

    chat = story.chat("alice", REPO_REQUEST)

    assert token not in chat.reply and token not in str(chat.body)
    for name in ("agent", "binder", "alb", "agentcore", "external_api"):
        text = "\n".join(story.stack.log_lines(name))
        assert token not in text, f"{name} logged alice's access token"
