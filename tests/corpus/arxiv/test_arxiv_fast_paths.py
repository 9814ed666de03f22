"""The fast paths of the arXiv extractor give what their plain definitions give.

The tokenizer, `join_tokens`, `balanced_group` and the converter's blank-line clean-up were
rewritten for speed (bench/RESULTS.md, issue 19). Each is checked here against the simple
definition it replaced, on every TeX file of ../shared/data/arxiv-src and on edge cases where
a shortcut could go wrong (escaped backslashes before `\\verb`, markers, non-ASCII letters).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from sciloom.corpus.arxiv.archive import FailedSubmission, iter_submissions
from sciloom.corpus.arxiv.bibliography import balanced_group
from sciloom.corpus.arxiv.comments import comment_start
from sciloom.corpus.arxiv.config import ArxivConfig
from sciloom.corpus.arxiv.includes import Includer, SourceTree, cut_after_end_document
from sciloom.corpus.arxiv.latex_text import LatexToText
from sciloom.corpus.arxiv.macros import CONTROL_WORD, MARK, TOKEN, Expander, join_tokens, tokenize
from sciloom.corpus.arxiv.main_file import choose_main_file
from sciloom.corpus.errors import InputError

CONFIG = ArxivConfig()


def reference_tokens(text: str) -> list[str]:
    """The definition: every match of TOKEN, in order."""
    return [m.group(0) for m in TOKEN.finditer(text)]


def reference_join(tokens: list[str]) -> str:
    """The definition: markers and empty tokens skipped, a blank between a control word and a letter
    or `@` (which would otherwise read back as part of it)."""
    out: list[str] = []
    prev_word = False
    for tok in tokens:
        if not tok or tok[0] == MARK:
            continue
        if prev_word and (tok[0].isalpha() or tok[0] == "@"):
            out.append(" ")
        out.append(tok)
        prev_word = CONTROL_WORD.fullmatch(tok) is not None
    return "".join(out)


def reference_group(text: str, start: int) -> tuple[str, int]:
    """The definition: count braces not preceded by a backslash."""
    depth = 0
    for i in range(start, len(text)):
        c = text[i]
        if c == "{" and (i == 0 or text[i - 1] != "\\"):
            depth += 1
        elif c == "}" and text[i - 1] != "\\":
            depth -= 1
            if depth == 0:
                return text[start + 1 : i], i + 1
    return text[start + 1 :], len(text)


def reference_comment_start(line: str) -> int:
    """The definition: scan from the start; a backslash escapes the next character, `\\verb|..|`
    and `\\url{..}`-like arguments hide their `%`."""
    i, n = 0, len(line)
    while i < n:
        c = line[i]
        if c == "\\":
            if line.startswith("verb", i + 1) and i + 5 < n and not line[i + 5].isalpha():
                j = i + 5 + (line[i + 5] == "*")
                if j < n:
                    end = line.find(line[j], j + 1)
                    i = n if end < 0 else end + 1
                    continue
            for cmd in ("url{", "href{", "path{"):
                if line.startswith(cmd, i + 1):
                    end = line.find("}", i + 1 + len(cmd))
                    i = n if end < 0 else end + 1
                    break
            else:
                i += 2
            continue
        if c == "%":
            return i
        i += 1
    return -1


@pytest.fixture(scope="module")
def tex_sources(shared_data: Path) -> dict[str, str]:
    """Decoded text of every TeX-like file in every readable submission of arxiv-src."""
    texts: dict[str, str] = {}
    root = shared_data / "arxiv-src"
    for path in sorted(p for d in ("good", "bad", "papers") for p in (root / d).iterdir()):
        if path.suffix in (".json", ".md"):
            continue
        for item in iter_submissions(str(path), CONFIG):
            if isinstance(item, FailedSubmission):
                continue
            tree = SourceTree(item.files)
            for name, data in item.files.items():
                if data is not None and name.lower().endswith((".tex", ".sty", ".bbl", ".cls", ".ltx")):
                    texts[f"{path.name}::{name}"] = tree.decoded(name) or ""
    assert len(texts) > 60, "the shared arXiv sources should hold dozens of TeX files"
    return texts


def test_tokenize_equals_the_token_regex_on_every_shared_tex_file(tex_sources: dict[str, str]) -> None:
    verbatim_files = 0
    for name, text in tex_sources.items():
        assert tokenize(text) == reference_tokens(text), name
        verbatim_files += any(
            t.startswith(("\\verb", "\\begin{verbatim", "\\lstinline")) for t in tokenize(text)
        )
    assert verbatim_files >= 2, "the real files should exercise the verbatim path"


@pytest.mark.parametrize(
    "text",
    [
        "a\\verb+b c+ d",
        "\\\\verb|x|",  # a line break, then the word `verb|x|`
        "\\\\\\verb|x| y",  # a line break, then a real \verb
        "x\\\\\\\\begin{verbatim}q % not a comment\n\\end{verbatim}z",
        "\\begin {verbatim*} a{ \\end {verbatim*} b",
        "\\begin{verbatim} never closed",
        "\\verb",
        "\\verbatim \\lstinline!a{! \\lstinline{x}",
        "\\begin{lstlisting}\\end{minted}\\end{lstlisting}",
        "é\\fooé \\\\ \\% {#1} [x] \t\n\n end\\",
        "",
    ],
)
def test_tokenize_equals_the_token_regex_on_edge_cases(text: str) -> None:
    assert tokenize(text) == reference_tokens(text)


def test_join_tokens_equals_its_definition_on_expanded_shared_papers(shared_data: Path) -> None:
    """The token lists the extractor joins: each main file expanded with its includes and macros."""
    root = shared_data / "arxiv-src"
    glued = papers = 0
    for path in sorted(p for d in ("good", "papers") for p in (root / d).iterdir()):
        for item in iter_submissions(str(path), CONFIG):
            if isinstance(item, FailedSubmission):
                continue
            tree = SourceTree(item.files)
            try:
                main = choose_main_file(tree).path
            except InputError:
                continue
            expander = Expander(CONFIG.max_macro_expansions)
            Includer(tree, main, CONFIG.max_include_depth).install(expander)
            tokens = expander.expand(tokenize(cut_after_end_document(tree.clean(main) or "")))
            joined = join_tokens(tokens)
            assert joined == reference_join(tokens), path.name
            glued += len(joined) - len("".join(t for t in tokens if t and t[0] != MARK))
            papers += 1
    assert papers >= 15
    assert glued > 0, "some expanded control word should be followed by a letter"


@pytest.mark.parametrize(
    "tokens, text",
    [
        (["\\foo", "bar"], "\\foo bar"),
        (["\\foo", MARK + "eof", "bar"], "\\foo bar"),  # a marker does not separate
        (["\\foo", "", "é"], "\\foo é"),  # nor an empty token; non-ASCII letters count
        (["\\fo@", "x"], "\\fo@ x"),  # `\fo@x` would read back as one control word
        (["\\@", "x"], "\\@ x"),
        (["\\foo", "@x"], "\\foo @x"),
        (["\\,", "x"], "\\,x"),
        (["\\foo", "1"], "\\foo1"),
        (["\\foo", "²"], "\\foo²"),  # a digit-like letter-ish character is not alphabetic
        (["\\foo", "\\bar", "x", "\\baz"], "\\foo\\bar x\\baz"),
        ([], ""),
    ],
)
def test_join_tokens_separates_a_control_word_from_a_following_letter(tokens: list[str], text: str) -> None:
    assert join_tokens(tokens) == text == reference_join(tokens)


def test_balanced_group_equals_its_definition_at_every_brace(tex_sources: dict[str, str]) -> None:
    checked = 0
    for name, text in list(tex_sources.items())[:20]:
        for start in [i for i, c in enumerate(text) if c == "{"][:400]:
            assert balanced_group(text, start) == reference_group(text, start), (name, start)
            checked += 1
    for text in ("{\\{}", "{\\}}", "{a\\\\}b}", "{{", "{a}}", "\\\\{a}", "x{a{b}c}"):
        for start in [i for i, c in enumerate(text) if c == "{"]:
            assert balanced_group(text, start) == reference_group(text, start), (text, start)
    assert checked > 2000


def test_convert_drops_blanks_before_newlines_and_squeezes_blank_lines() -> None:
    text = LatexToText().convert("one  \t\n\n\n\ntwo \nthree\t\n\n\nfour  ").text
    assert text == "one\n\ntwo\nthree\n\nfour\n"


def test_comment_start_equals_its_definition_on_every_shared_line(tex_sources: dict[str, str]) -> None:
    lines = [line for text in tex_sources.values() for line in text.split("\n") if "%" in line]
    assert len(lines) > 1000
    for line in lines:
        assert comment_start(line) == reference_comment_start(line), line
    for line in ("50\\% of cases% c", "a\\\\% c", "\\url{x%y} % c", "\\verb|%| % c", "%", "a % b", "\\"):
        assert comment_start(line) == reference_comment_start(line), line
