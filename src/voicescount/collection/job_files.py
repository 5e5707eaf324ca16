"""Uploaded exports kept encrypted until their import job runs (``collection/jobs.py``).

An upload is imported by a background worker, maybe minutes later, maybe after the web process that
received it has gone: it must outlive the request, so it cannot stay in the unnamed temporary file
the upload page streams it into (``uploads``). It is written, encrypted, to
``DATA_DIR/jobs/<job>.upload`` (the directory 0700, the file 0600) and deleted when the job ends;
the worker decrypts it into an unnamed temporary file again, so plaintext never has a name on disk.

Format: ``MAGIC``, the length and the token of a fresh 256-bit file key wrapped by the configured
personal-data keys (``crypto.encrypt_json``: AES-256-GCM under the newest of
``VOICESCOUNT_ENCRYPTION_KEYS``), then blocks of at most ``BLOCK`` plaintext bytes, each its
ciphertext length and the AES-256-GCM ciphertext under the file key. A block's nonce is its number
(a key encrypts one file only) and its associated data the number and whether it is the last block,
so that blocks cannot be reordered, dropped or the file cut short without the decryption failing.
"""

from __future__ import annotations

import os
import struct
from pathlib import Path
from typing import BinaryIO

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings

from voicescount.collection.crypto import PersonalDataUnreadable, decrypt_json, encrypt_json
from voicescount.collection.errors import ImportFileError

MAGIC = b"VCJOB\x01"
BLOCK = 1 << 20
_LENGTH = struct.Struct(">I")


def jobs_dir() -> Path:
    """``DATA_DIR/jobs`` (created 0700): the encrypted uploads and the progress of running jobs."""
    directory = Path(settings.DATA_DIR) / "jobs"
    directory.mkdir(mode=0o700, exist_ok=True)
    os.chmod(directory, 0o700)
    return directory


def _aad(number: int, last: bool) -> bytes:
    return struct.pack(">Q?", number, last)


def _nonce(number: int) -> bytes:
    return number.to_bytes(12, "big")


def write_encrypted(source: BinaryIO, path: Path) -> int:
    """Encrypt ``source`` (read from where it is to its end) into a new file ``path`` (0600); the
    number of plaintext bytes. A file already at ``path`` is an error (``FileExistsError``)."""
    key = AESGCM.generate_key(bit_length=256)
    wrapped = encrypt_json(key.hex())
    cipher = AESGCM(key)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    total = 0
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(MAGIC + _LENGTH.pack(len(wrapped)) + wrapped)
            number = 0
            block = source.read(BLOCK)
            while True:
                following = source.read(BLOCK) if len(block) == BLOCK else b""
                last = not following
                sealed = cipher.encrypt(_nonce(number), block, _aad(number, last))
                out.write(_LENGTH.pack(len(sealed)) + sealed)
                total += len(block)
                if last:
                    break
                block, number = following, number + 1
            out.flush()
            os.fsync(out.fileno())
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return total


def _unreadable(path: Path) -> ImportFileError:
    return ImportFileError(
        "The uploaded file kept for this job cannot be decrypted (damaged, or the encryption keys "
        "changed since it was uploaded); upload it again.",
        file=path.name,
    )


def _read_exactly(file: BinaryIO, size: int, path: Path) -> bytes:
    data = file.read(size)
    if len(data) != size:
        raise _unreadable(path)
    return data


def decrypt_into(path: Path, out: BinaryIO) -> int:
    """Decrypt the file ``write_encrypted`` wrote at ``path`` into ``out``; the number of bytes.
    Raises ``ImportFileError`` when it is damaged, cut short or was encrypted with other keys."""
    total = 0
    with open(path, "rb") as file:
        if file.read(len(MAGIC)) != MAGIC:
            raise _unreadable(path)
        (length,) = _LENGTH.unpack(_read_exactly(file, _LENGTH.size, path))
        try:
            cipher = AESGCM(bytes.fromhex(decrypt_json(_read_exactly(file, length, path))))
        except (PersonalDataUnreadable, ValueError, TypeError):
            raise _unreadable(path) from None
        number = 0
        while True:
            head = file.read(_LENGTH.size)
            if len(head) != _LENGTH.size:
                raise _unreadable(path)  # the last block never came
            sealed = _read_exactly(file, _LENGTH.unpack(head)[0], path)
            last = file.peek(1)[:1] == b"" if hasattr(file, "peek") else False
            try:
                block = cipher.decrypt(_nonce(number), sealed, _aad(number, last))
            except InvalidTag:
                raise _unreadable(path) from None
            out.write(block)
            total += len(block)
            if last:
                return total
            number += 1
