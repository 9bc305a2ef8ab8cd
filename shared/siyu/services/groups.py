"""The benefit-group registry: ops register groups, siyu gives each a WeCom QR join way."""

from __future__ import annotations

import hashlib

from siyu.domain import groups as grp
from siyu.domain.errors import InvalidInput, NotFound
from siyu.domain.groups import Group, GroupSpec, GroupStatus
from siyu.domain.wecom import GroupUnreadable
from siyu.ports import Clock, GroupRepo, WeComApi
from siyu.services.group_codes import GroupCodes
from siyu.services.group_welcome import GroupWelcomes


def join_state(chat_id: str) -> str:
    """The join way's `state` (≤ 30 chars): tells siyu which registered group a join came by."""
    return "g-" + hashlib.sha256(chat_id.encode()).hexdigest()[:20]


class BenefitGroupAdmin:
    def __init__(
        self,
        wecom: WeComApi,
        groups: GroupRepo,
        codes: GroupCodes,
        welcomes: GroupWelcomes,
        clock: Clock,
    ) -> None:
        self._wecom = wecom
        self._groups = groups
        self._codes = codes
        self._welcomes = welcomes
        self._clock = clock

    def put(self, chat_id: str, spec: GroupSpec) -> Group:
        """Register or update; the join way is created once and kept across updates."""
        group = grp.register(self._groups.get(chat_id), chat_id, spec, self._clock.now())
        if not group.join_config_id:
            try:
                config_id = self._wecom.add_join_way([chat_id], join_state(chat_id), spec.name)
            except GroupUnreadable as exc:
                raise InvalidInput("chat_id", f"WeCom knows no customer group {chat_id}") from exc
            group = group.model_copy(update={"join_config_id": config_id})
            # Stored before the next call: a retry reuses this join way instead of leaking one.
            self._groups.put(group)
        if not group.join_url:
            join_way = self._wecom.get_join_way(group.join_config_id)
            group = group.model_copy(update={"join_url": join_way.qr_code})
        self._groups.put(group)
        group = self._welcomes.sync(group)
        self._codes.group_changed(group)
        return group

    def dismiss(self, chat_id: str) -> Group:
        current = self._groups.get(chat_id)
        if current is None:
            raise NotFound(f"group {chat_id}")
        group = current.model_copy(
            update={"status": GroupStatus.DISMISSED, "updated_at": self._clock.now()}
        )
        self._groups.put(group)
        self._codes.group_changed(group)
        return group
