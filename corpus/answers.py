"""Final-answer extraction and equivalence for GSM8K- and MATH-style problems.

One checker shared by evaluation (`sciloom.pretrain.eval`) and the mix's PoT/RFT filters, so a
trace kept for training and a sample scored at eval time are judged by the same rules.

- `extract_answer(completion, task)`: GSM8K's `#### N`, the last `\\boxed{...}` / `\\fbox{...}`
  (nested braces), Minerva's "Final Answer: The final answer is $X$. I hope it is correct.",
  and "The answer is X" (Wei et al. 2022 chain-of-thought exemplars, MetaMath's "The answer is: X").
  For GSM8K the last number of the completion is the fallback (the usual GSM8K scoring).
- `normalize_answer(ans, task)`: GSM8K answers become a canonical number string; MATH answers go
  through the normalisation of Hendrycks et al. (`is_equiv`/`strip_string` in hendrycks/math) merged
  with Minerva's `normalize_final_answer` (Lewkowycz et al. 2022, appendix D.1): `\\dfrac`/`\\tfrac`
  -> `\\frac`, `\\frac12` -> `\\frac{1}{2}`, `a/b` -> `\\frac{a}{b}`, `\\left`/`\\right`, `\\!`,
  degrees, `\\%`, dollars, thousands separators, `\\text{...}` units, `x =` prefixes.
- `is_equivalent(pred, ref, task)`: equal normalised strings, else structure-aware comparison:
  tuples and intervals element by element with matching brackets, sets and bare comma lists as
  multisets, `\\cup` unions, matrices, `a \\pm b` as the pair {a+b, a-b}, equations up to a nonzero
  factor; scalars numerically (exact forms at 1e-9 relative, decimal approximations at 1e-4) and
  symbolically with sympy (random-point evaluation of the difference, under a time limit).
- `majority_vote(answers, task)`: self-consistency (Wang et al. 2023) over equivalence classes.

Sympy is only reached for strings that pass a character and identifier allow-list (sympy's parser
evaluates Python) and is bounded by `SYMPY_TIME_LIMIT_S` through SIGALRM in the main thread; in
other threads the allow-list and size guards are the only bound. A comparison that times out
counts as not equivalent.
"""

from __future__ import annotations

import cmath
import logging
import math
import random
import re
import signal
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from fractions import Fraction

logger = logging.getLogger(__name__)

GSM8K = "gsm8k"
MATH = "math"
# task name -> answer family; "math500" and "minerva_math" are MATH-style answers.
TASK_FAMILIES = {"gsm8k": GSM8K, "math": MATH, "math500": MATH, "minerva_math": MATH}

SYMPY_TIME_LIMIT_S = 2.0
# Tolerances: GSM8K answers are integers, so any float noise from a PoT program passes;
# MATH exact forms must agree to 1e-9, a decimal approximation of an exact value to 1e-4
# (the tolerance of the Qwen2.5-Math / DeepSeekMath graders).
GSM8K_ABS_TOL = 1e-6
EXACT_REL_TOL = 1e-9
DECIMAL_REL_TOL = 1e-4


def task_family(task: str) -> str:
    """`gsm8k` or `math` for a task name; ValueError names the known tasks."""
    try:
        return TASK_FAMILIES[task.lower()]
    except KeyError:
        raise ValueError(f"unknown task {task!r}; known: {', '.join(sorted(TASK_FAMILIES))}") from None


# ---------------------------------------------------------------------------------------------
# Extraction

_NUMBER = re.compile(r"-?\d[\d,]*(?:\.\d+)?|-?\.\d+")
_ANSWER_IS = re.compile(r"answer is[:\s]*", re.IGNORECASE)
_HOPE = re.compile(r"\.?\s*I hope it is correct\.?\s*$", re.IGNORECASE)  # Minerva's sign-off
# longer answers are compared as normalized strings only (no structure parsing, no sympy)
MAX_ANSWER_CHARS = 1000


