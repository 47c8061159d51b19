"""The binder's settings: the shared core plus the two paths only the binder uses."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from identity_core.settings import CoreSettings, Env, SettingsError, check_path


@dataclass(frozen=True)
class BinderSettings:
    core: CoreSettings
    # Where AgentCore sends the browser back with ?session_id=...; the ALB routes it here.
    session_binding_path: str
    # Where the browser goes after a binding. A configured same-origin path, never a URL taken
    # from the request: an open redirect on this endpoint would hand attackers a trusted link.
    post_binding_path: str

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> BinderSettings:
        environ = os.environ if environ is None else environ
        env = Env(environ)
        core = CoreSettings.from_env(environ)
        binding_path = env.parsed(
            "SESSION_BINDING_PATH", check_path, default="/oauth2/session-binding"
        )
        if binding_path in ("/", "/healthz"):
            raise SettingsError(f"SESSION_BINDING_PATH must not be / or /healthz: {binding_path!r}")
        post_binding_path = env.parsed("POST_BINDING_PATH", check_path, default="/")
        if post_binding_path == binding_path:
            # Each successful binding would come back here without a session_id and end on a
            # "link is not valid" page, right after the consent worked.
            raise SettingsError(
                f"POST_BINDING_PATH must be the agent's page, not SESSION_BINDING_PATH: "
                f"{post_binding_path!r}"
            )
        return cls(
            core=core,
            session_binding_path=binding_path,
            post_binding_path=post_binding_path,
        )
