"""Bencoding (BEP 3), decoding only: enough for a .torrent file and an extension handshake.

``bdecode_info_span`` also returns where the top-level ``info`` value lies in the input, since the
info-hash is the SHA-1 of exactly those bytes.
"""

from __future__ import annotations


class BencodeError(ValueError):
    pass


def _decode(b: bytes, i: int, spans: dict | None, depth: int = 0):
    if depth > 64:
        raise BencodeError("nested too deeply")
    if i >= len(b):
        raise BencodeError("unexpected end of data")
    c = b[i]
    if c == 0x69:  # i<int>e
        j = b.index(b"e", i)
        try:
            return int(b[i + 1:j]), j + 1
        except ValueError:
            raise BencodeError(f"bad integer at byte {i}") from None
    if c == 0x6C:  # l...e
        out, i = [], i + 1
        while i < len(b) and b[i] != 0x65:
            v, i = _decode(b, i, None, depth + 1)
            out.append(v)
        if i >= len(b):
            raise BencodeError("unterminated list")
        return out, i + 1
    if c == 0x64:  # d...e
        d, i = {}, i + 1
        while i < len(b) and b[i] != 0x65:
            k, i = _decode(b, i, None, depth + 1)
            if not isinstance(k, bytes):
                raise BencodeError(f"dictionary key at byte {i} is not a string")
            start = i
            v, i = _decode(b, i, None, depth + 1)
            if spans is not None and depth == 0:
                spans[k] = (start, i)
            d[k] = v
        if i >= len(b):
            raise BencodeError("unterminated dictionary")
        return d, i + 1
    if 0x30 <= c <= 0x39:
        j = b.index(b":", i)
        n = int(b[i:j])
        if j + 1 + n > len(b):
            raise BencodeError("string runs past the end of data")
        return bytes(b[j + 1:j + 1 + n]), j + 1 + n
    raise BencodeError(f"unexpected byte {c:#x} at {i}")


def bdecode(b: bytes):
    try:
        v, _ = _decode(bytes(b), 0, None)
    except (ValueError, IndexError) as e:
        raise BencodeError(str(e)) from None
    return v


def bdecode_info_span(b: bytes):
    spans: dict = {}
    try:
        v, end = _decode(b, 0, spans)
    except (ValueError, IndexError) as e:
        raise BencodeError(str(e)) from None
    return v, spans.get(b"info")
