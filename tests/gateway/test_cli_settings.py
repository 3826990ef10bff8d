"""A bad setting stops `onebox` with the variable's name and what is wrong, not a traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ONEBOX = str(Path(sys.executable).parent / "onebox")


@pytest.mark.parametrize(
    ("variable", "value", "said"),
    [
        ("ONEBOX_PORT", "abc", "ONEBOX_PORT: Input should be a valid integer"),
        ("ONEBOX_POOL_SIZES", "feed:8", 'error parsing value for field "pool_sizes"'),
        ("ONEBOX_LOG_FORMAT", "JSON", "ONEBOX_LOG_FORMAT: Input should be 'auto', 'json' or 'console'"),
    ],
)
def test_a_bad_setting_is_named(tmp_path: Path, variable: str, value: str, said: str) -> None:
    env = {**os.environ, "ONEBOX_DATA_DIR": str(tmp_path), variable: value}
    result = subprocess.run([ONEBOX, "tenants"], env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert said in result.stderr and "Traceback" not in result.stderr, result.stderr
