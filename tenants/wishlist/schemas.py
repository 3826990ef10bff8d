"""Request bodies and query strings of the wishlist API.

Updates are partial (``PUT`` and ``PATCH`` alike): a field left out keeps its value, a field
given replaces it, ``null`` clears the fields that may be empty (``url``, ``price``,
``currency``, a tag's ``color``) and is refused for the others.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    EmailStr,
    Field,
    StrictInt,
    field_validator,
    model_validator,
)

from tenants.wishlist.currencies import CURRENCIES

Visibility = Literal["private", "shared", "public"]
BIGINT_MAX = 2**63 - 1


def _http_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise ValueError("must be an http:// or https:// address")
    if any(c.isspace() or ord(c) < 32 for c in value):
        raise ValueError("must not contain spaces or control characters")
    return value


def _currency(value: Any) -> Any:
    # People type "eur"; ISO 4217 spells it "EUR". Anything that isn't a string fails below.
    return value.upper() if isinstance(value, str) else value


def _known_currency(value: str) -> str:
    if value not in CURRENCIES:
        raise ValueError("must be an ISO 4217 currency code such as EUR or USD")
    return value


def _unique(ids: list[int]) -> list[int]:
    return list(dict.fromkeys(ids))


def _strong(value: str) -> str:
    # Length carries most of the strength; also refuse single-character-class passwords.
    checks = (str.islower, str.isupper, str.isdigit, lambda c: not c.isalnum())
    classes = sum(any(check(c) for c in value) for check in checks)
    if classes < 2:
        raise ValueError("use at least two of: lower case, upper case, digits, symbols")
    return value


def not_null(value: Any) -> Any:
    """Refuse an explicit ``null`` for a field that can be left out but not emptied."""
    if value is None:
        raise ValueError("may be left out but not null")
    return value


Id = Annotated[StrictInt, Field(ge=1, le=BIGINT_MAX)]
Title = Annotated[str, Field(min_length=1, max_length=200)]
LongText = Annotated[str, Field(max_length=5000)]
Url = Annotated[str, Field(min_length=1, max_length=2048), AfterValidator(_http_url)]
# Up to 10 digits of whole units, and the three places of a dinar; routes_items checks the currency.
Price = Annotated[Decimal, Field(ge=0, max_digits=13, decimal_places=3)]
Currency = Annotated[str, BeforeValidator(_currency), Field(pattern=r"^[A-Z]{3}$"), AfterValidator(_known_currency)]
Priority = Annotated[StrictInt, Field(ge=1, le=5)]
TagIds = Annotated[list[Id], Field(max_length=20), AfterValidator(_unique)]
TagName = Annotated[str, Field(min_length=1, max_length=40)]
Color = Annotated[str, Field(pattern=r"^#[0-9a-fA-F]{6}$")]
Email = Annotated[EmailStr, Field(max_length=254)]
Name = Annotated[str, Field(min_length=1, max_length=100)]
# A password being set (register, change) must be strong; one being checked need only be sent.
NewPassword = Annotated[str, Field(min_length=8, max_length=256), AfterValidator(_strong)]
GivenPassword = Annotated[str, Field(min_length=1, max_length=256)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    def changes(self) -> dict[str, Any]:
        """The fields the caller sent (for partial updates)."""
        return self.model_dump(exclude_unset=True)


class Register(Strict):
    email: Email
    password: NewPassword
    name: Name


class Login(Strict):
    email: str = Field(min_length=1, max_length=254)
    password: GivenPassword


class AccountUpdate(Strict):
    name: Name | None = None
    email: Email | None = None
    # Needed for a new email only: it is what signs in, so a borrowed token must not move it.
    current_password: GivenPassword | None = None

    @field_validator("name", "email", "current_password", mode="before")
    @classmethod
    def _not_null(cls, value: Any) -> Any:
        return not_null(value)


class PasswordChange(Strict):
    current_password: GivenPassword
    new_password: NewPassword


class ResetRequest(Strict):
    email: Email


class ResetConfirm(Strict):
    token: str = Field(min_length=1, max_length=200)
    new_password: NewPassword


class AccountDelete(Strict):
    password: GivenPassword


class WishlistCreate(Strict):
    title: Title
    description: LongText = ""
    visibility: Visibility = "private"


class WishlistUpdate(Strict):
    title: Title | None = None
    description: LongText | None = None
    visibility: Visibility | None = None

    @field_validator("title", "description", "visibility", mode="before")
    @classmethod
    def _not_null(cls, value: Any) -> Any:
        return not_null(value)


class ItemFields(Strict):
    """What create and update share; every field optional here."""

    url: Url | None = None
    price: Price | None = None
    currency: Currency | None = None
    notes: LongText | None = None
    priority: Priority | None = None
    tag_ids: TagIds | None = None

    @field_validator("notes", "priority", "tag_ids", mode="before")
    @classmethod
    def _not_null(cls, value: Any) -> Any:
        return not_null(value)


class ItemCreate(ItemFields):
    wishlist_id: Id
    name: Title

    @model_validator(mode="after")
    def _priced(self) -> ItemCreate:
        if (self.price is None) != (self.currency is None):
            raise ValueError("price and currency go together: give both or neither")
        return self


class ItemUpdate(ItemFields):
    wishlist_id: Id | None = None
    name: Title | None = None

    @field_validator("wishlist_id", "name", mode="before")
    @classmethod
    def _not_null_too(cls, value: Any) -> Any:
        return not_null(value)


class TagCreate(Strict):
    name: TagName
    color: Color | None = None


class TagUpdate(Strict):
    name: TagName | None = None
    color: Color | None = None

    @field_validator("name", mode="before")
    @classmethod
    def _not_null(cls, value: Any) -> Any:
        return not_null(value)


class PageQuery(BaseModel):
    """``?limit=&cursor=``; other query parameters (cache busters) are ignored."""

    model_config = ConfigDict(extra="ignore")

    limit: int = Field(default=20, ge=1, le=100)
    cursor: str | None = Field(default=None, max_length=200)
