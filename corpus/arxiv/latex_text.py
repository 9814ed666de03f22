"""LaTeX body (macros expanded, includes inlined) -> text with the math kept exactly.

What the text keeps, in the style of Galactica's and Minerva's paper corpora:
- formulas verbatim, delimiters included: `$...$`, `$$...$$`, `\\(...\\)`, `\\[...\\]` and the
  math environments (`equation`, `align`, `gather`, `multline`, `eqnarray`, ..., starred too);
- sections as Markdown headings (`## Introduction`), the abstract, theorem-like environments as
  `Theorem 1 (name).` style labels, list items as `- `;
- `\\cite{a,b}` as `[START_REF] Title, Author[END_REF]` per key (sciloom.corpus.markup tokens),
  from the paper's bibliography (the key when no entry is known);
- figure and table captions (figure files dropped), table cells, footnotes in parentheses;
- the bibliography as a final `## References` section, or nothing (`keep_bibliography`).
Layout commands are dropped with their arguments; an unknown command is dropped and its braced
arguments kept as text, so no content is lost to a macro we do not know. Cross-references
(`\\ref{eq:1}`) stay LaTeX: their numbers are not known without compiling.

Text-mode symbols (`\\ss`, `\\textdegree`, ...) come from pylatexenc's `latexencode` table,
read backwards; accents are composed with Unicode combining marks. pylatexenc's own
`LatexNodes2Text` is not used: it crashes on real papers and rewrites the math (FIELD-NOTES 4).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

from sciloom.corpus.arxiv.bibliography import Reference, balanced_group, find_bibitems
from sciloom.corpus.markup import END_REF, START_REF

BIBLIOGRAPHY_COMMAND = "SciloomBibliography"  # placed by the includer where references go

MATH_ENVS = frozenset(
    e + s
    for e in (
        "equation align gather multline eqnarray flalign alignat displaymath math dmath dgroup "
        "darray subequations IEEEeqnarray empheq"
    ).split()
    for s in ("", "*")
)
VERBATIM_ENVS = frozenset(
    "verbatim verbatim* Verbatim Verbatim* lstlisting minted BVerbatim LVerbatim alltt".split()
)
DROP_ENVS = frozenset(
    "tikzpicture pgfpicture picture pspicture filecontents filecontents* comment tikzcd axis forest ".split()
)
FIGURE_ENVS = frozenset("figure figure* wrapfigure SCfigure subfigure subfloat".split())
TABLE_ENVS = frozenset("table table* wraptable sidewaystable ".split())
LIST_ENVS = frozenset("itemize enumerate description compactitem compactenum inparaenum list".split())
THEOREM_DEFAULTS = {
    n: n.capitalize()
    for n in (
        "theorem lemma proposition corollary definition remark example conjecture claim assumption "
        "note fact observation problem exercise question hypothesis notation"
    ).split()
}
# Environment arguments to skip: name -> (optional args, mandatory args).
ENV_ARGS = {
    "minipage": (1, 1),
    "tabular": (1, 1),
    "tabular*": (1, 2),
    "tabularx": (1, 2),
    "tabulary": (1, 2),
    "longtable": (1, 1),
    "array": (1, 1),
    "multicols": (0, 1),
    "multicols*": (0, 1),
    "wrapfigure": (1, 2),
    "wraptable": (1, 2),
    "subfigure": (1, 1),
    "thebibliography": (0, 1),
    "list": (0, 2),
    "adjustbox": (0, 1),
    "algorithmic": (1, 0),
    "algorithm": (1, 0),
    "figure": (1, 0),
    "figure*": (1, 0),
    "table": (1, 0),
    "table*": (1, 0),
    "center": (0, 0),
    "spacing": (0, 1),
    "enumerate": (1, 0),
    "itemize": (1, 0),
}
SECTIONS = {"part": 1, "chapter": 1, "section": 2, "subsection": 3, "subsubsection": 4}
INLINE_HEADINGS = frozenset({"paragraph", "subparagraph"})
CITES = frozenset(
    "cite cite* citep citep* citet citet* citealp citealt citeauthor citeyear citeyearpar parencite "
    "textcite autocite autocites footcite Cite Citep Citet Parencite Textcite citenum smartcite "
    "supercite fullcite onlinecite citeA citeN citeNP citeasnoun shortcite citealias".split()
)
CITE_LIKE = re.compile(r"[Cc]ite(?:[pt]|al[pt]|year(?:par)?|author|num)?s?\*?")  # natbib/biblatex variants
REFS = frozenset("ref eqref autoref cref Cref pageref vref nameref subref".split())
# name -> (optional args, mandatory args, index of the argument kept or None)
ARGS: dict[str, tuple[int, int, int | None]] = {
    **dict.fromkeys(
        "textbf textit emph textrm textsf texttt textsc textup textmd textnormal underline uline mbox "
        "fbox hbox text textsl uppercase MakeUppercase MakeLowercase textsuperscript textsubscript sout "
        "hl mathrm enquote emphasize textls lowercase".split(),
        (0, 1, 0),
    ),
    **dict.fromkeys(
        "label vspace hspace vspace* hspace* stepcounter refstepcounter epsfig psfig epsfbox epsffile "
        "graphicspath bibliographystyle pagestyle thispagestyle pagenumbering nocite hypersetup tikzset "
        "pgfplotsset usetikzlibrary tikzsetnextfilename linespread lstset vphantom phantom hphantom "
        "enlargethispage theoremstyle newcounter  pdfbookmark bibpunct setstretch "
        "urlstyle  affiliation address email thanks date institute affil author orcid "
        "  shorttitle runningtitle setcitestyle DeclareGraphicsExtensions "
        "captionsetup*     markright "
        "includesvg institution authornote authorrunning titlerunning ead cortext fntext tnotetext "
        "received accepted published altaffiliation homepage".split(),
        (1, 1, None),
    ),
    **dict.fromkeys(
        "setlength addtolength setcounter addtocounter numberwithin counterwithin crefname markboth "
        " fontsize".split(),
        (0, 2, None),
    ),
    "includegraphics": (1, 1, None),
    "includepdf": (1, 1, None),
    "definecolor": (1, 3, None),
    "addcontentsline": (0, 3, None),
    "Crefname": (0, 3, None),
    "color": (1, 1, None),
    "textcolor": (1, 2, 1),
    "colorbox": (1, 2, 1),
    "fcolorbox": (0, 3, 2),
    "scalebox": (0, 2, 1),
    "rotatebox": (1, 2, 1),
    "raisebox": (2, 2, 1),
    "parbox": (3, 2, 1),
    "makebox": (2, 1, 0),
    "framebox": (2, 1, 0),
    "resizebox": (0, 3, 2),
    "href": (0, 2, 1),
    "url": (0, 1, 0),
    "nolinkurl": (0, 1, 0),
    "multicolumn": (0, 3, 2),
    "multirow": (1, 3, 2),
    "footnote": (1, 1, 0),
    "footnotetext": (1, 1, 0),
    "caption": (1, 1, 0),
    "subcaption": (1, 1, 0),
    "captionof": (1, 2, 1),
    "title": (1, 1, 0),
    "keywords": (0, 1, 0),
    "pacs": (0, 1, 0),
    "abstract": (0, 1, 0),
    "texorpdfstring": (0, 2, 0),
    "newline": (0, 0, None),
    "usepackage": (1, 1, None),
    "documentclass": (1, 1, None),
    "addbibresource": (1, 1, None),
    "input": (0, 1, None),
    "include": (0, 1, None),
    "bibliography": (0, 1, None),
    "newtheorem": (1, 2, None),
    "end": (0, 1, None),
    "rule": (1, 2, None),
    "cline": (0, 1, None),
    # revtex/natbib .bbl markup: `\bibinfo{author}{A. Smith}` keeps the value, not the field name.
    "bibinfo": (0, 2, 1),
    "bibfield": (0, 2, 1),
    "BibitemShut": (0, 1, None),
    "bibAnnoteFile": (1, 1, None),
    "bibAnnote": (1, 2, None),
    "foreignlanguage": (1, 2, 1),
    "selectlanguage": (0, 1, None),
    "Eprint": (1, 2, 1),
    "eprint": (0, 1, 0),
    "vskip": (0, 0, None),
    "renewcommand": (1, 2, None),
    "newcommand": (1, 2, None),
}
DROP_WORDS = frozenset(
    "bf it em rm sf tt sc sl small footnotesize scriptsize tiny large Large LARGE huge Huge normalsize "
    "centering raggedright raggedleft noindent indent newpage clearpage cleardoublepage pagebreak "
    "linebreak nolinebreak smallskip medskip bigskip vfill hfill hfil vfil protect relax maketitle "
    "tableofcontents listoffigures listoftables appendix normalfont boldmath unboldmath sloppy fussy "
    "flushbottom onecolumn twocolumn frontmatter mainmatter backmatter hline toprule midrule bottomrule "
    " nobreak allowbreak selectfont par noalign makeatletter makeatother cr crcr null strut "
    "hfilneg centerline leftline rightline printindex endinput ignorespaces unskip nopagebreak "
    "FloatBarrier hrule vrule newblock sffamily rmfamily ttfamily bfseries itshape mdseries upshape "
    "scshape slshape em qed qedhere qedsymbol footnotemark today and thispagestyle leavevmode "
    "baselineskip parindent parskip textwidth linewidth columnwidth".split()
)
SPACE_WORDS = frozenset({"quad", "qquad", "enspace", "thinspace", "space", "enskip", "nobreakspace"})
DIMENSION = re.compile(
    r"\s*=?\s*-?[\d.]+\s*(?:pt|em|ex|cm|mm|in|bp|pc|sp|mu|\\[A-Za-z]+)(?:\s*plus\s*[\d.]+\s*\w+)?(?:\s*minus\s*[\d.]+\s*\w+)?"
)
DIMENSION_WORDS = frozenset({"vskip", "hskip", "kern", "vspace", "hspace", "mskip"})
ACCENTS = {
    "'": "\u0301",
    "`": "\u0300",
    "^": "\u0302",
    '"': "\u0308",
    "~": "\u0303",
    "=": "\u0304",
    ".": "\u0307",
    "u": "\u0306",
    "v": "\u030c",
    "H": "\u030b",
    "c": "\u0327",
    "k": "\u0328",
    "r": "\u030a",
    "d": "\u0323",
    "b": "\u0331",
}
CONTROL_SYMBOLS = {
    "%": "%",
    "&": "&",
    "$": "\\$",  # stays escaped: a bare `$` in the text would read as a formula delimiter
    "#": "#",
    "_": "_",
    "{": "{",
    "}": "}",
    " ": " ",
    ",": " ",
    ";": " ",
    ":": " ",
    "!": "",
    "-": "",
    "/": "",
    "@": "",
    "\n": " ",
    "\t": " ",
    ">": " ",
    "<": "",
}
SPECIAL = re.compile(r"[\\{}$~]")
NAME = re.compile(r"[A-Za-z@]+\*?")
BLANK_LINES = re.compile(r"\n\n\n+")  # a literal prefix: the engine jumps between candidates
TEXT_FIXES = (("---", "\u2014"), ("--", "\u2013"), ("``", "\u201c"), ("''", "\u201d"))


def _symbol_table() -> dict[str, str]:
    """Text-mode symbol commands -> characters, from pylatexenc's unicode -> LaTeX table."""
    from pylatexenc.latexencode import get_builtin_uni2latex_dict

    table: dict[str, str] = {}
    for code, latex in get_builtin_uni2latex_dict().items():
        m = re.fullmatch(r"\\([A-Za-z]+)(?:\{\})?", latex)
        if m and m.group(1) not in table:
            table[m.group(1)] = chr(code)
    table.update(
        {
            "ldots": "\u2026",
            "dots": "\u2026",
            "textellipsis": "\u2026",
            "LaTeX": "LaTeX",
            "TeX": "TeX",
            "LaTeXe": "LaTeX2e",
            "BibTeX": "BibTeX",
            "AmSTeX": "AMS-TeX",
            "slash": "/",
            "textbar": "|",
            "S": "\u00a7",
            "P": "\u00b6",
            "textbackslash": "\\",
            "textless": "<",
            "textgreater": ">",
            "i": "\u0131",
            "j": "\u0237",
            "o": "\u00f8",
            "O": "\u00d8",
            "l": "\u0142",
            "L": "\u0141",
            "checkmark": "\u2713",
            "textdagger": "\u2020",
            "dag": "\u2020",
            "ddag": "\u2021",
        }
    )
    return table


