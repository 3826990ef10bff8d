"""Request bodies of the wishlist API."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, EmailStr, Field, field_validator

Visibility = Literal["private", "shared", "public"]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class Register(Strict):
    email: EmailStr = Field(max_length=254)
    password: str = Field(min_length=8, max_length=256)
    name: str = Field(min_length=1, max_length=100)

    @field_validator("password")
    @classmethod
    def _strong(cls, value: str) -> str:
        # Length carries most of the strength; also refuse single-character-class passwords.
        checks = (str.islower, str.isupper, str.isdigit, lambda c: not c.isalnum())
        classes = sum(any(check(c) for c in value) for check in checks)
        if classes < 2:
            raise ValueError("use at least two of: lower case, upper case, digits, symbols")
        return value


class Login(Strict):
    email: str = Field(min_length=1, max_length=254)
    password: str = Field(min_length=1, max_length=256)


class RefreshBody(Strict):
    refresh_token: str = Field(min_length=1, max_length=200)
