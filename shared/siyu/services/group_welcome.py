"""Group welcome templates in step with the campaigns: a template lists the benefits of the
active campaigns that target its group, and is edited only when that list changes."""

from __future__ import annotations

import logging

from siyu.domain import group_welcome
from siyu.domain.campaigns import SHANGHAI, Campaign
from siyu.domain.errors import Conflict, DomainError
from siyu.domain.groups import Group
from siyu.domain.wecom import TemplateLimit
from siyu.logging import log
from siyu.ports import CampaignRepo, Clock, GroupRepo, WelcomeTemplates
from siyu.services.media import MediaLibrary

logger = logging.getLogger(__name__)


class GroupWelcomes:
    def __init__(
        self,
        groups: GroupRepo,
        campaigns: CampaignRepo,
        wecom: WelcomeTemplates,
        media: MediaLibrary,
        clock: Clock,
    ) -> None:
        self._groups = groups
        self._campaigns = campaigns
        self._wecom = wecom
        self._media = media
        self._clock = clock

    def sync(self, group: Group, campaigns: list[Campaign] | None = None) -> Group:
        """Bring one group's template in step; Conflict at WeCom's template limit."""
        if group.welcome is None:
            return group
        today = self._clock.now().astimezone(SHANGHAI).date()
        running = self._campaigns.all() if campaigns is None else campaigns
        lines = group_welcome.benefits(running, group, today)
        text = group_welcome.render(group.welcome, lines)
        attachment = group.welcome.attachment
        shown = group_welcome.fingerprint(text, attachment)
        if shown == group.welcome_shown and group.welcome_template_id:
            return group
        wecom_part = self._media.wecom_attachments([attachment])[0] if attachment else None
        template_id = group.welcome_template_id
        if template_id:
            self._wecom.edit_group_welcome_template(template_id, text, wecom_part)
        else:
            try:
                template_id = self._wecom.add_group_welcome_template(text, wecom_part)
            except TemplateLimit as exc:
                raise Conflict(
                    f"WeCom holds no more group welcome templates (41055): {exc}"
                ) from exc
        synced = group.model_copy(
            update={"welcome_template_id": template_id, "welcome_shown": shown}
        )
        self._groups.put(synced)
        log(logger, logging.INFO, "group welcome synced", chat_id=group.chat_id)
        return synced

    def sync_all(self) -> int:
        """Every group with a template (≤ 100 by WeCom's limit); a failure is logged and left
        for the next upkeep run, so one group cannot hold up the others."""
        changed = 0
        groups = self._groups.with_welcome()
        campaigns = self._campaigns.all() if groups else []
        for group in groups:
            try:
                if self.sync(group, campaigns) is not group:
                    changed += 1
            except DomainError as exc:
                log(
                    logger,
                    logging.WARNING,
                    "group welcome not synced",
                    chat_id=group.chat_id,
                    error=str(exc),
                )
        return changed
