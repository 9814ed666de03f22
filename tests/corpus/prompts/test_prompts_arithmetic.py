"""MathGLM-style arithmetic: every step of thousands of items is exact, one operation at a time."""

from __future__ import annotations

import ast
import re
from fractions import Fraction

import pytest

from sciloom.corpus.errors import RecipeError
from sciloom.corpus.prompts.arithmetic import DIFFICULTIES, ArithmeticConfig, ArithmeticGenerator
from sciloom.corpus.prompts.config import PromptsConfig
from sciloom.corpus.prompts.stage import run_prompts_stage
from sciloom.corpus.shards import read_documents, shard_files
from sciloom.corpus.stage import StageRun

NUMBER = re.compile(r"\d+(?:\.\d+)?")


def exact_value(expression: str) -> Fraction:
    """Evaluate with Fractions only (an independent reading of the written expression)."""
    plain = expression.replace("^", "**").replace("[", "(").replace("]", ")")
    src = NUMBER.sub(lambda m: f"Fraction('{m.group(0)}')", plain)
    tree = ast.parse(src, mode="eval")
    allowed = (ast.Expression, ast.BinOp, ast.UnaryOp, ast.Call, ast.Name, ast.Constant, ast.Load)
    allowed += (ast.operator, ast.unaryop)
    assert all(isinstance(n, allowed) for n in ast.walk(tree)), expression
    return eval(compile(tree, "<expr>", "eval"), {"Fraction": Fraction, "__builtins__": {}})


def operations(expression: str, system: str) -> int:
    """Binary operations written in an expression (a fraction literal `(3/7)` is a number)."""
    if system == "fraction":
        expression = re.sub(r"\(-?\d+/\d+\)", "1", expression)
    return len(re.findall(r"(?<=[\d)\]])[-+*/^]", expression))


@pytest.mark.parametrize("difficulty", sorted(DIFFICULTIES))
def test_every_step_of_generated_items_is_exact(difficulty: str):
    gen = ArithmeticGenerator(DIFFICULTIES[difficulty], seed=11)
    systems = set()
    for i in range(1500):
        item = gen.item(i)
        systems.add(item.system)
        value = exact_value(item.expression)
        assert item.steps, item.text
        previous = operations(item.expression, item.system)
        for step in item.steps:
            assert exact_value(step) == value, (item.text, step)
            ops = operations(step, item.system)
            assert ops == previous - 1, (item.text, step)  # one operation per step
            previous = ops
        final = item.steps[-1]
        assert previous == 0 and re.fullmatch(r"-?\d+(\.\d+)?|\(-?\d+/\d+\)", final), item.text
    assert systems == {"integer", "decimal", "fraction"}


def test_items_cover_powers_brackets_decimals_and_long_chains():
    gen = ArithmeticGenerator(DIFFICULTIES["hard"], seed=3)
    texts = [gen.item(i).text for i in range(800)]
    assert any("^" in t for t in texts)
    assert any("(" in t.split("=")[0] and ")" in t for t in texts)
    assert any(re.search(r"\d\.\d", t) for t in texts)
    assert max(operations(t.split("=")[0], "integer") for t in texts) >= 9


def test_same_seed_same_items_other_seed_other_items():
    a = [ArithmeticGenerator(seed=5).item(i).text for i in range(50)]
    b = [ArithmeticGenerator(seed=5).item(i).text for i in range(50)]
    c = [ArithmeticGenerator(seed=6).item(i).text for i in range(50)]
    assert a == b and a != c


def test_arith_stage_counts_generated_items_as_added_and_is_independent_of_task_split(tmp_path):
    texts = []
    for per_task in (40, 1000):
        config = PromptsConfig(count=100, items_per_task=per_task)
        out = tmp_path / f"per{per_task}"
        manifest = run_prompts_stage("arith", [], config, StageRun("prompts_arith", out, seed=9))
        t = manifest.totals
        assert t.docs["in"] == 0 and t.docs["added"] == 100 == t.docs["kept"]
        assert t.added_reasons == {"generated": 100}
        docs = sorted(read_documents(shard_files(out)), key=lambda d: int(str(d.id).rsplit("/", 1)[1]))
        texts.append([d.text for d in docs])
    assert texts[0] == texts[1]


def test_arithmetic_config_rejects_impossible_settings():
    with pytest.raises(RecipeError, match="min_ops"):
        ArithmeticConfig(min_ops=3, max_ops=2)
    with pytest.raises(RecipeError, match="decimal_share"):
        ArithmeticConfig(decimal_share=0.8, fraction_share=0.5)
