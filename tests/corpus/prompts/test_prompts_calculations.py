"""GSM8K calculator annotations -> programs: data flow, plain equations, refusal of non-arithmetic."""

from __future__ import annotations

import pytest

from sciloom.corpus.prompts.calculations import (
    Calculation,
    CalculationError,
    calculations,
    evaluate,
    pot_program,
    program_lines,
    strip_annotations,
)


def test_annotations_become_steps_that_reuse_earlier_results():
    solution = (
        "Natalia sold 48/2 = <<48/2=24>>24 clips in May.\nNatalia sold 48+24 = <<48+24=72>>72 clips.\n#### 72"
    )
    assert program_lines(calculations(solution)) == ["step1 = 48 / 2", "step2 = 48 + step1"]
    assert strip_annotations(solution).splitlines()[0] == "Natalia sold 48/2 = 24 clips in May."


def test_unannotated_true_equations_join_the_program_and_prose_does_not():
    solution = (
        "The cost of the ice cream is 10 × $4 = $<<10*4=40>>40.\n"
        "The cost of the frozen yoghurt is 4 × $1 = $<<4*1=4>>4.\n"
        "Caleb spent $40 − $4 = $36 more on ice cream.\n"
        "Then we divide each side by 5, 100/5 = 5A/5 or 20 = A.\n"
        "So .10*60 = $6.00 off.\n"
    )
    calcs = calculations(solution)
    assert [c.expression for c in calcs] == ["10*4", "4*1", "40 - 4", ".10*60"]
    assert program_lines(calcs)[2] == "step3 = step1 - step2"


def test_exact_evaluation_of_written_arithmetic():
    assert evaluate(".10*60") == 6
    assert evaluate("8*(3+2)/4") == 10
    assert evaluate("1 1/2") is None and evaluate("2**3") is None and evaluate("__import__('os')") is None


def test_non_arithmetic_annotation_is_refused_not_executed():
    with pytest.raises(CalculationError) as err:
        program_lines([Calculation("__import__('os').system('ls')", "0")])
    assert err.value.reason == "unsafe_expression"
    with pytest.raises(CalculationError) as err:
        pot_program([])
    assert err.value.reason == "no_calculations"
