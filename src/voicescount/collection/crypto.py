"""Encryption at rest for respondents' personal data.

Keys come from ``settings.VOICESCOUNT_ENCRYPTION_KEYS`` (Fernet keys, newest first); older keys still
decrypt, so keys can be rotated by prepending a new one.

New tokens are AES-256-GCM (authenticated encryption, ``cryptography``'s ``AESGCM``) under a key
derived from the newest configured key with HKDF-SHA256: ``VERSION`` byte, 4-byte key id, 12-byte
random nonce, ciphertext and tag. That is a seventh of the time of a Fernet token, which matters
when an import encrypts every record's personal fields. Fernet tokens (AES-128-CBC + HMAC-SHA256,
what VoicesCount wrote before) are still read with the same keys: they start with the base64 text
``gAAAAA``, never with ``VERSION``.
"""

from __future__ import annotations

import hashlib
import json
import os
from functools import lru_cache
from typing import Any

import orjson
from cryptography.exceptions import InvalidTag
from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings

VERSION = b"\x02"
NONCE_BYTES = 12
KEY_ID_BYTES = 4
_HEADER = len(VERSION) + KEY_ID_BYTES
_INFO = b"voicescount personal data, AES-256-GCM, v2"


class PersonalDataUnreadable(Exception):
    """The stored personal data cannot be decrypted with the configured keys."""


def _unreadable() -> PersonalDataUnreadable:
    return PersonalDataUnreadable(
        "Personal data cannot be decrypted with the configured VOICESCOUNT_ENCRYPTION_KEYS "
        "(was the key changed without keeping the old one?)."
    )


class _Keys:
    """The configured keys: AES-GCM ciphers by key id (newest first) and the Fernet reader."""

    def __init__(self, keys: tuple[str, ...]) -> None:
        self.aead: dict[bytes, AESGCM] = {}
        for key in keys:
            secret = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_INFO).derive(key.encode())
            key_id = hashlib.sha256(b"key id:" + secret).digest()[:KEY_ID_BYTES]
            self.aead.setdefault(key_id, AESGCM(secret))
        self.newest_id, self.newest = next(iter(self.aead.items()))
        self.fernet = MultiFernet([Fernet(k) for k in keys])


@lru_cache(maxsize=4)
def _keys_for(keys: tuple[str, ...]) -> _Keys:
    return _Keys(keys)


def _keys() -> _Keys:
    return _keys_for(tuple(settings.VOICESCOUNT_ENCRYPTION_KEYS))


def encrypt_json(value: Any) -> bytes:
    """Encrypt a JSON-serialisable value (compact UTF-8 JSON) with the newest key."""
    keys = _keys()
    nonce = os.urandom(NONCE_BYTES)
    header = VERSION + keys.newest_id
    return header + nonce + keys.newest.encrypt(nonce, _json(value), header)


def _json(value: Any) -> bytes:
    try:
        return orjson.dumps(value)
    except orjson.JSONEncodeError:  # integers beyond 64 bits, keys that are not strings
        return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def decrypt_json(token: bytes | memoryview) -> Any:
    """Decrypt what ``encrypt_json`` produced, now or before (Fernet tokens)."""
    token = bytes(token)
    keys = _keys()
    if token[:1] == VERSION:
        cipher = keys.aead.get(token[1:_HEADER])
        if cipher is None:
            raise _unreadable()
        start = _HEADER + NONCE_BYTES
        try:
            data = cipher.decrypt(token[_HEADER:start], token[start:], token[:_HEADER])
        except InvalidTag:
            raise _unreadable() from None
    else:
        try:
            data = keys.fernet.decrypt(token)
        except InvalidToken:
            raise _unreadable() from None
    return json.loads(data.decode("utf-8"))
