"""Service settings, read from ``PGX_CDS_*`` environment variables with safe embedded defaults."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

__all__ = ["Settings", "SettingsError", "settings_from_environment"]
_PREFIX = "PGX_CDS_"


class Settings(BaseSettings):
    """Everything an operator can set; every field maps to ``PGX_CDS_<NAME>`` (docs/configuration.md)."""

    model_config = SettingsConfigDict(env_prefix=_PREFIX, extra="ignore", frozen=True)

    # SQLAlchemy URL of the feedback store; PostgreSQL in production, e.g. postgresql+psycopg://...
    database_url: str = "sqlite:///var/pgx-cds-feedback.sqlite3"
    # How EHR requests are authenticated: "jwt" verifies the CDS client's signed JWT (CDS Hooks
    # "Trusting CDS Clients"); "off" trusts every caller and logs a warning at start-up.
    auth: Literal["jwt", "off"] = "jwt"
    # YAML or JSON file mapping each trusted issuer (iss) to its JWKS: a URL, an inline JWKS, and
    # the jku URLs it may name. Required when auth is "jwt" (docs/authentication.md).
    trusted_issuers: Path | None = None
    # The URL the EHR calls this service at (https://cds.example.org), without /cds-services.
    # A JWT's aud must equal the endpoint under it; unset, the request's own URL is used, which is
    # wrong behind a proxy that changes the host or scheme.
    public_base_url: str | None = None
    # Signature algorithms accepted (comma separated); none and HMAC are refused whatever this says.
    jwt_algorithms: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["RS384", "ES384", "RS256", "ES256", "RS512", "ES512"]
    )
    # Seconds of clock difference tolerated on exp, iat and nbf.
    jwt_leeway: float = Field(default=30.0, ge=0, le=300)
    # Longest token lifetime (exp - iat) accepted, in seconds; seen jti are kept this long.
    jwt_max_lifetime: float = Field(default=3600.0, gt=0, le=86_400)
    # Whether discovery (GET /cds-services) also requires a JWT; hooks and feedback always do.
    auth_discovery: bool = False
    # A folder with genes/, guidelines/ and drugs.yaml to use instead of the bundled knowledge.
    knowledge_dir: Path | None = None
    # Seconds between checks of knowledge_dir for changed files (hot reload); 0: SIGHUP only.
    knowledge_reload_interval: float = Field(default=5.0, ge=0)
    # Browser origins allowed by CORS (comma separated); empty means no CORS headers at all.
    cors_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)
    # FHIR callbacks: connect and read timeouts in seconds, and how many result pages to follow.
    fhir_connect_timeout: float = Field(default=0.5, gt=0)
    fhir_read_timeout: float = Field(default=1.5, gt=0)
    fhir_max_pages: int = Field(default=5, ge=1)
    # The whole FHIR fetch (every page and retry) must end within this many seconds.
    fhir_deadline: float = Field(default=3.0, gt=0)
    # The time every FHIR and RxNav callback of one hook call must end within, in seconds: the EHR
    # waits for the answer (the spec suggests ~500 ms in all). Bounds each search below fhir_deadline.
    hook_budget: float = Field(default=0.3, gt=0, le=30)
    # What a hook answers when the genomic results could not be read from a FHIR server that was
    # given (timeout, error, circuit open): "info-card" (one card saying the check could not run),
    # "no-card", or "412" (Precondition Failed). No fhirServer at all is always 412.
    fhir_failure_outcome: Literal["info-card", "no-card", "412"] = "info-card"
    # Circuit breaker per FHIR server: after this many failures in a row, calls to it fail at once
    # for fhir_breaker_reset seconds, then one trial call decides.
    fhir_breaker_failures: int = Field(default=5, ge=1)
    fhir_breaker_reset: float = Field(default=30.0, gt=0)
    # Largest FHIR response body read, in bytes; a larger one is a failed callback.
    fhir_max_response_bytes: int = Field(default=20 * 1024 * 1024, ge=1024)
    # Retries of a search page answered 429 or 503 (with backoff, within the deadline).
    fhir_retries: int = Field(default=1, ge=0, le=5)
    # RxNav REST base URL for RxNorm product code -> ingredient lookups; "off" or empty: none.
    rxnav_url: str | None = "https://rxnav.nlm.nih.gov/REST"
    # Seconds to connect to RxNav and to wait for its answer: the EHR is waiting on this call.
    rxnav_timeout: float = Field(default=1.0, gt=0)
    # RxNav answers kept in memory (per worker), and for how many seconds.
    rxnav_cache_size: int = Field(default=10_000, ge=1)
    rxnav_cache_ttl: float = Field(default=86_400.0, gt=0)
    # Patient id and genotypes in logs are PHI: off unless an operator turns them on explicitly.
    log_phi: bool = False
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    # Largest hook or feedback body accepted, in bytes.
    max_request_bytes: int = Field(default=5 * 1024 * 1024, ge=1024)
    # Site settings (pre-test alerts, orderable test codes): a YAML file; None: the bundled
    # defaults (cds_hooks/site_defaults.yaml).
    site_config: Path | None = None
    # Where shown and overridden cards are remembered: empty for this process only, or a Redis
    # URL (redis://host:6379/0) so that every replica agrees.
    alert_memory_url: str | None = None
    # Entries the in-process memory holds at most per worker process (~0.35 KB each; a card shown
    # takes one). Past it the oldest go first: an overridden card may then show again sooner.
    alert_memory_max_entries: int = Field(default=20_000, ge=100)
    # Key of the HMAC that turns patient ids into memory keys; set one per deployment (shared by
    # its replicas) so the Redis contents cannot be matched back to patients.
    alert_memory_secret: SecretStr = SecretStr("pgx-cds-hooks-default-key")
    # Seconds a card shown at order-select is held back at order-sign for the same draft
    # (unchanged card only); 0 shows it again.
    repeat_after_select_window: float = Field(default=3600.0, ge=0)
    # Prometheus metrics at GET /metrics (no patient data, no tokens in any label).
    metrics: bool = True
    # Log every card returned (topic, drug, indicator, time; no patient data) for the console's
    # alert analytics (docs/feedback.md). Unset: on when the console is; it costs throughput
    # (docs/benchmarks.md), so a site whose console runs elsewhere on the same database sets it.
    card_log: bool | None = None
    # Days of card log kept: older rows are deleted hourly by the writer. 0 keeps every row. The
    # default outlasts the console's longest window (366 days).
    card_log_retention_days: int = Field(default=400, ge=0)
    # The pharmacist and health-IT web console at /console (docs/console.md): off unless "on".
    console: bool = False
    # Who may open it: "basic" (HTTP Basic against console_users), "header" (a user name set by
    # an authenticating reverse proxy in console_user_header), or "off" (development only).
    console_auth: Literal["basic", "header", "off"] = "basic"
    # YAML file of console users: name -> PBKDF2-SHA256 hash ("pgx-cds console-user NAME").
    console_users: Path | None = None
    console_user_header: str = "X-Forwarded-User"
    # Seconds an overridden card stays quiet for the same patient and drug (unchanged card only).
    quiet_after_override_window: float = Field(default=86_400.0, ge=0)

    @property
    def card_log_enabled(self) -> bool:
        """Whether cards shown are logged: as set, else when the console is on."""
        return self.console if self.card_log is None else self.card_log

    @property
    def card_log_retention(self) -> timedelta | None:
        """How long the card log keeps a row; None: for ever."""
        days = self.card_log_retention_days
        return timedelta(days=days) if days else None

    @field_validator("rxnav_url", mode="before")
    @classmethod
    def _rxnav_off(cls, value: object) -> object:
        if value is None or (isinstance(value, str) and value.strip().lower() in {"", "off"}):
            return None
        if isinstance(value, str) and not value.strip().startswith(("https://", "http://")):
            raise ValueError("give an http(s) URL such as https://rxnav.nlm.nih.gov/REST, or off")
        return value.strip() if isinstance(value, str) else value

    @field_validator("jwt_algorithms", mode="before")
    @classmethod
    def _split_algorithms(cls, value: object) -> object:
        if isinstance(value, str):
            value = [name.strip() for name in value.split(",") if name.strip()]
        if isinstance(value, list):
            refused = [
                n for n in value if str(n).lower() == "none" or str(n).upper().startswith("HS")
            ]
            if refused:
                raise ValueError(
                    f"{', '.join(map(str, refused))}: CDS Hooks forbids none and symmetric (HMAC) "
                    "algorithms; list asymmetric ones such as RS384,ES384"
                )
            if not value:
                raise ValueError("list at least one algorithm, such as RS384,ES384")
        return value

    @field_validator("public_base_url", mode="before")
    @classmethod
    def _base_url(cls, value: object) -> object:
        if isinstance(value, str):
            value = value.strip().rstrip("/") or None
            if value is not None and not value.startswith(("https://", "http://")):
                raise ValueError(
                    "give the http(s) URL the EHR calls, such as https://cds.example.org"
                )
            if value is not None and value.endswith("/cds-services"):
                raise ValueError("give the base URL without /cds-services")
        return value

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: object) -> object:
        if isinstance(value, str):
            return [origin.strip() for origin in value.split(",") if origin.strip()]
        return value


class SettingsError(ValueError):
    """A ``PGX_CDS_*`` variable the service cannot use: one line per variable, values unshown."""


def settings_from_environment() -> Settings:
    """The settings of ``PGX_CDS_*`` variables; raises :class:`SettingsError` naming each bad one.

    The message names the variables, never their values: a database URL or a secret may be among
    them, and start-up errors go to the logs.
    """
    try:
        return Settings()
    except ValidationError as exc:
        lines = []
        for error in exc.errors(include_input=False, include_url=False):
            field = str(error["loc"][0]) if error["loc"] else ""
            name = f"{_PREFIX}{field.upper()}" if field else "PGX_CDS_* settings"
            lines.append(f"{name}: {error['msg']}. Fix or unset it (docs/configuration.md).")
        raise SettingsError("\n".join(lines)) from None
