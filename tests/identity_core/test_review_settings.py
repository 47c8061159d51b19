"""Review findings on URL settings: plain http only on loopback, malformed URLs stop the start.

Each case is checked through ``CoreSettings.from_env`` (the path gunicorn takes at start), so
the test sees what an operator would: a ``SettingsError`` naming the variable, or a start.
"""

from __future__ import annotations

import pytest
from identity_core.settings import CoreSettings, SettingsError

from tests.support.alb_tokens import core_environ

URL_SETTINGS = ["OIDC_ISSUER", "ALB_PUBLIC_KEY_ENDPOINT"]

NOT_LOOPBACK_OVER_HTTP = {
    # Names that merely start with "127." resolve through DNS to any address at all.
    "dns_name_starting_with_127": "http://127.attacker.example/keys",
    "dns_name_127_0_0_1_dot_suffix": "http://127.0.0.1.nip.io/keys",
    "other_private_address": "http://10.0.0.5/keys",
}

MALFORMED = {
    "port_out_of_range": "https://idp.example.test:99999/v2.0",
    "port_not_a_number": "https://idp.example.test:abc/v2.0",
    "unclosed_ipv6_bracket": "https://[::1/v2.0",
    "space_in_host": "https://idp example.test/v2.0",
    "credentials_in_url": "https://user:secret@idp.example.test/v2.0",
}

LOOPBACK_OVER_HTTP = [
    "http://127.0.0.1:8700",
    "http://127.0.0.2:8700",
    "http://localhost:8700",
    "http://[::1]:8700",
]


@pytest.mark.parametrize("name", URL_SETTINGS)
@pytest.mark.parametrize(
    "value", NOT_LOOPBACK_OVER_HTTP.values(), ids=NOT_LOOPBACK_OVER_HTTP.keys()
)
def test_plain_http_to_a_host_that_is_not_loopback_stops_the_start(name, value):
    with pytest.raises(SettingsError, match=name):
        CoreSettings.from_env(core_environ("https://keys.example.test", **{name: value}))


@pytest.mark.parametrize("name", URL_SETTINGS)
@pytest.mark.parametrize("value", MALFORMED.values(), ids=MALFORMED.keys())
def test_malformed_url_stops_the_start_naming_the_setting(name, value):
    # A SettingsError, not a ValueError from urllib: the process prints one line naming it.
    with pytest.raises(SettingsError, match=name):
        CoreSettings.from_env(core_environ("https://keys.example.test", **{name: value}))


@pytest.mark.parametrize("value", LOOPBACK_OVER_HTTP)
def test_plain_http_on_loopback_is_still_allowed_for_the_local_stack(value):
    settings = CoreSettings.from_env(
        core_environ("https://keys.example.test", ALB_PUBLIC_KEY_ENDPOINT=value)
    )
    assert settings.alb_key_endpoint == value


def test_alb_in_another_region_stops_the_start():
    # Keys come from the region's endpoint: an ALB elsewhere could never be verified.
    with pytest.raises(SettingsError, match="ALB_ARN"):
        CoreSettings.from_env(core_environ("https://keys.example.test", AWS_REGION="eu-central-1"))


@pytest.mark.parametrize(
    ("region", "endpoint"),
    [
        ("us-gov-west-1", "https://s3-us-gov-west-1.amazonaws.com/aws-elb-public-keys-prod-us-gov-west-1"),
        ("us-gov-east-1", "https://s3-us-gov-east-1.amazonaws.com/aws-elb-public-keys-prod-us-gov-east-1"),
        ("eu-central-1", "https://public-keys.auth.elb.eu-central-1.amazonaws.com"),
    ],
)  # fmt: skip
def test_key_endpoint_default_follows_the_region_including_govcloud(region, endpoint):
    environ = core_environ(
        "unused",
        AWS_REGION=region,
        ALB_ARN=f"arn:aws-us-gov:elasticloadbalancing:{region}:111122223333:"
        "loadbalancer/app/agents/0123456789abcdef",
    )
    del environ["ALB_PUBLIC_KEY_ENDPOINT"]

    assert CoreSettings.from_env(environ).alb_key_endpoint == endpoint
