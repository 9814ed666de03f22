#!/usr/bin/env python3
"""Derive formulas.jsonl for the web-wild pages from each page's own markup.

Usage: python3 derive.py [PAGES_DIR] [OUTPUT_JSONL]   (defaults: ./pages, ./formulas.jsonl)

The pages here have no hand-made ground truth, so the formulas are read from the markup a
renderer would typeset, with the renderer's own rules, using only the Python standard library
(html.parser) and nothing from sciloom, so that the ground truth never depends on the extractor
it checks. Per page, in document order:

- text of the body, outside <script>, <style>, <pre>, <code>, <textarea>, <noscript> (MathJax's
  tex2jax `skipTags`, KaTeX auto-render's `ignoredTags`) and outside class `tex2jax_ignore` (tex2jax's
  `ignoreClass`), is scanned with the page's delimiters:
  the pairs its inline MathJax config lists (`inlineMath`, `displayMath`) or its KaTeX
  auto-render `delimiters` objects; without a config, MathJax 2's defaults: `\\(..\\)` inline,
  `$$..$$` and `\\[..\\]` display (a single `$` is not math unless configured). A `\\$` is a
  literal dollar. A closing delimiter counts only outside braces (KaTeX auto-render's
  `findEndOfMath`, tex2jax's brace count), so mhchem's `$\\ce{NaOH(aq,$\\infty$)}$` is one formula. `\\begin{ENV}..\\end{ENV}` of a math environment is display (tex2jax
  `processEnvironments`, on by default). Text runs are joined across inline tags and `<br>`;
  block elements (each is its own element for tex2jax and auto-render) and skipped elements
  separate them;
- <script type="math/tex">, `math/tex; mode=display` bodies (display from `mode=display`);
- elements of class `math` (jsMath, pandoc, Sphinx) and `<dt-math>`/`<d-math>` holding text
  only (a container with child elements holds rendered HTML, e.g. pandoc's `<em>x</em> ∈`, not
  TeX): that text, its own delimiters stripped (`$$..$$` and `\\[..\\]` make it display), display
  also for `div` or a `block` attribute / `display` class;
- <img> whose `alt` is delimited TeX (`$..$`, `\\(..\\)`, `$$..$$`, LaTeX2HTML's convention), or
  whose class is `math`/`latex`/`tex` (Sphinx pngmath/imgmath, WordPress): the `alt`, display
  when the image sits in a `div.math` (Sphinx's display math);
- `data-tex` / `data-latex` / `data-formula` attributes;
- BBCode `[tex]` and `[math]` (display; the forums' block tags), `[itex]`, `[imath]`, `[latex]`
  (inline), any letter case, in body text.

Each output line: {"page": NAME, "formulas": [{"latex", "display", "how"}], "counts": {...}},
the format of ../shared/data/web-math/formulas.jsonl, so its score_recall.py scores these pages.
"""

import html.parser
import json
import os
import re
import sys

SKIP = {"script", "style", "pre", "code", "textarea", "noscript", "head", "title"}
# fmt: off
BLOCK = {
    "p", "div", "li", "ul", "ol", "dl", "dt", "dd", "table", "tr", "td", "th", "h1", "h2", "h3", "h4",
    "h5", "h6", "blockquote", "section", "article", "center", "hr", "br", "body", "caption", "figure",
}
# fmt: on
VOID = {"br", "hr", "img", "meta", "link", "input", "area", "base", "col", "embed", "source", "wbr"}
ENVS = (
    "equation|align|alignat|aligned|gather|gathered|multline|eqnarray|displaymath|flalign|split|cases|"
    "array|matrix|pmatrix|bmatrix|Bmatrix|vmatrix|Vmatrix|CD|subequations"
)
ENV = re.compile(r"\\begin\{(" + ENVS + r")(\*?)\}")
PAIR = re.compile(r"""\[\s*(["'])(.*?)(?<!\\)\1\s*,\s*(["'])(.*?)(?<!\\)\3\s*\]""")
KATEX = re.compile(
    r"""\{\s*left\s*:\s*(["'])(.*?)(?<!\\)\1\s*,\s*right\s*:\s*(["'])(.*?)(?<!\\)\3\s*,\s*display\s*:\s*(true|false)"""
)
BBCODE = {"tex": True, "itex": False, "math": True, "latex": False, "imath": False}
SEP = "\x00"


