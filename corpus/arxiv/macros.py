"""Expand user macros the way TeX reads them: one token stream, definitions in document order.

The source is split into tokens (control words `\\name`, control symbols `\\%`, braces, brackets,
`#`, blank runs and plain-text runs) and read from a stack, TeX's own model: a macro call pops
its arguments off the stack and pushes its body back, so a body may use the tokens that follow
it, and macros defined by macros work. This is what makes the expansion *token-aware*: `\\R` is
one token and `\\Rightarrow` another, so defining `\\R` never touches `\\Rightarrow` (MathPile's
`str.replace` does, FIELD-NOTES 4).

Supported definitions: `\\newcommand`/`\\renewcommand`/`\\providecommand`/`\\DeclareRobustCommand`
(starred, `[N]` arguments, `[default]` optional first argument, braced or brace-less name and
body), `\\def`/`\\gdef`/`\\edef`/`\\xdef` (undelimited `#1#2` and delimited parameter text),
`\\let`, `\\DeclareMathOperator(*)` (-> `\\operatorname`), mathtools' `\\DeclarePairedDelimiter`,
`\\newenvironment`/`\\renewenvironment` and `\\newtheorem` (recorded for headings).
`\\edef` is read as `\\def` (no expansion at definition time): close enough for document macros.

Commands the text converter relies on (sectioning, citations, `\\begin`/`\\end`, includes...)
are never redefined: a paper's `\\renewcommand{\\section}{\\@startsection...}` is a layout
change, and expanding it would destroy the heading.

pylatexenc (2.11) is not used here: it parses but does not expand user macros, and a macro
body that opens an environment (`\\newcommand{\\be}{\\begin{eqnarray}}`) makes its parser
swallow the rest of the paper (FIELD-NOTES 4, "pylatexenc pitfalls").

A limit on expansions (`max_macro_expansions`) stops runaway recursion (`\\def\\a{x\\a}`); calls
that could not be expanded are counted as unresolved.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from operator import itemgetter

from sciloom.corpus.arxiv.latex_text import CITES, REFS

# Alternatives that cannot start with a backslash come first (they are most tokens, and the
# regex engine tries alternatives in order); the verbatim ones must stay before `\\[A-Za-z@]+`.
TOKEN = re.compile(
    r"[^\\{}\[\]#\s]+"
    r"|\s+"
    r"|[{}\[\]#]"
    r"|\\begin\s*\{(verbatim\*?|Verbatim\*?|lstlisting|minted|BVerbatim|LVerbatim)\}.*?\\end\s*\{\1\}"
    r"|\\(?:verb|lstinline)\*?([^A-Za-z\s*{])[^\n]*?\2"
    r"|\\[A-Za-z@]+"
    r"|\\.",
    re.DOTALL,
)
# TOKEN without the verbatim alternatives, which need groups (so `findall` would give tuples,
# and a Match object per token costs 1.7x): the same tokens between verbatim tokens.
PLAIN_TOKEN = re.compile(r"[^\\{}\[\]#\s]++|\s++|[{}\[\]#]|\\[A-Za-z@]++|\\.", re.DOTALL)
# Where TOKEN's verbatim alternatives can start.
VERBATIM_START = re.compile(
    r"\\(?:begin\s*\{(?:verbatim|Verbatim|lstlisting|minted|BVerbatim|LVerbatim)|verb|lstinline)"
)
CONTROL_WORD = re.compile(r"\\[A-Za-z@]+")

MAX_GROUP_TOKENS = 200_000  # an argument longer than this is an unbalanced brace, not an argument
MARK = "\x00"  # first character of the private marker tokens (never produced by `tokenize`)
DISCARD_ON = "\x00discard+"
DISCARD_OFF = "\x00discard-"

NEWCOMMANDS = frozenset(
    {
        "\\newcommand",
        "\\renewcommand",
        "\\providecommand",
        "\\DeclareRobustCommand",
        "\\DeclareTextFontCommand",
    }
)
DOCUMENT_COMMANDS = frozenset(
    {"\\NewDocumentCommand", "\\RenewDocumentCommand", "\\ProvideDocumentCommand", "\\DeclareDocumentCommand"}
)
VALUE_TESTS = frozenset(
    f"\\If{what}{branch}" for what in ("Value", "NoValue", "Boolean") for branch in ("TF", "T", "F")
)
NO_VALUE = "-NoValue-"
BOOLEAN_TRUE = "\\BooleanTrue"
BOOLEAN_FALSE = "\\BooleanFalse"
DEFS = frozenset({"\\def", "\\gdef", "\\edef", "\\xdef"})
PREFIXES = frozenset({"\\global", "\\long", "\\protected", "\\outer"})
# Never (re)defined by a paper: the converter reads these as structure.
PROTECTED = frozenset(
    "\\" + n
    for n in (
        "section subsection subsubsection paragraph subparagraph chapter part title author date maketitle "
        "begin end item caption label ref eqref autoref cref Cref footnote input include subfile import "
        "subimport bibliography bibitem printbibliography appendix cite citep citet citealp citealt "
        "citeauthor citeyear parencite textcite autocite nocite emph textbf textit newcommand renewcommand "
        "providecommand def let newenvironment renewenvironment documentclass usepackage par "
        "operatorname includegraphics "
        # TeX primitives: `\expandafter\def\csname x\endcsname` must not turn \csname into a macro.
        "csname endcsname expandafter noexpand relax the number romannumeral begingroup endgroup "
        "everypar global long edef gdef xdef else fi or if ifx afterassignment aftergroup string "
        "catcode futurelet uppercase lowercase"
    ).split()
)
PROTECTED = PROTECTED | frozenset("\\" + n for n in CITES | REFS)
PROTECTED_ENVS = frozenset(
    "document equation equation* align align* gather gather* multline multline* eqnarray eqnarray* "
    "thebibliography figure figure* table table* itemize enumerate description verbatim abstract "
    "displaymath math flalign flalign* alignat alignat* split".split()
)


def tokenize(text: str) -> list[str]:
    """Text -> TOKEN's tokens: `PLAIN_TOKEN.findall` between the verbatim tokens TOKEN would read."""
    m = VERBATIM_START.search(text)
    if m is None:
        return PLAIN_TOKEN.findall(text)
    out: list[str] = []
    done = 0  # a token boundary: the end of the last verbatim token
    while m is not None:
        start = m.start()
        k = start
        while k > done and text[k - 1] == "\\":
            k -= 1
        # After an odd run of backslashes this one is the second half of `\\`, not a token start.
        if (start - k) % 2 == 0:
            tok = TOKEN.match(text, start)
            if tok is not None and (tok.group(1) is not None or tok.group(2) is not None):
                out += PLAIN_TOKEN.findall(text, done, start)
                out.append(tok.group(0))
                done = tok.end()
                m = VERBATIM_START.search(text, done)
                continue
        m = VERBATIM_START.search(text, start + 1)
    out += PLAIN_TOKEN.findall(text, done)
    return out