SYMBOLS = _symbol_table()


@dataclass
class Converted:
    text: str
    math_chars: int = 0
    num_formulas: int = 0
    num_cites: int = 0
    num_cites_resolved: int = 0
    cited: list[str] = field(default_factory=list)


class LatexToText:
    """One paper's converter: refs by key, theorem names, and options."""

    def __init__(
        self,
        refs: dict[str, Reference] | None = None,
        theorems: dict[str, str] | None = None,
        keep_bibliography: bool = True,
    ):
        self.refs = refs or {}
        self.theorems = {**THEOREM_DEFAULTS, **(theorems or {})}
        self.keep_bibliography = keep_bibliography
        self.result = Converted("")
        self.float_kind: str | None = None

    def convert(self, latex: str) -> Converted:
        self.result = Converted("")
        text = self._convert(latex)
        # Blanks before a newline go, 3+ newlines become 2. Not `re.sub(r"[ \t]+\n")`: the regex
        # engine retries every blank run at each of its positions (7% of the extraction time).
        lines = text.split("\n")
        text = "\n".join([line.rstrip(" \t") for line in lines[:-1]] + lines[-1:])
        text = BLANK_LINES.sub("\n\n", text)
        self.result.text = text.strip() + "\n" if text.strip() else ""
        return self.result

    def text_of(self, latex: str) -> str:
        """Plain text of a fragment (titles, captions, bibliography entries); math kept."""
        saved = self.result
        self.result = Converted("")
        try:
            return " ".join(self._convert(latex).split())
        finally:
            self.result = saved

    # -- the scanner ----------------------------------------------------------------------------
    def _convert(self, s: str) -> str:
        out: list[str] = []
        i, n = 0, len(s)
        while i < n:
            m = SPECIAL.search(s, i)
            if m is None:
                out.append(_fix_text(s[i:]))
                break
            if m.start() > i:
                out.append(_fix_text(s[i : m.start()]))
            i = m.start()
            c = s[i]
            if c == "{":
                inner, i = balanced_group(s, i)
                out.append(self._convert(inner))
            elif c == "}":
                i += 1
            elif c == "~":
                out.append(" ")
                i += 1
            elif c == "$":
                i = self._dollar(s, i, out)
            else:
                i = self._command(s, i, out)
        return "".join(out)

    def _math(self, latex: str, out: list[str]) -> None:
        if "cite" in latex:
            latex = self._cites_in_math(latex)
        out.append(latex)
        self.result.math_chars += len(latex)
        self.result.num_formulas += 1

    def _cites_in_math(self, latex: str) -> str:
        """`\\text{see \\cite{k}}` inside a formula: the citation becomes a reference there too."""
        parts: list[str] = []
        pos = 0
        for m in re.finditer(r"\\([A-Za-z]*cite[A-Za-z]*)\*?", latex):
            if m.start() < pos or not (m.group(1) in CITES or CITE_LIKE.fullmatch(m.group(1))):
                continue
            parts.append(latex[pos : m.start()])
            pos = self._cite(latex, m.end(), parts)
        parts.append(latex[pos:])
        return "".join(parts)

    def _dollar(self, s: str, i: int, out: list[str]) -> int:
        display = s.startswith("$$", i)
        delim = "$$" if display else "$"
        j = i + len(delim)
        while True:
            k = s.find(delim, j)
            if k < 0 or (not display and s.find("\n\n", i, k) >= 0):  # no slice copy per formula
                out.append("$")  # an unmatched dollar is text
                return i + 1
            if _escaped(s, k):
                j = k + 1
                continue
            self._math(s[i : k + len(delim)], out)
            return k + len(delim)

    def _command(self, s: str, i: int, out: list[str]) -> int:
        m = NAME.match(s, i + 1)
        if m is None:
            return self._control_symbol(s, i, out)
        name, j = m.group(0), m.end()
        star = name.endswith("*")
        base = name[:-1] if star else name
        if base == "begin":
            return self._environment(s, i, j, out)
        if base in SECTIONS or base in INLINE_HEADINGS:
            j = _skip_optional(s, j)
            title, j = _group_at(s, j)
            if title is None:
                return j
            text = self.text_of(title)
            if base in SECTIONS:
                out.append(f"\n\n{'#' * SECTIONS[base]} {text}\n\n")
            else:
                out.append(f"\n\n{text}. ")
            return j
        if base == "title":
            j = _skip_optional(s, j)
            title, j = _group_at(s, j)
            if title is not None:
                out.append(f"\n\n# {self.text_of(title)}\n\n")
            return j
        if base in CITES or (CITE_LIKE.fullmatch(base) and _group_follows(s, j)):
            return self._cite(s, j, out)
        if base in REFS:
            group, k = _group_at(s, j)
            out.append(s[i:k] if group is not None else s[i:j])
            return k
        if base == "item":
            label = None
            k = _skip_spaces(s, j)
            if s.startswith("[", k):
                label, j = _optional_at(s, k)
            out.append("\n- " + (self.text_of(label) + " " if label else ""))
            return _skip_spaces(s, j)
        if base == "caption" or base == "subcaption" or base == "captionof":
            j = _skip_optional(s, j) if base != "captionof" else _skip_group(s, j)
            cap, j = _group_at(s, j)
            if cap is not None:
                label = f"{self.float_kind}: " if self.float_kind else ""
                out.append(f"\n\n{label}{self.text_of(cap)}\n\n")
            return j
        if base == "footnote" or base == "footnotetext":
            j = _skip_optional(s, j)
            note, j = _group_at(s, j)
            if note is not None:
                out.append(f" ({self.text_of(note)})")
            return j
        if base in ("verb", "lstinline") and j < len(s) and not s[j].isspace():
            end = s.find(s[j], j + 1) if s[j] != "{" else s.find("}", j + 1)
            if end > 0 and "\n" not in s[j:end]:
                out.append(s[j + 1 : end])
                return end + 1
        if base in ("url", "nolinkurl"):
            group, j = _group_at(s, j)
            out.append(group or "")
            return j
        if base == BIBLIOGRAPHY_COMMAND:
            if self.keep_bibliography:
                out.append(self._bib_from_refs())
            return j
        if base in DIMENSION_WORDS:
            k = _skip_spaces(s, j)
            if s.startswith("{", k):
                return _skip_group(s, k)
            d = DIMENSION.match(s, j)
            return d.end() if d else j
        spec = ARGS.get(name) or ARGS.get(base)
        if spec is not None:
            return self._with_args(s, j, spec, out)
        if base == "twocolumn" and s.startswith("[", _skip_spaces(s, j)):
            inner, j = _optional_at(s, _skip_spaces(s, j))  # ICML-style title block
            out.append(self._convert(inner))
            return j
        if base in DROP_WORDS:
            if base == "par":
                out.append("\n\n")
            return j
        if base in SPACE_WORDS:
            out.append(" ")
            return j
        if len(base) == 1 and base in ACCENTS:
            return self._accent(s, base, j, out)
        sym = SYMBOLS.get(base)
        if sym is not None:
            out.append(sym)
            if s.startswith("{}", j):
                j += 2
            elif len(sym) == 1 and sym.isalpha():
                while j < len(s) and s[j] == " ":  # `Stra\ss e`: the blank ends the command word
                    j += 1
            return j
        return j  # unknown command: drop the name; its braced arguments are read as text

    def _control_symbol(self, s: str, i: int, out: list[str]) -> int:
        if i + 1 >= len(s):
            return i + 1
        c = s[i + 1]
        if c == "\\":
            j = _skip_spaces(s, i + 2)
            if s.startswith("*", j):
                j += 1
            k = _skip_spaces(s, j)
            if s.startswith("[", k):
                _, j = _optional_at(s, k)
            out.append("\n")
            return j
        if c == "(":
            return self._delimited_math(s, i, "\\)", out)
        if c == "[":
            return self._delimited_math(s, i, "\\]", out)
        if c in ACCENTS:
            return self._accent(s, c, i + 2, out)
        out.append(CONTROL_SYMBOLS.get(c, c))
        return i + 2

    def _delimited_math(self, s: str, i: int, end: str, out: list[str]) -> int:
        k = s.find(end, i + 2)
        if k < 0:
            return i + 2
        self._math(s[i : k + 2], out)
        return k + 2

    def _accent(self, s: str, accent: str, j: int, out: list[str]) -> int:
        k = _skip_spaces(s, j) if accent.isalpha() else j
        if s.startswith("{", k):
            arg, k = balanced_group(s, k)
        elif s.startswith(("\\i", "\\j"), k) and not s[k + 2 : k + 3].isalpha():
            arg, k = s[k + 1], k + 2  # dotless i/j under an accent: \'\i (TeX eats the blank after it)
            while k < len(s) and s[k] == " ":
                k += 1
        elif k < len(s):
            arg, k = s[k], k + 1
        else:
            return k
        arg = arg.strip()
        if arg in ("\\i", "\\j"):
            arg = "i" if arg == "\\i" else "j"
        base = self.text_of(arg) if "\\" in arg else arg
        out.append(unicodedata.normalize("NFC", (base[:1] + ACCENTS[accent] + base[1:]) if base else ""))
        return k

    def _with_args(self, s: str, j: int, spec: tuple[int, int, int | None], out: list[str]) -> int:
        n_opt, n_args, keep = spec
        for _ in range(n_opt):
            k = _skip_spaces(s, j)
            if s.startswith("[", k):
                _, j = _optional_at(s, k)
        for index in range(n_args):
            k = _skip_spaces(s, j)
            if not s.startswith("{", k):
                if index == 0 and k < len(s) and s[k] not in "\\$}" and n_args == 1 and keep is None:
                    return k + 1  # single-token argument (`\label x` is rare; `\vspace 1` never)
                return j
            group, j = balanced_group(s, k)
            if index == keep:
                out.append(self._convert(group))
        return j

    def _cite(self, s: str, j: int, out: list[str]) -> int:
        for _ in range(2):
            k = _skip_spaces(s, j)
            if s.startswith("[", k):
                _, j = _optional_at(s, k)
        k = _skip_spaces(s, j)
        if not s.startswith("{", k):
            return j
        keys, j = balanced_group(s, k)
        parts = []
        for key in keys.split(","):
            key = key.strip()
            if not key:
                continue
            self.result.num_cites += 1
            ref = self.refs.get(key)
            if ref is not None:
                self.result.num_cites_resolved += 1
            if key not in self.result.cited:
                self.result.cited.append(key)
            label = ref.label() if ref is not None else key
            parts.append(f"{START_REF} {label}{END_REF}")
        out.append(" ".join(parts))
        return j

    # -- environments ---------------------------------------------------------------------------
    def _environment(self, s: str, i: int, j: int, out: list[str]) -> int:
        name, j = _group_at(s, j)
        if name is None:
            return j
        name = name.strip()
        end_tag = f"\\end{{{name}}}"
        inner_end = _find_env_end(s, j, name)
        if inner_end < 0:
            return j  # an unclosed \begin: read on as if it were not there
        after = inner_end + len(end_tag)
        if name in MATH_ENVS:
            self._math(s[i:after], out)
            return after
        if name in VERBATIM_ENVS:
            out.append("\n" + s[j:inner_end].strip("\n") + "\n")
            return after
        if name in DROP_ENVS:
            return after
        if name == "thebibliography":
            if self.keep_bibliography:
                out.append(self._bib_environment(s[j:inner_end]))
            return after
        n_opt, n_args = ENV_ARGS.get(name, (0, 0))
        for _ in range(n_opt):
            k = _skip_spaces(s, j)
            if s.startswith("[", k):
                _, j = _optional_at(s, k)
        for _ in range(n_args):
            j = _skip_group(s, j)
        inner = s[j:inner_end]
        if name in FIGURE_ENVS:
            saved, self.float_kind = self.float_kind, "Figure"
            out.append(self._captions_only(inner))
            self.float_kind = saved
        elif name in TABLE_ENVS or name in ("algorithm", "algorithm*"):
            saved, self.float_kind = self.float_kind, "Table" if name in TABLE_ENVS else "Algorithm"
            out.append("\n\n" + self._convert(inner) + "\n\n")
            self.float_kind = saved
        elif name == "abstract":
            out.append(f"\n\n## Abstract\n\n{self._convert(inner).strip()}\n\n")
        elif name in self.theorems or name.rstrip("*") in self.theorems:
            label = self.theorems.get(name) or self.theorems[name.rstrip("*")]
            opt = None
            k = _skip_spaces(inner, 0)
            if inner.startswith("[", k):
                opt, k = _optional_at(inner, k)
                inner = inner[k:]
            head = f"{label} ({self.text_of(opt)})." if opt else f"{label}."
            out.append(f"\n\n{head} {self._convert(inner).strip()}\n\n")
        elif name == "proof":
            k = _skip_spaces(inner, 0)
            if inner.startswith("[", k):
                _, k = _optional_at(inner, k)
                inner = inner[k:]
            out.append(f"\n\nProof. {self._convert(inner).strip()}\n\n")
        elif name in LIST_ENVS:
            out.append("\n" + self._convert(inner) + "\n\n")
        else:
            out.append(self._convert(inner))
        return after

    def _captions_only(self, inner: str) -> str:
        """A figure keeps its captions (sub-figures' too) and nothing else."""
        out: list[str] = []
        for m in re.finditer(r"\\(?:sub)?caption(?:of)?\b\*?", inner):
            self._command(inner, m.start(), out)
        return "".join(out)

    def _bib_environment(self, body: str) -> str:
        entries = []
        matches = find_bibitems(body)
        for k, m in enumerate(matches):
            end = matches[k + 1].start if k + 1 < len(matches) else len(body)
            text = self.text_of(body[m.body : end])
            if text:
                entries.append(text)
        if not entries:
            return ""
        return "\n\n## References\n\n" + "\n".join(entries) + "\n"

    def _bib_from_refs(self) -> str:
        entries = [self.refs[k].text or self.refs[k].label() for k in self.result.cited if k in self.refs]
        if not entries:
            return ""
        return "\n\n## References\n\n" + "\n".join(entries) + "\n"


