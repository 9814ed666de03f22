"""Each extraction rule on small sources written for the test."""

from __future__ import annotations

import gzip
import io
import tarfile
import zipfile

import pytest

from sciloom.corpus.arxiv.archive import Submission, read_submission
from sciloom.corpus.arxiv.comments import conditional_switches, strip_comments, strip_conditionals
from sciloom.corpus.arxiv.config import ArxivConfig
from sciloom.corpus.arxiv.encoding import decode
from sciloom.corpus.arxiv.extractor import extract_submission
from sciloom.corpus.arxiv.includes import SourceTree
from sciloom.corpus.arxiv.latex_text import LatexToText
from sciloom.corpus.arxiv.macros import Expander, join_tokens, tokenize
from sciloom.corpus.arxiv.main_file import choose_main_file
from sciloom.corpus.errors import InputError, RecipeError

CONFIG = ArxivConfig()


def make_tar(members: dict[str, bytes], gz: bool = True, extra: list[tarfile.TarInfo] | None = None) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz" if gz else "w") as tf:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
        for info in extra or []:
            tf.addfile(info)
    return buf.getvalue()


def extract(members: dict[str, str], config: ArxivConfig = CONFIG) -> tuple[str, dict, dict]:
    sub = read_submission(
        make_tar({k: v.encode() for k, v in members.items()}), "x.tar.gz", None, "x.tar.gz", config
    )
    result = extract_submission(sub, config)
    return result.text, result.provenance, result.signals


def expand(src: str) -> str:
    return join_tokens(Expander(1000).expand(tokenize(src)))


DOC = "\\documentclass{article}\n{pre}\\begin{document}\n{body}\n\\end{document}\n"


def doc(body: str, pre: str = "") -> str:
    return DOC.replace("{pre}", pre).replace("{body}", body)


# -- comments ---------------------------------------------------------------------------------------
def test_percent_escaped_by_odd_backslashes_is_text() -> None:
    assert strip_comments("50\\% of cases% gone\n") == "50\\% of cases"
    assert strip_comments("a\\\\% comment\nb\n") == "a\\\\b\n"


def test_comment_joins_lines_like_tex() -> None:
    assert strip_comments("foo%\n   bar\n") == "foobar\n"
    assert strip_comments("para\n% whole line\n\nnext\n") == "para\n\nnext\n"


def test_verbatim_and_url_keep_their_percent() -> None:
    src = "\\begin{verbatim}\nx % y\n\\end{verbatim}\n\\url{a%20b} \\verb|c%d| % e\n"
    assert strip_comments(src) == "\\begin{verbatim}\nx % y\n\\end{verbatim}\n\\url{a%20b} \\verb|c%d| "


def test_comment_environment_is_removed() -> None:
    assert strip_comments("a\n\\begin{comment}\nsecret\n\\end{comment}\nb\n") == "a\nb\n"


def test_iffalse_else_and_newif_branches() -> None:
    src = "\\iffalse gone\\else kept\\fi \\iftrue yes\\else no\\fi \\iffalse \\iffalt \\fi after"
    assert " ".join(strip_conditionals(src).split()) == "kept yes after"
    src2 = "\\newif\\ifdraft\\drafttrue \\ifdraft draft\\else final\\fi"
    names, values = conditional_switches([src2])
    assert "draft" in strip_conditionals(src2, names, values) and "final" not in strip_conditionals(
        src2, names, values
    )


def test_unknown_conditionals_stay_and_nest() -> None:
    src = "\\iffalse \\ifx\\a\\b x\\fi gone \\fi \\ifx\\a\\b y\\else z\\fi"
    assert strip_conditionals(src).split() == ["\\ifx\\a\\b", "y\\else", "z\\fi"]


# -- macros -----------------------------------------------------------------------------------------
def test_macro_is_token_aware() -> None:
    assert (
        expand("\\newcommand{\\R}{\\mathbb{R}}$\\R \\Rightarrow \\R^n$")
        == "$\\mathbb{R} \\Rightarrow \\mathbb{R}^n$"
    )


