"""Remove what TeX never typesets: `%` comments, `comment` environments and dead `\\if` branches.

Comments follow TeX's reading rules rather than a regex (FIELD-NOTES 4, "Comments"):
- `%` starts a comment unless escaped by an odd run of backslashes (`\\%` is a percent sign,
  `\\\\%` is a line break followed by a comment);
- the comment eats its end of line and the next line's leading blanks, so `foo%⏎  bar` stays
  `foobar`, and a comment-only line never turns into a paragraph break;
- `%` inside `\\verb|...|`, `\\url{...}`, `\\href{...}` and verbatim-like environments
  (`verbatim`, `lstlisting`, `minted`, ...) is text and is kept.
RedPajama's `[^\\\\]%.+$` eats the character before `%` and ignores `\\\\%`; this does neither.

Conditionals: `\\iffalse`, `\\iftrue` and `\\newif` switches are evaluated (`\\iffalse A\\else B\\fi`
keeps B); other TeX conditionals (`\\ifx`, `\\ifnum`, ...) are left in place but still counted for
nesting, and a name that is not a conditional (`\\iffalt`) is ignored, as TeX itself would.
"""

from __future__ import annotations

import re

VERBATIM_ENVS = (
    "verbatim",
    "verbatim*",
    "Verbatim",
    "Verbatim*",
    "lstlisting",
    "minted",
    "BVerbatim",
    "LVerbatim",
)
COMMENT_ENVS = frozenset({"comment"})
BEGIN_ENV = re.compile(r"\\begin\s*\{([^{}]+)\}")
EXCLUDECOMMENT = re.compile(r"\\excludecomment\s*\{([^{}]+)\}")

# TeX primitive conditionals and common package switches: they open a level that `\fi` closes.
PRIMITIVE_IFS = frozenset(
    "if ifcat ifnum ifdim ifodd ifvmode ifhmode ifmmode ifinner ifvoid ifhbox ifvbox ifx ifeof "
    "iftrue iffalse ifcase ifdefined ifcsname iffontchar ifincsname ifpdfprimitive "
    "ifpdf ifxetex ifluatex ifpdftex ifvtex ifdraft ifCLASSOPTIONcompsoc ifCLASSOPTIONonecolumn "
    "ifCLASSINFOpdf ifCLASSOPTIONpeerreview ifCLASSOPTIONconference".split()
)
CONDITIONAL_TOKEN = re.compile(r"\\(if[A-Za-z@]*|else|fi)(?![A-Za-z@])")
NEWIF = re.compile(r"\\newif\s*\\(if[A-Za-z@]+)")
SWITCH_SET = re.compile(r"\\([A-Za-z@]+)(true|false)(?![A-Za-z@])")
# A conditional name right after these is being defined, not tested.
DEFINING_PREFIX = re.compile(
    r"\\(?:newif|def|gdef|edef|xdef|let|global|newcommand\*?|providecommand\*?)\s*\{?\s*$"
)


def strip_comments(text: str, extra_comment_envs: frozenset[str] = frozenset()) -> str:
    """Remove `%` comments and `comment` environments; keep verbatim content intact."""
    comment_envs = COMMENT_ENVS | extra_comment_envs | frozenset(EXCLUDECOMMENT.findall(text))
    out: list[str] = []
    join_next = False
    verbatim_end: str | None = None
    skip_until: str | None = None
    lines = text.split("\n")
    if text.endswith("\n"):
        lines.pop()
    for line in lines:
        if verbatim_end is not None:
            out.append(line + "\n")
            if verbatim_end in line:
                verbatim_end = None
            continue
        if join_next:
            line = line.lstrip(" \t")
            join_next = False
        if skip_until is not None:
            idx = line.find(skip_until)
            if idx < 0:
                continue
            line = line[idx + len(skip_until) :]
            skip_until = None
            if not line.strip():
                continue
        cut = comment_start(line)
        if cut >= 0:
            line = line[:cut]
        # A comment environment opening on this line hides the rest until its \end.
        for m in BEGIN_ENV.finditer(line) if "\\begin" in line else ():
            env = m.group(1).strip()
            if env in comment_envs:
                end = f"\\end{{{env}}}"
                rest = line[m.end() :]
                if end in rest:
                    line = line[: m.start()] + rest[rest.index(end) + len(end) :]
                else:
                    line, skip_until, cut = line[: m.start()], end, -1
                break
            if env in VERBATIM_ENVS:
                end = f"\\end{{{env}}}"
                if end not in line[m.end() :]:
                    verbatim_end = end
                break
        if cut >= 0:
            out.append(line)
            join_next = True
        elif skip_until is not None:
            out.append(line)
        else:
            out.append(line + "\n")
    result = "".join(out)
    return result[:-1] if result.endswith("\n") and not text.endswith("\n") else result