def last_boxed(text: str) -> str | None:
    """Content of the last `\\boxed{...}` or `\\fbox{...}` (balanced braces), or None."""
    starts = [m for m in re.finditer(r"\\(?:boxed|fbox)\b", text)]
    for m in reversed(starts[-16:]):  # bounded: each try may scan to the end of the text
        rest = text[m.end() :].lstrip()
        if rest.startswith("{"):
            content = _balanced(rest, 0)
            if content is not None:
                return content.strip()
        elif rest:  # `\boxed 5`: the token up to whitespace or `$`
            token = re.match(r"[^\s$]+", rest)
            if token:
                return token.group(0)
    return None


def _balanced(s: str, start: int) -> str | None:
    """Content of the brace group opening at `s[start]`, or None when it never closes."""
    depth = 0
    for i in range(start, len(s)):
        c = s[i]
        if c == "\\":
            continue
        if c == "{" and (i == 0 or s[i - 1] != "\\"):
            depth += 1
        elif c == "}" and (i == 0 or s[i - 1] != "\\"):
            depth -= 1
            if depth == 0:
                return s[start + 1 : i]
    return None


def _after_answer_is(text: str) -> str | None:
    matches = list(_ANSWER_IS.finditer(text))
    if not matches:
        return None
    rest = text[matches[-1].end() :]
    line = _HOPE.sub("", rest.split("\n", 1)[0].strip())
    dollars = re.fullmatch(r"\$+(.+?)\$+\.?", line)
    if dollars:
        return dollars.group(1).strip()
    return _strip_final_period(line) or None


def _strip_final_period(s: str) -> str:
    """`18.` -> `18`, `3.5.` -> `3.5`: a sentence's full stop is never part of the answer."""
    s = s.strip()
    while s.endswith("."):
        s = s[:-1].rstrip()
    return s


def extract_answer(completion: str, task: str) -> str | None:
    """The final answer written in `completion`, or None when it states none.

    Order for GSM8K: text after the last `####`, after the last "answer is", the last `\\boxed{}`,
    then the last number anywhere; the result is the first number of the chosen span with
    thousands commas removed. Order for MATH: the last `\\boxed{}`, then the rest of the line
    after the last "answer is" (which covers Minerva's "The final answer is $X$. I hope it is
    correct."), without `$...$` and the full stop; the span is returned as written.
    """
    completion = completion.replace("\u2212", "-")  # Unicode minus sign
    if task_family(task) == GSM8K:
        spans = []
        if "####" in completion:
            spans.append(completion.rsplit("####", 1)[1].split("\n", 1)[0])
        answer_is = _after_answer_is(completion)
        if answer_is is not None:
            spans.append(answer_is)
        boxed = last_boxed(completion)
        if boxed is not None:
            spans.append(boxed)
        for span in spans:
            number = _NUMBER.search(span)
            if number:
                return _clean_number(number.group(0))
        numbers = _NUMBER.findall(completion)
        return _clean_number(numbers[-1]) if numbers else None
    boxed = last_boxed(completion)
    if boxed is not None:
        return boxed
    answer_is = _after_answer_is(completion)
    if answer_is:
        return _strip_dollars(answer_is)
    return None


def _clean_number(s: str) -> str:
    return s.replace(",", "").rstrip(".")


def _strip_dollars(s: str) -> str:
    s = s.strip()
    m = re.fullmatch(r"\$+(.*?)\$+", s, re.DOTALL)
    return (m.group(1) if m else s).strip()


# ---------------------------------------------------------------------------------------------
# Normalisation

