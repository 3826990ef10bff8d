"""One real box for the ops tests: `onebox run` with its own embedded PostgreSQL and data dir."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.ops.stack import Stack, running_stack


@pytest.fixture(scope="package")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """The whole stack as an operator starts it; programs idle where their tenant isn't enabled."""
    with running_stack(tmp_path_factory.mktemp("box")) as value:
        yield value
