"""Encryption at rest for respondents' personal data (Fernet: AES-128-CBC + HMAC-SHA256).

Keys come from ``settings.VOICESCOUNT_ENCRYPTION_KEYS`` (newest first); older keys still decrypt,
so keys can be rotated by prepending a new one.
"""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any

from cryptography.fernet import InvalidToken, MultiFernet
from django.conf import settings


class PersonalDataUnreadable(Exception):
    """The stored personal data cannot be decrypted with the configured keys."""


@lru_cache(maxsize=4)
def _cipher(keys: tuple[str, ...]) -> MultiFernet:
    from cryptography.fernet import Fernet

    return MultiFernet([Fernet(k) for k in keys])


def cipher() -> MultiFernet:
    return _cipher(tuple(settings.VOICESCOUNT_ENCRYPTION_KEYS))


_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))  # one, not one per value


def encrypt_json(value: Any) -> bytes:
    """Encrypt a JSON-serialisable value."""
    return cipher().encrypt(_ENCODER.encode(value).encode("utf-8"))


def decrypt_json(token: bytes | memoryview) -> Any:
    """Decrypt what ``encrypt_json`` produced."""
    try:
        return json.loads(cipher().decrypt(bytes(token)).decode("utf-8"))
    except InvalidToken:
        raise PersonalDataUnreadable(
            "Personal data cannot be decrypted with the configured VOICESCOUNT_ENCRYPTION_KEYS "
            "(was the key changed without keeping the old one?)."
        ) from None
