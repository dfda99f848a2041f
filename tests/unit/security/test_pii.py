"""Personal data encryption: MultiFernet round trip, rotation to a new key, a dropped key detected."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from config import Settings
from pipeline.security.keyring import KeyProblem
from pipeline.security.pii import Pii, UndecryptablePii

OLD, NEW = Fernet.generate_key().decode(), Fernet.generate_key().decode()


def pii(tmp_path: Path, keys: str | None) -> Pii:
    return Pii(Settings(encryption_keys=keys, data_dir=tmp_path))


def test_values_are_stored_encrypted_and_read_back(tmp_path: Path):
    cipher = pii(tmp_path, OLD)
    sealed = cipher.protect("dana@fund.example")
    assert sealed is not None
    assert "dana" not in sealed
    assert "fund.example" not in sealed
    assert cipher.protect("dana@fund.example") != sealed  # a fresh IV each time
    assert cipher.reveal(sealed) == "dana@fund.example"
    assert cipher.protect(None) is None
    assert cipher.reveal(None) is None


def test_rotation_round_trip(tmp_path: Path):
    sealed = pii(tmp_path, OLD).protect("+14155550123")
    both = pii(tmp_path, f"{NEW},{OLD}")
    assert both.reveal(sealed) == "+14155550123"  # old rows still read after a new key goes first
    rotated = both.rotate(sealed)
    assert pii(tmp_path, NEW).reveal(rotated) == "+14155550123"  # the old key can now go
    with pytest.raises(UndecryptablePii):
        pii(tmp_path, OLD).reveal(rotated)
    with pytest.raises(UndecryptablePii):
        pii(tmp_path, NEW).reveal(sealed)


def test_bad_key_settings_are_refused_with_a_reason(tmp_path: Path):
    with pytest.raises(KeyProblem, match="not a Fernet key"):
        pii(tmp_path, "not-a-key")
    with pytest.raises(KeyProblem, match="no key"):
        pii(tmp_path, " , ")


def test_without_keys_one_is_generated_once_under_the_data_dir(tmp_path: Path):
    first = pii(tmp_path, None)
    sealed = first.protect("Dana")
    assert pii(tmp_path, None).reveal(sealed) == "Dana"
    assert (tmp_path / "secrets" / "encryption-key").stat().st_mode & 0o077 == 0