def comment_start(line: str) -> int:
    """Index of the `%` that starts a comment in `line`, or -1."""
    first = line.find("%")
    if first < 0:
        return -1
    i = line.find("\\", 0, first)
    if i < 0:
        return first  # no backslash before it: nothing can escape or hide it
    n = len(line)  # scan from the first backslash: the characters before it are plain text
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
                i += 2  # the escaped character (`\%`, `\\`) is consumed with its backslash
            continue
        if c == "%":
            return i
        i += 1
    return -1


def conditional_switches(texts: list[str]) -> tuple[set[str], dict[str, bool]]:
    """`\\newif` names declared in `texts` and the value each switch was last set to."""
    names: set[str] = set()
    for text in texts:
        names.update(NEWIF.findall(text))
    values: dict[str, bool] = {}
    for text in texts if names else ():  # only declared switches get values
        for m in SWITCH_SET.finditer(text):
            if "if" + m.group(1) in names:
                values["if" + m.group(1)] = m.group(2) == "true"
    return names, values


IF_CHARS = re.compile(r"\s*([^\\\s{}])(\S|\s)")
IFNUM_CONSTANT = re.compile(r"\s*(-?\d+)\s*([<=>])\s*(-?\d+)\s?")


def _constant_test(name: str, text: str, pos: int) -> tuple[bool, int] | None:
    """`\\if0x` / `\\ifnum0=1`: tests of constants authors use to hide text; (value, end) or None."""
    if name == "if":
        m = IF_CHARS.match(text, pos)
        if m and m.group(2) != "\\":
            return m.group(1) == m.group(2), m.end()
    elif name == "ifnum":
        m = IFNUM_CONSTANT.match(text, pos)
        if m:
            a, op, b = int(m.group(1)), m.group(2), int(m.group(3))
            return (a < b if op == "<" else a == b if op == "=" else a > b), m.end()
    return None


def strip_conditionals(
    text: str, newifs: set[str] | frozenset[str] = frozenset(), values: dict[str, bool] | None = None
) -> str:
    """Drop dead branches of `\\iffalse`/`\\iftrue`/`\\newif` conditionals; keep others as they are."""
    if "\\if" not in text:
        return text
    values = values or {}
    known = PRIMITIVE_IFS | set(newifs)
    out: list[str] = []
    stack: list[tuple[str, bool, bool]] = []  # (kind, parent_live, value)
    live, pos = True, 0
    for m in CONDITIONAL_TOKEN.finditer(text):
        name = m.group(1)
        if name.startswith("if"):
            if name not in known or DEFINING_PREFIX.search(text, max(0, m.start() - 20), m.start()):
                continue
            if not live:
                stack.append(("dead", False, False))
            elif name in ("iffalse", "iftrue") or name in newifs:
                value = name == "iftrue" or (name in newifs and values.get(name, False))
                out.append(text[pos : m.start()])
                pos = m.end()
                stack.append(("eval", True, value))
                live = value
            elif (test := _constant_test(name, text, m.end())) is not None:
                value, end = test
                out.append(text[pos : m.start()])
                pos = end
                stack.append(("eval", True, value))
                live = value
            else:
                stack.append(("opaque", True, True))
            continue
        if not stack:
            continue
        kind, parent_live, value = stack[-1]
        if kind != "eval":
            if name == "fi":
                stack.pop()
            continue
        if name == "else":
            if live:
                out.append(text[pos : m.start()])
            else:
                pos = m.end()
            live = not live
            stack[-1] = (kind, parent_live, not value)
        else:  # fi
            stack.pop()
            if live:
                out.append(text[pos : m.start()])
            pos = m.end()
            live = parent_live
    if live:
        out.append(text[pos:])
    return "".join(out)
