"""Presentation MathML -> LaTeX.

Pages that ship MathML without a TeX annotation (MathJax 3 assistive MathML, MDPI/JATS articles,
MathML demos) still carry the full formula; this walks the element tree and writes LaTeX in the
style of the XSLT `mmltex` stylesheets that MegaMath and MinerU use (`{x}^{2}`, `\\frac{a}{b}`,
`\\left(...\\right)` for fences), so our output and converted ground truths agree as far as two
converters can.

Covered: tokens (`mi mn mo mtext ms mspace`), layout (`mrow mstyle mpadded menclose semantics`),
fractions (`mfrac`, `linethickness=0` -> `\\binom`), roots (`msqrt mroot`), scripts (`msub msup
msubsup munder mover munderover mmultiscripts`), accents, fences (`mfenced`, paired `mo` fences),
tables (`mtable` -> `array`). Unknown elements contribute their children. Work is bounded by
`MAX_NODES`: a pathological tree raises `MathMLTooLarge` instead of running away (MegaMath gives
its XSLT converter 0.1 s per formula for the same reason).

Elements may or may not carry the MathML namespace (MDPI pages omit it): names are compared
without it.
"""

from __future__ import annotations

import re
import sys

from lxml import etree

MAX_NODES = 20000
CONTROL_WORD_END = re.compile(r"\\[A-Za-z]+$")


class MathMLTooLarge(ValueError):
    """The MathML tree exceeds MAX_NODES."""


