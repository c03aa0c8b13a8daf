"""The Redis side of :class:`~msal_mi_async.redis.RedisTokenCache`: key names, the value
format and the blocking commands (run in worker threads, so asyncio and trio share them).

Key names carry the namespace, the source and the identity kind in clear, and a SHA-256
of (identity value, resource, token type): bounded, and no identifier in clear.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
import urllib.parse
from typing import TYPE_CHECKING, Any

from ._cache import CacheEntry
from ._kinds import ManagedIdentitySourceKind, TokenSource
from ._request import CacheKey
from ._result import AccessTokenResult

if TYPE_CHECKING:
    import redis

__all__ = ["RedisStore", "decode_entry", "encode_entry", "key_name", "redact_url"]

_FORMAT = 1
_NAMESPACE = re.compile(r"[A-Za-z0-9_.:-]{1,64}")
#: Delete the lock only if it still holds our token (a holder never frees another's lock).
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
    return redis.call('DEL', KEYS[1])
end
return 0
"""


def check_namespace(namespace: str) -> str:
    if not isinstance(namespace, str) or not _NAMESPACE.fullmatch(namespace):
        raise ValueError("namespace must be 1-64 characters from A-Z a-z 0-9 _ . : -")
    return namespace


def key_name(namespace: str, key: CacheKey) -> str:
    source, kind, value, resource, token_type = key
    digest = hashlib.sha256("\0".join((value, resource, token_type)).encode()).hexdigest()
    return f"{namespace}:v{_FORMAT}:{source}:{kind}:{digest}"


def redact_url(url: str) -> str:
    """``scheme://host:port/db`` without user name or password, for reprs and logs."""
    parts = urllib.parse.urlsplit(url)
    host = parts.hostname or ""
    host = f"[{host}]" if ":" in host else host
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}{parts.path}"


def encode_entry(entry: CacheEntry) -> bytes:
    r = entry.result
    fields = {
        "f": _FORMAT,
        "access_token": r.access_token,
        "token_type": r.token_type,
        "expires_on": r.expires_on,
        "refresh_on": r.refresh_on,
        "resource": r.resource,
        "managed_identity_source": r.managed_identity_source.value,
        "correlation_id": r.correlation_id,
        "serve_until": entry.serve_until,
        "refresh_at": entry.refresh_at,
    }
    return json.dumps(fields, separators=(",", ":")).encode()


def decode_entry(raw: bytes) -> CacheEntry | None:
    """The entry in ``raw``, or None if it is not one we wrote (treated as a miss)."""
    try:
        d = json.loads(raw)
        if d.get("f") != _FORMAT:
            return None
        result = AccessTokenResult(
            access_token=str(d["access_token"]),
            token_type=str(d["token_type"]),
            expires_on=int(d["expires_on"]),
            refresh_on=None if d["refresh_on"] is None else int(d["refresh_on"]),
            resource=str(d["resource"]),
            token_source=TokenSource.CACHE,
            managed_identity_source=ManagedIdentitySourceKind(d["managed_identity_source"]),
            correlation_id=str(d["correlation_id"]),
        )
        return CacheEntry(result, float(d["serve_until"]), float(d["refresh_at"]))
    except (ValueError, TypeError, KeyError, AttributeError):
        return None


class RedisStore:
    """Blocking Redis commands for one namespace.  Thread-safe (redis-py's pool is)."""

    def __init__(self, client: redis.Redis, namespace: str, lock_ms: int) -> None:
        self._client = client
        self._namespace = namespace
        self._lock_ms = lock_ms
        self._release: Any = client.register_script(_RELEASE)

    def name(self, key: CacheKey) -> str:
        return key_name(self._namespace, key)

    def get(self, key: CacheKey) -> bytes | None:
        value = self._client.get(self.name(key))
        return (
            value if value is None else bytes(value, "utf-8") if isinstance(value, str) else value
        )

    def put(self, key: CacheKey, value: bytes, ttl_ms: int) -> None:
        self._client.set(self.name(key), value, px=ttl_ms)

    def try_lock(self, key: CacheKey) -> str | None:
        """Take the fetch lock for ``key`` (``SET NX PX``); its random token, or None."""
        token = secrets.token_hex(16)
        taken = self._client.set(self.name(key) + ":lock", token, nx=True, px=self._lock_ms)
        return token if taken else None

    def release(self, key: CacheKey, token: str) -> None:
        self._release(keys=[self.name(key) + ":lock"], args=[token])

    def close(self) -> None:
        self._client.close()
