"""Find every formula in a page's DOM and replace it by a protected placeholder.

This runs before boilerplate removal: trafilatura deletes `<script>`, hidden spans, `<math>` and
images, which is where most web math lives (FIELD-NOTES 2). Each formula becomes a placeholder
token in the text (`⟦M12⟧`), which boilerplate removal treats as a word; `restore_math` then writes
the formulas back in the corpus convention (`corpus.markup.wrap_math`): `$...$` inline, `$$...$$`
display, LaTeX unchanged.

Markup handled, in this order (outer containers first, so a formula is taken once and the
rendered glyphs next to it are dropped instead of leaking "glyph soup" into the text):

1. MathJax 2 output (`.MathJax`, `.MathJax_Display`, `.MathJax_Preview`, SVG/CHTML variants):
   dropped when the source `<script type="math/...">` is beside it;
2. `<script type="math/tex">`, `math/tex; mode=display`, `text/tex`, `math/asciimath`, `math/mml`;
3. MathJax 3 `<mjx-container>` (source from its assistive MathML);
4. KaTeX `.katex` (TeX from the `application/x-tex` annotation, or the last text of
   `.katex-mathml` when a CMS stripped the tags; display from `.katex-display`);
5. Wikipedia `.mwe-math-element` (annotation; the SVG fallback image is dropped);
6. `<math>`: x-tex annotation, then `alttext`, then presentation MathML converted (mathml.py);
7. formula images (tex_images.py);
8. `data-tex` / `data-latex` / `data-formula` / `data-math` attributes (Zhihu, editors);
9. containers holding bare TeX (`<dt-math>`, `div.math`, `span.math`; math_containers.py) and
   BBCode math inside forum inline code (forum_markup.py);
10. `<sub>`/`<sup>` in prose, written `_{..}`/`^{..}`;
11. raw TeX and BBCode in text nodes with the page's own delimiters (tex_delimiters.py), and
    backtick AsciiMath when the page loads AsciiMath (asciimath.py).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from lxml import etree

from sciloom.corpus.markup import wrap_math
from sciloom.corpus.web.forum_markup import bbcode_in_code
from sciloom.corpus.web.math_containers import bare_tex, container_display, is_math_container, looks_like_tex
from sciloom.corpus.web.mathml import MathMLTooLarge, local_name, mathml_to_latex
from sciloom.corpus.web.tex_delimiters import DelimiterConfig, find_tex
from sciloom.corpus.web.tex_images import tex_from_image

TOKEN = "\u27e6M{}\u27e7"
TOKEN_RE = re.compile("\u27e6M(\\d+)\u27e7")
# Text of code, pre and tex2jax_ignore elements holding a delimiter is fenced with these markers,
# so that the second raw-TeX pass over the extracted text (tokenize_split_tex), which no longer
# sees elements, leaves it alone; restore_math removes them. Built like the math placeholders
# (trafilatura deletes private-use characters, but keeps these as words).
PROTECT_OPEN, PROTECT_CLOSE = "\u27e6Q\u27e7", "\u27e6/Q\u27e7"
SPLIT_RE = re.compile("(\u27e6M\\d+\u27e7|\u27e6Q\u27e7|\u27e6/Q\u27e7)")
UNPROTECTED = {"script", "style", "head", "title"}
SKIP_TEXT = {"script", "style", "code", "pre", "textarea", "noscript", "kbd", "samp", "title", "head"}
# fmt: off
INLINE_TAGS = {
    "a", "abbr", "b", "bdi", "bdo", "big", "cite", "data", "dfn", "em", "font", "i", "img", "ins", "label",
    "mark", "q", "s", "small", "span", "strike", "strong", "sub", "sup", "time", "tt", "u", "var", "script",
}
# fmt: on
# fmt: off
MATHJAX_OUTPUT = (
    "MathJax", "MathJax_Display", "MathJax_SVG", "MathJax_SVG_Display", "MathJax_CHTML", "MathJax_MathML",
    "MathJax_PHTML", "MathJax_MathContainer", "MJX_Assistive_MathML", "MathJax_Preview",
)
# fmt: on
KATEX_DISPLAY = {"katex-display", "katex--display"}
KATEX_WRAPPERS = KATEX_DISPLAY | {"katex--inline"}
TEX_ENCODINGS = ("application/x-tex", "tex", "latex", "application/x-latex", "text/x-tex")
CDATA = re.compile(r"^\s*%?\s*<!\[CDATA\[|%?\s*\]\]>\s*$")
ORDINAL = re.compile(r"^(st|nd|rd|th|er|e|re|ème|eme|o|a|os|as|TM|SM|®|©|†|‡|\*+)$", re.I)
SCRIPT_TEXT = re.compile(r"^[-+−]?[\w.,+\-−′'*()/=]{1,12}$")
MULTILINE_ENV = re.compile(
    r"\\begin\{(aligned|align|gathered|gather|cases|[pbvBV]?matrix|array|split|eqnarray|multline)\*?\}"
)
DISPLAYSTYLE = re.compile(r"^\{\\displaystyle\s*(.*)\}$", re.S)
# MathJax's script types (its `tex2jax`/`mml2jax` preprocessors write `math/*`; CMS plugins and
# hand-written pages also use `text/tex` and `text/x-tex`), mapped to the source language.
SCRIPT_TYPES = {
    "math/tex": "tex",
    "text/tex": "tex",
    "text/x-tex": "tex",
    "math/latex": "tex",
    "text/latex": "tex",
    "math/asciimath": "asciimath",
    "text/asciimath": "asciimath",
    "math/mml": "mml",
    "math/mathml": "mml",
    "text/mml": "mml",
}
SCRIPT_MARKERS = ("math/", "text/tex", "text/x-tex", "text/latex", "text/asciimath", "text/mml")
# Lazy-loading themes put the real image URL in one of these and a placeholder in `src`.
LAZY_SRC = ("data-lazy-src", "data-src", "data-original", "data-orig-src", "data-lazy", "data-url")
PLACEHOLDER = re.compile(
    r"^data:|placeholder|blank\.(gif|png)|spacer\.gif|pixel\.(gif|png)|lazy[-_]?load", re.I
)
DATA_ATTRIBUTES = ("data-tex", "data-latex", "data-formula", "data-math")


def script_math_type(type_attr: str | None) -> tuple[str, bool] | None:
    """`(source language, display)` of a MathJax math script, or None for any other script.

    Markup family: MathJax 2 math scripts, e.g. `<script type="math/tex; mode=display">x</script>`;
    types compare case-blind and with any spacing around `;` and `=`."""
    kind = (type_attr or "").lower().replace(" ", "")
    base, _, params = kind.partition(";")
    lang = SCRIPT_TYPES.get(base)
    if lang is None:
        return None
    return lang, "mode=display" in params


@dataclass(frozen=True)
class Formula:
    latex: str
    display: bool
    kind: str  # markup it came from: tex_script, tex_raw, katex, mathml_annotation, image, ...


def _classes(el: etree._Element) -> set[str]:
    return set((el.get("class") or "").split())


def _xpath_class(name: str) -> str:
    return f"contains(concat(' ', normalize-space(@class), ' '), ' {name} ')"


class MathRecovery:
    """Replace the formulas of one parsed page by placeholders; keep the formulas in order."""

    def __init__(self, config: DelimiterConfig, mathml: bool = True) -> None:
        self.config = config
        self.mathml = mathml
        self.formulas: list[Formula] = []
        self.failures = 0  # MathML that could not be converted (kept out, counted)

    # -- placeholder bookkeeping -------------------------------------------------------------------
    def _token(self, latex: str, display: bool, kind: str) -> str:
        latex, delimited_display = _strip_delimiters(latex.strip())
        display = display or delimited_display
        m = DISPLAYSTYLE.match(latex)
        if m:
            latex = m.group(1).strip()
        if not latex:
            return ""
        if not display and MULTILINE_ENV.search(latex) and "\\\\" in latex:
            # A multi-line environment (aligned, cases, matrices) cannot sit inside a line of text.
            display = True
        self.formulas.append(Formula(latex, display, kind))
        return TOKEN.format(len(self.formulas) - 1)

    def _replace(self, el: etree._Element, text: str) -> None:
        parent = el.getparent()
        if parent is None:
            return
        tail = el.tail or ""
        prev = el.getprevious()
        if prev is not None:
            prev.tail = (prev.tail or "") + text + tail
        else:
            parent.text = (parent.text or "") + text + tail
        parent.remove(el)

    def _replace_formula(self, el: etree._Element, latex: str, display: bool, kind: str) -> None:
        token = self._token(latex, display, kind)
        self._replace(el, token)

    # -- the passes ---------------------------------------------------------------------------------
    def run(self, root: etree._Element, source: str | None = None) -> list[Formula]:
        """Run every pass; with the page `source` at hand, skip the passes whose markup it lacks
        (a substring test is far cheaper than an XPath over 10k elements)."""
        low = source.lower() if source is not None else None

        def has(*markers: str) -> bool:
            return low is None or any(m in low for m in markers)

        if has("mathjax", "mjx_"):
            self._mathjax_output(root)
        if has(*SCRIPT_MARKERS):
            self._scripts(root)
        if has("mjx-container"):
            self._mjx_containers(root)
        if has("katex"):
            self._katex(root)
        if has("mwe-math-element"):
            self._wikipedia(root)
        if has("<math", ":math"):
            self._math_elements(root)
        if has("<img"):
            self._images(root)
        if has(*DATA_ATTRIBUTES):
            self._data_attributes(root)
        if has("math", "tex", "formula", "equation"):
            self._containers(root)
        if has("<code"):
            self._code_bbcode(root)
        if has("<sub", "<sup"):
            self._sub_sup(root)
        self._text(root)
        return self.formulas

    def _mathjax_output(self, root: etree._Element) -> None:
        wanted = set(MATHJAX_OUTPUT)
        candidates = root.xpath("//*[contains(@class, 'MathJax') or contains(@class, 'MJX')]")
        for el in (e for e in candidates if _classes(e) & wanted):
            if el.getparent() is None or "MathJax_Preview" in _classes(el):
                if el.getparent() is not None:
                    self._replace(el, "")
                continue
            nxt = el.getnext()
            while nxt is not None and local_name(nxt) != "script" and _classes(nxt) & set(MATHJAX_OUTPUT):
                nxt = nxt.getnext()
            if nxt is not None and local_name(nxt) == "script" and script_math_type(nxt.get("type")):
                self._replace(el, "")
            elif not el.xpath(".//*[local-name()='math']"):
                self._replace(el, "")  # rendered glyphs whose source is gone: never glyph soup

    def _scripts(self, root: etree._Element) -> None:
        for el in root.xpath("//script[@type]"):
            found = script_math_type(el.get("type"))
            if found is None:
                continue
            lang, display = found
            body = CDATA.sub("", el.text or "")
            if lang == "tex":
                self._replace_formula(el, body, display, "tex_script")
            elif lang == "asciimath":
                from sciloom.corpus.web.asciimath import asciimath_to_latex

                self._replace_formula(el, asciimath_to_latex(body) or "", display, "asciimath")
            else:
                math = _parse_mml(body)
                if math is None:
                    self.failures += 1
                    self._replace(el, "")
                    continue
                display = display or math.get("display") == "block"
                latex, kind = self._math_source(math)
                self._replace_formula(el, latex, display, "mml_script_" + kind)

    def _mjx_containers(self, root: etree._Element) -> None:
        for el in root.xpath("//*[local-name()='mjx-container']"):
            if el.getparent() is None:
                continue
            display = el.get("display") == "true" or el.get("display") == "block"
            maths = el.xpath(".//*[local-name()='math']")
            if maths:
                latex, kind = self._math_source(maths[0])
                self._replace_formula(el, latex, display, "mathjax3_" + kind)
                continue
            # Unrendered or flattened: the TeX is an attribute or the text of a non-glyph child
            # (`<mjx-container display="true"><formula>\sum_i x_i</formula></mjx-container>`).
            latex = el.get("data-latex") or el.get("data-tex") or _unrendered_tex(el) or ""
            self._replace_formula(el, latex, display, "mathjax3")

    def _katex(self, root: etree._Element) -> None:
        for el in root.xpath(f"//*[{_xpath_class('katex')}]"):
            if el.getparent() is None:
                continue
            target, display = el, False
            for anc in [el, *el.iterancestors()]:
                cls = _classes(anc)
                if cls & KATEX_WRAPPERS:
                    target = anc
                    display = display or bool(cls & KATEX_DISPLAY)
            ann = el.xpath(".//*[local-name()='annotation'][contains(@encoding, 'tex')]")
            if ann:
                latex = "".join(ann[0].itertext())
            else:
                mathml = el.xpath(f".//*[{_xpath_class('katex-mathml')}]")
                if mathml:
                    latex = _stripped_katex_tex("".join(mathml[0].itertext()))
                else:  # saved before KaTeX ran: `<span class="katex">x^2</span>` holds the source
                    latex = bare_tex(el) or ""
            self._replace_formula(target, latex, display, "katex")

    def _wikipedia(self, root: etree._Element) -> None:
        for el in root.xpath(f"//*[{_xpath_class('mwe-math-element')}]"):
            if el.getparent() is None:
                continue
            maths = el.xpath(".//*[local-name()='math']")
            display = bool(el.xpath(f".//*[{_xpath_class('mwe-math-mathml-display')}]")) or any(
                m.get("display") == "block" for m in maths
            )
            if maths:
                latex, kind = self._math_source(maths[0])
            else:
                imgs = el.xpath(".//img[@alt]")
                latex, kind = (imgs[0].get("alt"), "alttext") if imgs else ("", "none")
            self._replace_formula(el, latex, display, "wikipedia_" + kind)

    def _math_elements(self, root: etree._Element) -> None:
        for el in root.xpath("//*[local-name()='math']"):
            if el.getparent() is None or any(local_name(a) == "math" for a in el.iterancestors()):
                continue
            display = el.get("display") == "block" or el.get("mode") == "display"
            latex, kind = self._math_source(el)
            self._replace_formula(el, latex, display, "mathml_" + kind)

    def _math_source(self, math: etree._Element) -> tuple[str, str]:
        for ann in math.xpath(".//*[local-name()='annotation']"):
            if (ann.get("encoding") or "").lower() in TEX_ENCODINGS:
                return "".join(ann.itertext()), "annotation"
        if math.get("alttext"):
            return math.get("alttext"), "alttext"
        return self._convert(math) or "", "converted"

    def _convert(self, math: etree._Element) -> str | None:
        if not self.mathml:
            return None
        try:
            return mathml_to_latex(math)
        except (MathMLTooLarge, RecursionError):
            self.failures += 1
            return None

    def _images(self, root: etree._Element) -> None:
        for el in root.xpath("//img"):
            if el.getparent() is None or _lazy_duplicate(el):
                continue
            latex = tex_from_image(_image_url(el), el.get("alt") or "", _classes(el), el.get("title") or "")
            if latex:
                classes = _classes(el)
                cls = " ".join(classes).lower()
                display = (
                    latex.lstrip().startswith("\\displaystyle")
                    or "center" in cls
                    or "display" in cls
                    or _in_display_block(el)
                    # Sphinx marks its inline-role images `img.math` and wraps display ones in a
                    # `div.math`, so an inline one alone on a line (a line block) stays inline.
                    or ("math" not in classes and _own_line(el))
                )
                self._replace_formula(el, latex, display, "image")

    def _data_attributes(self, root: etree._Element) -> None:
        test = " or ".join(f"@{a}" for a in DATA_ATTRIBUTES)
        for el in root.xpath(f"//*[{test}][not(self::script)]"):
            if el.getparent() is None:
                continue
            latex = next((el.get(a) for a in DATA_ATTRIBUTES if el.get(a)), "")
            if el.get("data-math") and not el.get("data-tex") and not looks_like_tex(latex):
                continue  # `data-math="true"` flags, not sources
            cls = " ".join(_classes(el)).lower()
            display = "display" in cls or "block" in cls or latex.rstrip().endswith("\\\\") or _own_line(el)
            if latex.rstrip().endswith("\\\\"):
                latex = latex.rstrip()[:-2]  # Zhihu marks display formulas with a trailing `\\`
            self._replace_formula(el, latex, display, "data_attribute")

    def _containers(self, root: etree._Element) -> None:
        """Containers holding bare TeX (math_containers.py): `<dt-math>`, `div.math`, `span.math`."""
        candidates = root.xpath(
            "//*[contains(local-name(), '-') or self::formula or self::tex or self::latex"
            " or contains(@class, 'math') or contains(@class, 'tex') or contains(@class, 'Math')]"
        )
        for el in candidates:
            if el.getparent() is None or not is_math_container(el) or _in_skipped(el):
                continue
            latex = bare_tex(el)
            if latex is not None:
                self._replace_formula(el, latex, container_display(el), "tex_container")

    def _code_bbcode(self, root: etree._Element) -> None:
        """BBCode math that forum software rendered as inline code (forum_markup.py)."""
        for el, text, spans in bbcode_in_code(root):
            if el.getparent() is None:
                continue
            out, pos = [], 0
            for span in spans:
                out.append(text[pos : span.start])
                out.append(self._token(span.latex, span.display, span.kind))
                pos = span.end
            out.append(text[pos:])
            rest = "".join(out)
            if TOKEN_RE.sub("", rest).strip():
                el.text = rest  # code that also holds other text stays code
            else:
                self._replace(el, rest)

    def _sub_sup(self, root: etree._Element) -> None:
        for el in root.xpath("//sub | //sup"):
            if el.getparent() is None or len(el) or _in_skipped(el):
                continue
            text = (el.text or "").strip()
            # Footnote markers (`<sup>[3]</sup>`, `<sup><a>`) and long runs are not exponents.
            if not text or len(text) > 12 or text.startswith("[") or not _attached(el):
                continue
            if ORDINAL.match(text) or not SCRIPT_TEXT.match(text):
                continue  # 1<sup>st</sup>, Brand<sup>TM</sup>, footnote glyphs
            mark = "^" if local_name(el) == "sup" else "_"
            self._replace(el, f"{mark}{{{text}}}" if len(text) > 1 else f"{mark}{text}")

    def _text(self, root: etree._Element) -> None:
        # Only text nodes holding a delimiter's first character are candidates; XPath finds them
        # without creating a Python proxy per element (the slow part on 10k-element pages).
        firsts = {d.open[0] for d in self.config.sorted_delimiters()} | {"\\"}
        if self.config.asciimath:
            firsts.add("`")
        test = " or ".join(f"contains(., {_xpath_literal(c)})" for c in sorted(firsts))
        for node in root.xpath(f"//text()[{test}]"):
            el = node.getparent()  # for a tail, the element (or comment) it follows
            if el is None:
                continue
            if node.is_text and el.text:
                if not _in_skipped(el):
                    el.text = self._text_run(el.text)
                elif local_name(el) not in UNPROTECTED:
                    el.text = self._protect(el.text)
            elif node.is_tail and el.tail:
                if not _in_skipped(el, include_self=False):
                    el.tail = self._text_run(el.tail)
                elif el.getparent() is not None and local_name(el.getparent()) not in UNPROTECTED:
                    el.tail = self._protect(el.tail)

    def _protect(self, text: str) -> str:
        """Fence text that is not math (code, `tex2jax_ignore`) when it holds a delimiter."""
        if "\\begin{" in text or any(d.open in text for d in self.config.delimiters):
            return PROTECT_OPEN + text + PROTECT_CLOSE
        return text

    def _text_run(self, text: str) -> str:
        spans = find_tex(text, self.config)
        if self.config.asciimath and "`" in text:
            from sciloom.corpus.web.asciimath import find_asciimath

            spans = sorted(spans + find_asciimath(text, spans), key=lambda s: s.start)
        if not spans:
            return text
        out, pos = [], 0
        for s in spans:
            out.append(text[pos : s.start])
            out.append(self._token(s.latex, s.display, s.kind))
            pos = s.end
        out.append(text[pos:])
        return "".join(out)


def tokenize_split_tex(recovery: MathRecovery, text: str) -> str:
    """Second raw-TeX pass over extracted text, for formulas the DOM split across nodes.

    MathJax matches delimiters across `<br>` and inline tags (`$$a<br>b$$`, `\\(x_<em>i</em>\\)`),
    which a per-text-node scan cannot see; in the extracted text they are contiguous again. Only
    the unambiguous delimiters are used here (not the single `$`): code blocks are plain text by now.
    """
    config = DelimiterConfig(delimiters=recovery.config.delimiters, dollar="off")
    out: list[str] = []
    fenced = 0  # inside PROTECT_OPEN..PROTECT_CLOSE: code or tex2jax_ignore text
    for part in SPLIT_RE.split(text):
        if part in (PROTECT_OPEN, PROTECT_CLOSE):
            fenced = fenced + 1 if part == PROTECT_OPEN else max(0, fenced - 1)
            out.append(part)
            continue
        if fenced or TOKEN_RE.fullmatch(part):
            out.append(part)
            continue
        pos = 0
        for span in find_tex(part, config):
            out.append(part[pos : span.start])
            out.append(recovery._token(span.latex, span.display, span.kind))
            pos = span.end
        out.append(part[pos:])
    return "".join(out)


def _parse_mml(body: str) -> etree._Element | None:
    """The `<math>` of a `math/mml` script: strict XML first, else the HTML parser (pages write
    HTML entities such as `&nbsp;` and unclosed tags that XML refuses)."""
    body = body.strip()
    if not body:
        return None
    try:
        return etree.fromstring(body.encode("utf-8"))
    except etree.XMLSyntaxError:
        pass
    import lxml.html

    try:
        frag = lxml.html.fragment_fromstring(body, create_parent="div")
    except (etree.ParserError, ValueError):
        return None
    maths = frag.xpath(".//*[local-name()='math']")
    return maths[0] if maths else None


def _unrendered_tex(container: etree._Element) -> str | None:
    """TeX text of an `mjx-container` that MathJax never rendered: its own text, or a non-glyph
    child's (`<formula>`), when it parses as TeX."""
    for el in container.iter():
        if el is not container and local_name(el).startswith("mjx-"):
            return None  # rendered glyphs (CHTML/SVG) without assistive MathML: no source left
    text = "".join(container.itertext()).strip()
    return text if looks_like_tex(text) else None


