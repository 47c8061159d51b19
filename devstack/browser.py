"""A headless "browser" for the demo and the end-to-end tests: a cookie jar that follows
redirects across the stack's hosts and submits the HTML forms the identity provider shows.

One ``Browser`` per person, so each has its own cookies, exactly as two real browsers would.
The real-browser test drives Debian's chromium through Playwright instead.
"""

from __future__ import annotations

from html.parser import HTMLParser
from typing import Any
from urllib.parse import urljoin

import requests

TIMEOUT_SECONDS = 10


class _Forms(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.forms: list[dict[str, Any]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.forms.append(
                {
                    "action": attributes.get("action", ""),
                    "method": attributes.get("method", "get").lower(),
                    "fields": {},
                }
            )
        elif tag == "input" and self.forms and attributes.get("name"):
            self.forms[-1]["fields"][attributes["name"]] = attributes.get("value", "")


class Browser:
    def __init__(self, name: str):
        self.name = name
        self.http = requests.Session()
        self.http.headers["User-Agent"] = f"devstack-browser ({name})"

    def get(self, url: str, **kwargs: Any) -> requests.Response:
        return self.http.get(url, timeout=TIMEOUT_SECONDS, **kwargs)

    def post_json(self, url: str, body: dict[str, Any]) -> requests.Response:
        return self.http.post(url, json=body, timeout=TIMEOUT_SECONDS)

    def _form(self, page: requests.Response, action_suffix: str) -> dict[str, Any] | None:
        parser = _Forms()
        parser.feed(page.text)
        return next((f for f in parser.forms if f["action"].endswith(action_suffix)), None)

    def submit(
        self, page: requests.Response, action_suffix: str, **fields: str
    ) -> requests.Response:
        """Submit the form on ``page`` whose action ends with ``action_suffix``."""
        form = self._form(page, action_suffix)
        if form is None:
            raise AssertionError(f"{self.name}: no form ending in {action_suffix!r} on {page.url}")
        target = urljoin(page.url, form["action"])
        return self.http.post(target, data={**form["fields"], **fields}, timeout=TIMEOUT_SECONDS)

    def sign_in_if_asked(
        self, page: requests.Response, username: str, password: str
    ) -> requests.Response:
        """At an identity provider's login page, sign in; on any other page, do nothing."""
        if self._form(page, "/login"):
            page = self.submit(page, "/login", username=username, password=password)
        return page

    def consent_if_asked(self, page: requests.Response) -> requests.Response:
        """At an authorization server's consent page, consent; elsewhere, do nothing."""
        if self._form(page, "/consent"):
            page = self.submit(page, "/consent")
        return page
