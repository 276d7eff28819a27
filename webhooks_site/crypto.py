"""Secrets at rest: a Fernet-encrypted text field keyed by FIELD_ENCRYPTION_KEY.

Small enough to own rather than pull in a package whose key derivation we would have to
audit. FIELD_ENCRYPTION_KEY may hold several comma-separated Fernet keys: the first encrypts,
all of them decrypt, so an operator can rotate keys without a data migration.
"""

from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import models


@lru_cache(maxsize=4)
def _fernet(key_setting: str) -> MultiFernet:
    try:
        return MultiFernet([Fernet(k.strip()) for k in key_setting.split(",") if k.strip()])
    except (ValueError, TypeError) as exc:
        raise ImproperlyConfigured(
            "FIELD_ENCRYPTION_KEY must be one or more comma-separated Fernet keys "
            "(make one with: python -c 'from cryptography.fernet import Fernet; "
            "print(Fernet.generate_key().decode())')"
        ) from exc


def encrypt(plaintext: str) -> str:
    return _fernet(settings.FIELD_ENCRYPTION_KEY).encrypt(plaintext.encode()).decode()


def decrypt(token: str) -> str:
    try:
        return _fernet(settings.FIELD_ENCRYPTION_KEY).decrypt(token.encode()).decode()
    except InvalidToken as exc:
        raise ImproperlyConfigured(
            "A stored secret cannot be decrypted: FIELD_ENCRYPTION_KEY is not the key it was "
            "written with."
        ) from exc


# Below this length a secret's last characters would give away too much of it (all of it,
# for a 4-character password): it is shown as bullets only.
MIN_LENGTH_TO_SHOW_A_TAIL = 16


def mask(secret: str, visible: int = 4) -> str:
    """What a page shows of a secret: its prefix (up to the first '_') and the last characters,
    enough to tell two keys apart; nothing of a short one."""
    if not secret:
        return ""
    if len(secret) < MIN_LENGTH_TO_SHOW_A_TAIL:
        return "•" * 12
    prefix = secret.split("_", 1)[0] + "_" if "_" in secret[:8] else ""
    return f"{prefix}{'•' * 12}{secret[-visible:]}"


class EncryptedTextField(models.TextField):
    """Stores Fernet ciphertext; Python code only ever sees the plaintext."""

    def from_db_value(self, value, expression, connection):
        if value is None or value == "":
            return value
        return decrypt(value)

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        if value is None or value == "":
            return value
        return encrypt(value)