# Unit words removed after a number (Minerva's REMOVED_EXPRESSIONS, plus plurals seen in MATH).
_UNITS = (
    "square units|square feet|square inches|square meters|square centimeters|square|sq|units|unit|"
    "degrees|degree|cents|cent|dollars|dollar|inches|inch|feet|foot|ft|meters|meter|cm|mm|km|miles|mile|"
    "mph|hours|hour|minutes|minute|seconds|second|days|day|weeks|week|years|year|pounds|pound|lbs|"
    "ounces|grams|gm|kg|ways|integers|points|digits|students|people|edges|meals|times|calories|"
    "liters|gallons|cups|percent|mathrm\\{th\\}|th|st|nd|rd"
)
_TRAILING_UNIT = re.compile(rf"(?<=[\d}})])\s*(?:{_UNITS})(?:\^\{{?[23]\}}?|\^[23])?\s*$")
_TEXT_GROUP = re.compile(r"\\(?:text|textbf|textit|mbox|mathrm|mathbf|mathit|operatorname)\s*\{")


def _unwrap_commands(s: str) -> str:
    """`\\text{...}`-like groups: unit words after a value are dropped, other content kept."""
    i = 0
    for _ in range(64):
        m = _TEXT_GROUP.search(s, i)
        if not m:
            break
        content = _balanced(s, m.end() - 1)
        if content is None:
            break
        before = s[: m.start()]
        after = s[m.end() + len(content) + 1 :]
        word = content.strip()
        is_unit = bool(before.strip()) and (
            content.startswith(" ") or re.fullmatch(rf"(?:{_UNITS})s?", word) is not None
        )
        if is_unit:  # `15\mbox{ cm}^2`: the unit's power goes with it
            after = re.sub(r"^\s*\^\s*(?:\{\s*[23]\s*\}|[23])", "", after)
        s = before + ("" if is_unit else word) + after
        i = len(before) + (0 if is_unit else len(word))
    return s


def _fix_fracs(s: str) -> str:
    """`\\frac12` -> `\\frac{1}{2}`, `\\frac{270}7` -> `\\frac{270}{7}` (hendrycks `_fix_fracs`)."""
    s = re.sub(r"\\frac\s*(\d)\s*(\d)", r"\\frac{\1}{\2}", s)
    s = re.sub(r"\\frac\s*(\d)\s*\{", r"\\frac{\1}{", s)
    s = re.sub(r"\\frac\s*(\{[^{}]*\})\s*(\d)", r"\\frac\1{\2}", s)
    s = re.sub(r"\\frac\s*([a-zA-Z])\s*([a-zA-Z\d])", r"\\frac{\1}{\2}", s)
    return s


def _fix_sqrt(s: str) -> str:
    """`\\sqrt3` -> `\\sqrt{3}`, `\\sqrt x` -> `\\sqrt{x}`."""
    return re.sub(r"\\sqrt\s*([a-zA-Z\d])", r"\\sqrt{\1}", s)


