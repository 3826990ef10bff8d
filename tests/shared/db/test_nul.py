"""U+0000: found in decoded JSON, stripped from it, and recognised when PostgreSQL refuses it."""

from __future__ import annotations

import asyncpg
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import create_async_engine

from shared.db.nul import has_nul, is_nul_refusal, strip_nul


def test_found_and_stripped_in_strings_keys_and_nesting() -> None:
    value = {"text": "a\x00b", "k\x00": [1, None, {"deep": ["x\x00"]}], "n": 2.5, "ok": True}
    assert has_nul(value) and has_nul("\x00") and has_nul({"k\x00": 1})
    assert not has_nul({"text": "fine", "list": [1, "two", None]}) and not has_nul('"\\u0000" typed out')
    assert strip_nul(value) == {"text": "ab", "k": [1, None, {"deep": ["x"]}], "n": 2.5, "ok": True}
    assert strip_nul(["a\x00", ["b", {"c\x00d": "e\x00"}], 3]) == ["a", ["b", {"cd": "e"}], 3]


def test_json_nested_a_thousand_deep_is_walked_without_recursion() -> None:
    deep: object = "x\x00"
    for level in range(1020):
        deep = {"a": deep} if level % 2 else [deep]
    assert has_nul(deep)
    stripped = strip_nul(deep)
    for level in reversed(range(1020)):
        stripped = stripped["a"] if level % 2 else stripped[0]  # type: ignore[index]
    assert stripped == "x"


async def test_the_refusals_of_asyncpg_and_sqlalchemy_are_recognised(admin_url: str) -> None:
    conn = await asyncpg.connect(admin_url)
    try:
        with pytest.raises(asyncpg.PostgresError) as as_text:
            await conn.fetchval("SELECT $1::text", "a\x00b")
        with pytest.raises(asyncpg.PostgresError) as as_jsonb:
            await conn.fetchval("SELECT $1::jsonb", '{"a": "\\u0000"}')
        with pytest.raises(asyncpg.PostgresError) as other:
            await conn.fetchval("SELECT 1 / 0")
    finally:
        await conn.close()
    assert is_nul_refusal(as_text.value) and is_nul_refusal(as_jsonb.value)
    assert not is_nul_refusal(other.value) and not is_nul_refusal(ValueError("\x00"))
    engine = create_async_engine(admin_url.replace("postgresql://", "postgresql+asyncpg://", 1))
    try:
        async with engine.connect() as sa_conn:
            with pytest.raises(DBAPIError) as wrapped:
                await sa_conn.execute(text("SELECT CAST(:v AS text)"), {"v": "a\x00b"})
    finally:
        await engine.dispose()
    assert is_nul_refusal(wrapped.value)