def test_arguments_and_optional_default() -> None:
    src = "\\newcommand{\\ip}[2]{\\langle #1,#2\\rangle}\\newcommand\\cv[1][x]{\\mathcal{#1}}\\ip{a}{b} \\cv{} \\cv[z]{}"
    assert expand(src) == "\\langle a,b\\rangle \\mathcal{x}{} \\mathcal{z}{}"


def test_def_let_and_math_operator() -> None:
    src = "\\def\\pair#1#2{(#1,#2)}\\def\\dot#1.{[#1]}\\let\\P\\pair\\DeclareMathOperator*{\\amin}{arg\\,min}\\P12 \\dot ab. \\amin"
    assert expand(src) == "(1,2) [ab] \\operatorname*{arg\\,min}"


def test_nested_macros_and_macro_opening_an_environment() -> None:
    src = "\\newcommand{\\be}{\\begin{equation}}\\newcommand{\\ee}{\\end{equation}}\\newcommand\\Ah{A}\\newcommand\\Ahat{\\hat{\\Ah}}\\be\\Ahat\\ee"
    assert expand(src) == "\\begin{equation}\\hat{A}\\end{equation}"


def test_recursive_macro_stops_at_the_limit() -> None:
    ex = Expander(50)
    join_tokens(ex.expand(tokenize("\\def\\a{x\\a}\\a")))
    assert ex.limit_hit and ex.num_expansions == 50 and ex.num_unresolved >= 1


def test_sectioning_commands_are_never_redefined() -> None:
    assert expand("\\renewcommand{\\section}{\\@startsection{s}}\\section{Intro}") == "\\section{Intro}"


# -- main file, includes, encoding -------------------------------------------------------------------
def test_main_file_is_the_unincluded_document_with_hints() -> None:
    files = {
        "main.tex": doc("\\input{sections/intro}\\input{fig}"),
        "supplement.tex": doc("short"),
        "sections/intro.tex": "intro text",
        "fig.tex": "\\documentclass{standalone}\\begin{document}x\\end{document}",
        "old.tex": "%\\documentclass{article}\n%\\begin{document}\n",
    }
    choice = choose_main_file(SourceTree({k: v.encode() for k, v in files.items()}))
    assert choice.path == "main.tex"


def test_includes_are_recursive_with_missing_and_cycles_noted() -> None:
    text, prov, signals = extract(
        {
            "ms.tex": doc("\\input{a} \\include{b} \\input{gone}"),
            "a.tex": "Alpha text. \\input{sub/c}",
            "sub/c.tex": "Gamma text. \\input{a}",
            "b.tex": "Beta text.",
        }
    )
    assert "Alpha text. Gamma text." in text and "Beta text." in text
    assert prov["included_files"] == ["a.tex", "sub/c.tex", "b.tex"]
    assert prov["missing_includes"] == ["gone"] and prov["skipped_includes"] == ["a.tex"]
    assert signals["unresolved_includes"] == 2


def test_include_depth_limit() -> None:
    files = {"main.tex": doc("\\input{f0}")} | {
        f"f{i}.tex": f"level{i} \\input{{f{i + 1}}}" for i in range(10)
    }
    text, prov, _ = extract(files, ArxivConfig(max_include_depth=3))
    assert "level2" in text and "level5" not in text and prov["skipped_includes"]


def test_macros_from_an_included_preamble_and_a_shipped_sty() -> None:
    text, _, signals = extract(
        {
            "main.tex": "\\input{defs}\\usepackage{mine}\\begin{document}$\\V \\W$\\end{document}",
            "defs.tex": "\\documentclass{article}\\newcommand\\V{\\mathbf{v}}",
            "mine.sty": "\\newcommand\\W{\\mathbf{w}}\\def\\x@y{z}",
        }
    )
    assert "$\\mathbf{v} \\mathbf{w}$" in text and signals["unresolved_macros"] == 0


