"""One local stack for the end-to-end tests: every service a real process, real HTTP between."""

from __future__ import annotations

import pytest

from devstack.demo import Story
from devstack.stack import Stack, running_stack


@pytest.fixture(scope="session")
def stack() -> Stack:
    with running_stack() as running:
        yield running


@pytest.fixture(scope="module")
def story(stack: Stack) -> Story:
    """The demo's story; each module gets fresh browsers (fresh cookie jars)."""
    return Story(stack, say=lambda _line: None)
