"""Runtime settings from SIYU_* environment variables; secrets come only from the environment."""

from __future__ import annotations

from functools import cache

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Every knob siyu reads. Defaults are the local stack's, never production secrets."""

    model_config = SettingsConfigDict(env_prefix="SIYU_", extra="ignore")

    project: str = Field("siyu-local", description="Google Cloud project id")
    # WeCom app that receives callbacks and calls the customer-contact API.
    wecom_corp_id: str = "ww_siyu_local_corp"
    wecom_secret: SecretStr = SecretStr("local-contact-secret")
    wecom_token: SecretStr = SecretStr("siyuLocalToken")
    wecom_aes_key: SecretStr = SecretStr("abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG")
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
    topic_wecom_events: str = "wecom-events"

    @field_validator("wecom_aes_key")
    @classmethod
    def _aes_key_length(cls, value: SecretStr) -> SecretStr:
        if len(value.get_secret_value()) != 43:
            raise ValueError("SIYU_WECOM_AES_KEY must be the 43-character EncodingAESKey")
        return value

    @property
    def dead_letter_topic(self) -> str:
        return f"{self.topic_wecom_events}-dlq"


@cache
def settings() -> Settings:
    """One Settings per instance; tests clear the cache after changing the environment."""
    return Settings()
