"""Secrets at rest: Fernet (AES-128-CBC + HMAC-SHA256) with rotating keys.

``FIELD_ENCRYPTION_KEYS`` lists keys, newest first (comma-separated, each a Fernet key from
``python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'``).
The first encrypts; all decrypt, so a key is rotated by putting a new one in front and running
``manage.py reencrypt_secrets`` later. Without the setting (development, tests) a key is derived
from SECRET_KEY; production requires the setting.
"""

from __future__ import annotations

import base64
import hashlib

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


def _fernet() -> MultiFernet:
    keys = list(getattr(settings, "FIELD_ENCRYPTION_KEYS", []) or [])
    if not keys:
        if not settings.DEBUG and getattr(settings, "REQUIRE_FIELD_ENCRYPTION_KEYS", False):
            raise ImproperlyConfigured("Set FIELD_ENCRYPTION_KEYS (see agency/crypto.py).")
        digest = hashlib.sha256(f"field-encryption:{settings.SECRET_KEY}".encode()).digest()
        keys = [base64.urlsafe_b64encode(digest).decode()]
    return MultiFernet([Fernet(key.encode() if isinstance(key, str) else key) for key in keys])


def encrypt(plaintext: str) -> str:
    return _fernet().encrypt(plaintext.encode()).decode()


def decrypt(token: str) -> str:
    """The plaintext, or ValueError when the key that encrypted it is gone or it was altered."""
    try:
        return _fernet().decrypt(token.encode()).decode()
    except InvalidToken:
        raise ValueError("This secret cannot be read with the configured keys. Enter it again, "
                         "or add the old key back to FIELD_ENCRYPTION_KEYS.") from None


def rotate(token: str) -> str:
    """Re-encrypt ``token`` with the newest key."""
    return _fernet().rotate(token.encode()).decode()


def hint(plaintext: str) -> str:
    """What may be shown of a secret: its last four characters."""
    return "…" + plaintext[-4:] if len(plaintext) > 8 else "…"