def _unjs(s):
    return re.sub(r"\\(.)", r"\1", s)


def delimiters(scripts):
    """(open, close, display) pairs of the page's renderer config, else MathJax 2's defaults."""
    code = "\n".join(scripts)
    pairs = []
    for key, display in (("inlineMath", False), ("displayMath", True)):
        for m in re.finditer(key + r"""["']?\s*:\s*\[""", code):
            depth, i = 0, m.end() - 1
            while i < len(code):
                depth += {"[": 1, "]": -1}.get(code[i], 0)
                if depth == 0:
                    break
                i += 1
            pairs += [(_unjs(p[1]), _unjs(p[3]), display) for p in PAIR.findall(code[m.end() - 1 : i + 1])]
    pairs += [(_unjs(m[1]), _unjs(m[3]), m[4] == "true") for m in KATEX.findall(code)]
    if not any(not d for _o, _c, d in pairs):
        pairs.append(("\\(", "\\)", False))
    if not any(d for _o, _c, d in pairs):
        pairs += [("$$", "$$", True), ("\\[", "\\]", True)]
    for tag, display in BBCODE.items():
        for name in {tag, tag.upper(), tag.title()}:
            pairs.append((f"[{name}]", f"[/{name}]", display))
    return sorted(set(pairs), key=lambda p: -len(p[0]))


def end_of_math(text, start, close):
    """KaTeX auto-render's findEndOfMath (MathJax's tex2jax counts braces the same way): the
    closing delimiter counts only outside braces; a backslash escapes the next character."""
    depth, i = 0, start
    while i < len(text):
        if depth <= 0 and text.startswith(close, i):
            return i
        if text[i] == "\\":
            i += 1
        elif text[i] == "{":
            depth += 1
        elif text[i] == "}":
            depth -= 1
        i += 1
    return -1


def scan(text, pairs):
    """(latex, display) of every delimited formula or math environment in a text run."""
    out, i, n = [], 0, len(text)
    while i < n:
        if text[i] == "\\" and text.startswith("\\$", i):
            i += 2
            continue
        m = ENV.match(text, i)
        if m:
            end = "\\end{" + m.group(1) + m.group(2) + "}"
            j = text.find(end, m.end())
            if j != -1 and SEP not in text[i:j]:
                out.append((text[i : j + len(end)], True))
                i = j + len(end)
                continue
        for o, c, display in pairs:
            if text.startswith(o, i):
                j = end_of_math(text, i + len(o), c)
                body = text[i + len(o) : j] if j != -1 else ""
                if j != -1 and body.strip() and SEP not in body:
                    out.append((body.strip(), display))
                    i = j + len(c)
                    break
        else:
            i += 1
    return out


