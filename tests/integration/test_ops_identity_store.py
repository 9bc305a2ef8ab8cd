"""Ops identity on the emulators: the audit log in its own database (created, never
changed), idempotent calls, sessions, and Google ID tokens verified against a certs URL."""

from __future__ import annotations

import json
import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from google.cloud import firestore
from werkzeug.serving import make_server
from werkzeug.wrappers import Response

from siyu.adapters.firestore.access import AuditRepo, IdempotencyRepo, SessionRepo
from siyu.adapters.ops_auth import google_identity
from siyu.devstack.procs import free_port
from siyu.domain import audit
from siyu.domain.audit import AuditQuery
from siyu.domain.errors import Unauthorized
from siyu.domain.idempotency import CallStatus, IdempotentCall
from siyu.domain.sessions import new_session

PROJECT = "siyu-test"
NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)


def _entry(actor: str, target: str, at: datetime, **change: Any) -> audit.AuditEntry:
    made = audit.Change(
        actor=actor,
        actor_kind="member",
        route="PUT /ops/groups/{chat_id}",
        target=target,
        status=200,
        **change,
    )
    return audit.entry(made, at, f"c-{actor}-{at.timestamp()}", 1825)


def test_the_audit_log_lives_in_its_own_database_and_is_only_appended(cloud) -> None:
    log = AuditRepo(firestore.Client(project=PROJECT, database="siyu-audit"))
    first = _entry("zhao", "chat_id=wrA", NOW, after={"name": "a", "birthday": "1990-01-01"})
    assert log.append(first) is True
    assert log.append(first) is False  # the same call cannot be written twice
    log.append(_entry("wang", "chat_id=wrB", NOW + timedelta(hours=1), after={"name": "b"}))
    default_db = firestore.Client(project=PROJECT)
    assert list(default_db.collection("audit").stream()) == []
    [found] = log.query(AuditQuery(actor="zhao"))
    assert found.after == {"name": "a", "birthday": "***"}  # personal data masked
    assert found.expire_at == NOW + timedelta(days=1825)
    assert [e.actor for e in log.query(AuditQuery())] == ["wang", "zhao"]
    assert log.query(AuditQuery(target="chat_id=wrB"))[0].actor == "wang"
    window = AuditQuery.model_validate({"from": "2026-11-23", "to": "2026-11-23"})
    assert len(log.query(window)) == 2
    assert not {"update", "delete", "set"} & set(vars(AuditRepo))


def test_an_idempotency_key_is_claimed_once_and_freed_after_a_failure(cloud) -> None:
    repo = IdempotencyRepo(firestore.Client(project=PROJECT))
    call = IdempotentCall(
        id="k1",
        fingerprint="f",
        status=CallStatus.RUNNING,
        created_at=NOW,
        expire_at=NOW + timedelta(hours=24),
    )
    assert repo.start(call) is None
    held = repo.start(call)
    assert held is not None and held.status is CallStatus.RUNNING
    repo.finish("k1", 201, '{"id": "t1"}')
    done = repo.start(call)
    assert done is not None and done.response_body == '{"id": "t1"}'
    repo.release("k1")
    assert repo.start(call) is None


def test_a_session_is_stored_touched_and_deleted(cloud) -> None:
    repo = SessionRepo(firestore.Client(project=PROJECT))
    session = new_session("zhao", NOW, timedelta(hours=8))
    repo.create(session)
    repo.touch(session.id, NOW + timedelta(minutes=5))
    found = repo.get(session.id)
    assert found is not None and found.last_seen == NOW + timedelta(minutes=5)
    repo.delete(session.id)
    assert repo.get(session.id) is None


@pytest.fixture(scope="module")
def google():
    """A stand-in for Google's certs endpoint: x509 certificates by key id, as
    https://www.googleapis.com/oauth2/v1/certs serves them, and a signer for tokens."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID
    from google.auth import crypt, jwt

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "accounts.google.test")])
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(datetime.now(UTC) - timedelta(days=1))
        .not_valid_after(datetime.now(UTC) + timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    certs = {"k1": cert.public_bytes(serialization.Encoding.PEM).decode()}
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    signer = crypt.RSASigner.from_string(pem, "k1")

    def app(environ, start_response):  # type: ignore[no-untyped-def]
        return Response(json.dumps(certs), mimetype="application/json")(environ, start_response)

    port = free_port()
    server = make_server("127.0.0.1", port, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()

    def mint(**claims: Any) -> str:
        now = int(time.time())
        payload = {
            "iss": "https://accounts.google.com",
            "aud": "siyu-ops",
            "iat": now,
            "exp": now + 600,
            "email": "ci@bank-ops.iam.gserviceaccount.com",
            "email_verified": True,
            **claims,
        }
        return jwt.encode(signer, payload).decode()

    yield f"http://127.0.0.1:{port}/certs", mint
    server.shutdown()


def test_a_google_id_token_names_its_service_account(google) -> None:
    certs, mint = google
    assert google_identity(mint(), "siyu-ops", certs) == "ci@bank-ops.iam.gserviceaccount.com"


@pytest.mark.parametrize(
    "claims",
    [
        {"aud": "another-api"},
        {"iss": "https://evil.example"},
        {"email_verified": False},
        {"exp": int(time.time()) - 3600, "iat": int(time.time()) - 7200},
    ],
)
def test_a_google_id_token_for_anything_else_is_refused(google, claims) -> None:
    certs, mint = google
    with pytest.raises(Unauthorized):
        google_identity(mint(**claims), "siyu-ops", certs)


def test_a_forged_google_id_token_is_refused(google) -> None:
    certs, mint = google
    header, payload, _signature = mint().split(".")
    with pytest.raises(Unauthorized):
        google_identity(f"{header}.{payload}.{'A' * 342}", "siyu-ops", certs)
