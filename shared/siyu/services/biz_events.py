"""on_biz_event's dispatch: card openings credit referrals; every other event builds the profile."""

from __future__ import annotations

from siyu.domain.biz_events import BizEvent
from siyu.services.customer_profile import ProfileService
from siyu.services.referrals import ReferralService


class BizEventRouter:
    def __init__(self, referrals: ReferralService, profiles: ProfileService) -> None:
        self._referrals = referrals
        self._profiles = profiles

    def handle(self, event: BizEvent) -> None:
        if event.type == "card_opened":
            self._referrals.handle(event)
        else:
            self._profiles.handle(event)
