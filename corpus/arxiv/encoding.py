"""Decode one source file: UTF-8 first, then a detected legacy encoding, always recorded.

arXiv sources predate UTF-8 as TeX's default: latin-1/cp1252 (accents, curly quotes pasted from
Word), cp1251/KOI8-R (Russian comments) and the classic Mac CR-only line end are all common.
We decode strictly as UTF-8 (a BOM is dropped), else ask faust-cchardet and accept its answer
only from a list of encodings real TeX sources use; otherwise cp1252 (a superset of latin-1's
printable range). Non-UTF-8 decoding uses `errors="replace"` and the number of replaced bytes
is reported, so nothing vanishes silently (FIELD-NOTES 4, "Encoding").
"""

from __future__ import annotations

import codecs
from dataclasses import dataclass

import cchardet

# cchardet name -> Python codec, for encodings seen in TeX sources.
ACCEPTED = {
    "WINDOWS-1252": "cp1252",
    "ISO-8859-1": "cp1252",  # cp1252 decodes the same printable bytes and also 0x80-0x9f
    "ISO-8859-15": "iso8859-15",
    "WINDOWS-1251": "cp1251",
    "KOI8-R": "koi8-r",
    "ISO-8859-5": "iso8859-5",
    "IBM866": "cp866",
    "MAC-CYRILLIC": "mac-cyrillic",
    "SHIFT_JIS": "shift_jis",
    "EUC-JP": "euc_jp",
    "GB18030": "gb18030",
    "BIG5": "big5",
    "EUC-KR": "euc_kr",
    "EUC-TW": "big5",
}
MIN_CONFIDENCE = 0.5
FALLBACK = "cp1252"


@dataclass(frozen=True)
class Decoded:
    text: str
    encoding: str
    replaced: int  # characters that could not be decoded (U+FFFD inserted)


def decode(data: bytes) -> Decoded:
    """Bytes -> text with normalised line ends (CRLF and CR-only become LF)."""
    encoding = "utf-8"
    if data.startswith(codecs.BOM_UTF8):
        data, encoding = data[len(codecs.BOM_UTF8) :], "utf-8-sig"
    elif data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        text = data.decode("utf-16", errors="replace")
        return Decoded(normalize_newlines(text), "utf-16", text.count("\ufffd"))
    try:
        text = data.decode("utf-8")
        return Decoded(normalize_newlines(text), encoding, 0)
    except UnicodeDecodeError:
        pass
    guess = cchardet.detect(data)
    name = str(guess.get("encoding") or "").upper()
    codec = ACCEPTED.get(name) if (guess.get("confidence") or 0) >= MIN_CONFIDENCE else None
    codec = codec or FALLBACK
    text = data.decode(codec, errors="replace")
    return Decoded(normalize_newlines(text), codec, text.count("\ufffd"))


def normalize_newlines(text: str) -> str:
    if "\r" not in text:
        return text
    return text.replace("\r\n", "\n").replace("\r", "\n")
