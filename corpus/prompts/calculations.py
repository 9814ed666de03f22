"""GSM8K calculator annotations -> a Python program that redoes the calculations.

GSM8K solutions carry one annotation per calculator call: `48/2 = <<48/2=24>>24 clips`. The
expression before the last `=` is what was computed, the number after it the calculator's result
(openai/grade-school-math, `calculator.py`). On the train set the expressions use only digits,
`.`, `+ - * /` and parentheses, so an annotation whose expression has anything else is refused
rather than executed.

The program assigns each step to a variable and, where a literal of a later step equals an
earlier step's result, uses that variable instead: the program shows the data flow (as a
program-of-thought would) and the printed value is the one Python computes, not the one the
annotation claims. Programs are only text here; `sciloom.corpus.sandbox` runs them.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from fractions import Fraction

ANNOTATION = re.compile(r"<<([^<>]*)>>")
SAFE_EXPRESSION = re.compile(r"^[0-9.+\-*/() ]+$")
PLAIN_EQUATION = re.compile(
    r"(?P<expr>[\d$(.][\d$,.()\s+\-*/x×−÷]*[\d)])\s*=\s*\$?(?P<result>-?\d[\d,]*(?:\.\d+)?)(?![\d.]*\s*[+\-*/×÷])"
)
OPERATOR_BETWEEN_NUMBERS = re.compile(r"[\d)]\s*[+\-*/]\s*[\d(]")
NUMBER = re.compile(r"(?<![\w.])\d+(?:\.\d+)?(?![\w.])")

# Reasons a solution yields no program (drop reasons of the work/pot formatters).
NO_CALCULATIONS = "no_calculations"
UNSAFE_EXPRESSION = "unsafe_expression"


class CalculationError(ValueError):
    """A solution's annotations cannot become a program; `reason` is a drop reason."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason


@dataclass(frozen=True)
class Calculation:
    """One calculator call: `expression` as written, its claimed `result` (text)."""

    expression: str
    result: str


def calculations(solution: str) -> list[Calculation]:
    """The calculations of a solution, in order.

    Calculator annotations where a line has them; on a line without any, a plain equation
    `40 - 4 = 36` (GSM8K writers often skip the annotation on the last step, and the answer is
    then missing from the annotations alone).
    """
    out = []
    for line in solution.splitlines():
        found = [m.group(1) for m in ANNOTATION.finditer(line) if "=" in m.group(1)]
        if found:
            for body in found:
                expr, result = body.rsplit("=", 1)
                out.append(Calculation(expr.strip(), result.strip()))
            continue
        for m in PLAIN_EQUATION.finditer(line):
            expr = _clean_plain(m.group("expr"))
            result = m.group("result").replace(",", "")
            # only equations that are arithmetic and true as written: `8 x 1 1/2 = 12` (a mixed
            # number) or a span cut wrongly out of prose stays out of the program
            if OPERATOR_BETWEEN_NUMBERS.search(expr) and evaluate(expr) == _value(result):
                out.append(Calculation(expr, result))
    return out


def _clean_plain(expr: str) -> str:
    expr = expr.replace("$", "").replace(",", "")
    if not re.match(r"\.\d", expr):  # `.10*60` is a number; `. 5*3` is the end of a sentence
        expr = expr.lstrip(". ")
    for a, b in (("×", "*"), ("−", "-"), ("÷", "/")):
        expr = expr.replace(a, b)
    expr = re.sub(r"(?<=[\d)])\s*x\s*(?=[\d(])", "*", expr)
    # implicit products as written by hand: `8(26)`, `(3+2)4`
    expr = re.sub(r"(?<=[\d)])\s*(?=\()", "*", expr)
    expr = re.sub(r"(?<=\))\s*(?=\d)", "*", expr)
    return expr.strip()


ARITHMETIC_NODES = (
    ast.Expression,
    ast.BinOp,
    ast.UnaryOp,
    ast.Constant,
    ast.Name,
    ast.Load,
    ast.operator,
    ast.unaryop,
)