def test_legacy_encoding_and_cr_line_ends() -> None:
    decoded = decode("caf\xe9 \u201cquoted\u201d\r\nnext\rline".encode("cp1252"))
    assert decoded.encoding == "cp1252" and decoded.text == "caf\u00e9 \u201cquoted\u201d\nnext\nline"
    assert decode("\ufeffbom".encode("utf-8")).encoding == "utf-8-sig"


# -- LaTeX -> text -----------------------------------------------------------------------------------
def test_math_is_kept_verbatim_and_text_is_converted() -> None:
    src = "\\section{Intro}\\textbf{Bold} caf\\'e $a_1$ \\(b\\) \\[c\\] \\begin{align*}x&=1\\end{align*} \\label{s}"
    result = LatexToText().convert(src)
    assert result.text.startswith("## Intro")
    for piece in ("Bold caf\u00e9", "$a_1$", "\\(b\\)", "\\[c\\]", "\\begin{align*}x&=1\\end{align*}"):
        assert piece in result.text
    assert result.num_formulas == 4 and "\\label" not in result.text


def test_citations_become_galactica_references() -> None:
    text, _, signals = extract(
        {
            "main.tex": doc("See \\citep[p.~2]{a,b} and \\cite{c}.\\bibliography{refs}"),
            "main.bbl": "\\begin{thebibliography}{1}\\bibitem{a} A. Smith.\n\\newblock A title.\n\\newblock J, 2000."
            "\\bibitem{b} B. Jones, Phys. Rev. 1 (1999).\\end{thebibliography}",
        }
    )
    assert (
        "See [START_REF] A title, Smith[END_REF] [START_REF] B. Jones, Phys. Rev. 1 (1999)[END_REF]" in text
    )
    assert "[START_REF] c[END_REF]" in text and "\\cite" not in text
    assert text.rstrip().endswith("B. Jones, Phys. Rev. 1 (1999).")
    assert signals["num_cites"] == 3 and signals["num_cites_resolved"] == 2


def test_bibliography_can_be_dropped() -> None:
    files = {
        "main.tex": doc("Text \\cite{k}.\\bibliography{r}"),
        "r.bib": "@article{k, title={Deep Title}, author={Doe, Jane and Roe, R.}, year=2020}",
    }
    kept, _, _ = extract(files)
    assert "[START_REF] Deep Title, Doe[END_REF]" in kept and "## References" in kept
    dropped, _, _ = extract(files, ArxivConfig(keep_bibliography=False))
    assert "[START_REF] Deep Title, Doe[END_REF]" in dropped and "## References" not in dropped


def test_figures_keep_captions_only_and_preamble_is_dropped() -> None:
    body = "\\begin{figure}\\centering\\includegraphics[width=3cm]{f.pdf}\\caption{A \\emph{nice} plot.}\\end{figure}"
    text, _, _ = extract({"main.tex": doc(body, pre="\\title{T}\\usepackage{amsmath}\\newcommand\\q{Q}")})
    assert text == "# T\n\nFigure: A nice plot.\n"


def test_pdfpages_wrapper_is_not_a_paper() -> None:
    with pytest.raises(InputError) as err:
        extract({"main.tex": doc("\\includepdf[pages=-]{paper.pdf}")})
    assert err.value.reason == "pdfpages_wrapper"


# -- archives -----------------------------------------------------------------------------------------
def test_gzipped_single_tex_and_its_original_name() -> None:
    data = gzip.compress(doc("hello").encode())
    sub = read_submission(data, "1501.00001.gz", None, "1501.00001.gz", CONFIG)
    assert sub.container == "gzip" and list(sub.files) == ["1501.00001.tex"] and sub.arxiv_id == "1501.00001"


def test_traversal_absolute_links_and_devices_are_rejected() -> None:
    cases = {
        "unsafe_path": make_tar({"../evil.tex": b"x"}),
        "unsafe_link": make_tar({}, extra=[_link("a.tex", "../../etc/passwd")]),
        "unsafe_member_type": make_tar({}, extra=[_device("dev")]),
    }
    cases["unsafe_path_abs"] = make_tar({"/etc/x.tex": b"x"})
    for reason, data in cases.items():
        with pytest.raises(InputError) as err:
            read_submission(data, "t.tar.gz", None, "t.tar.gz", CONFIG)
        assert err.value.reason == reason.replace("_abs", "")


