"""A missing or malformed setting stops the binder at start, naming the variable."""

from __future__ import annotations

import pytest
from binder_app import create_app
from binder_app.settings import BinderSettings
from identity_core.settings import SettingsError

from tests.support.alb_tokens import core_environ

KEYS = "http://127.0.0.1:8081"

MISSING = ["AWS_REGION", "ALB_ARN", "OIDC_ISSUER", "OIDC_CLIENT_ID", "PENDING_FLOW_TABLE"]

MALFORMED = {
    "region": ("AWS_REGION", "Ireland"),
    "alb_arn_not_an_alb": ("ALB_ARN", "arn:aws:iam::111122223333:role/agents"),
    "issuer_over_http": ("OIDC_ISSUER", "http://login.example/v2.0"),
    "key_endpoint_with_query": ("ALB_PUBLIC_KEY_ENDPOINT", "https://keys.example/?x=1"),
    "table_name": ("PENDING_FLOW_TABLE", "no spaces allowed"),
    "log_level": ("LOG_LEVEL", "LOUD"),
    "post_binding_absolute_url": ("POST_BINDING_PATH", "https://evil.example/"),
    "post_binding_scheme_relative": ("POST_BINDING_PATH", "//evil.example/"),
    "post_binding_with_query": ("POST_BINDING_PATH", "/?next=https://evil.example"),
    "post_binding_backslash": ("POST_BINDING_PATH", "/\\evil.example"),
    "binding_path_relative": ("SESSION_BINDING_PATH", "oauth2/session-binding"),
    "binding_path_is_healthz": ("SESSION_BINDING_PATH", "/healthz"),
    "binding_path_is_root": ("SESSION_BINDING_PATH", "/"),
}


@pytest.mark.parametrize("name", MISSING)
def test_missing_setting_stops_the_binder_naming_it(name):
    environ = core_environ(KEYS)
    del environ[name]

    with pytest.raises(SettingsError, match=name):
        create_app(environ)


@pytest.mark.parametrize("name", MISSING)
def test_blank_setting_counts_as_missing(name):
    with pytest.raises(SettingsError, match=f"{name} is required"):
        create_app(core_environ(KEYS, **{name: "  "}))


@pytest.mark.parametrize(("name", "value"), MALFORMED.values(), ids=MALFORMED.keys())
def test_malformed_setting_stops_the_binder_naming_it(name, value):
    with pytest.raises(SettingsError, match=name):
        create_app(core_environ(KEYS, **{name: value}))


def test_defaults_for_the_binders_own_settings():
    settings = BinderSettings.from_env(core_environ(KEYS))

    assert settings.session_binding_path == "/oauth2/session-binding"
    assert settings.post_binding_path == "/"


def test_key_endpoint_defaults_to_the_regions_alb_key_service():
    environ = core_environ(KEYS)
    del environ["ALB_PUBLIC_KEY_ENDPOINT"]

    settings = BinderSettings.from_env(environ)

    assert settings.core.alb_key_endpoint == "https://public-keys.auth.elb.eu-west-1.amazonaws.com"
