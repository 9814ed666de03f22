"""MathGLM-style step-by-step arithmetic: `expr=step=...=result`, every step exact.

MathGLM (Yang et al. 2023, THUDM/MathGLM) trains on multi-operation expressions solved one
operation at a time and written as a chain `a+b*c=a+d=e`. This module generates such items:
integers, decimals or fractions, `+ - * /`, powers `^` and brackets, with the number of
operations, the digits per operand and the shares of each feature set by `ArithmeticConfig`.

How exactness is guaranteed:
- values are `fractions.Fraction` throughout, never floats;
- a step evaluates exactly one operation, the leftmost one whose operands are both numbers
  (precedence and left-to-right order follow from the expression tree), and the whole
  expression is written again after it;
- divisions are built to come out exact in the item's number system: in integer items the
  divisor divides the dividend, in decimal items the quotient is a terminating decimal, in
  fraction items any non-zero divisor is fine and values are written as reduced fractions;
- every item is generated from its own `random.Random(f"{seed}:{index}")`, so item i is the
  same whatever the number of items or tasks.
Negative values are written in parentheses (`(-3)`) except as the final result (`-3`);
fractions always as `(3/7)`, so a value never reads as a division still to be done, and in
fraction items brackets group with `[ ]` (`2*[7/3]` divides, `2*(7/3)` multiplies by a number).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from fractions import Fraction

from sciloom.corpus.errors import RecipeError

PREC = {"+": 1, "-": 1, "*": 2, "/": 2, "^": 3}
INTEGER, DECIMAL, FRACTION = "integer", "decimal", "fraction"


@dataclass
class ArithmeticConfig:
    """Size and difficulty of generated arithmetic items."""

    min_ops: int = 1  # operations per item, at least (MathGLM's test set has 1-11)
    max_ops: int = 6  # operations per item, at most
    max_digits: int = 4  # digits of an integer operand (MathGLM uses up to 4-digit operands)
    decimal_share: float = 0.25  # share of items in decimals
    fraction_share: float = 0.15  # share of items in fractions
    max_decimal_places: int = 2  # places of a decimal operand
    power_share: float = 0.1  # chance that an operand is a power `b^e` (e in 2..3, |b| <= 20)
    bracket_share: float = 0.3  # chance that a sub-expression may need brackets
    negative: bool = True  # allow negative operands and results

    def __post_init__(self) -> None:
        if not 1 <= self.min_ops <= self.max_ops:
            raise RecipeError(
                f"prompts.arithmetic.min_ops/max_ops: need 1 <= {self.min_ops} <= {self.max_ops}"
            )
        if self.max_digits < 1:
            raise RecipeError(f"prompts.arithmetic.max_digits: must be >= 1, got {self.max_digits}")
        for name in ("decimal_share", "fraction_share", "power_share", "bracket_share"):
            v = getattr(self, name)
            if not 0.0 <= v <= 1.0:
                raise RecipeError(f"prompts.arithmetic.{name}: must be in [0, 1], got {v}")
        if self.decimal_share + self.fraction_share > 1.0:
            raise RecipeError("prompts.arithmetic.decimal_share + fraction_share: must be <= 1")


DIFFICULTIES = {
    "easy": ArithmeticConfig(min_ops=1, max_ops=2, max_digits=2, power_share=0.0, bracket_share=0.2),
    "medium": ArithmeticConfig(),
    "hard": ArithmeticConfig(min_ops=4, max_ops=11, max_digits=5, max_decimal_places=3, bracket_share=0.5),
}


@dataclass
class Node:
    """An expression tree node: a number (`op is None`) or a binary operation."""

    value: Fraction
    op: str | None = None
    left: Node | None = None
    right: Node | None = None

    @property
    def prec(self) -> int:
        return PREC[self.op] if self.op else 9


@dataclass(frozen=True)
class ArithmeticItem:
    expression: str
    steps: list[str]  # the expression rewritten after each operation; the last is the result
    system: str  # integer, decimal or fraction

    @property
    def text(self) -> str:
        return "=".join([self.expression, *self.steps])


def number_text(value: Fraction, system: str, standalone: bool = False) -> str:
    """A value in the item's number system; operands that could be misread get parentheses."""
    if value.denominator == 1:
        body = str(value.numerator)
    elif system == FRACTION:
        body = f"{value.numerator}/{value.denominator}"
    else:
        body = decimal_text(value)
    if "/" in body:  # always `(3/7)`: a bare `3/7` would read as a division still to do
        return f"({body})"
    return f"({body})" if value < 0 and not standalone else body


