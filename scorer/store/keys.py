"""API keys: created with a role, shown once, stored only as a SHA-256 hash, revocable.

A key looks like ``rk_<prefix>_<secret>``: 8 hex characters of prefix (kept in clear to tell keys apart in
listings) and 40 of secret, 192 bits of randomness in all, so a plain SHA-256 of the whole key is a safe hash.

:func:`verify_key` remembers a valid key for :data:`KEY_CACHE_SECONDS` in the Store's process (one database
round trip per request less on the ingest path). A revocation takes effect at once in the process that revokes
(:func:`revoke_key` empties the cache) and within :data:`KEY_CACHE_SECONDS` in every other process (e.g. an API
server while ``rubricate keys revoke`` runs in a shell). Unknown and revoked keys are never remembered, so a new
key works at once.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select

from scorer._errors import RubricateError
from scorer.store.models import ApiKeyRow
from scorer.store.repository import Store

__all__ = ["KEY_CACHE_SECONDS", "ROLES", "ApiKey", "ApiKeyError", "create_key", "get_key", "hash_key", "list_keys",
           "remembered_key", "revoke_key", "verify_key"]

ROLES = ("ingest", "reviewer", "admin", "agent")
"""``ingest`` sends conversations and reads results, ``reviewer`` reads the review queue and agreement, ``admin``
may do everything (including adding rubrics and starting re-scoring jobs); ``agent`` is bound to one agent id and
sees only that agent's conversations and scorecards."""


KEY_CACHE_SECONDS = 5.0
"""How long a process trusts a key it verified before reading it again: the longest a revocation made by another
process takes to reach it."""
_CACHE_ENTRIES = 1024
_MEMO = "scorer.store.keys"
_clock = time.monotonic


class ApiKeyError(RubricateError):
    """An API key operation was refused: unknown role, unknown key id."""


@dataclass(frozen=True)
class ApiKey:
    """A stored key without its secret: what listings and request handlers see."""

    id: int
    name: str
    role: str
    prefix: str
    created_at: datetime
    revoked_at: datetime | None
    agent_id: str | None = None

    @property
    def active(self) -> bool:
        return self.revoked_at is None


def hash_key(key: str) -> str:
    """The hex SHA-256 of the key, as stored."""
    return hashlib.sha256(key.encode()).hexdigest()


def _public(row: ApiKeyRow) -> ApiKey:
    return ApiKey(row.id, row.name, row.role, row.prefix, row.created_at, row.revoked_at, row.agent_id)


def create_key(store: Store, role: str, name: str = "", agent_id: str | None = None) -> tuple[ApiKey, str]:
    """Create a key; returns its record and the key itself, which is never shown or stored again.

    A key of role ``agent`` must name the agent it is bound to; other roles must not."""
    if role not in ROLES:
        raise ApiKeyError(f"unknown role {role!r}; use one of {', '.join(ROLES)}")
    if (role == "agent") != bool(agent_id):
        raise ApiKeyError("a key of role agent needs --agent AGENT_ID (and only agent keys take one)")
    prefix = secrets.token_hex(4)
    key = f"rk_{prefix}_{secrets.token_hex(20)}"
    with store.session() as s:
        row = ApiKeyRow(name=name, role=role, prefix=prefix, key_hash=hash_key(key), agent_id=agent_id)
        s.add(row)
        s.flush()
        return _public(row), key


def remembered_key(store: Store, key: str) -> ApiKey | None:
    """The key if :func:`verify_key` found it valid less than :data:`KEY_CACHE_SECONDS` ago, else None (no I/O:
    callers on an event loop check this before sending :func:`verify_key` to a thread)."""
    hit = store.memo.get(_MEMO, {}).get(hash_key(key))
    return hit[1] if hit is not None and hit[0] > _clock() else None


def verify_key(store: Store, key: str) -> ApiKey | None:
    """The active key matching ``key``, or None (unknown, malformed or revoked)."""
    if not key.startswith("rk_") or len(key) > 128:
        return None
    hit = remembered_key(store, key)
    if hit is not None:
        return hit
    digest = hash_key(key)
    cache: dict[str, tuple[float, ApiKey]] = store.memo.setdefault(_MEMO, {})
    with store.session() as s:
        row = s.scalar(select(ApiKeyRow).where(ApiKeyRow.key_hash == digest))
        if row is None or row.revoked_at is not None:
            cache.pop(digest, None)
            return None
        found = _public(row)
    if len(cache) >= _CACHE_ENTRIES:
        cache.clear()
    cache[digest] = (_clock() + KEY_CACHE_SECONDS, found)
    return found


def get_key(store: Store, key_id: int) -> ApiKey | None:
    """The key with this id (revoked or not), or None; what a dashboard session re-reads on every request."""
    with store.session() as s:
        row = s.get(ApiKeyRow, key_id)
        return _public(row) if row is not None else None


def list_keys(store: Store) -> list[ApiKey]:
    """Every key, revoked ones included, oldest first."""
    with store.session() as s:
        return [_public(row) for row in s.scalars(select(ApiKeyRow).order_by(ApiKeyRow.id))]


def revoke_key(store: Store, key_id: int) -> ApiKey:
    """Revoke a key (idempotent); requests with it get 401 from then on."""
    with store.session() as s:
        row = s.get(ApiKeyRow, key_id)
        if row is None:
            raise ApiKeyError(f"no API key with id {key_id}; see `rubricate keys list`")
        if row.revoked_at is None:
            row.revoked_at = datetime.now(UTC)
        s.flush()
        revoked = _public(row)
    # After the commit: from now on a verification reads the key revoked (one that read it just before may still
    # remember it, for KEY_CACHE_SECONDS at most, as any other process).
    store.memo.pop(_MEMO, None)
    return revoked
