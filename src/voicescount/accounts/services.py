"""Services that change accounts: API tokens."""

from __future__ import annotations

import hashlib
import hmac
import secrets

from django.utils import timezone

from voicescount.accounts.models import ApiToken

TOKEN_PREFIX = "vc_"


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def create_api_token(user, name: str) -> tuple[ApiToken, str]:
    """Create a token for ``user``; returns the record and the secret, which is never stored."""
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(user=user, name=name, prefix=secret[:10], key_hash=_hash(secret))
    return token, secret


def user_for_api_token(secret: str):
    """The active user a token belongs to, or None; records when it was last used."""
    if not secret or not secret.startswith(TOKEN_PREFIX) or len(secret) > 200:
        return None
    digest = _hash(secret)
    token = (
        ApiToken.objects.select_related("user")
        .filter(key_hash=digest, revoked=False, user__is_active=True)
        .first()
    )
    if token is None or not hmac.compare_digest(token.key_hash, digest):
        return None
    ApiToken.objects.filter(pk=token.pk).update(last_used=timezone.now())
    return token.user
