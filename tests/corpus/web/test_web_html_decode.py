"""Charset from BOM / header / meta, cchardet fallback; binary and non-HTML inputs are refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from sciloom.corpus.errors import InputError
from sciloom.corpus.web.html_decode import BINARY_CONTENT, NOT_HTML, decode_html

SAMPLE = Path(__file__).resolve().parents[3] / "corpus" / "sample" / "web"


def test_latin1_page_decoded_by_its_meta_charset() -> None:
    data = (SAMPLE / "iso8859_derivees.html").read_bytes()
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")
    page = decode_html(data)
    assert page.evidence == "meta"
    assert page.encoding == "cp1252"  # browsers read a declared latin-1 as windows-1252
    assert "Dérivée" in page.text and "coûte" in page.text and page.replaced == 0


def test_real_latin1_forum_page_decodes_cleanly(web_math: Path) -> None:
    page = decode_html((web_math / "pages" / "math_mathhelpforum_1.html").read_bytes())
    assert page.evidence == "meta" and "\ufffd" not in page.text


def test_http_header_charset_wins_over_meta() -> None:
    html = '<html><head><meta charset="utf-8"></head><body><p>caf\xe9</p></body></html>'.encode("latin-1")
    page = decode_html(html, content_type="text/html; charset=ISO-8859-1")
    assert page.evidence == "header" and "café" in page.text


def test_utf8_bom_is_honoured() -> None:
    page = decode_html(b"\xef\xbb\xbf<html><body><p>\xc3\xa9t\xc3\xa9</p></body></html>")
    assert page.evidence == "bom" and "été" in page.text and not page.text.startswith("\ufeff")


def test_undeclared_non_utf8_falls_back_to_detection() -> None:
    text = "<html><body><p>" + "Привет, мир! Это тестовая страница. " * 20 + "</p></body></html>"
    page = decode_html(text.encode("cp1251"))
    assert page.evidence == "detected" and "Привет" in page.text


@pytest.mark.parametrize(
    "data",
    [
        b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj",
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR",
        b"\x00\x01\x02\x03" * 50,
    ],
)
def test_binary_file_named_html_is_binary_content(data: bytes) -> None:
    with pytest.raises(InputError) as err:
        decode_html(data, path="x.html")
    assert err.value.reason == BINARY_CONTENT


def test_text_without_markup_is_not_html() -> None:
    with pytest.raises(InputError) as err:
        decode_html(b"just some plain text, no tags at all\n" * 10)
    assert err.value.reason == NOT_HTML
    with pytest.raises(InputError) as err:
        decode_html(b"   \n")
    assert err.value.reason == NOT_HTML
