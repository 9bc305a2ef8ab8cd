"""Referral state in Firestore: create() and version-conditioned batches, never transactions.

Each step that must happen once is a batch whose first write carries a precondition on the
invite document (it must not exist, or must still be the version read) and whose second
write is an atomic Increment. The increment's result, returned by the commit, is the
ordinal of this invite: the referrer's n-th of the day, or n-th credited invite ever.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from google.api_core import exceptions as gexc
from google.cloud import firestore
from google.cloud.firestore_v1.base_query import FieldFilter

from siyu.adapters.firestore.store import create_once, translated
from siyu.domain.errors import Conflict
from siyu.domain.referrals import Invite, InviteAttempt, InviteStatus, Reward
from siyu.ports import Clock


def _doc(model: Any) -> dict[str, Any]:
    return dict(model.model_dump(mode="python"))


class ReferralRepo:
    def __init__(self, db: firestore.Client, clock: Clock) -> None:
        self._db = db
        self._clock = clock
        self._codes = db.collection("referral_codes")
        self._referrers = db.collection("referrers")
        self._cardholders = db.collection("cardholders")
        self._slots = db.collection("referral_hash_slots")
        self._invites = db.collection("invites")
        self._attempts = db.collection("invite_attempts")
        self._days = db.collection("referral_days")
        self._rewards = db.collection("rewards")

    # -- codes ------------------------------------------------------------------------

    def code_of(self, bank_customer_id: str) -> str | None:
        with translated():
            snap = self._referrers.document(bank_customer_id).get()
        return (snap.to_dict() or {}).get("code") if snap.exists else None

    def create_code(self, bank_customer_id: str, code: str) -> str:
        now = self._clock.now()
        with translated():
            try:  # the code is claimed first
                self._codes.document(code).create(
                    {"code": code, "bank_customer_id": bank_customer_id, "created_at": now}
                )
            except gexc.AlreadyExists as exc:
                raise Conflict(f"referral code {code} is taken") from exc
            try:
                self._referrers.document(bank_customer_id).create(
                    {"bank_customer_id": bank_customer_id, "code": code, "created_at": now}
                )
                return code
            except gexc.AlreadyExists:
                existing = self.code_of(bank_customer_id)
                self._codes.document(code).delete()  # a concurrent request won
                if existing is None:
                    raise
                return existing

    def owner_of(self, code: str) -> str | None:
        with translated():
            snap = self._codes.document(code).get()
        return (snap.to_dict() or {}).get("bank_customer_id") if snap.exists else None

    # -- screening ----------------------------------------------------------------------

    def first_card_event(self, bank_customer_id: str, event_id: str, opened_at: datetime) -> str:
        ref = self._cardholders.document(bank_customer_id)
        if create_once(ref, {"event_id": event_id, "opened_at": opened_at}):
            return event_id
        with translated():
            return str((ref.get().to_dict() or {}).get("event_id", ""))

    def claim_hash(self, kind: str, value: str, referee: str, limit: int) -> bool:
        """Slots are created in order, each only once: the first referee of a device or
        phone writes one document and reads none; a slot found taken is read to tell the
        referee's own claim (a redelivery) from another's."""
        with translated():
            for k in range(1, limit + 1):
                ref = self._slots.document(f"{kind}-{value}-{k}")
                try:
                    ref.create({"referee": referee, "at": self._clock.now()})
                    return True
                except gexc.AlreadyExists:
                    if (ref.get().to_dict() or {}).get("referee") == referee:
                        return True
        return False

    # -- the invite state machine ---------------------------------------------------------

    def get_invite(self, referee: str) -> tuple[Invite | None, Any]:
        with translated():
            snap = self._invites.document(referee).get()
        if not snap.exists:
            return None, None
        return Invite.model_validate(snap.to_dict()), snap.update_time

    def create_invite(self, invite: Invite) -> bool:
        return create_once(self._invites.document(invite.referee), _doc(invite))

    def _day_increment(self, batch: Any, invite: Invite) -> None:
        batch.set(
            self._days.document(f"{invite.referrer}-{invite.day}"),
            {"referrer": invite.referrer, "day": invite.day, "reserved": firestore.Increment(1)},
            merge=True,
        )

    def reserve(self, invite: Invite) -> tuple[int, Any] | None:
        batch = self._db.batch()
        batch.create(self._invites.document(invite.referee), _doc(invite))
        self._day_increment(batch, invite)
        with translated():
            try:
                written, counted = batch.commit()
            except gexc.AlreadyExists:
                return None
        return counted.transform_results[0].integer_value, written.update_time

    def _conditional(self, invite: Invite, version: Any, fields: dict[str, Any]) -> Any:
        batch = self._db.batch()
        batch.update(
            self._invites.document(invite.referee),
            fields,
            option=self._db.write_option(last_update_time=version),
        )
        return batch

    def re_reserve(self, invite: Invite, version: Any) -> tuple[int, Any] | None:
        batch = self._conditional(invite, version, {"updated_at": self._clock.now()})
        self._day_increment(batch, invite)
        with translated():
            try:
                written, counted = batch.commit()
            except (gexc.FailedPrecondition, gexc.NotFound):
                return None
        return counted.transform_results[0].integer_value, written.update_time

    def credit(self, invite: Invite, version: Any) -> int | None:
        fields = {
            "status": InviteStatus.CREDITED.value,
            "day_ordinal": invite.day_ordinal,
            "updated_at": self._clock.now(),
        }
        batch = self._conditional(invite, version, fields)
        batch.set(
            self._referrers.document(invite.referrer),
            {"bank_customer_id": invite.referrer, "successful_invites": firestore.Increment(1)},
            merge=True,
        )
        with translated():
            try:
                _written, counted = batch.commit()
            except (gexc.FailedPrecondition, gexc.NotFound):
                return None
        return int(counted.transform_results[0].integer_value)

    def reject(self, invite: Invite, version: Any) -> bool:
        fields = {
            "status": InviteStatus.REJECTED.value,
            "reason": invite.reason.value if invite.reason else None,
            "day_ordinal": invite.day_ordinal,
            "updated_at": self._clock.now(),
        }
        with translated():
            try:
                self._conditional(invite, version, fields).commit()
            except (gexc.FailedPrecondition, gexc.NotFound):
                return False
        return True

    def record_attempt(self, attempt: InviteAttempt) -> None:
        with translated():
            self._attempts.document(attempt.event_id).set(_doc(attempt))

    # -- rewards ------------------------------------------------------------------------

    def successful_invites(self, referrer: str) -> int:
        with translated():
            snap = self._referrers.document(referrer).get()
        return int((snap.to_dict() or {}).get("successful_invites", 0)) if snap.exists else 0

    def grant(self, reward: Reward) -> bool:
        with translated():
            try:
                self._rewards.document(reward.id).create(_doc(reward))
            except gexc.AlreadyExists:
                return False
        return True

    def rewards(self, referrer: str) -> list[Reward]:
        query = self._rewards.where(filter=FieldFilter("referrer", "==", referrer))
        with translated():
            found = [Reward.model_validate(s.to_dict()) for s in query.stream()]
        return sorted(found, key=lambda r: r.tier)

    def mark_published(self, reward_id: str, at: datetime) -> None:
        with translated():
            self._rewards.document(reward_id).update({"published_at": at})
