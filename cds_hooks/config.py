"""Service settings, read from ``PGX_CDS_*`` environment variables with safe embedded defaults."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

__all__ = ["Settings"]


class Settings(BaseSettings):
    """Everything an operator can set; every field maps to ``PGX_CDS_<NAME>`` (docs/configuration.md)."""

    model_config = SettingsConfigDict(env_prefix="PGX_CDS_", extra="ignore", frozen=True)

    # SQLAlchemy URL of the feedback store; PostgreSQL in production, e.g. postgresql+psycopg://...
    database_url: str = "sqlite:///var/pgx-cds-feedback.sqlite3"
    # How EHR requests are authenticated. Only "off" exists until JWT verification lands (issue #7);
    # start-up logs a warning so nobody mistakes this for a protected deployment.
    auth: Literal["off"] = "off"
    # A folder with genes/, guidelines/ and drugs.yaml to use instead of the bundled knowledge.
    knowledge_dir: Path | None = None
    # Browser origins allowed by CORS (comma separated); empty means no CORS headers at all.
    cors_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)
    # FHIR callbacks: connect and read timeouts in seconds, and how many result pages to follow.
    fhir_connect_timeout: float = Field(default=0.5, gt=0)
    fhir_read_timeout: float = Field(default=1.5, gt=0)
    fhir_max_pages: int = Field(default=5, ge=1)
    # Patient id and genotypes in logs are PHI: off unless an operator turns them on explicitly.
    log_phi: bool = False
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    # Largest hook or feedback body accepted, in bytes.
    max_request_bytes: int = Field(default=5 * 1024 * 1024, ge=1024)

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: object) -> object:
        if isinstance(value, str):
            return [origin.strip() for origin in value.split(",") if origin.strip()]
        return value