def decimal_text(value: Fraction) -> str:
    """Exact decimal digits of a terminating fraction (raises if it does not terminate)."""
    den, twos, fives = value.denominator, 0, 0
    while den % 2 == 0:
        den, twos = den // 2, twos + 1
    while den % 5 == 0:
        den, fives = den // 5, fives + 1
    if den != 1:
        raise ValueError(f"{value} has no terminating decimal expansion")
    places = max(twos, fives)
    scaled = abs(value) * 10**places
    digits = str(scaled.numerator).rjust(places + 1, "0")
    sign = "-" if value < 0 else ""
    return (
        f"{sign}{digits[:-places]}.{digits[-places:]}".rstrip("0").rstrip(".")
        if places
        else f"{sign}{digits}"
    )


def render(node: Node, system: str, top: bool = True) -> str:
    if node.op is None:
        return number_text(node.value, system, standalone=top)
    left = render(node.left, system, top=False)  # type: ignore[arg-type]
    right = render(node.right, system, top=False)  # type: ignore[arg-type]
    # fraction items group with [ ]: `(7826/69)` is a number there, `[7826/69]` a division to do
    opening, closing = ("[", "]") if system == FRACTION else ("(", ")")
    if node.left.op and (node.left.prec < node.prec or (node.op == "^")):  # type: ignore[union-attr]
        left = f"{opening}{left}{closing}"
    if node.right.op and node.right.prec <= node.prec:  # type: ignore[union-attr]
        right = f"{opening}{right}{closing}"
    return f"{left}{node.op}{right}"


def apply(op: str, a: Fraction, b: Fraction) -> Fraction:
    if op == "+":
        return a + b
    if op == "-":
        return a - b
    if op == "*":
        return a * b
    if op == "/":
        return a / b
    return a ** int(b)


def reduce_once(node: Node) -> bool:
    """Evaluate the leftmost operation whose operands are numbers, in place; False if none."""
    if node.op is None:
        return False
    if node.left.op is None and node.right.op is None:  # type: ignore[union-attr]
        node.value = apply(node.op, node.left.value, node.right.value)  # type: ignore[union-attr]
        node.op = node.left = node.right = None
        return True
    return reduce_once(node.left) or reduce_once(node.right)  # type: ignore[arg-type]