def clean_math_answer(ans: str) -> str:
    """MATH-style clean-up that keeps spaces (used before parsing structure and sympy)."""
    s = ans.strip().replace("\u2212", "-")
    boxed = last_boxed(s) if s.startswith(("\\boxed", "\\fbox")) else None
    if boxed is not None:
        s = boxed
    s = _strip_dollars(s).replace("\n", " ")
    s = re.sub(r"\\(?:displaystyle|textstyle|mathstrut|big|Big|bigg|Bigg)[lr]?\b", "", s)
    s = re.sub(r"\\(?:left|right)\b\s*\.?", "", s)
    # protect set braces and matrix row breaks from the spacing-command removal below
    s = s.replace("\\\\", "\x00NL").replace("\\{", "\x00LB").replace("\\}", "\x00RB")
    s = re.sub(r"\\[!,;:> ]|\\q?quad\b|~", " ", s)
    s = s.replace("\\dfrac", "\\frac").replace("\\tfrac", "\\frac").replace("\\cfrac", "\\frac")
    s = _unwrap_commands(s)
    s = re.sub(r"\^\s*\{\s*\\circ\s*\}|\^\s*\\circ|\\circ|°|\\degree", "", s)
    s = re.sub(r"\\?\$", "", s)
    s = re.sub(r"\\?%", "", s)
    s = s.replace("\x00LB", "\\{").replace("\x00RB", "\\}").replace("\x00NL", "\\\\")
    s = re.sub(r"\s+", " ", s).strip()
    s = _strip_final_period(s)
    for _ in range(2):
        s = _TRAILING_UNIT.sub("", s).strip()
    # thousands separators: 10,080 and 11, 111, 111, 100 (not lists like 3, 5, 7)
    if re.fullmatch(r"-?\d{1,3}(?:, ?\d{3})+(?:\.\d+)?", s):
        s = re.sub(r", ?", "", s)
    s = _fix_sqrt(_fix_fracs(s))
    # `x = 5`, `k = 2` (hendrycks: a short left-hand side is dropped)
    m = re.fullmatch(r"([a-zA-Z](?:_\{?\w\}?)?)\s*=\s*(.+)", s)
    if m and "=" not in m.group(2):
        s = m.group(2).strip()
    s = re.sub(r"^[a-zA-Z]\s*\\in\s*", "", s)  # x \in [-2, 7]
    s = re.sub(r"_\{(\w+)\}", r"_\1", s)  # 4210_{5} -> 4210_5
    choice = re.fullmatch(r"\(\s*([A-Ea-e])\s*\)", s)  # (B), (b) -> B
    if choice:
        s = choice.group(1).upper()
    if re.fullmatch(r"\.\d+", s) or re.fullmatch(r"-\.\d+", s):
        s = s.replace(".", "0.", 1)
    if re.fullmatch(r"[A-Za-z][A-Za-z ]+", s):
        s = s.lower()
    return s


def normalize_answer(ans: str, task: str) -> str:
    """Canonical string for an answer; equal strings are always equivalent answers.

    GSM8K: the number as an integer string when integral (`1,080.00` -> `1080`), else a decimal;
    non-numbers are returned stripped and lowercased. MATH: `clean_math_answer` with all spaces
    removed, simple `a/b` written `\\frac{a}{b}` and integral decimals written as integers.
    """
    if task_family(task) == GSM8K:
        m = _NUMBER.search(ans.replace("$", "").replace("\u2212", "-"))
        if not m:
            return ans.strip().lower()
        return _canonical_number(_clean_number(m.group(0)))
    s = clean_math_answer(ans).replace(" ", "")
    s = re.sub(r"^(-?)(\d+)/(\d+)$", r"\1\\frac{\2}{\3}", s)
    if re.fullmatch(r"-?\d+\.0*", s):
        s = s.split(".")[0]
    elif re.fullmatch(r"-?\d+\.\d*[1-9]0+", s):
        s = s.rstrip("0")
    return s


def _canonical_number(s: str) -> str:
    try:
        value = Fraction(s)
    except (ValueError, ZeroDivisionError):
        return s
    if value.denominator == 1:
        return str(value.numerator)
    return repr(float(value))


# ---------------------------------------------------------------------------------------------
# Equivalence


def is_equivalent(pred: str | None, ref: str | None, task: str) -> bool:
    """True when `pred` states the same answer as `ref` (see the module docstring for the rules)."""
    if pred is None or ref is None:
        return False
    if task_family(task) == GSM8K:
        a, b = normalize_answer(pred, task), normalize_answer(ref, task)
        if a == b:
            return True
        x, y = _parse_decimal(a), _parse_decimal(b)
        return x is not None and y is not None and math.isclose(x, y, rel_tol=0.0, abs_tol=GSM8K_ABS_TOL)
    if normalize_answer(pred, task) == normalize_answer(ref, task):
        return True
    if max(len(pred), len(ref)) > MAX_ANSWER_CHARS:
        return False
    try:
        return _math_equal(clean_math_answer(pred), clean_math_answer(ref), depth=0)
    except RecursionError:
        return False


def _parse_decimal(s: str) -> float | None:
    try:
        return float(s)
    except ValueError:
        return None


def _compact(s: str) -> str:
    return s.replace(" ", "")