def join_tokens(tokens: list[str]) -> str:
    """Tokens -> text; a space separates a control word from a following letter or `@`.

    Without it `\\foo` + `bar` (or `\\fo@` + `x`) would be read back as one control word.
    Markers and empty tokens are left out (and do not separate). Vectorised: the first characters
    of all tokens form one string, in which a regex finds the few control words followed by a
    letter; a Python loop over every token took 10% of the extraction.
    """
    try:
        firsts = "".join(map(_first_char, tokens))
    except IndexError:  # an empty token
        tokens = [tok for tok in tokens if tok]
        firsts = "".join(map(_first_char, tokens))
    if MARK in firsts:
        tokens = [tok for tok in tokens if tok[0] != MARK]
        firsts = firsts.replace(MARK, "")
    pieces: list[str] = []
    pos = 0
    for m in GLUE_CANDIDATE.finditer(firsts):
        i = m.start()
        tok = tokens[i]
        nxt = tokens[i + 1][0]
        if (nxt == "@" or nxt.isalpha()) and CONTROL_WORD.fullmatch(tok):
            pieces.extend(tokens[pos : i + 1])
            pieces.append(" ")
            pos = i + 1
    if not pieces:
        return "".join(tokens)
    pieces.extend(tokens[pos:])
    return "".join(pieces)


