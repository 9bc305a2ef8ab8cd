"""Group QR codes that move on: each code's join way holds up to five benefit groups of its
area with room; a group that fills up or is dismissed is swapped for the next one."""

from __future__ import annotations

import logging
import re

from siyu.domain.errors import Conflict, InvalidInput, NotFound
from siyu.domain.group_codes import (
    CODE_ID,
    MAX_CHATS,
    GroupCode,
    GroupCodeSpec,
    choose,
    code_exhausted,
    join_state,
)
from siyu.domain.groups import Group
from siyu.logging import log
from siyu.ports import Clock, GroupCodeRepo, GroupRepo, OpsTaskRepo, WeComApi

logger = logging.getLogger(__name__)
PAGE = 500


class GroupCodes:
    def __init__(
        self,
        codes: GroupCodeRepo,
        groups: GroupRepo,
        wecom: WeComApi,
        ops_tasks: OpsTaskRepo,
        clock: Clock,
        join_limit: int,
    ) -> None:
        self._codes = codes
        self._groups = groups
        self._wecom = wecom
        self._ops_tasks = ops_tasks
        self._clock = clock
        self._join_limit = join_limit

    def put(self, code_id: str, spec: GroupCodeSpec) -> GroupCode:
        """Create or change a code; its way is made or rewritten at once."""
        if not re.fullmatch(CODE_ID, code_id):
            raise InvalidInput("code_id", f"must match {CODE_ID}")
        current = self._codes.get(code_id)
        kept = current.model_dump(include={"config_id", "qr_code", "chat_ids"}) if current else {}
        code = GroupCode(id=code_id, updated_at=self._clock.now(), **dict(spec), **kept)
        return self._settle(code, self._candidates(code.city), rewrite=True)

    def get(self, code_id: str) -> GroupCode:
        code = self._codes.get(code_id)
        if code is None:
            raise NotFound(f"group code {code_id}")
        return code

    def all(self) -> list[GroupCode]:
        return sorted(self._codes.all(), key=lambda c: c.id)

    def group_changed(self, group: Group) -> int:
        """A group filled up, emptied, was dismissed or registered: move the codes that hold
        it and can no longer lead there, and top up the codes of its city that hold fewer
        than five (or none with room). A member joining a group that still has room costs
        no WeCom call and no group read. Returns how many ways were rewritten."""
        limit = self._join_limit
        stale = [
            c
            for c in self._codes.holding(group.chat_id)
            if c.exhausted or not c.admits(group, limit)
        ]
        open_slots = [
            c
            for c in self._codes.all()
            if c.admits(group, limit)
            and group.chat_id not in c.chat_ids
            and (len(c.chat_ids) < MAX_CHATS or c.exhausted)
        ]
        return self._settle_each([*stale, *open_slots])

    def settle_all(self) -> int:
        """The upkeep job's safety net for a change whose event was lost."""
        return self._settle_each(self._codes.all())

    def _settle_each(self, codes: list[GroupCode]) -> int:
        """Settle each code once, reading each city's groups once; how many ways moved."""
        cities: dict[str, list[Group]] = {}
        moved = 0
        for code in {c.id: c for c in codes}.values():
            if code.city not in cities:
                cities[code.city] = self._candidates(code.city)
            if self._settle(code, cities[code.city]).chat_ids != code.chat_ids:
                moved += 1
        return moved

    def _candidates(self, city: str) -> list[Group]:
        found: list[Group] = []
        after = ""
        while True:
            page = self._groups.listed(city, after, PAGE)
            found += page
            if len(page) < PAGE:
                return found
            after = page[-1].chat_id

    def _settle(self, code: GroupCode, candidates: list[Group], rewrite: bool = False) -> GroupCode:
        now = self._clock.now()
        chats = choose(code, candidates, self._join_limit)
        if not chats:
            if not code.config_id:  # refused before anything changed
                raise Conflict(f"no benefit group in {code.city} has room: register one first")
            self._ops_tasks.create(code_exhausted(code, now))
            # The way keeps its last groups: WeCom refuses a way without chats (92229).
            code = code.model_copy(update={"exhausted": True, "updated_at": now})
            self._codes.put(code)
            log(logger, logging.WARNING, "group code exhausted", code_id=code.id)
            return code
        if chats == code.chat_ids and code.config_id and not rewrite and not code.exhausted:
            return code
        state = join_state(code.id)
        if code.config_id:
            self._wecom.update_join_way(code.config_id, chats, state, code.name)
        else:
            config_id = self._wecom.add_join_way(chats, state, code.name)
            code = code.model_copy(update={"config_id": config_id})
            self._codes.put(code)  # stored before the next call: a retry reuses this way
        if not code.qr_code:
            code = code.model_copy(
                update={"qr_code": self._wecom.get_join_way(code.config_id).qr_code}
            )
        code = code.model_copy(update={"chat_ids": chats, "exhausted": False, "updated_at": now})
        self._codes.put(code)
        log(logger, logging.INFO, "group code settled", code_id=code.id, chats=len(chats))
        return code
