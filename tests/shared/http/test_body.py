"""Validation details: what a client shows a person about each refused field."""

from __future__ import annotations

import pytest
from pydantic import BaseModel, ValidationError, field_validator

from shared.http.body import validation_details


class Deadline(BaseModel):
    when: str

    @field_validator("when")
    @classmethod
    def future(cls, value: str) -> str:
        raise ValueError("the deadline must be in the future")


def test_a_validators_message_reaches_the_client_without_pydantics_prefix() -> None:
    with pytest.raises(ValidationError) as caught:
        Deadline(when="yesterday")
    assert validation_details(caught.value) == [{"field": "when", "message": "the deadline must be in the future"}]
