"""Every setting, from the environment (prefix PEP_) or a .env file. README lists them."""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from bot.download_hosts import DEFAULT_DOWNLOAD_HOSTS, DownloadHosts
from store.database import DEFAULT_DATABASE_URL

BOT_FRAMEWORK_OPENID = "https://login.botframework.com/v1/.well-known/openidconfiguration"
BOT_FRAMEWORK_ISSUER = "https://api.botframework.com"
BOT_FRAMEWORK_SCOPE = "https://api.botframework.com/.default"


def _csv(value: object) -> object:
    if isinstance(value, str):
        return [v.strip() for v in value.split(",") if v.strip()]
    return value


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PEP_", env_file=".env", extra="ignore")

    # where it runs
    database_url: str = DEFAULT_DATABASE_URL
    host: str = "127.0.0.1"
    port: int = 3978
    log_level: str = "INFO"

    # the bot's identity (Azure Bot / Entra app registration)
    app_id: str = ""
    app_password: str = Field(default="", repr=False)
    app_tenant_id: str = ""
    app_type: Literal["SingleTenant", "MultiTenant", "UserAssignedMSI"] = "SingleTenant"

    # inbound authentication
    auth_disabled: bool = False
    openid_metadata_url: str = BOT_FRAMEWORK_OPENID
    token_issuer: str = BOT_FRAMEWORK_ISSUER
    allowed_tenants: Annotated[list[str], NoDecode] = Field(default_factory=list)

    # outbound calls to the Bot Connector
    connector_scope: str = BOT_FRAMEWORK_SCOPE

    # the authority's practice
    authority_name: str = "Northvale County Council"
    term_dates_file: Path | None = None
    attendance_threshold: Decimal = Decimal("95")
    pupil_premium_cap: Decimal = Decimal("550.00")
    pupil_premium_bands: Annotated[list[Decimal], NoDecode] = Field(default_factory=list)
    return_days: int = 5
    return_in_working_days: bool = False
    transition_window_days: int = 56
    next_pep_reason_min_words: int = Field(default=4, ge=1)  # "Reason no date could be set"

    # after the meeting: QA and PP+ (docs/qa-and-pp-workflow.md)
    qa_grades: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["gold", "green", "amber", "red"]
    )
    qa_amber_blocks_approval: bool = False
    qa_voice_min_words: int = 3
    pupil_premium_needs_finalised_pep: bool = True
    reports_dir: Path = Path("out/reports")

    # Microsoft 365 (docs/m365.md): Graph when a tenant is set, else the outbox folder
    graph_tenant_id: str = ""
    graph_client_id: str = ""
    graph_client_secret: str = Field(default="", repr=False)
    graph_certificate_path: str = ""
    graph_managed_identity: bool = False
    graph_base_url: str = "https://graph.microsoft.com/v1.0"
    teams_app_id: str = ""  # the app's Teams catalog id, for meeting chats
    outbox_dir: Path = Path("outbox")  # the offline outbox folder (.ics, .eml)
    mail_sender: str = ""  # the Business Support shared mailbox mail is sent from
    business_support_email: str = ""  # where returned PEPs go (default: mail_sender)
    failure_report_email: str = ""  # told when a message is refused (default: BS)
    virtual_school_channel_id: str = ""  # the Teams channel (19:…@thread.tacv2) for alerts
    meeting_subject: str = "{initials} PEP"
    meeting_agenda: Annotated[list[str], NoDecode] = Field(default_factory=list)  # "|"-separated
    meeting_day_start_hour: int = 8
    meeting_day_end_hour: int = 18
    transition_alert_school_days: int = 10
    term_pack_school_days: int = 10
    return_reminder_days: Annotated[list[int], NoDecode] = Field(default_factory=lambda: [3, 5])
    schedule_wait_seconds: float = 3.0  # the scheduling card waits this long for Graph
    jobs_enabled: bool = True  # `serve` runs the job runner and the dispatcher
    outbox_batch_size: int = 20
    outbox_concurrency: int = 4
    outbox_max_attempts: int = 10
    outbox_lease_seconds: float = 120.0  # a crashed sender's messages wait this long

    # files
    card_update_coalesce_seconds: float = 0.25  # burst of saves -> one card update
    forms_dir: Path = Path("out/forms")
    max_upload_bytes: int = 10 * 1024 * 1024
    inbox_dir: str = ""  # folder of e-mailed PEP forms as .eml (bot/inbox.py); "" = off
    # where uploaded files may be downloaded from (bot/download_hosts.py)
    download_hosts: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: list(DEFAULT_DOWNLOAD_HOSTS)
    )

    # the Teams app package
    public_domain: str = "pep-companion.example.org"
    app_version: str = "1.0.0"
    developer_name: str = "Northvale County Council"
    website_url: str = "https://pep-companion.example.org"
    privacy_url: str = "https://pep-companion.example.org/privacy"
    terms_url: str = "https://pep-companion.example.org/terms"

    @field_validator(
        "allowed_tenants",
        "pupil_premium_bands",
        "qa_grades",
        "return_reminder_days",
        "download_hosts",
        mode="before",
    )
    @classmethod
    def _split(cls, value: object) -> object:
        return _csv(value)

    @field_validator("download_hosts")
    @classmethod
    def _check_hosts(cls, value: list[str]) -> list[str]:
        DownloadHosts(value)  # a ValueError naming the entry that is not a host
        return value

    @field_validator("meeting_agenda", mode="before")
    @classmethod
    def _split_agenda(cls, value: object) -> object:
        if isinstance(value, str):
            return [v.strip() for v in value.split("|") if v.strip()]
        return value

    @property
    def tenants(self) -> frozenset[str]:
        """Tenants whose activities are accepted; empty = any (warned at start)."""
        tenants = set(self.allowed_tenants)
        if self.app_tenant_id:
            tenants.add(self.app_tenant_id)
        return frozenset(tenants)

    @field_validator("app_id")
    @classmethod
    def _check_app_id(cls, value: str) -> str:
        if value and not _GUID.match(value.strip()):
            raise ValueError(
                "expected the bot's Entra app id, a GUID like 00000000-0000-0000-0000-000000000000"
            )
        return value.strip()


_GUID = re.compile(r"^[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")
_SECRET_FIELDS = {"app_password", "graph_client_secret"}


def describe_errors(error: ValidationError) -> list[str]:
    """Each malformed setting in one line: its PEP_ name, what is expected and what it was
    (a secret's value is never shown)."""
    lines = []
    for problem in error.errors():
        name = str(problem["loc"][0]) if problem.get("loc") else "?"
        message = str(problem.get("msg") or "not valid").removeprefix("Value error, ")
        given = problem.get("input")
        shown = (
            ""
            if name in _SECRET_FIELDS or isinstance(given, dict | list) or given is None
            else f", got {str(given)[:60]!r}"
        )
        lines.append(f"PEP_{name.upper()}: {message}{shown}")
    return lines