# Unicode operators and identifiers -> TeX commands (the ones that occur in practice).
# fmt: off
SYMBOLS = {
    "±": r"\pm", "∓": r"\mp", "×": r"\times", "÷": r"\div", "⋅": r"\cdot", "·": r"\cdot", "∗": r"\ast",
    "≤": r"\le", "≥": r"\ge", "≠": r"\ne", "≈": r"\approx", "≡": r"\equiv", "∼": r"\sim", "≃": r"\simeq",
    "≅": r"\cong", "∝": r"\propto", "≪": r"\ll", "≫": r"\gg", "→": r"\to", "←": r"\leftarrow",
    "↔": r"\leftrightarrow", "⇒": r"\Rightarrow", "⇐": r"\Leftarrow", "⇔": r"\Leftrightarrow",
    "↦": r"\mapsto", "∈": r"\in", "∉": r"\notin", "∋": r"\ni", "⊂": r"\subset", "⊃": r"\supset",
    "⊆": r"\subseteq", "⊇": r"\supseteq", "∪": r"\cup", "∩": r"\cap", "∅": r"\emptyset", "∀": r"\forall",
    "∃": r"\exists", "¬": r"\neg", "∧": r"\wedge", "∨": r"\vee", "∞": r"\infty", "∂": r"\partial",
    "∇": r"\nabla", "∑": r"\sum", "∏": r"\prod", "∫": r"\int", "∬": r"\iint", "∮": r"\oint", "√": r"\surd",
    "…": r"\dots", "⋯": r"\cdots", "⋮": r"\vdots", "⋱": r"\ddots", "′": "'", "″": "''", "∘": r"\circ",
    "⊕": r"\oplus", "⊗": r"\otimes", "⟨": r"\langle", "⟩": r"\rangle", "‖": r"\|", "∣": r"\mid",
    "⊥": r"\perp", "∥": r"\parallel", "°": r"^\circ", "ℏ": r"\hbar", "ℓ": r"\ell", "ℜ": r"\Re", "ℑ": r"\Im",
    "ℵ": r"\aleph", "−": "-", "\u2061": "", "\u2062": "", "\u2063": ",", "\u2064": "+", "\u00a0": " ",
    "⌊": r"\lfloor", "⌋": r"\rfloor", "⌈": r"\lceil", "⌉": r"\rceil", "α": r"\alpha", "β": r"\beta",
    "γ": r"\gamma", "δ": r"\delta", "ε": r"\varepsilon", "ϵ": r"\epsilon", "ζ": r"\zeta", "η": r"\eta",
    "θ": r"\theta", "ϑ": r"\vartheta", "ι": r"\iota", "κ": r"\kappa", "λ": r"\lambda", "μ": r"\mu",
    "ν": r"\nu", "ξ": r"\xi", "π": r"\pi", "ϖ": r"\varpi", "ρ": r"\rho", "ϱ": r"\varrho", "σ": r"\sigma",
    "ς": r"\varsigma", "τ": r"\tau", "υ": r"\upsilon", "φ": r"\varphi", "ϕ": r"\phi", "χ": r"\chi",
    "ψ": r"\psi", "ω": r"\omega", "Γ": r"\Gamma", "Δ": r"\Delta", "Θ": r"\Theta", "Λ": r"\Lambda",
    "Ξ": r"\Xi", "Π": r"\Pi", "Σ": r"\Sigma", "Υ": r"\Upsilon", "Φ": r"\Phi", "Ψ": r"\Psi", "Ω": r"\Omega",
    "ℝ": r"\mathbb{R}", "ℕ": r"\mathbb{N}", "ℤ": r"\mathbb{Z}", "ℚ": r"\mathbb{Q}", "ℂ": r"\mathbb{C}",
}
# fmt: on
# fmt: off
FUNCTIONS = {
    "sin", "cos", "tan", "cot", "sec", "csc", "sinh", "cosh", "tanh", "coth", "arcsin", "arccos", "arctan",
    "log", "ln", "lg", "exp", "lim", "liminf", "limsup", "max", "min", "sup", "inf", "det", "dim", "ker",
    "deg", "gcd", "arg", "Pr", "hom",
}
# fmt: on
LARGE_OPERATORS = {
    r"\sum",
    r"\prod",
    r"\int",
    r"\iint",
    r"\oint",
    r"\lim",
    r"\max",
    r"\min",
    r"\sup",
    r"\inf",
}
# fmt: off
ACCENTS = {
    "^": r"\hat", "ˆ": r"\hat", "~": r"\tilde", "˜": r"\tilde", "¯": r"\bar", "‾": r"\overline",
    "→": r"\vec", "⃗": r"\vec", "˙": r"\dot", "¨": r"\ddot", "ˇ": r"\check", "˘": r"\breve",
    "⏞": r"\overbrace", "⏟": r"\underbrace", "_": r"\underline",
}
# fmt: on
# fmt: off
VARIANTS = {
    "bold": r"\mathbf", "italic": r"\mathit", "double-struck": r"\mathbb", "script": r"\mathcal",
    "fraktur": r"\mathfrak", "sans-serif": r"\mathsf", "monospace": r"\mathtt",
    "bold-italic": r"\boldsymbol",
}
# fmt: on
# fmt: off
OPEN_FENCES = {
    "(": "(", "[": "[", "{": r"\{", "|": "|", "‖": r"\|", "⟨": r"\langle", "⌊": r"\lfloor", "⌈": r"\lceil",
}
# fmt: on
# fmt: off
CLOSE_FENCES = {
    ")": ")", "]": "]", "}": r"\}", "|": "|", "‖": r"\|", "⟩": r"\rangle", "⌋": r"\rfloor", "⌉": r"\rceil",
}
# fmt: on
MATCH = {"(": ")", "[": "]", "{": "}", "⟨": "⟩", "⌊": "⌋", "⌈": "⌉"}
TEX_SPECIALS = {"#": r"\#", "%": r"\%", "&": r"\&", "{": r"\{", "}": r"\}", "$": r"\$", "_": r"\_"}


def local_name(el: etree._Element) -> str:
    tag = el.tag
    if not isinstance(tag, str):
        return ""
    return tag.rsplit("}", 1)[-1].split(":")[-1].lower()


def _symbols(text: str) -> str:
    out = []
    for ch in text:
        if ch in SYMBOLS:
            cmd = SYMBOLS[ch]
            out.append(cmd + (" " if cmd[-1:].isalpha() else ""))
        else:
            out.append(TEX_SPECIALS.get(ch, ch))
    return "".join(out).strip() if len(out) > 1 else "".join(out)


# fmt: off
NAMED_SPACES = {
    "veryverythinmathspace": 0.056, "verythinmathspace": 0.111, "thinmathspace": 0.167,
    "mediummathspace": 0.222, "thickmathspace": 0.278, "verythickmathspace": 0.333,
    "veryverythickmathspace": 0.389,
}
# fmt: on
EM_PER_UNIT = {"em": 1.0, "ex": 0.43, "px": 1 / 16, "pt": 1 / 10, "mu": 1 / 18}


