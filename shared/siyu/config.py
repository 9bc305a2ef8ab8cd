"""Runtime settings from SIYU_* environment variables; secrets come only from the environment."""

from __future__ import annotations

from functools import cache
from typing import Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from siyu.domain.compliance import DEFAULT_BANNED
from siyu.domain.followups import DEFAULT_CADENCE, Cadence
from siyu.domain.layering import LayeringConfig
from siyu.domain.partner_auth import parse_keys
from siyu.domain.referrals import DEFAULT_TIERS, Tier, check_tiers


class MissingSecret(RuntimeError):
    """A secret the function needs is not in its environment."""


class Settings(BaseSettings):
    """Every knob siyu reads. Defaults are the local stack's, never production secrets."""

    model_config = SettingsConfigDict(env_prefix="SIYU_", extra="ignore")

    project: str = Field("siyu-local", description="Google Cloud project id")
    # WeCom app that receives callbacks and calls the customer-contact API.
    wecom_corp_id: str = "ww_siyu_local_corp"
    # Secrets have no defaults: production fails closed (see `require`); the local stack
    # and the tests put their own values in the environment.
    wecom_secret: SecretStr | None = None
    wecom_token: SecretStr | None = None
    wecom_aes_key: SecretStr | None = None
    # The self-built app (自建应用) that sends staff their follow-up reminders (message/send).
    wecom_agent_id: int = Field(1000002, gt=0)
    wecom_agent_secret: SecretStr | None = None
    wecom_api_base: str = "https://qyapi.weixin.qq.com/cgi-bin"
    wecom_replay_window_s: int = Field(300, ge=0, description="0 disables the timestamp window")
    wecom_timeout_s: float = Field(3.0, gt=0)
    wecom_max_attempts: int = Field(4, ge=1)
    welcome_budget_s: float = Field(1.5, ge=0, description="fast welcome path inside the callback")
    welcome_window_s: int = Field(20, gt=0, description="WeCom's send_welcome_msg window")
    default_welcome_text: str = "您好，我是您的专属客户经理，很高兴为您服务。"
    max_callback_bytes: int = 1024 * 1024
    dedupe_ttl_days: int = Field(7, gt=0)
    ops_token: SecretStr | None = None
    # "google": ops_api verifies the caller's Google ID token itself (API Gateway forwards it
    # untouched, as it does a browser's session cookie); "token": the local shared token.
    ops_auth: Literal["token", "google"] = "token"
    ops_audience: str = Field("", description="the audience Google ID tokens must name")
    ops_certs_url: str = "https://www.googleapis.com/oauth2/v1/certs"
    # Ops identity: WeCom web login (98152/98176), sessions, grants and the audit log.
    first_admin: str = Field("", max_length=64, description="admin until grants say otherwise")
    token_identity: str = Field(
        "ops-token", description="the local bearer token's service identity (token mode)"
    )
    session_secret: SecretStr | None = None
    # A customer whose every relation ended this long ago is erased (PIPL art. 19).
    retention_days: int = Field(365, gt=0)
    retention_page_size: int = Field(100, gt=0, le=500)
    retention_budget_s: float = Field(300.0, gt=0)
    # The HMAC key siyu keeps device and phone hashes under (Secret Manager).
    identifier_key: SecretStr | None = None
    session_idle_min: int = Field(30, gt=0, le=24 * 60)
    session_max_h: int = Field(8, gt=0, le=24)
    wecom_login_base: str = "https://login.work.weixin.qq.com"
    ops_login_redirect: str = Field(
        "", description="this deployment's /ops/login/callback URL (a WeCom trusted domain)"
    )
    audit_database: str = Field("siyu-audit", description="the append-only audit log's database")
    audit_retention_days: int = Field(5 * 365, gt=0)
    idempotency_ttl_h: int = Field(24, gt=0)
    # Machine callers (/card-alert, /events): HMAC keys as `id:secret,id:secret`.
    partner_keys: SecretStr | None = None
    partner_window_s: int = Field(300, gt=0, description="accepted clock skew of a signature")
    max_request_bytes: int = Field(64 * 1024, gt=0)
    # An ops transfer may name 10,000 customers.
    max_ops_request_bytes: int = Field(1024 * 1024, gt=0)
    # Card-alert invites.
    group_join_limit: int = Field(200, gt=0, le=500, description="WeCom QR joins stop at 200")
    group_max_distance_m: float = Field(5000, gt=0)
    invite_cooldown_days: float = Field(7, ge=0)
    group_index_refresh_s: float = Field(5, ge=0, description="how stale the index may get")
    topic_wecom_events: str = "wecom-events"
    topic_biz_events: str = "biz-events"
    topic_reward_granted: str = "reward-granted"
    # Referral rewards: tiers as data (JSON in SIYU_REFERRAL_TIERS) and the fraud limits.
    referral_tiers: list[Tier] = Field(default_factory=lambda: list(DEFAULT_TIERS))
    referral_daily_limit: int = Field(20, gt=0, description="credited invites per referrer/day")
    referral_referees_per_hash: int = Field(3, gt=0, description="referees per device or phone")
    referral_stale_s: float = Field(30, gt=0, description="when a half-done credit is taken over")
    # Tags, layering and follow-ups.
    topic_tag_sync: str = "tag-sync"
    topic_followup_ticks: str = "followup-ticks"
    topic_inbox_sweep_ticks: str = "inbox-sweep-ticks"
    inbox_sweep_min_age_s: float = Field(
        30, ge=0, description="a stored callback younger than this is still its callback's"
    )
    tag_rules_refresh_s: float = Field(5, ge=0, description="how stale the rule cache may get")
    tag_catalog_refresh_s: float = Field(
        300, ge=0, description="how long an instance trusts its corp tag ids"
    )
    mark_tag_per_min: int = Field(2_000, gt=0, description="mark_tag calls per instance/minute")
    layering: LayeringConfig = Field(default_factory=LayeringConfig)
    # Time-based segments: the daily re-layering job, and tag-rule backfills.
    topic_relayer_ticks: str = "relayer-ticks"
    relayer_page_size: int = Field(500, gt=0, le=1000)
    relayer_budget_s: float = Field(
        45, gt=0, description="then a new tick carries on (inside the 60-s ack deadline)"
    )
    topic_tag_backfill_ticks: str = "tag-backfill-ticks"
    backfill_page_size: int = Field(300, gt=0, le=1000)
    backfill_budget_s: float = Field(
        45, gt=0, description="per tick, every minute (inside the 60-s ack deadline)"
    )
    preview_limit: int = Field(100_000, gt=0, description="customers a rule preview reads at most")
    followup_cadence: list[Cadence] = Field(default_factory=lambda: list(DEFAULT_CADENCE))
    # Local stack only: a follow-up or campaign tick may carry `as_of` to play days forward.
    tick_allow_as_of: bool = False
    # Campaigns.
    topic_campaign_ticks: str = "campaign-ticks"
    topic_campaign_batches: str = "campaign-batches"
    campaign_banned_words: list[str] = Field(default_factory=lambda: list(DEFAULT_BANNED))
    campaign_lookback_min: int = Field(
        30, gt=0, description="a late tick still plans this far back"
    )
    campaign_follow_days: float = Field(
        3, gt=0, description="how long unconfirmed tasks are followed"
    )
    campaign_remind_every_min: int = Field(120, gt=0, description="between reminders (≤ 3 a day)")
    campaign_batch_stale_s: float = Field(
        60, gt=0, description="when a half-sent batch is taken over"
    )
    calendar_refresh_s: float = Field(
        300, ge=0, description="how stale loaded calendar years may be"
    )
    # Content: the media library and the upkeep job (media ids, group welcomes, group codes).
    media_bucket: str = Field("siyu-local-media", description="Cloud Storage bucket of the library")
    media_margin_h: float = Field(
        12, ge=0, le=48, description="a media_id with less life left is replaced before a send"
    )
    media_refresh_horizon_h: float = Field(
        30, ge=0, le=60, description="the upkeep job replaces media_ids expiring within this"
    )
    topic_content_upkeep_ticks: str = "content-upkeep-ticks"
    topic_retention_ticks: str = "retention-ticks"
    topic_directory_ticks: str = "directory-ticks"

    @field_validator("wecom_aes_key")
    @classmethod
    def _aes_key_length(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value()) != 43:
            raise ValueError("SIYU_WECOM_AES_KEY must be the 43-character EncodingAESKey")
        return value

    @field_validator("referral_tiers")
    @classmethod
    def _tiers_increase(cls, value: list[Tier]) -> list[Tier]:
        return check_tiers(value)

    @field_validator("partner_keys")
    @classmethod
    def _partner_keys_parse(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            parse_keys(value.get_secret_value())  # fail at start-up, not on the first call
        return value

    def secret(self, name: str) -> str:
        """A secret's value; MissingSecret naming its variable when it is not set."""
        value = getattr(self, name)
        if not isinstance(value, SecretStr) or not value.get_secret_value():
            raise MissingSecret(
                f"SIYU_{name.upper()} is not set: in production it comes from Secret Manager "
                "(a secret version must exist); locally `siyu up` sets it"
            )
        return value.get_secret_value()

    def require(self, *names: str) -> None:
        """Stop a function at start when a secret it needs is missing (fail closed)."""
        for name in names:
            self.secret(name)

    def topics(self) -> list[str]:
        """Every topic siyu names (each has its `<topic>-dlq`)."""
        return sorted({v for k, v in self.model_dump().items() if k.startswith("topic_")})

    @property
    def dead_letter_topic(self) -> str:
        return f"{self.topic_wecom_events}-dlq"


@cache
def settings() -> Settings:
    """One Settings per instance; tests clear the cache after changing the environment."""
    return Settings()
