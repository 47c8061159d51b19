from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.scripts.helpers import StubbedAws


@pytest.fixture
def aws() -> Iterator[StubbedAws]:
    with StubbedAws() as stubbed:
        yield stubbed
