"""What surrounds every mutating ops call: an audit entry of who changed what, and the
Idempotency-Key that makes a retried creating call return its first answer."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from siyu.domain import audit
from siyu.domain.audit import AuditEntry, AuditQuery, Change
from siyu.domain.errors import Conflict, InvalidInput
from siyu.domain.idempotency import HEADER, CallStatus, IdempotentCall, call_id
from siyu.logging import correlation_id
from siyu.ports import AuditLog, Clock, IdempotencyRepo

Token = Callable[[str, str], str]  # (kind of id, id) → the person's audit pseudonym


class AuditTrail:
    """Entries name customers only by pseudonym: the audit database is append-only, so
    erasing a person deletes the pseudonym's mapping instead of the entries."""

    def __init__(self, log: AuditLog, clock: Clock, retention_days: int, token: Token) -> None:
        self._log = log
        self._clock = clock
        self._retention_days = retention_days
        self._token = token

    def record(self, change: Change) -> AuditEntry:
        change = change.model_copy(
            update={
                "target": audit.pseudonymised_target(change.target, self._token),
                "before": audit.pseudonymised(change.before, self._token),
                "after": audit.pseudonymised(change.after, self._token),
            }
        )
        entry = audit.entry(change, self._clock.now(), correlation_id(), self._retention_days)
        self._log.append(entry)
        return entry

    def query(self, q: AuditQuery) -> list[AuditEntry]:
        target = audit.pseudonymised_target(q.target, self._token)
        return self._log.query(q.model_copy(update={"target": target}))


Answer = tuple[int, str]  # (status, body) as first answered


class IdempotentCalls:
    def __init__(self, repo: IdempotencyRepo, clock: Clock, ttl: timedelta) -> None:
        self._repo = repo
        self._clock = clock
        self._ttl = ttl

    def run(self, actor: str, key: str, fingerprint: str, call: Callable[[], Answer]) -> Answer:
        """The first call's answer for every call with this key; only a success is kept (a
        refused or failed call leaves the key free for a corrected retry)."""
        now = self._clock.now()
        claim = IdempotentCall(
            id=call_id(actor, key),
            fingerprint=fingerprint,
            status=CallStatus.RUNNING,
            created_at=now,
            expire_at=now + self._ttl,
        )
        held = self._repo.start(claim)
        if held is not None:
            if held.fingerprint != fingerprint:
                raise InvalidInput(HEADER, "this key was used for a different request")
            if held.status is CallStatus.RUNNING:
                raise Conflict("a call with this Idempotency-Key is still running; retry later")
            return held.response_status, held.response_body
        try:
            status, body = call()
        except BaseException:
            self._repo.release(claim.id)
            raise
        if status >= 300:
            self._repo.release(claim.id)
        else:
            self._repo.finish(claim.id, status, body)
        return status, body