def _math_equal(a: str, b: str, depth: int) -> bool:
    if _compact(a) == _compact(b):
        return True
    if depth > 4:
        return False
    sa, sb = _structure(a), _structure(b)
    if sa[0] != "scalar" or sb[0] != "scalar":
        return _structures_equal(sa, sb, depth)
    return _scalar_equal(a, b)


def _split_top(s: str, sep: str) -> list[str]:
    """Split on `sep` outside (), [], {} and `\\{ \\}`."""
    parts, depth, start, i = [], 0, 0, 0
    while i < len(s):
        if s.startswith("\\{", i) or s.startswith("\\}", i):
            depth += 1 if s[i + 1] == "{" else -1
            i += 2
            continue
        c = s[i]
        if c in "([{":
            depth += 1
        elif c in ")]}":
            depth -= 1
        elif depth == 0 and s.startswith(sep, i):
            parts.append(s[start:i])
            i += len(sep)
            start = i
            continue
        i += 1
    parts.append(s[start:])
    return [p.strip() for p in parts]


def _structure(s: str) -> tuple[str, object]:
    """Classify an answer: matrix, union, set/list (unordered), tuple/interval, pm, equation, scalar."""
    s = s.strip()
    m = re.fullmatch(r"\\begin\{[pbvBV]?matrix\}(.*)\\end\{[pbvBV]?matrix\}", s, re.DOTALL)
    if m:
        rows = [r for r in re.split(r"\\\\", m.group(1)) if r.strip()]
        return "matrix", [[c.strip() for c in r.split("&")] for r in rows]
    if len(_split_top(s, "\\cup")) > 1:
        return "union", _split_top(s, "\\cup")
    if s.startswith("\\{") and s.endswith("\\}"):
        return "unordered", _expand_pm(_split_top(s[2:-2], ","))
    if s[:1] in "([" and s[-1:] in ")]" and _balanced_brackets(s[1:-1]):
        items = _split_top(s[1:-1], ",")
        if len(items) > 1:
            return "ordered", (s[0], s[-1], items)
    items = _split_top(s, ",")
    if len(items) > 1:
        return "unordered", _expand_pm(items)
    if len(_split_top(s, "\\pm")) == 2:
        return "unordered", _expand_pm([s])
    sides = _split_top(s, "=")
    if len(sides) == 2 and all(sides):
        return "equation", sides
    return "scalar", s


def _balanced_brackets(inner: str) -> bool:
    depth = 0
    for c in inner:
        depth += c in "([{"
        depth -= c in ")]}"
        if depth < 0:
            return False
    return depth == 0


def _expand_pm(items: list[str]) -> list[str]:
    out = []
    for item in items:
        item = re.sub(r"^[a-zA-Z]\s*=\s*", "", item)  # x = 1, x = 2
        parts = _split_top(item, "\\pm")
        if len(parts) == 2:
            out += [f"{parts[0]}+{parts[1]}", f"{parts[0]}-({parts[1]})"]
        else:
            out.append(item)
    return out


def _structures_equal(sa: tuple[str, object], sb: tuple[str, object], depth: int) -> bool:
    kind_a, kind_b = sa[0], sb[0]
    if kind_a == "scalar" and kind_b == "unordered":
        sa = ("unordered", [sa[1]])
        kind_a = "unordered"
    if kind_b == "scalar" and kind_a == "unordered":
        sb = ("unordered", [sb[1]])
        kind_b = "unordered"
    if kind_a != kind_b:
        return False
    if kind_a == "matrix":
        ra, rb = sa[1], sb[1]
        return (
            len(ra) == len(rb)
            and all(len(x) == len(y) for x, y in zip(ra, rb))
            and all(_math_equal(x, y, depth + 1) for rx, ry in zip(ra, rb) for x, y in zip(rx, ry))
        )
    if kind_a == "ordered":
        oa, ca, ia = sa[1]
        ob, cb, ib = sb[1]
        return (
            (oa, ca) == (ob, cb)
            and len(ia) == len(ib)
            and all(_math_equal(x, y, depth + 1) for x, y in zip(ia, ib))
        )
    if kind_a in ("unordered", "union"):
        return _multiset_equal(sa[1], sb[1], depth)
    if kind_a == "equation":
        (la, ra), (lb, rb) = sa[1], sb[1]
        return _equation_equal(la, ra, lb, rb)
    return False


