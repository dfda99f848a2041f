"""Personal data (fund managers' names, phones, emails) encrypted at rest with MultiFernet.

Values are stored as Fernet tokens; decrypting tries every configured key, so after a new key is put
first in ``PULSE_ENCRYPTION_KEYS`` old rows still read, and ``pulse keys rotate`` re-encrypts them
with the new key so the old one can be dropped.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache

from cryptography.fernet import InvalidToken, MultiFernet

from config import Settings, get_settings
from models.errors import PulseError
from pipeline.security import keyring


class UndecryptablePii(PulseError):
    """A stored value no configured key decrypts: a key was dropped before rotating."""


class Pii:
    def __init__(self, settings: Settings) -> None:
        self._cipher: MultiFernet = keyring.cipher(settings)

    def protect(self, value: str | None) -> str | None:
        return None if value is None else self._cipher.encrypt(value.encode()).decode()

    def reveal(self, token: str | None) -> str | None:
        return self._with_keys(self._cipher.decrypt, token)

    def rotate(self, token: str | None) -> str | None:
        """The same value under the newest key (a no-op for values already under it, but re-stamped)."""
        return self._with_keys(self._cipher.rotate, token)

    @staticmethod
    def _with_keys(operation: Callable[[bytes], bytes], token: str | None) -> str | None:
        if token is None:
            return None
        try:
            return operation(token.encode()).decode()
        except InvalidToken:
            raise UndecryptablePii(
                "a personal-data field cannot be decrypted with PULSE_ENCRYPTION_KEYS"
            ) from None


@lru_cache(maxsize=1)
def default() -> Pii:
    return Pii(get_settings())