def is_arithmetic(expr: str) -> bool:
    """True when `expr` parses as plain arithmetic on numbers and step variables (no calls)."""
    try:
        tree = ast.parse(expr, mode="eval")
    except SyntaxError:
        return False
    return all(isinstance(node, ARITHMETIC_NODES) for node in ast.walk(tree))


def strip_annotations(text: str) -> str:
    """Solution text as a reader sees it: `48/2 = <<48/2=24>>24` -> `48/2 = 24`."""
    return ANNOTATION.sub("", text)


_OPS = {
    ast.Add: lambda a, b: a + b,
    ast.Sub: lambda a, b: a - b,
    ast.Mult: lambda a, b: a * b,
    ast.Div: lambda a, b: a / b,
}


def evaluate(expr: str) -> Fraction | None:
    """Exact value of `+ - * /` arithmetic on decimal numbers; None if it is anything else."""
    try:
        tree = ast.parse(expr, mode="eval").body
    except SyntaxError:
        return None

    def value(node: ast.AST) -> Fraction:
        if (
            isinstance(node, ast.Constant)
            and isinstance(node.value, int | float)
            and not isinstance(node.value, bool)
        ):
            return Fraction(ast.get_source_segment(expr, node) or str(node.value))
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
            v = value(node.operand)
            return -v if isinstance(node.op, ast.USub) else v
        if isinstance(node, ast.BinOp) and type(node.op) in _OPS:
            return _OPS[type(node.op)](value(node.left), value(node.right))
        raise ValueError(ast.dump(node))

    try:
        return value(tree)
    except (ValueError, ZeroDivisionError):
        return None


def _value(text: str) -> Fraction | None:
    try:
        return Fraction(text.replace(",", ""))
    except (ValueError, ZeroDivisionError):
        return None


def program_lines(calcs: list[Calculation]) -> list[str]:
    """Assignments `step1 = 48 / 2`, `step2 = 48 + step1`, ... for the calculations."""
    if not calcs:
        raise CalculationError(NO_CALCULATIONS)
    lines: list[str] = []
    results: list[tuple[Fraction, str]] = []  # (claimed value, variable), latest last
    for i, calc in enumerate(calcs, 1):
        expr = calc.expression.replace("x", "*").replace("×", "*").replace("÷", "/")
        if not SAFE_EXPRESSION.match(expr):
            raise CalculationError(UNSAFE_EXPRESSION, calc.expression)

        def use_variable(m: re.Match[str]) -> str:
            value = _value(m.group(0))
            for claimed, name in reversed(results):
                if value is not None and claimed == value:
                    return name
            return m.group(0)

        expr = NUMBER.sub(use_variable, expr)
        expr = re.sub(r"\s*([+\-*/])\s*", r" \1 ", expr).strip()
        if not is_arithmetic(expr):
            raise CalculationError(UNSAFE_EXPRESSION, calc.expression)
        name = f"step{i}"
        lines.append(f"{name} = {expr}")
        claimed = _value(calc.result)
        if claimed is not None:
            results.append((claimed, name))
    return lines


def final_value_lines(variable: str) -> list[str]:
    """Lines that turn the last step into the printed answer (6 decimals, `72.0` -> `72`)."""
    return [
        f"result = round({variable}, 6)",
        "if result == int(result):",
        "    result = int(result)",
    ]


def pot_program(calcs: list[Calculation]) -> str:
    """A program that prints the answer (MAmmoTH's program-of-thought shape)."""
    lines = program_lines(calcs)
    last = f"step{len(calcs)}"
    return "\n".join([*lines, *final_value_lines(last), "print(result)"]) + "\n"


def work_program(calcs: list[Calculation], output_file: str = "output.txt") -> str:
    """A program that writes the answer to `output_file` (Galactica's `<work>` convention)."""
    lines = program_lines(calcs)
    last = f"step{len(calcs)}"
    return (
        "\n".join(
            [
                *lines,
                *final_value_lines(last),
                f'with open("{output_file}", "w") as f:',
                "    f.write(str(result))",
            ]
        )
        + "\n"
    )
