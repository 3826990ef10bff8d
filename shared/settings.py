"""Process-wide settings, read from ``ONEBOX_*`` environment variables and env files."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar

from pydantic import AliasChoices, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

S = TypeVar("S", bound=BaseSettings)


def public_url_field(tenant: str, default: str | None) -> Any:
    """A tenant's public base URL setting: ``ONEBOX_<TENANT>_PUBLIC_URL``, else the box's ``ONEBOX_PUBLIC_URL``.

    One box on one domain sets the latter once; a tenant moved to a host of its own overrides it.
    """
    return Field(default=default, validation_alias=AliasChoices(f"onebox_{tenant}_public_url", "onebox_public_url"))


def env_config() -> SettingsConfigDict:
    """The settings source every onebox settings class shares: prefix and env files.

    The files are relative to the working directory; build instances with :meth:`Settings.load`
    so that ``<data_dir>/secrets.env`` is read wherever ``ONEBOX_DATA_DIR`` points.
    """
    return SettingsConfigDict(
        env_prefix="ONEBOX_",
        env_file=("var/secrets.env", ".env"),
        env_file_encoding="utf-8",
        extra="ignore",
    )


def _split_list(value: Any) -> Any:
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


class Settings(BaseSettings):
    """Settings of the gateway and of the shared machinery."""

    model_config = env_config()

    host: str = "127.0.0.1"
    port: int = 8000
    # None mounts every registered tenant; a comma list mounts just those (the unit of placement).
    tenants: Annotated[list[str] | None, NoDecode] = None
    # A misspelt format is a start-up error, not console lines where JSON was asked for.
    log_format: Literal["auto", "json", "console"] = "auto"
    log_level: str = "info"

    secret_key: SecretStr | None = None
    data_dir: Path = Path("var")
    database_url: str | None = None
    db_prefix: str = "onebox"
    pg_port: int = 5433
    pg_version: int = 16

    pool_size: int = 5
    # Overflow connections are closed on return and reopened under load (connect + re-plan each
    # time), so the default pool is fixed-size; raise it only for bursty, rarely-hot tenants.
    pool_overflow: int = 0
    pool_timeout: float = 3.0
    # Seconds a pooled connection may idle before it is closed (a quiet box keeps few backends).
    pool_idle_timeout: float = Field(default=300.0, ge=1.0)
    pool_sizes: dict[str, int] = Field(default_factory=dict)

    body_limit: int = 1_000_000
    rate_limit_per_minute: int = 1200
    auth_rate_limit_per_minute: int = 30
    login_attempts_per_account: int = 10
    # Allowed browser origins per tenant, e.g. '{"wishlist": ["https://wish.example"], "*": []}'.
    cors_origins: dict[str, list[str]] = Field(default_factory=dict)
    trust_proxy_headers: bool = False

    access_token_ttl: int = 15 * 60
    refresh_token_ttl: int = 30 * 24 * 3600
    # Seconds a spent refresh token is still honoured (tabs refreshing together); 0 = never.
    refresh_reuse_grace: int = Field(default=30, ge=0, le=3600)

    @field_validator("tenants", mode="before")
    @classmethod
    def _lists(cls, value: Any) -> Any:
        return _split_list(value)

    @field_validator("tenants")
    @classmethod
    def _known_tenants(cls, value: list[str] | None) -> list[str] | None:
        for name in value or []:
            if not name.isidentifier() or name != name.lower():
                raise ValueError(f"ONEBOX_TENANTS: {name!r} is not a valid tenant name")
        return value

    def require_secret(self) -> str:
        """The signing secret, or a start-up error naming the variable."""
        if self.secret_key is None or len(self.secret_key.get_secret_value()) < 32:
            raise RuntimeError(
                "ONEBOX_SECRET_KEY is missing or shorter than 32 characters; `make run` writes one to var/secrets.env"
            )
        return self.secret_key.get_secret_value()

    def cors_for(self, tenant: str) -> list[str]:
        """Origins allowed to call ``tenant`` from a browser."""
        return [*self.cors_origins.get("*", []), *self.cors_origins.get(tenant, [])]

    def pool_size_for(self, tenant: str, preferred: int | None = None) -> int:
        """Pool size of one tenant: ``ONEBOX_POOL_SIZES='{"feed": 8}'``, else the size the tenant
        prefers (``Tenant.pool_size``), else ``ONEBOX_POOL_SIZE``."""
        return self.pool_sizes.get(tenant, preferred or self.pool_size)

    @property
    def pg_dir(self) -> Path:
        """Where the embedded PostgreSQL keeps its data and socket."""
        return self.data_dir / "pg"

    @property
    def env_files(self) -> tuple[Path, str]:
        """The env files of this box: ``<data_dir>/secrets.env`` (where ``onebox setup`` writes) and ``.env``."""
        return (self.data_dir / "secrets.env", ".env")

    def load(self, cls: type[S]) -> S:
        """Another settings class (ops, a tenant's own) read from this box's env files.

        Its own ``env_config()`` names ``var/secrets.env`` under the working directory, which
        misses the secrets file when ``ONEBOX_DATA_DIR`` points elsewhere.
        """
        return cls(_env_file=self.env_files)


def load_settings() -> Settings:
    """Settings from the environment, with ``<data_dir>/secrets.env`` wherever the data dir is."""
    first = Settings()
    secrets_file = first.data_dir / "secrets.env"
    if secrets_file.resolve() == Path("var/secrets.env").resolve():
        return first
    return Settings(_env_file=first.env_files)