def test_links_inside_the_submission_are_followed() -> None:
    data = make_tar({"real.tex": doc("linked text").encode()}, extra=[_link("main.tex", "real.tex")])
    sub = read_submission(data, "t.tar.gz", None, "t.tar.gz", CONFIG)
    assert sub.files["main.tex"] == sub.files["real.tex"]


def test_bombs_by_size_and_member_count() -> None:
    bomb = gzip.compress(b"\0" * (4 << 20))
    with pytest.raises(InputError) as err:
        read_submission(bomb, "b.gz", None, "b.gz", ArxivConfig(max_archive_bytes=1 << 20))
    assert err.value.reason == "archive_too_large"
    many = make_tar({f"f{i}.tex": b"x" for i in range(20)})
    with pytest.raises(InputError) as err:
        read_submission(many, "m.tar.gz", None, "m.tar.gz", ArxivConfig(max_members=10))
    assert err.value.reason == "too_many_members"


def test_truncated_gzip_and_corrupt_zip() -> None:
    data = make_tar({"main.tex": doc("x" * 5000).encode()})
    with pytest.raises(InputError) as err:
        read_submission(data[: len(data) // 2], "t.tar.gz", None, "t.tar.gz", CONFIG)
    assert err.value.reason == "truncated_archive"
    with pytest.raises(InputError) as err:
        read_submission(b"PK\x03\x04garbage", "z.zip", None, "z.zip", CONFIG)
    assert err.value.reason == "corrupt_archive"


def test_zip_with_nested_tar_and_junk() -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("paper/main.tex", doc("zip text \\input{sec}"))
        zf.writestr("paper/inner.tar.gz", make_tar({"sec.tex": b"nested section"}))
        zf.writestr("__MACOSX/paper/._main.tex", b"\0\1junk")
    sub = read_submission(buf.getvalue(), "u.zip", None, "u.zip", CONFIG)
    assert sorted(p for p, d in sub.files.items() if d is not None) == ["paper/main.tex", "paper/sec.tex"]
    assert "zip text nested section" in extract_submission(sub, CONFIG).text


def test_config_is_validated() -> None:
    with pytest.raises(RecipeError, match="max_members"):
        ArxivConfig(max_members=0)


def _link(name: str, target: str) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.linkname = tarfile.SYMTYPE, target
    return info


def _device(name: str) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = tarfile.CHRTYPE
    return info


def test_abstract_given_as_a_preamble_argument_is_kept() -> None:
    text, _, _ = extract({"main.tex": doc("\\section{One} Body.", pre="\\abstract{We prove $x=1$.}")})
    assert text.startswith("## Abstract\n\nWe prove $x=1$.\n\n## One")


def test_bibitem_labels_with_nested_braces() -> None:
    body = (
        "As shown \\cite{T05}.\\begin{thebibliography}{1}"
        "\\bibitem[{\\citenamefont{Tiburzi}(2005{\\natexlab{a}})}]{T05}\\bibinfo{author}{B. Tiburzi}, "
        "\\bibinfo{journal}{Phys. Rev.} \\textbf{\\bibinfo{volume}{D72}} (2005).\\end{thebibliography}"
    )
    text, _, signals = extract({"main.tex": doc(body)})
    assert signals["num_cites_resolved"] == 1
    assert "[START_REF] B. Tiburzi, Phys. Rev. D72 (2005)[END_REF]" in text


@pytest.mark.parametrize(
    "name, expected",
    [
        ("1801.03879-1.tar.gz", "1801.03879"),
        ("2401.00001v2.gz", "2401.00001v2"),
        ("hep-th9411028.gz", "hep-th/9411028"),
        ("upload1234567.tar.gz", None),
        ("paper.tex", None),
    ],
)
def test_arxiv_id_from_file_names(name: str, expected: str | None) -> None:
    assert Submission(input=name, member=None, name=name, container="tar").arxiv_id == expected


def test_modern_paper_features() -> None:
    main = r"""\documentclass{article}
\usepackage{hyperref,xspace}\newtheorem{theorem}{Theorem}\newtheorem{lemma}[theorem]{Lemma}
\newcommand{\method}{\textsc{FooNet}\xspace}
\begin{document}
We propose \method, which costs \$5.\footnote{See \url{https://x.y/a%20b}.}
\begin{enumerate}[label=(\roman*)]
\item first; \item[(b)] second.
\end{enumerate}
\begin{lemma}[Key] For all $n$, $f(n) \le n^2$. \end{lemma}
\begin{table}[t]\caption{Results}\begin{tabular}{lc}\toprule Model & Acc \\ A & 90.1 \\ \bottomrule\end{tabular}\end{table}
Shown by \citet[Thm.~2]{knuth}.
\printbibliography
\end{document}
"""
    bbl = r"""\refsection{0}\datalist[entry]{nty/global//global/global}
\entry{knuth}{book}{}\name{author}{1}{}{{{hash=x}{family={Knuth},given={Donald}}}}
\field{title}{The {\TeX}book}\field{year}{1984}\endentry\enddatalist\endrefsection"""
    text, _, _ = extract({"main.tex": main, "main.bbl": bbl})
    for piece in (
        "We propose FooNet, which costs \\$5. (See https://x.y/a%20b.)",
        "- first;\n- (b) second.",
        "Lemma (Key). For all $n$, $f(n) \\le n^2$.",
        "Table: Results",
        "Model & Acc",
        "Shown by [START_REF] The TeXbook, Knuth[END_REF].",
        "## References\n\nKnuth. The TeXbook. 1984",
    ):
        assert piece in text, piece


def test_constant_conditionals_hide_text() -> None:
    src = "a \\if0 hidden \\fi b \\ifnum0=1 hidden\\else shown\\fi c \\ifnum\\x>0 kept\\fi"
    assert " ".join(strip_conditionals(src).split()) == "a b shown c \\ifnum\\x>0 kept\\fi"


def test_xparse_document_commands() -> None:
    src = (
        "\\NewDocumentCommand{\\norm}{s O{2} m}{\\IfBooleanTF{#1}{\\left|#3\\right|}{|#3|}_{#2}}"
        "\\NewDocumentCommand\\ev{o m}{\\IfValueTF{#1}{E_{#1}[#2]}{E[#2]}}$\\norm{x} \\norm*[p]{y} \\ev{X} \\ev[Q]{X}$"
    )
    assert expand(src) == "$|x|_{2} \\left|y\\right|_{p} E[X] E_{Q}[X]$"


def test_citation_inside_a_formula() -> None:
    result = LatexToText().convert("$$x = 1 \\quad \\text{by \\cite{k}}$$")
    assert result.text == "$$x = 1 \\quad \\text{by [START_REF] k[END_REF]}$$\n" and result.num_cites == 1


def test_accents_and_letter_symbols() -> None:
    text = LatexToText().convert('Schr\\"odinger na\\"\\i ve Stra\\ss e \\c{c}a \\v s \\LaTeX{} ok').text
    assert text == "Schr\u00f6dinger na\u00efve Stra\u00dfe \u00e7a \u0161 LaTeX ok\n"


def test_verbatim_content_is_neither_expanded_nor_converted() -> None:
    body = "Use \\verb|\\R%x| here.\n\\begin{verbatim}\n\\R -- 50% \\cite{no}\n\\end{verbatim}\n$\\R$"
    text, _, _ = extract({"main.tex": doc(body, pre="\\newcommand\\R{\\mathbb{R}}")})
    assert text == "Use \\R%x here.\n\n\\R -- 50% \\cite{no}\n\n$\\mathbb{R}$\n"