def _image_url(img: etree._Element) -> str:
    """The image's real URL: lazy-loading themes keep it in `data-lazy-src`/`data-src`/... and put
    a placeholder (a data: pixel, `blank.gif`) in `src`."""
    for attr in LAZY_SRC:
        value = (img.get(attr) or "").strip()
        if value and not PLACEHOLDER.search(value):
            return value
    src = (img.get("src") or "").strip()
    return "" if PLACEHOLDER.search(src) else src


def _stripped_katex_tex(text: str) -> str:
    """TeX of a `.katex-mathml` whose tags a CMS stripped: the rendered glyphs come one per line,
    then the TeX source as the last line (continuation lines of a long source hold a backslash)."""
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    if not lines:
        return ""
    out = [lines.pop()]
    while lines and "\\" in lines[-1] and len(lines[-1]) > 2:
        out.insert(0, lines.pop())
    return " ".join(out)


def _strip_delimiters(latex: str) -> tuple[str, bool]:
    """Sources that carry their own delimiters (AoPS `alt="$x^2$"`, editors' `data-tex="\\[..\\]"`):
    drop them; `$$`/`\\[` make the formula display."""
    for o, c, display in (("$$", "$$", True), ("\\[", "\\]", True), ("\\(", "\\)", False), ("$", "$", False)):
        if len(latex) > len(o) + len(c) and latex.startswith(o) and latex.endswith(c):
            inner = latex[len(o) : -len(c)]
            if o == "$" and "$" in inner:
                break  # `$a$ and $b$` is two formulas, not one delimited one
            return inner.strip(), display
    return latex, False