_first_char = itemgetter(0)
# A backslash token followed by a token starting with a letter or `@`: `[^\W\d_]` is a superset
# of `str.isalpha`, which the loop above then checks exactly.
GLUE_CANDIDATE = re.compile(r"\\(?=[^\W\d_]|@)")


@dataclass
class Macro:
    name: str
    nargs: int = 0
    default: list[str] | None = None  # optional first argument's default (LaTeX `[default]`)
    body: list[str | int] = field(default_factory=list)  # ints are parameter numbers
    # \def parameter text with delimiters: [(param number, delimiter tokens after it)], and
    # the delimiter required before the first parameter.
    delimited: list[tuple[int, list[str]]] | None = None
    prefix: list[str] = field(default_factory=list)
    star_variant: bool = False  # \DeclarePairedDelimiter: `\abs*{x}` takes the same argument
    spec: list[tuple[str, list[str] | None]] | None = None  # xparse: ("m"|"o"|"s", default)
    primitive: str | None = None  # `\let\a\b` with a non-user `\b`: `\a` *is* `\b`, never re-expanded


@dataclass
class Environment:
    name: str
    nargs: int = 0
    default: list[str] | None = None
    begin: list[str | int] = field(default_factory=list)
    end: list[str | int] = field(default_factory=list)


def compile_body(tokens: list[str], nargs: int) -> list[str | int]:
    """Body tokens -> items, `#n` as ints (`##` -> `#` for nested definitions)."""
    out: list[str | int] = []
    i, n = 0, len(tokens)
    while i < n:
        tok = tokens[i]
        if tok == "#" and i + 1 < n:
            nxt = tokens[i + 1]
            if nxt == "#":
                out.append("#")
                i += 2
                continue
            if nxt[:1].isdigit() and 1 <= int(nxt[0]) <= max(nargs, 0):
                out.append(int(nxt[0]))
                if len(nxt) > 1:
                    out.append(nxt[1:])
                i += 2
                continue
        out.append(tok)
        i += 1
    return out


def substitute(body: list[str | int], args: list[list[str]]) -> list[str]:
    out: list[str] = []
    for item in body:
        if isinstance(item, int):
            out.extend(args[item - 1] if item <= len(args) else [])
        else:
            out.append(item)
    return out


