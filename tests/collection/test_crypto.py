"""Personal data at rest: AES-256-GCM tokens, Fernet tokens written before still read, key rotation."""

import json

import pytest
from cryptography.fernet import Fernet

from voicescount.collection.crypto import VERSION, PersonalDataUnreadable, decrypt_json, encrypt_json

VALUE = {"values": {"respondent_name": "Nguyễn Văn Ân", "phone": "0901234567"}, "raw": {"n": [1, 2.5, None]}}


@pytest.fixture
def keys(settings):
    first, second = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.VOICESCOUNT_ENCRYPTION_KEYS = [first]
    return first, second


def test_round_trip_without_the_plaintext_in_the_token(keys):
    token = encrypt_json(VALUE)
    assert token.startswith(VERSION)
    assert decrypt_json(token) == VALUE
    assert decrypt_json(memoryview(token)) == VALUE  # as some database drivers return a BinaryField
    assert "Nguyễn".encode() not in token and b"0901234567" not in token
    assert encrypt_json(VALUE) != token  # a fresh nonce each time


def test_fernet_tokens_written_before_are_still_read(keys):
    old = Fernet(keys[0].encode()).encrypt(json.dumps(VALUE, ensure_ascii=False).encode())
    assert decrypt_json(old) == VALUE


def test_rotated_keys_read_what_older_keys_wrote(settings, keys):
    first, second = keys
    token = encrypt_json(VALUE)
    old = Fernet(first.encode()).encrypt(b'{"a": 1}')
    settings.VOICESCOUNT_ENCRYPTION_KEYS = [second, first]
    assert decrypt_json(token) == VALUE and decrypt_json(old) == {"a": 1}
    newer = encrypt_json(VALUE)
    assert newer[1:5] != token[1:5]  # written with the newest key, named by its id
    settings.VOICESCOUNT_ENCRYPTION_KEYS = [first]
    with pytest.raises(PersonalDataUnreadable, match="VOICESCOUNT_ENCRYPTION_KEYS"):
        decrypt_json(newer)


def test_a_changed_token_is_refused(keys):
    token = bytearray(encrypt_json(VALUE))
    token[-1] ^= 1
    with pytest.raises(PersonalDataUnreadable):
        decrypt_json(bytes(token))
    header = bytearray(encrypt_json(VALUE))
    header[20] ^= 1  # inside the ciphertext
    with pytest.raises(PersonalDataUnreadable):
        decrypt_json(bytes(header))
    with pytest.raises(PersonalDataUnreadable):
        decrypt_json(b"gAAAAA not a token")


def test_values_orjson_refuses_are_encrypted_too(keys):
    value = {"big": 2**70, 3: "key that is not a string"}
    assert decrypt_json(encrypt_json(value)) == {"big": 2**70, "3": "key that is not a string"}