def _xpath_literal(ch: str) -> str:
    return f'"{ch}"' if ch != '"' else "'\"'"


def _in_skipped(el: etree._Element, include_self: bool = True) -> bool:
    nodes = [el, *el.iterancestors()] if include_self else list(el.iterancestors())
    for a in nodes:
        if local_name(a) in SKIP_TEXT or "tex2jax_ignore" in (a.get("class") or ""):
            return True
    return False


def _lazy_duplicate(img: etree._Element) -> bool:
    """`<img data-src=..><noscript><img src=..></noscript>`: the noscript copy repeats the image."""
    parent = img.getparent()
    if local_name(parent) != "noscript":
        return False
    prev = parent.getprevious()
    return prev is not None and local_name(prev) == "img"


def _attached(el: etree._Element) -> bool:
    """A sub/sup glued to the word before it (`x<sup>2</sup>`), not a free-standing marker."""
    prev = el.getprevious()
    before = (prev.tail if prev is not None else el.getparent().text) or ""
    return bool(before) and not before[-1].isspace()


DISPLAY_BLOCK_CLASSES = {"math", "mathdisplay", "displaymath", "math-display", "equation"}


def _in_display_block(el: etree._Element) -> bool:
    """A formula image inside a display-math block of its generator: Sphinx's `div.math`,
    LaTeX2HTML's `div.mathdisplay`, `div.displaymath` (two levels up at most, past a `<p>`)."""
    for depth, anc in enumerate(el.iterancestors()):
        if depth > 1:
            return False
        if local_name(anc) == "div" and _classes(anc) & DISPLAY_BLOCK_CLASSES:
            return True
    return False