def _multiset_equal(xs: Sequence[str], ys: Sequence[str], depth: int) -> bool:
    if len(xs) != len(ys):
        return False
    remaining = list(ys)
    for x in xs:
        for j, y in enumerate(remaining):
            if _math_equal(x, y, depth + 1):
                del remaining[j]
                break
        else:
            return False
    return True


# ---------------------------------------------------------------------------------------------
# Scalars: numbers, then sympy


def _scalar_equal(a: str, b: str) -> bool:
    x, y = _to_number(a), _to_number(b)
    if x is not None and y is not None:
        return _numbers_close(x, y, a, b)
    ea, eb = to_sympy(a), to_sympy(b)
    if ea is None or eb is None:
        return False
    try:
        with _time_limit(SYMPY_TIME_LIMIT_S):
            return _sympy_equal(ea, eb, approximate=_is_decimal(a) or _is_decimal(b))
    except (_SympyTimeout, Exception) as err:  # sympy raises many types on odd input
        logger.debug("sympy comparison of %r and %r failed: %s", a, b, err)
        return False


def _is_decimal(s: str) -> bool:
    return re.fullmatch(r"-?\d*\.\d+", s.replace(" ", "")) is not None


def _numbers_close(x: Fraction | float, y: Fraction | float, a: str, b: str) -> bool:
    if isinstance(x, Fraction) and isinstance(y, Fraction) and not (_is_decimal(a) or _is_decimal(b)):
        return x == y
    tol = DECIMAL_REL_TOL if (_is_decimal(a) or _is_decimal(b)) else EXACT_REL_TOL
    return math.isclose(float(x), float(y), rel_tol=tol, abs_tol=1e-12)


def _to_number(s: str) -> Fraction | None:
    """Integers, decimals, `\\frac{a}{b}`, `a/b`, mixed numbers `1\\frac{4}{5}`; None otherwise."""
    t = s.replace(" ", "")
    try:
        m = re.fullmatch(r"(-?)\\frac\{(-?\d+(?:\.\d+)?)\}\{(-?\d+(?:\.\d+)?)\}", t)
        if m:
            value = Fraction(m.group(2)) / Fraction(m.group(3))
            return -value if m.group(1) else value
        m = re.fullmatch(r"(-?)(\d+)\\frac\{(\d+)\}\{(\d+)\}", t)
        if m:
            value = Fraction(int(m.group(2))) + Fraction(int(m.group(3)), int(m.group(4)))
            return -value if m.group(1) else value
        m = re.fullmatch(r"(-?\d+(?:\.\d+)?)/(-?\d+(?:\.\d+)?)", t)
        if m:
            return Fraction(m.group(1)) / Fraction(m.group(2))
        if re.fullmatch(r"-?(?:\d+(?:\.\d*)?|\.\d+)(?:e[+-]?\d+)?", t):
            return Fraction(t)
    except ZeroDivisionError:
        return None
    return None


_FUNCTIONS = {
    "sqrt", "sin", "cos", "tan", "cot", "sec", "csc", "asin", "acos", "atan", "sinh", "cosh", "tanh",
    "log", "exp", "pi", "oo", "I", "E", "Abs", "root", "binomial", "factorial",
}  # fmt: skip
_LATEX_FUNCTIONS = {
    "arcsin": "asin", "arccos": "acos", "arctan": "atan", "sin": "sin", "cos": "cos", "tan": "tan",
    "cot": "cot", "sec": "sec", "csc": "csc", "sinh": "sinh", "cosh": "cosh", "tanh": "tanh",
    "ln": "log", "log": "log", "exp": "exp", "pi": "pi", "infty": "oo", "infinity": "oo",
    "alpha": "alpha", "beta": "beta", "gamma": "gamma", "theta": "theta", "phi": "phi", "omega": "omega",
}  # fmt: skip
_SAFE_CHARS = re.compile(r"[A-Za-z0-9_+\-*/().,\s]*")


