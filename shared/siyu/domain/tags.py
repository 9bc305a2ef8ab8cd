"""The corp tag catalogue (企业客户标签) as siyu mirrors it from WeCom."""

from __future__ import annotations

from pydantic import Field

from siyu.domain.model import Model

MAX_NAME_CHARS = 30  # corp tag and tag group names (92117)


class CorpTag(Model):
    id: str
    name: str
    group_id: str = ""
    group_name: str = ""
    deleted: bool = False


class TagRef(Model):
    """A tag named by group and name, as ops and channel configs name them."""

    group: str = Field(min_length=1, max_length=MAX_NAME_CHARS)
    name: str = Field(min_length=1, max_length=MAX_NAME_CHARS)


class TagSyncRequest(Model):
    """The message on `tag-sync`: push this customer's earned tags to WeCom."""

    bank_customer_id: str