def _own_line(el: etree._Element) -> bool:
    """The element stands alone on its line: nothing but whitespace and line breaks around it."""

    def breaks(node: etree._Element | None, text: str | None) -> bool:
        if text and text.strip():
            return False
        return node is None or local_name(node) not in INLINE_TAGS or local_name(node) == "br"

    prev, nxt = el.getprevious(), el.getnext()
    before = prev.tail if prev is not None else el.getparent().text
    if prev is None and local_name(el.getparent()) in INLINE_TAGS:
        return False
    if nxt is None and local_name(el.getparent()) in INLINE_TAGS:
        return False
    return breaks(prev, before) and breaks(nxt, el.tail)


INNER_DOLLAR = re.compile(r"(?<!\\)\$")


def _delimited(f: Formula, boundary_tokens: bool) -> str:
    """The formula in the corpus convention; one whose TeX holds a `$` of its own (mhchem's
    `\\ce{NaOH(aq,$\\infty$)}`, `\\text{$x$}`) is written `\\(..\\)` / `\\[..\\]` instead, so that
    no reader has to balance braces to find where it ends."""
    if INNER_DOLLAR.search(f.latex):
        open_, close = ("\\[", "\\]") if f.display else ("\\(", "\\)")
        body = wrap_math("", f.display, boundary_tokens)
        inner = "$$$$" if f.display else "$$"
        return body.replace(inner, open_ + f.latex + close, 1)
    return wrap_math(f.latex, f.display, boundary_tokens)


def restore_math(text: str, formulas: list[Formula], boundary_tokens: bool = False) -> str:
    """Put the formulas back into extracted text.

    Display formulas go on a line of their own. A `$` left in prose (currency) is escaped as `\\$`, so
    that every unescaped `$` of the output delimits math.
    """
    parts = TOKEN_RE.split(text)
    out: list[str] = []
    for i, part in enumerate(parts):
        if i % 2 == 0:
            part = re.sub(r"(?<!\\)\$", r"\\$", part)
            part = re.sub(r"[ \t]+", " ", part)
            out.append(part)
            continue
        if int(part) >= len(formulas):  # the page's own text happened to look like a token
            out.append(TOKEN.format(part))
            continue
        f = formulas[int(part)]
        body = _delimited(f, boundary_tokens)
        if f.display:
            if out:
                out[-1] = out[-1].rstrip(" ")
            out.append("\n" + body + "\n")
            parts[i + 1] = parts[i + 1].lstrip(" ")
        else:
            out.append(body)
    text = "".join(out).replace(PROTECT_OPEN, "").replace(PROTECT_CLOSE, "")
    text = re.sub(r" *\n *", "\n", text)
    text = re.sub(r"\n{3,}", "\n\n", text)
    return text.strip()