def latex_to_expression(s: str) -> str | None:
    """A sympy-parsable string for simple LaTeX math, or None when it uses anything else."""
    t = s.strip()
    if len(t) > 300:
        return None
    t = t.replace("\\cdot", "*").replace("\\times", "*").replace("\\div", "/")
    for _ in range(32):  # \frac{a}{b} and \sqrt[n]{a}, innermost-agnostic via brace matching
        m = re.search(r"\\frac\s*\{", t)
        if m:
            num = _balanced(t, m.end() - 1)
            if num is None:
                return None
            rest = m.end() + len(num) + 1
            den_start = len(t[:rest]) + (len(t[rest:]) - len(t[rest:].lstrip()))
            if not t[den_start:].startswith("{"):
                return None
            den = _balanced(t, den_start)
            if den is None:
                return None
            t = t[: m.start()] + f"(({num})/({den}))" + t[den_start + len(den) + 2 :]
            continue
        m = re.search(r"\\sqrt\s*\[([^\]]+)\]\s*\{", t)
        if m:
            body = _balanced(t, m.end() - 1)
            if body is None:
                return None
            t = t[: m.start()] + f"(({body})**(1/({m.group(1)})))" + t[m.end() + len(body) + 1 :]
            continue
        break
    t = re.sub(r"\\sqrt\s*\{", "sqrt{", t)
    t = re.sub(r"\\([A-Za-z]+)", lambda m: " " + _LATEX_FUNCTIONS.get(m.group(1), "\x00") + " ", t)
    if "\x00" in t:
        return None
    t = t.replace("{", "(").replace("}", ")").replace("^", "**")
    t = re.sub(r"(sqrt|sin|cos|tan|cot|sec|csc|log|exp)\s+\(", r"\1(", t)
    if not _SAFE_CHARS.fullmatch(t) or "__" in t or "lambda" in t:
        return None
    for name in re.findall(r"[A-Za-z_][A-Za-z0-9_]*", t):
        if (
            name not in _FUNCTIONS
            and name not in _LATEX_FUNCTIONS.values()
            and not re.fullmatch(r"[A-Za-z]{1,3}\d*", name)
        ):
            return None
    # exponent bombs: 10^{10^{10}} and the like would never finish as exact integers
    if re.search(r"\*\*\s*\(*\s*\d{4,}", t) or re.search(r"\*\*\s*\(*[^+\-*/]*\*\*", t):
        return None
    return t


def to_sympy(s: str):  # -> sympy.Expr | None
    """Parse a LaTeX answer into a sympy expression (`i` as the imaginary unit), or None."""
    text = latex_to_expression(s)
    if not text or not text.strip():
        return None
    import sympy
    from sympy.parsing.sympy_parser import (
        convert_xor,
        implicit_multiplication_application,
        parse_expr,
        standard_transformations,
    )

    transformations = standard_transformations + (implicit_multiplication_application, convert_xor)
    local = {name: sympy.Symbol(name) for name in ("alpha", "beta", "gamma", "theta", "phi", "omega")}
    try:
        with _time_limit(SYMPY_TIME_LIMIT_S):
            expr = parse_expr(text, local_dict=local, transformations=transformations, evaluate=True)
    except (_SympyTimeout, Exception) as err:  # SyntaxError, TypeError, TokenError, ...
        logger.debug("cannot parse %r as sympy: %s", text, err)
        return None
    if not isinstance(expr, sympy.Expr):
        return None
    return expr.subs({sympy.Symbol("i"): sympy.I, sympy.Symbol("e"): sympy.E})


