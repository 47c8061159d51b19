"""Review findings on the binder's settings."""

from __future__ import annotations

import pytest
from binder_app import create_app
from identity_core.settings import SettingsError

from tests.support.alb_tokens import core_environ


def test_post_binding_path_equal_to_the_binding_path_stops_the_start():
    # Every successful binding would land back on the binder with ?connected=... and no
    # session_id: a "This link is not valid" page right after the user's consent worked.
    environ = core_environ(
        "http://127.0.0.1:8081",
        SESSION_BINDING_PATH="/oauth2/session-binding",
        POST_BINDING_PATH="/oauth2/session-binding",
    )
    with pytest.raises(SettingsError, match="POST_BINDING_PATH"):
        create_app(environ)
