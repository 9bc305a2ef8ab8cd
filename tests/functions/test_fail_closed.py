"""Production fails closed: a function whose secrets are missing does not start."""

from __future__ import annotations

import pytest

from siyu import bootstrap
from siyu.config import MissingSecret

from .conftest import app as start


@pytest.mark.parametrize(
    ("function", "variable"),
    [
        ("wecom_callback", "SIYU_WECOM_TOKEN"),
        ("wecom_callback", "SIYU_WECOM_AES_KEY"),
        ("on_wecom_event", "SIYU_WECOM_SECRET"),
        ("on_followup_tick", "SIYU_WECOM_AGENT_SECRET"),
        ("on_biz_event", "SIYU_IDENTIFIER_KEY"),
    ],
)
def test_a_missing_secret_stops_the_function_naming_it(
    monkeypatch: pytest.MonkeyPatch, function: str, variable: str
) -> None:
    monkeypatch.delenv(variable, raising=False)
    bootstrap.reset()
    with pytest.raises(MissingSecret, match=variable):
        start(function)


def test_with_its_secrets_the_function_starts() -> None:
    bootstrap.reset()
    assert start("wecom_callback") is not None


def test_settings_ship_no_secret_values(monkeypatch: pytest.MonkeyPatch) -> None:
    from siyu.config import Settings

    for variable in ("SIYU_WECOM_SECRET", "SIYU_WECOM_TOKEN", "SIYU_WECOM_AES_KEY"):
        monkeypatch.delenv(variable, raising=False)
    s = Settings()
    assert (s.wecom_secret, s.wecom_token, s.wecom_aes_key) == (None, None, None)