class Expander:
    """Reads a token stream, applies definitions, expands calls, lets `hooks` handle commands.

    `hooks` maps a command token (e.g. `\\input`) to a function called with the expander when the
    command is read; it may pop tokens with the `read_*` methods and `push` new ones.
    """

    def __init__(self, max_expansions: int, hooks: dict[str, Callable[[Expander, str], None]] | None = None):
        self.max_expansions = max_expansions
        self.hooks = dict(hooks or {})
        self.markers: dict[str, Callable[[Expander, str], None]] = {}
        self.macros: dict[str, Macro] = {}
        self.environments: dict[str, Environment] = {}
        self.theorems: dict[str, str] = {}  # env name -> printed name
        self.num_definitions = 0
        self.num_expansions = 0
        self.num_unresolved = 0  # calls that could not be expanded (missing arguments, limit)
        self.limit_hit = False
        self.stack: list[str] = []
        self.discard = 0
        self.handlers: dict[str, Callable[[str], None]] = {
            **dict.fromkeys(NEWCOMMANDS, self._newcommand),
            **dict.fromkeys(DEFS, self._def),
            **dict.fromkeys(PREFIXES, lambda t: None),
            "\\let": self._let,
            "\\DeclareMathOperator": self._mathop,
            "\\DeclarePairedDelimiter": self._paired,
            "\\newenvironment": self._newenv,
            "\\renewenvironment": self._newenv,
            "\\newtheorem": self._newtheorem,
            **dict.fromkeys(DOCUMENT_COMMANDS, self._document_command),
            **dict.fromkeys(VALUE_TESTS, self._if_value),
            "\\begin": self._begin,
            "\\end": self._end,
        }

    # -- the main loop ---------------------------------------------------------------------------
    def expand(self, tokens: list[str]) -> list[str]:
        """Expand a whole token list (hooks and markers active)."""
        saved, self.stack = self.stack, tokens[::-1]
        out: list[str] = []
        try:
            self._loop(out)
        finally:
            self.stack = saved
        return out

    def expand_isolated(self, tokens: list[str]) -> str:
        """Expand an argument (e.g. a file name) on its own, hooks inactive; return its text."""
        saved_hooks, self.hooks = self.hooks, {}
        saved_discard, self.discard = self.discard, 0
        try:
            return join_tokens(self.expand(tokens)).strip()
        finally:
            self.hooks, self.discard = saved_hooks, saved_discard

    def _loop(self, out: list[str]) -> None:
        # The hot loop (every token passes here): methods and `self.discard` are held in locals;
        # `discard` only changes in `_marker` and around nested expansions run by handlers/hooks,
        # so it is re-read after those calls.
        stack = self.stack
        pop, append = stack.pop, out.append
        macros, hooks, handlers = self.macros, self.hooks, self.handlers
        discard = self.discard
        while stack:
            tok = pop()
            c = tok[0]
            if c != "\\":
                if c == MARK:
                    self._marker(tok)
                    discard = self.discard
                elif not discard:
                    append(tok)
                continue
            macro = macros.get(tok)
            if macro is None:
                handler = handlers.get(tok)
                if handler is not None:
                    handler(tok)
                    discard = self.discard
                    if self._pending is not None:
                        if not discard:
                            out.extend(self._pending)
                        self._pending = None
                    continue
                hook = hooks.get(tok)
                if hook is not None:
                    hook(self, tok)
                    discard = self.discard
                    continue
                if not discard:
                    append(tok)
                continue
            if discard:
                continue  # definitions-only reading (.sty files): calls are not run
            if macro.primitive is not None:
                append(macro.primitive)
                continue
            if self.num_expansions >= self.max_expansions:
                self.limit_hit = True
                self.num_unresolved += 1
                append(tok)
                continue
            body = self._call(macro)
            if body is None:
                self.num_unresolved += 1
                append(tok)
                continue
            self.num_expansions += 1
            stack.extend(reversed(body))

    _pending: list[str] | None = None

    def _emit(self, tokens: list[str]) -> None:
        """From a handler: write these tokens to the output unchanged."""
        self._pending = (self._pending or []) + tokens

    def _marker(self, tok: str) -> None:
        if tok == DISCARD_ON:
            self.discard += 1
        elif tok == DISCARD_OFF:
            self.discard = max(0, self.discard - 1)
        else:
            handler = self.markers.get(tok)
            if handler is not None:
                handler(self, tok)

    def push(self, tokens: list[str]) -> None:
        self.stack.extend(reversed(tokens))

    # -- reading arguments off the stack ---------------------------------------------------------
    def skip_blanks(self) -> None:
        stack = self.stack
        while stack and stack[-1].isspace():
            stack.pop()

    def peek(self) -> str | None:
        self.skip_blanks()
        return self.stack[-1] if self.stack else None

    def read_group(self) -> list[str] | None:
        """`{...}` -> inner tokens (balanced), or None if the next token is not `{`."""
        stack = self.stack
        if not stack or stack[-1] != "{":
            return None
        stack.pop()
        depth, out = 1, []
        while stack and len(out) < MAX_GROUP_TOKENS:
            tok = stack.pop()
            if tok == "{":
                depth += 1
            elif tok == "}":
                depth -= 1
                if depth == 0:
                    return out
            out.append(tok)
        self.push(["{", *out])  # unbalanced: give everything back
        return None

    def read_optional(self) -> list[str] | None:
        """`[...]` (brackets at brace depth 0) -> inner tokens, or None if absent."""
        if self.peek() != "[":
            return None
        stack = self.stack
        stack.pop()
        depth, out = 0, []
        while stack:
            tok = stack.pop()
            if tok == "{":
                depth += 1
            elif tok == "}":
                depth -= 1
            elif tok == "]" and depth == 0:
                return out
            out.append(tok)
        self.push(["[", *out])
        return None

    def read_argument(self) -> list[str] | None:
        """An undelimited argument: a braced group or one token (text runs give one character)."""
        tok = self.peek()
        if tok is None or tok == "}":
            return None
        if tok == "{":
            return self.read_group()
        self.stack.pop()
        if tok[0] not in "\\" + MARK and len(tok) > 1:
            self.stack.append(tok[1:])
            return [tok[0]]
        return [tok]

    def read_star(self) -> bool:
        stack = self.stack
        if stack and stack[-1].startswith("*"):
            tok = stack.pop()
            if len(tok) > 1:
                stack.append(tok[1:])
            return True
        return False

    def read_name(self) -> str | None:
        """A command name given as `\\name` or `{\\name}`."""
        tok = self.peek()
        if tok is None:
            return None
        if tok == "{":
            group = self.read_group()
            if group is None:
                return None
            names = [t for t in group if not t.isspace()]
            if len(names) == 1 and names[0].startswith("\\"):
                return names[0]
            self.push(["{", *group, "}"])
            return None
        if tok.startswith("\\"):
            self.stack.pop()
            return tok
        return None

    def read_int(self) -> int | None:
        """`[N]` with a number -> N; anything else is left on the stack."""
        opt = self.read_optional()
        if opt is None:
            return None
        text = "".join(opt).strip()
        if text.isdigit():
            return int(text)
        self.push(["[", *opt, "]"])
        return None

    # -- calls ----------------------------------------------------------------------------------
    def _call(self, macro: Macro) -> list[str] | None:
        if macro.delimited is not None:
            return self._call_delimited(macro)
        if macro.spec is not None:
            return self._call_xparse(macro)
        if macro.star_variant:
            self.read_star()
        taken: list[list[str]] = []
        args: list[list[str]] = []
        first = 0
        if macro.default is not None:
            opt = self.read_optional()
            args.append(macro.default if opt is None else opt)
            if opt is not None:
                taken.append(["[", *opt, "]"])
            first = 1
        for _ in range(first, macro.nargs):
            arg = self.read_argument()
            if arg is None:
                for t in reversed(taken):
                    self.push(t)
                return None
            taken.append(arg if len(arg) == 1 and arg[0] != "{" else ["{", *arg, "}"])
            args.append(arg)
        return substitute(macro.body, args)

    def _call_xparse(self, macro: Macro) -> list[str] | None:
        args: list[list[str]] = []
        for kind, default in macro.spec or []:
            if kind == "s":
                args.append([BOOLEAN_TRUE if self.read_star() else BOOLEAN_FALSE])
            elif kind == "o":
                opt = self.read_optional()
                args.append(opt if opt is not None else list(default or [NO_VALUE]))
            else:
                arg = self.read_argument()
                if arg is None:
                    return None
                args.append(arg)
        return substitute(macro.body, args)

    def _document_command(self, cmd: str) -> None:
        """xparse `\\NewDocumentCommand{\\name}{s o m O{default}}{body}` (the common argument types)."""
        name = self.read_name()
        spec_tokens = self.read_argument() if name else None
        body = self.read_argument() if spec_tokens is not None else None
        if name is None or body is None:
            self._emit([cmd])
            return
        spec: list[tuple[str, list[str] | None]] = []
        items = [t for t in spec_tokens if not t.isspace()]
        i = 0
        while i < len(items):
            tok = items[i]
            if tok == "{":  # O{default}: the group follows its letter
                depth, j = 1, i + 1
                while j < len(items) and depth:
                    depth += (items[j] == "{") - (items[j] == "}")
                    j += 1
                if spec and spec[-1][0] == "o":
                    spec[-1] = ("o", items[i + 1 : j - 1])
                i = j
                continue
            for letter in tok:
                if letter in "mrRvbd":
                    spec.append(("m", None))
                elif letter in "oO":
                    spec.append(("o", None))
                elif letter == "s":
                    spec.append(("s", None))
            i += 1
        self.define(
            Macro(name, len(spec), None, compile_body(body, len(spec)), spec=spec),
            provide=cmd == "\\ProvideDocumentCommand",
        )

    def _if_value(self, cmd: str) -> None:
        """xparse tests on an argument: `\\IfValueTF{#1}{yes}{no}`, `\\IfBooleanT{#1}{yes}`, ..."""
        value = self.read_argument()
        branches = [self.read_argument() or [] for _ in range(2 if cmd.endswith("TF") else 1)]
        if value is None:
            return
        stripped = [t for t in value if not t.isspace()]
        if "Boolean" in cmd:
            truth = stripped == [BOOLEAN_TRUE]
        else:
            truth = stripped != [NO_VALUE]
            truth = not truth if "NoValue" in cmd else truth
        if cmd.endswith("TF"):
            chosen = branches[0] if truth else branches[1]
        elif cmd.endswith("F"):
            chosen = branches[0] if not truth else []
        else:
            chosen = branches[0] if truth else []
        self.push(chosen)

    def _call_delimited(self, macro: Macro) -> list[str] | None:
        if self.stack and self.stack[-1].isspace() and "\n\n" not in self.stack[-1]:
            self.stack.pop()  # TeX never sees the blank after a control word
        if macro.prefix and not self._match_delimiter(macro.prefix):
            return None
        args: list[list[str]] = [[] for _ in range(9)]
        for num, delim in macro.delimited or []:
            if not delim:
                arg = self.read_argument()
                if arg is None:
                    return None
                args[num - 1] = arg
                continue
            arg = self._read_until(delim)
            if arg is None:
                return None
            if len(arg) >= 2 and arg[0] == "{" and arg[-1] == "}" and _balanced(arg[1:-1]):
                arg = arg[1:-1]  # TeX strips one pair of braces around a delimited argument
            args[num - 1] = arg
        return substitute(macro.body, args)

    def _match_delimiter(self, delim: list[str]) -> bool:
        want = "".join(delim)
        got: list[str] = []
        stack = self.stack
        while stack and len("".join(got)) < len(want):
            got.append(stack.pop())
        text = "".join(got)
        if text.startswith(want):
            if len(text) > len(want):
                stack.append(text[len(want) :])
            return True
        self.push(got)
        return False

    def _read_until(self, delim: list[str], limit: int = 5000) -> list[str] | None:
        """Tokens up to the delimiter (at brace depth 0), which is consumed."""
        want = "".join(delim).strip() or "".join(delim)
        stack = self.stack
        out: list[str] = []
        depth = 0
        while stack and len(out) < limit:
            tok = stack.pop()
            if (
                depth == 0
                and tok[0] not in "{}"
                and want in tok
                and not tok.startswith("\\")
                or (depth == 0 and tok == want)
            ):
                idx = tok.index(want)
                if idx:
                    out.append(tok[:idx])
                rest = tok[idx + len(want) :]
                if rest:
                    stack.append(rest)
                return out
            if tok == "{":
                depth += 1
            elif tok == "}":
                depth -= 1
                if depth < 0:
                    stack.append(tok)
                    break
            out.append(tok)
        self.push(out)
        return None

    # -- definitions ----------------------------------------------------------------------------
    def define(self, macro: Macro, provide: bool = False) -> None:
        if macro.name in PROTECTED or (provide and macro.name in self.macros):
            return
        self.macros[macro.name] = macro
        self.num_definitions += 1

    def _newcommand(self, cmd: str) -> None:
        self.read_star()
        name = self.read_name()
        if name is None:
            self._emit([cmd])
            return
        nargs = self.read_int() or 0
        default = self.read_optional() if nargs else None
        body = self.read_argument()
        if body is None:
            return
        self.define(Macro(name, nargs, default, compile_body(body, nargs)), provide=cmd == "\\providecommand")

    def _def(self, cmd: str) -> None:
        name = self.read_name() if self.stack and self.stack[-1] != "{" else None
        if name is None:
            self._emit([cmd])
            return
        params: list[str] = []
        stack = self.stack
        while stack and stack[-1] != "{" and len(params) < 64:
            params.append(stack.pop())
        body = self.read_group()
        if body is None:
            self.push(params)
            return
        macro = _parse_parameter_text(name, params)
        macro.body = compile_body(body, 9)
        self.define(macro)

    def _let(self, cmd: str) -> None:
        name = self.read_name()
        if name is None:
            self._emit([cmd])
            return
        self.skip_blanks()
        if self.stack and self.stack[-1].startswith("="):
            tok = self.stack.pop()
            if len(tok) > 1:
                self.stack.append(tok[1:])
            self.skip_blanks()
        if not self.stack:
            return
        target = self.stack.pop()
        if target in self.macros:
            self.define(replace(self.macros[target], name=name))
        elif name != target:
            # TeX gives \name the meaning \target has now; a later redefinition of \target
            # (`\let\orig\everypar \def\everypar{\orig...}`) must not make them call each other.
            self.define(Macro(name, 0, None, [], primitive=target))

    def _mathop(self, cmd: str) -> None:
        star = self.read_star()
        name = self.read_name()
        body = self.read_argument() if name else None
        if name is None or body is None:
            self._emit([cmd])
            return
        head = "\\operatorname*" if star else "\\operatorname"
        self.define(Macro(name, 0, None, [head, "{", *body, "}"]))

    def _paired(self, cmd: str) -> None:
        name = self.read_name()
        left = self.read_argument() if name else None
        right = self.read_argument() if left is not None else None
        if name is None or right is None:
            self._emit([cmd])
            return
        self.define(Macro(name, 1, None, [*left, 1, *right], star_variant=True))

    def _newenv(self, cmd: str) -> None:
        self.read_star()
        group = self.read_group()
        if group is None:
            self._emit([cmd])
            return
        name = "".join(group).strip()
        nargs = self.read_int() or 0
        default = self.read_optional() if nargs else None
        begin = self.read_argument()
        end = self.read_argument() if begin is not None else None
        if end is None or name in PROTECTED_ENVS:
            return
        self.environments[name] = Environment(
            name, nargs, default, compile_body(begin, nargs), compile_body(end, 0)
        )
        self.num_definitions += 1

    def _newtheorem(self, cmd: str) -> None:
        star = self.read_star()
        group = self.read_group()
        if group is None:
            self._emit([cmd])
            return
        self.read_optional()  # shared counter
        title = self.read_argument() or []
        self.read_optional()  # numbered within
        self.theorems["".join(group).strip()] = join_tokens(title).strip()
        del star

    def _begin(self, cmd: str) -> None:
        group = self.read_group() if self.peek() == "{" else None
        if group is None:
            self._emit([cmd])
            return
        name = "".join(group).strip()
        env = self.environments.get(name)
        if env is None or self.num_expansions >= self.max_expansions:
            self._emit([cmd, "{", *group, "}"])
            return
        args: list[list[str]] = []
        first = 0
        if env.default is not None:
            opt = self.read_optional()
            args.append(env.default if opt is None else opt)
            first = 1
        for _ in range(first, env.nargs):
            arg = self.read_argument()
            args.append(arg or [])
        self.num_expansions += 1
        self.push(substitute(env.begin, args))

    def _end(self, cmd: str) -> None:
        group = self.read_group() if self.peek() == "{" else None
        if group is None:
            self._emit([cmd])
            return
        env = self.environments.get("".join(group).strip())
        if env is None:
            self._emit([cmd, "{", *group, "}"])
            return
        self.num_expansions += 1
        self.push(substitute(env.end, []))