def _sympy_equal(ea, eb, *, approximate: bool) -> bool:
    """Numerically compare at random points (fixed seed); fall back to `simplify` if undecided."""
    import sympy

    symbols = sorted(ea.free_symbols | eb.free_symbols, key=lambda s: s.name)
    rng = random.Random(0)
    tol = DECIMAL_REL_TOL if approximate else 1e-8
    checked = 0
    for _ in range(6):
        point = {s: sympy.Float(rng.uniform(0.3, 2.7), 30) for s in symbols}
        try:
            va = complex(ea.evalf(30, subs=point))
            vb = complex(eb.evalf(30, subs=point))
        except (TypeError, ValueError, OverflowError, ZeroDivisionError):
            continue
        if any(cmath.isnan(v) or cmath.isinf(v) for v in (va, vb)):
            continue
        if abs(va - vb) > tol * max(1.0, abs(va), abs(vb)):
            return False
        checked += 1
        if checked >= 3 or not symbols:
            return True
    return sympy.simplify(ea - eb) == 0


def _equation_equal(la: str, ra: str, lb: str, rb: str) -> bool:
    """Equations are the same when (lhs - rhs) agree up to a nonzero constant factor."""
    exprs = [to_sympy(x) for x in (la, ra, lb, rb)]
    if any(e is None for e in exprs):
        return _compact(la) == _compact(lb) and _math_equal(ra, rb, depth=1)
    import sympy

    da, db = exprs[0] - exprs[1], exprs[2] - exprs[3]
    try:
        with _time_limit(SYMPY_TIME_LIMIT_S):
            if db == 0:
                return bool(da == 0)
            ratio = sympy.simplify(da / db)
            return bool(ratio.is_number and ratio != 0 and ratio.is_finite)
    except (_SympyTimeout, Exception):
        return False


class _SympyTimeout(Exception):
    pass


@contextmanager
def _time_limit(seconds: float) -> Iterator[None]:
    """Raise `_SympyTimeout` after `seconds` (SIGALRM; only possible in the main thread)."""
    if threading.current_thread() is not threading.main_thread() or not hasattr(signal, "setitimer"):
        yield
        return

    def on_alarm(signum, frame):  # noqa: ARG001
        raise _SympyTimeout(f"sympy took more than {seconds} s")

    previous = signal.signal(signal.SIGALRM, on_alarm)
    old_delay, old_interval = signal.setitimer(signal.ITIMER_REAL, seconds)
    start = time.monotonic()
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        if old_delay:  # someone else's alarm (e.g. pytest-timeout) keeps running
            remaining = old_delay - (time.monotonic() - start)
            signal.setitimer(signal.ITIMER_REAL, max(remaining, 0.001), old_interval)


# ---------------------------------------------------------------------------------------------
# Voting


def majority_vote(answers: Sequence[str | None], task: str) -> str | None:
    """Most frequent answer up to equivalence (self-consistency); None when no sample answered.

    Answers are grouped into classes with `normalize_answer` then `is_equivalent` against each
    class's first member. Tie rule: among classes with the highest count, the class whose first
    member appears earliest in `answers` wins, and that first member is returned as written. The
    rule is deterministic given the sample order, like `collections.Counter.most_common`.
    """
    classes: list[list] = []  # [representative, normalized, count, first_index]
    for i, ans in enumerate(answers):
        if ans is None or not ans.strip():
            continue
        norm = normalize_answer(ans, task)
        for cls in classes:
            if cls[1] == norm or is_equivalent(ans, cls[0], task):
                cls[2] += 1
                break
        else:
            classes.append([ans, norm, 1, i])
    if not classes:
        return None
    best = max(classes, key=lambda c: (c[2], -c[3]))
    return best[0]


def is_correct(completion: str, reference: str, task: str) -> bool:
    """Extract the answer from `completion` and compare it with `reference` (for filters)."""
    return is_equivalent(extract_answer(completion, task), reference, task)