def _fix_text(chunk: str) -> str:
    if "-" not in chunk and "`" not in chunk and "'" not in chunk:
        return chunk  # most chunks: one scan instead of four
    for old, new in TEXT_FIXES:
        if old in chunk:
            chunk = chunk.replace(old, new)
    return chunk


def _escaped(s: str, k: int) -> bool:
    n = 0
    while k - n - 1 >= 0 and s[k - n - 1] == "\\":
        n += 1
    return n % 2 == 1


def _skip_spaces(s: str, j: int) -> int:
    n = len(s)
    while j < n and s[j] in " \t\n":
        j += 1
    return j


def _group_follows(s: str, j: int) -> bool:
    k = _skip_spaces(s, j)
    return s.startswith("{", k) or s.startswith("[", k)


def _group_at(s: str, j: int) -> tuple[str | None, int]:
    k = _skip_spaces(s, j)
    if not s.startswith("{", k):
        return None, j
    return balanced_group(s, k)


def _skip_group(s: str, j: int) -> int:
    group, k = _group_at(s, j)
    return k if group is not None else j


def _optional_at(s: str, k: int) -> tuple[str, int]:
    """`s[k]` is `[`: its content (brackets at brace depth 0) and the index after `]`."""
    depth = 0
    for x in range(k + 1, len(s)):
        c = s[x]
        if c == "{":
            depth += 1
        elif c == "}":
            depth -= 1
        elif c == "]" and depth == 0:
            return s[k + 1 : x], x + 1
    return "", k + 1


def _skip_optional(s: str, j: int) -> int:
    k = _skip_spaces(s, j)
    if s.startswith("[", k):
        return _optional_at(s, k)[1]
    if s.startswith("*", j):
        return _skip_optional(s, j + 1)
    return j


def _find_env_end(s: str, j: int, name: str) -> int:
    """Index of the `\\end{name}` closing the environment opened before `j` (same-name nesting)."""
    begin, end = f"\\begin{{{name}}}", f"\\end{{{name}}}"
    depth, pos = 1, j
    while True:
        e = s.find(end, pos)
        if e < 0:
            return -1
        b = s.find(begin, pos, e)
        if b >= 0:
            depth += 1
            pos = b + len(begin)
            continue
        depth -= 1
        if depth == 0:
            return e
        pos = e + len(end)
