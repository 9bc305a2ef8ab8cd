"""on_biz_event's referral use case: credit each referee's friend once, grant each tier once.

A card_opened event is screened (code, self-referral, earlier card, shared device/phone),
then reserves a place in the referrer's day and is credited; the credit's ordinal says
which tier, if any, this invite reaches. Every step is idempotent, so a duplicate event or
a redelivered message finds the work done and only finishes what a crash left undone.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from siyu.domain import referrals as ref
from siyu.domain.biz_events import BizEvent
from siyu.domain.errors import Conflict, NotFound, TransientError
from siyu.domain.referrals import (
    CardOpened,
    Invite,
    InviteAttempt,
    InviteStatus,
    ReferrerView,
    RejectReason,
    Reward,
    RewardGranted,
    Tier,
)
from siyu.logging import log
from siyu.ports import Clock, MessagePublisher, ReferralRepo

logger = logging.getLogger(__name__)

_CODE_ATTEMPTS = 3


class ReferralService:
    def __init__(
        self,
        repo: ReferralRepo,
        granted: MessagePublisher,
        clock: Clock,
        tiers: list[Tier],
        daily_limit: int,
        referees_per_hash: int,
        stale_after: timedelta,
        identifier_key: bytes,
    ) -> None:
        self._repo = repo
        self._key = identifier_key
        self._granted = granted
        self._clock = clock
        self._tiers = ref.check_tiers(tiers)
        self._daily_limit = daily_limit
        self._per_hash = referees_per_hash
        self._stale = stale_after

    # -- ops ----------------------------------------------------------------------------

    def code_for(self, bank_customer_id: str) -> str:
        """The customer's code: created on the first request, the same one ever after."""
        existing = self._repo.code_of(bank_customer_id)
        if existing:
            return existing
        for _ in range(_CODE_ATTEMPTS):
            try:
                return self._repo.create_code(bank_customer_id, ref.new_code())
            except Conflict:
                continue  # 40 random bits collided with another customer's code
        raise TransientError("could not allocate a unique referral code")

    def invite(self, referee: str) -> Invite:
        """Who invited this referee, and how far the referral went."""
        invite, _version = self._repo.get_invite(referee)
        if invite is None:
            raise NotFound(f"no referral for {referee}")
        return invite

    def view(self, referrer: str) -> ReferrerView:
        count = self._repo.successful_invites(referrer)
        rewards = [
            {"tier": r.tier, "points": r.points, "granted_at": r.granted_at}
            for r in self._repo.rewards(referrer)
        ]
        return ReferrerView(
            successful_invites=count, rewards=rewards, next_tier=ref.next_tier(count, self._tiers)
        )

    def credited_referrer(self, referee: str) -> str | None:
        """Who this referee's card opening was credited to, if it was."""
        invite, _version = self._repo.get_invite(referee)
        return invite.referrer if invite and invite.status is InviteStatus.CREDITED else None

    # -- events -------------------------------------------------------------------------

    def handle(self, event: BizEvent) -> None:
        self.card_opened(event.payload)

    def card_opened(self, event: CardOpened) -> None:
        # Keyed before anything is stored or compared: only siyu's HMAC is ever kept.
        event = event.model_copy(
            update={
                "device_hash": ref.keyed(self._key, event.device_hash),
                "phone_hash": ref.keyed(self._key, event.phone_hash),
            }
        )
        referee = event.bank_customer_id
        first_event = self._repo.first_card_event(referee, event.event_id, event.opened_at)
        if not event.referral_code:
            return
        # Most events are a referee's first: screened and reserved without reading the
        # invite first. A redelivery or a second referral meets the invite already there
        # when it creates it, and reads it then.
        invite, version = self._open(event, first_event)
        if invite is None:
            return
        if invite.event_id != event.event_id:
            self._attempt(event, RejectReason.ALREADY_INVITED)
            return
        self._advance(invite, version)

    def _open(self, event: CardOpened, first_event: str) -> tuple[Invite | None, Any]:
        """Screen a new referral; a rejection is stored as the referee's invite, with reason."""
        now = self._clock.now()
        code = ref.normalize(event.referral_code or "")
        referrer = self._repo.owner_of(code) if ref.is_valid(code) else None
        invite = Invite(
            referee=event.bank_customer_id,
            referrer=referrer or "",
            code=code,
            event_id=event.event_id,
            status=InviteStatus.PENDING,
            day=ref.referral_day(event.opened_at),
            device_hash=event.device_hash,
            phone_hash=event.phone_hash,
            created_at=now,
            updated_at=now,
        )
        reason = self._screen(event, code, referrer, first_event)
        if reason is not None:
            rejected = invite.model_copy(update={"status": InviteStatus.REJECTED, "reason": reason})
            if self._repo.create_invite(rejected):
                log(
                    logger,
                    logging.WARNING,
                    "referral rejected",
                    referee=invite.referee,
                    reason=reason,
                    event_id=event.event_id,
                )
                return None, None
            return self._repo.get_invite(invite.referee)  # a concurrent copy decided first
        reserved = self._repo.reserve(invite)
        if reserved is None:
            return self._repo.get_invite(invite.referee)
        day_ordinal, version = reserved
        return invite.model_copy(update={"day_ordinal": day_ordinal}), version

    def _screen(
        self, event: CardOpened, code: str, referrer: str | None, first_event: str
    ) -> RejectReason | None:
        if not ref.is_valid(code):
            return RejectReason.INVALID_CODE
        if referrer is None:
            return RejectReason.UNKNOWN_CODE
        if referrer == event.bank_customer_id:
            return RejectReason.SELF
        if first_event != event.event_id:
            return RejectReason.ALREADY_CARDHOLDER
        for kind, value, reason in (
            ("device", event.device_hash, RejectReason.SHARED_DEVICE),
            ("phone", event.phone_hash, RejectReason.SHARED_PHONE),
        ):
            if value and not self._repo.claim_hash(
                kind, value, event.bank_customer_id, self._per_hash
            ):
                return reason
        return None

    def _advance(self, invite: Invite, version: Any) -> None:
        """Move the invite on from wherever the last delivery left it."""
        if invite.status is InviteStatus.REJECTED:
            return
        if invite.status is InviteStatus.CREDITED:
            self._settle(invite.referrer)
            return
        if invite.day_ordinal is None:
            # Pending without a place: either another delivery is crediting it right now, or
            # the one that reserved died. Only a silent invite is taken over.
            if self._clock.now() - invite.updated_at < self._stale:
                raise TransientError("another delivery is crediting this invite")
            reserved = self._repo.re_reserve(invite, version)
            if reserved is None:
                raise TransientError("the invite moved on; read it again")
            day_ordinal, version = reserved
            invite = invite.model_copy(update={"day_ordinal": day_ordinal})
        if invite.day_ordinal is not None and invite.day_ordinal > self._daily_limit:
            limited = invite.model_copy(
                update={"status": InviteStatus.REJECTED, "reason": RejectReason.DAILY_LIMIT}
            )
            if not self._repo.reject(limited, version):
                raise TransientError("the invite moved on; read it again")
            log(
                logger,
                logging.WARNING,
                "referral rejected",
                referee=invite.referee,
                reason=RejectReason.DAILY_LIMIT,
                day=invite.day,
            )
            return
        ordinal = self._repo.credit(invite, version)
        if ordinal is None:
            raise TransientError("the invite moved on; read it again")
        log(
            logger,
            logging.INFO,
            "referral credited",
            referrer=invite.referrer,
            referee=invite.referee,
            ordinal=ordinal,
        )
        tier = ref.tier_at(ordinal, self._tiers)
        if tier is not None:
            self._grant(invite.referrer, tier)

    def _grant(self, referrer: str, tier: Tier) -> None:
        reward = Reward(
            id=Reward.id_for(referrer, tier),
            referrer=referrer,
            tier=tier.invites,
            points=tier.points,
            granted_at=self._clock.now(),
        )
        if self._repo.grant(reward):
            self._publish(reward)

    def _publish(self, reward: Reward) -> None:
        message = RewardGranted(
            reward_id=reward.id,
            bank_customer_id=reward.referrer,
            tier=reward.tier,
            points=reward.points,
            granted_at=reward.granted_at,
        )
        self._granted.send(message, reward_id=reward.id)
        self._repo.mark_published(reward.id, self._clock.now())
        log(logger, logging.INFO, "reward granted", reward_id=reward.id, points=reward.points)

    def _settle(self, referrer: str) -> None:
        """After a redelivery: grant tiers a crash skipped, publish grants a crash left unsent.

        A grant younger than the stale window may still be publishing in another delivery."""
        count = self._repo.successful_invites(referrer)
        granted = {r.tier: r for r in self._repo.rewards(referrer)}
        now = self._clock.now()
        for tier in ref.tiers_reached(count, self._tiers):
            reward = granted.get(tier.invites)
            if reward is None:
                self._grant(referrer, tier)
            elif reward.published_at is None and now - reward.granted_at >= self._stale:
                self._publish(reward)

    def _attempt(self, event: CardOpened, reason: RejectReason) -> None:
        self._repo.record_attempt(
            InviteAttempt(
                event_id=event.event_id,
                referee=event.bank_customer_id,
                code=ref.normalize(event.referral_code or ""),
                reason=reason,
                at=self._clock.now(),
            )
        )