def _balanced(tokens: list[str]) -> bool:
    depth = 0
    for tok in tokens:
        depth += (tok == "{") - (tok == "}")
        if depth < 0:
            return False
    return depth == 0


def _parse_parameter_text(name: str, params: list[str]) -> Macro:
    """`\\def\\name<params>{...}`: plain `#1#2` or delimited parameters (`#1.`, `#1\\end`)."""
    flat: list[str] = []
    for tok in params:
        if tok == "#" or tok.startswith("\\"):
            flat.append(tok)
        elif tok[:1].isdigit() and flat and flat[-1] == "#":
            flat.append(tok[0])
            if len(tok) > 1:
                flat.append(tok[1:])
        else:
            flat.append(tok)
    prefix: list[str] = []
    spec: list[tuple[int, list[str]]] = []
    i = 0
    while i < len(flat) and flat[i] != "#":
        prefix.append(flat[i])
        i += 1
    while i < len(flat):
        if flat[i] == "#" and i + 1 < len(flat) and flat[i + 1].isdigit():
            spec.append((int(flat[i + 1]), []))
            i += 2
            continue
        if spec:
            spec[-1][1].append(flat[i])
        i += 1
    prefix = [t for t in prefix if not t.isspace()]
    if not prefix and all(not delim for _, delim in spec):
        return Macro(name, len(spec))
    return Macro(name, len(spec), delimited=spec, prefix=prefix)