class Page(html.parser.HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack = []  # open tags
        self.text = []  # body text with SEP/newlines at boundaries
        self.scripts = []  # non-math script bodies (renderer config)
        self.items = []  # (position in text, latex, display, how)
        self._script = None
        self._container = None  # [display, [text], depth]
        self.math_div = 0  # open div.math elements (Sphinx wraps display-math images in one)
        self._div_stack = []

    def pos(self):
        return sum(len(t) for t in self.text)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag in BLOCK:
            self.text.append("\n" if tag == "br" else SEP)
        if tag == "img":
            alt = (a.get("alt") or "").strip()
            m = re.fullmatch(r"\$\$(.+)\$\$|\$([^$].*)\$|\\\((.+)\\\)|\\\[(.+)\\\]", alt, re.S)
            img_classes = (a.get("class") or "").split()
            if m:
                display = m.group(1) is not None or m.group(4) is not None
                latex = next(g for g in m.groups() if g is not None)
                self.items.append((self.pos(), latex.strip(), display, "img_alt"))
            elif alt and set(img_classes) & {"math", "latex", "tex"}:
                # Sphinx pngmath/imgmath and WordPress: the image's class says it renders `alt`
                self.items.append((self.pos(), alt, self.math_div > 0, "img_class_alt"))
        for attr in ("data-tex", "data-latex", "data-formula"):
            if a.get(attr):
                self.items.append((self.pos(), a[attr].strip(), False, attr))
        classes = (a.get("class") or "").split()
        if tag == "div":
            self._div_stack.append("math" in classes)
            self.math_div += "math" in classes
        if self._container is not None and tag not in VOID | {"br"}:
            self._container[3] = True  # holds markup: rendered HTML, not a TeX source
        if self._container is None and ("math" in classes or tag in ("dt-math", "d-math")):
            display = tag == "div" or "block" in a or "display" in classes
            self._container = [display, [], len(self.stack), False]
        if tag == "script":
            self._script = [(a.get("type") or "").lower().replace(" ", ""), []]
        if tag not in VOID:
            # tex2jax's default ignoreClass: the element's text is not scanned for math
            self.stack.append("textarea" if "tex2jax_ignore" in classes else tag)
        if tag in SKIP or "tex2jax_ignore" in classes:
            self.text.append(SEP)

    def handle_endtag(self, tag):
        if tag == "div" and self._div_stack:
            self.math_div -= self._div_stack.pop()
        if tag == "script" and self._script is not None:
            kind, body = self._script
            body = "".join(body)
            if kind.startswith("math/tex"):
                self.items.append((self.pos(), body.strip(), "mode=display" in kind, "script"))
            elif not kind or "javascript" in kind or "mathjax-config" in kind:
                self.scripts.append(body)
            self._script = None
        if tag in self.stack or "textarea" in self.stack:
            while self.stack and self.stack.pop() not in (tag, "textarea"):
                pass
        if self._container is not None and len(self.stack) == self._container[2]:
            display, parts, _, has_markup = self._container
            text = "".join(parts).strip()
            m = re.fullmatch(r"\$\$(.+)\$\$|\\\[(.+)\\\]|\\\((.+)\\\)|\$([^$].*)\$", text, re.S)
            if m:
                display = display or m.group(1) is not None or m.group(2) is not None
                text = next(g for g in m.groups() if g is not None).strip()
            if text and not has_markup:
                self.items.append((self.pos(), text, display, "container"))
            self._container = None
        if tag in BLOCK or tag in SKIP:
            self.text.append(SEP)

    def handle_data(self, data):
        if self._script is not None:
            self._script[1].append(data)
            return
        if self._container is not None:
            self._container[1].append(data)
            return
        if any(t in SKIP for t in self.stack) or "body" not in self.stack:
            return
        self.text.append(data)


def formulas_of(source):
    page = Page()
    page.feed(source)
    page.close()
    pairs = delimiters(page.scripts)
    text = "".join(page.text)
    found = []
    for run_start, run in _runs(text):
        for latex, display in scan(run, pairs):
            found.append((run_start + run.find(latex), latex, display, "delimited"))
    found += page.items
    found.sort(key=lambda f: f[0])
    return [{"latex": lt, "display": d, "how": how} for _p, lt, d, how in found if lt.strip()]


def _runs(text):
    """Text split into separately scanned runs at skipped elements (SEP)."""
    pos = 0
    for part in text.split(SEP):
        yield pos, part
        pos += len(part) + 1


def main(argv):
    here = os.path.dirname(os.path.abspath(__file__))
    pages = argv[1] if len(argv) > 1 else os.path.join(here, "pages")
    out_path = argv[2] if len(argv) > 2 else os.path.join(here, "formulas.jsonl")
    with open(out_path, "w", encoding="utf-8") as out:
        for name in sorted(f for f in os.listdir(pages) if f.endswith(".html")):
            with open(os.path.join(pages, name), encoding="utf-8") as fh:
                formulas = formulas_of(fh.read())
            counts = {
                "total": len(formulas),
                "inline": sum(not f["display"] for f in formulas),
                "display": sum(f["display"] for f in formulas),
            }
            rec = {"page": name[: -len(".html")], "counts": counts, "formulas": formulas}
            out.write(json.dumps(rec, ensure_ascii=False) + "\n")
            print(f"{name}\t{counts}")


if __name__ == "__main__":
    main(sys.argv)
