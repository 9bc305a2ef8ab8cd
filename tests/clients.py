"""The production WeCom clients as their concrete type, for tests of the client itself."""

from __future__ import annotations

from typing import cast

from siyu.adapters.wecom.client import WeComClient
from siyu.bootstrap import root


def wecom() -> WeComClient:
    return cast(WeComClient, root().wecom())


def wecom_app() -> WeComClient:
    return cast(WeComClient, root().wecom_app())