class ArithmeticGenerator:
    """Deterministic items: `item(i)` depends only on (config, seed, i)."""

    def __init__(self, config: ArithmeticConfig | None = None, seed: int = 0) -> None:
        self.config = config or ArithmeticConfig()
        self.seed = seed

    def item(self, index: int) -> ArithmeticItem:
        rng = random.Random(f"{self.seed}:{index}")
        for _ in range(1000):
            tree = self._tree(rng)
            if tree is not None:
                return self._solve(tree[0], tree[1])
        raise RuntimeError(f"arithmetic item {index}: no valid expression in 1000 tries")  # pragma: no cover

    def _solve(self, tree: Node, system: str) -> ArithmeticItem:
        expression = render(tree, system)
        steps = []
        while reduce_once(tree):
            steps.append(render(tree, system))
        return ArithmeticItem(expression, steps, system)

    # -- generation ------------------------------------------------------------------------------
    def _tree(self, rng: random.Random) -> tuple[Node, str] | None:
        c = self.config
        r = rng.random()
        system = (
            DECIMAL
            if r < c.decimal_share
            else FRACTION
            if r < c.decimal_share + c.fraction_share
            else INTEGER
        )
        n_ops = rng.randint(c.min_ops, c.max_ops)
        try:
            node = self._node(rng, n_ops, system, min_prec=0)
        except _Retry:
            return None
        return node, system

    def _node(self, rng: random.Random, n_ops: int, system: str, min_prec: int) -> Node:
        c = self.config
        if n_ops == 0:
            return self._operand(rng, system)
        bracketed = rng.random() < c.bracket_share
        choices = [op for op in "+-*/" if bracketed or PREC[op] >= min_prec]
        if not choices:  # only higher-precedence operations may stand here without brackets
            return self._operand(rng, system)
        op = rng.choice(choices)
        if op == "/":
            left = self._node(rng, n_ops - 1, system, PREC[op])
            right = Node(self._divisor(rng, left.value, system))
        else:
            k = rng.randint(0, n_ops - 1)
            left = self._node(rng, k, system, PREC[op])
            right = self._node(rng, n_ops - 1 - k, system, PREC[op] + 1)
        value = apply(op, left.value, right.value)
        if not c.negative and value < 0:
            raise _Retry
        if system == DECIMAL and value.denominator != 1:
            try:
                decimal_text(value)
            except ValueError:
                raise _Retry from None
        return Node(value, op, left, right)

    def _operand(self, rng: random.Random, system: str) -> Node:
        c = self.config
        if rng.random() < c.power_share:
            base = Fraction(rng.randint(2, 20) * (rng.choice((1, -1)) if c.negative else 1))
            exp = Fraction(rng.randint(2, 3))
            return Node(apply("^", base, exp), "^", Node(base), Node(exp))
        digits = rng.randint(1, c.max_digits)
        n = rng.randint(10 ** (digits - 1) if digits > 1 else 1, 10**digits - 1)
        if system == DECIMAL and rng.random() < 0.7:
            places = rng.randint(1, c.max_decimal_places)
            value = Fraction(rng.randint(1, 10 ** (digits + places) - 1), 10**places)
        elif system == FRACTION and rng.random() < 0.7:
            den = rng.randint(2, 12)
            value = Fraction(rng.randint(1, 3 * den), den)
        else:
            value = Fraction(n)
        if c.negative and rng.random() < 0.15:
            value = -value
        return Node(value)

    def _divisor(self, rng: random.Random, dividend: Fraction, system: str) -> Fraction:
        limit = 10**self.config.max_digits
        if system == FRACTION:
            d = Fraction(rng.randint(2, min(limit - 1, 99)))
            return d if rng.random() < 0.5 else Fraction(d.numerator, rng.randint(2, 9))
        num = abs(dividend.numerator)
        divisors = small_divisors(num, limit) if num else [7]
        d = rng.choice(divisors) if divisors else 1
        if system == DECIMAL:
            d *= rng.choice((1, 1, 2, 4, 5))
        if d == 1:
            raise _Retry
        return Fraction(d)


SMALL_PRIMES = (
    2,
    3,
    5,
    7,
    11,
    13,
    17,
    19,
    23,
    29,
    31,
    37,
    41,
    43,
    47,
    53,
    59,
    61,
    67,
    71,
    73,
    79,
    83,
    89,
    97,
)


def small_divisors(num: int, limit: int) -> list[int]:
    """Divisors of `num` in [2, limit) built from its prime factors below 100, and `num` itself.

    Trial division up to `limit` would cost 10^digits steps per division; products of small
    primes are found in a few steps and are the divisors a worked example would use anyway.
    """
    divisors = {1}
    rest = num
    for p in SMALL_PRIMES:
        while rest % p == 0:
            rest //= p
            divisors |= {d * p for d in divisors if d * p < limit}
    if num < limit:
        divisors.add(num)
    divisors.discard(1)
    return sorted(divisors)


class _Retry(Exception):
    """The partial expression broke a constraint; generation starts over."""