def _space(width: str) -> str:
    """An `mspace` width as TeX spacing commands (never a bare `\\ `, whose meaning hangs on
    the whitespace after it)."""
    width = width.strip()
    em = NAMED_SPACES.get(width)
    if em is None:
        m = re.match(r"^(-?[\d.]+)\s*([a-z]*)$", width)
        if not m:
            return ""
        try:
            em = float(m.group(1)) * EM_PER_UNIT.get(m.group(2) or "em", 1.0)
        except ValueError:
            return ""
    if em < -0.05:
        return r"\!"
    if em < 0.05:
        return ""
    if em <= 0.2:
        return r"\,"
    if em <= 0.25:
        return r"\:"
    if em <= 0.5:
        return r"\;"
    return r"\quad " if em <= 1.5 else r"\qquad "


def _group(tex: str) -> str:
    return "{" + tex + "}"


class _Converter:
    def __init__(self) -> None:
        self.nodes = 0

    def children(self, el: etree._Element) -> list[etree._Element]:
        return [c for c in el if isinstance(c.tag, str)]

    def convert(self, el: etree._Element) -> str:
        self.nodes += 1
        if self.nodes > MAX_NODES:
            raise MathMLTooLarge(f"more than {MAX_NODES} MathML nodes")
        name = local_name(el)
        handler = getattr(self, "m_" + name, None)
        if handler is not None:
            return handler(el)
        if name in (
            "annotation",
            "annotation-xml",
            "mphantom",
            "none",
            "mprescripts",
            "maligngroup",
            "malignmark",
        ):
            return ""
        return self.row(self.children(el))

    def row(self, kids: list[etree._Element]) -> str:
        """A row of siblings; matching bracket `mo`s become `\\left( ... \\right)` (as mmltex writes
        them), also when the closing bracket is the base of a script, as MathJax emits `(1+x)^2`:
        `<mo>(</mo>...<msup><mo>)</mo><mn>2</mn></msup>` -> `{\\left(...\\right)}^{2}`."""
        pairs = self._fence_pairs(kids)
        parts: list[str] = []
        i = 0
        while i < len(kids):
            j = pairs.get(i)
            if j is None:
                parts.append(self.convert(kids[i]))
                i += 1
                continue
            o = (kids[i].text or "").strip()
            closing = kids[j]
            inner = self.row(kids[i + 1 : j])
            if local_name(closing) == "mo":
                c = (closing.text or "").strip()
                parts.append(r"\left" + OPEN_FENCES[o] + inner + r"\right" + CLOSE_FENCES[c])
            else:
                script = self.children(closing)
                c = (script[0].text or "").strip()
                fenced = _group(r"\left" + OPEN_FENCES[o] + inner + r"\right" + CLOSE_FENCES[c])
                marks = {"msub": ("_",), "msup": ("^",), "msubsup": ("_", "^")}[local_name(closing)]
                parts.append(fenced + "".join(m + _group(self.convert(k)) for m, k in zip(marks, script[1:])))
            i = j + 1
        out = ""
        for p in parts:
            if p and p[0].isalpha() and CONTROL_WORD_END.search(out):
                out += " "  # keep `\\alpha x` from becoming `\\alphax`
            out += p
        return out

    def _fence_pairs(self, kids: list[etree._Element]) -> dict[int, int]:
        """Indices of matching open/close bracket `mo`s among siblings (`|` is left alone: it
        cannot tell opening from closing)."""
        pairs: dict[int, int] = {}
        stack: list[tuple[int, str]] = []
        for i, k in enumerate(kids):
            name = local_name(k)
            if name == "mo":
                t = (k.text or "").strip()
            elif name in ("msub", "msup", "msubsup") and len(k) and local_name(k[0]) == "mo":
                t = (k[0].text or "").strip()
                if t not in CLOSE_FENCES:
                    continue
            else:
                continue
            if t in OPEN_FENCES and t != "|" and t != "‖" and name == "mo":
                stack.append((i, t))
            elif t in CLOSE_FENCES and t not in ("|", "‖") and stack:
                o_index, o = stack.pop()
                if MATCH.get(o) == t:
                    pairs[o_index] = i
                else:
                    stack.clear()
        return pairs

    # -- tokens ---------------------------------------------------------------------------------
    def m_mi(self, el: etree._Element) -> str:
        text = "".join(el.itertext()).strip()
        variant = el.get("mathvariant", "")
        if text in FUNCTIONS:
            tex = "\\" + text + " "
        elif len(text) > 1 and text.isalpha() and text.isascii():
            tex = r"\mathrm{" + text + "}"
        else:
            tex = _symbols(text)
        if variant in VARIANTS and text:
            tex = VARIANTS[variant] + _group(tex.strip())
        elif variant == "normal" and len(text) == 1 and text.isascii() and text.isalpha():
            tex = r"\mathrm{" + text + "}"
        return tex

    def m_mn(self, el: etree._Element) -> str:
        return _symbols("".join(el.itertext()).strip())

    def m_mo(self, el: etree._Element) -> str:
        text = "".join(el.itertext()).strip()
        if text in FUNCTIONS:
            return "\\" + text + " "
        return _symbols(text)

    def m_mtext(self, el: etree._Element) -> str:
        text = "".join(el.itertext())
        if not text.strip():
            return r"\ " if text else ""
        return r"\text{" + "".join(TEX_SPECIALS.get(c, c) for c in text) + "}"

    def m_ms(self, el: etree._Element) -> str:
        return r'\text{"' + "".join(el.itertext()) + '"}'

    def m_mspace(self, el: etree._Element) -> str:
        if el.get("linebreak") == "newline":
            return r"\\ "
        return _space(el.get("width") or "")

    # -- layout -----------------------------------------------------------------------------------
    def m_semantics(self, el: etree._Element) -> str:
        kids = [k for k in self.children(el) if local_name(k) not in ("annotation", "annotation-xml")]
        return self.row(kids[:1])

    def m_mstyle(self, el: etree._Element) -> str:
        tex = self.row(self.children(el))
        if el.get("displaystyle") == "true":
            return r"\displaystyle " + tex
        return tex

    def m_menclose(self, el: etree._Element) -> str:
        tex = self.row(self.children(el))
        notation = el.get("notation", "")
        if "box" in notation or "roundedbox" in notation:
            return r"\boxed{" + tex + "}"
        if "updiagonalstrike" in notation:
            return r"\cancel{" + tex + "}"
        return tex

    def m_mfenced(self, el: etree._Element) -> str:
        o, c = el.get("open", "("), el.get("close", ")")
        seps = (el.get("separators", ",") or "").split() or [","]
        sep_chars = list("".join(seps)) or [""]
        items = [self.convert(k) for k in self.children(el)]
        body = ""
        for i, item in enumerate(items):
            if i:
                body += sep_chars[min(i - 1, len(sep_chars) - 1)]
            body += item
        left = OPEN_FENCES.get(o, o or ".")
        right = CLOSE_FENCES.get(c, c or ".")
        return r"\left" + left + body + r"\right" + right

    # -- fractions and roots ---------------------------------------------------------------------
    def m_mfrac(self, el: etree._Element) -> str:
        kids = self.children(el)
        if len(kids) != 2:
            return self.row(kids)
        num, den = self.convert(kids[0]), self.convert(kids[1])
        if el.get("linethickness") in ("0", "0pt", "0em", "0px"):
            return r"\genfrac{}{}{0}{}" + _group(num) + _group(den)
        if el.get("bevelled") == "true":
            return _group(num) + "/" + _group(den)
        return r"\frac" + _group(num) + _group(den)

    def m_msqrt(self, el: etree._Element) -> str:
        return r"\sqrt" + _group(self.row(self.children(el)))

    def m_mroot(self, el: etree._Element) -> str:
        kids = self.children(el)
        if len(kids) != 2:
            return self.m_msqrt(el)
        return r"\sqrt[" + self.convert(kids[1]) + "]" + _group(self.convert(kids[0]))

    # -- scripts ----------------------------------------------------------------------------------
    def _base(self, el: etree._Element) -> str:
        tex = self.convert(el).strip()
        return tex + " " if tex in LARGE_OPERATORS else _group(tex)

    def m_msub(self, el: etree._Element) -> str:
        kids = self.children(el)
        if len(kids) != 2:
            return self.row(kids)
        return self._base(kids[0]) + "_" + _group(self.convert(kids[1]))

    def m_msup(self, el: etree._Element) -> str:
        kids = self.children(el)
        if len(kids) != 2:
            return self.row(kids)
        return self._base(kids[0]) + "^" + _group(self.convert(kids[1]))

    def m_msubsup(self, el: etree._Element) -> str:
        kids = self.children(el)
        if len(kids) != 3:
            return self.row(kids)
        return self._base(kids[0]) + "_" + _group(self.convert(kids[1])) + "^" + _group(self.convert(kids[2]))

    def _accent(self, base: str, mark_el: etree._Element, over: bool) -> str | None:
        mark = "".join(mark_el.itertext()).strip()
        cmd = ACCENTS.get(mark)
        if cmd is None:
            return None
        if not over and cmd not in (r"\underbrace", r"\underline"):
            cmd = r"\underline" if mark in ("_", "¯", "‾") else None
        return cmd + _group(base) if cmd else None

    def m_munder(self, el: etree._Element) -> str:
        kids = self.children(el)
        if len(kids) != 2:
            return self.row(kids)
        base = self.convert(kids[0]).strip()
        if base in LARGE_OPERATORS or local_name(kids[0]) == "mo" or base.startswith("\\lim"):
            return base + " _" + _group(self.convert(kids[1]))
        acc = self._accent(base, kids[1], over=False)
        return acc or r"\underset" + _group(self.convert(kids[1])) + _group(base)

    def m_mover(self, el: etree._Element) -> str:
        kids = self.children(el)
        if len(kids) != 2:
            return self.row(kids)
        base = self.convert(kids[0]).strip()
        if base in LARGE_OPERATORS:
            return base + " ^" + _group(self.convert(kids[1]))
        acc = self._accent(base, kids[1], over=True)
        return acc or r"\overset" + _group(self.convert(kids[1])) + _group(base)

    def m_munderover(self, el: etree._Element) -> str:
        kids = self.children(el)
        if len(kids) != 3:
            return self.row(kids)
        base = self.convert(kids[0]).strip()
        lower, upper = self.convert(kids[1]), self.convert(kids[2])
        if base in LARGE_OPERATORS or local_name(kids[0]) == "mo":
            return base + " _" + _group(lower) + "^" + _group(upper)
        return r"\overset" + _group(upper) + _group(r"\underset" + _group(lower) + _group(base))

    def m_mmultiscripts(self, el: etree._Element) -> str:
        kids = self.children(el)
        if not kids:
            return ""
        base, post, pre, in_pre = self.convert(kids[0]), [], [], False
        for k in kids[1:]:
            if local_name(k) == "mprescripts":
                in_pre = True
                continue
            (pre if in_pre else post).append("" if local_name(k) == "none" else self.convert(k))
        out = ""
        for i in range(0, len(pre) - 1, 2):
            out += "{}_" + _group(pre[i]) + "^" + _group(pre[i + 1])
        out += _group(base)
        for i in range(0, len(post) - 1, 2):
            out += "_" + _group(post[i]) + "^" + _group(post[i + 1])
        return out

    # -- tables -----------------------------------------------------------------------------------
    def m_mtable(self, el: etree._Element) -> str:
        rows = []
        ncols = 1
        for tr in self.children(el):
            cells = (
                [self.convert(td) for td in self.children(tr)]
                if local_name(tr) in ("mtr", "mlabeledtr")
                else [self.convert(tr)]
            )
            if local_name(tr) == "mlabeledtr" and cells:
                cells = cells[1:]  # the equation label
            ncols = max(ncols, len(cells))
            rows.append("&".join(cells))
        align = el.get("columnalign", "")
        spec = "".join(a[0] for a in align.split() if a[:1] in "lcr") if align else ""
        spec = (spec + spec[-1:] * ncols)[:ncols] if spec else "c" * ncols
        return r"\begin{array}{" + spec + "}" + r"\\ ".join(rows) + r"\end{array}"

    def m_mtd(self, el: etree._Element) -> str:
        return self.row(self.children(el))


# The parser keeps at most 2048 levels (html_depth.py); the converter recurses a few frames per
# level, so it gets room for that depth instead of failing on deep but legal MathML. Python 3.11
# runs Python-to-Python calls without C stack, so the higher limit is safe.
RECURSION_FRAMES = 2048 * 4 + 1000


def mathml_to_latex(math: etree._Element) -> str:
    """Convert one `<math>` element (or any MathML subtree) to LaTeX."""
    old = sys.getrecursionlimit()
    if old < RECURSION_FRAMES:
        sys.setrecursionlimit(RECURSION_FRAMES)
    try:
        tex = _Converter().convert(math)
    finally:
        sys.setrecursionlimit(old)
    return " ".join(tex.split())
