"""Few-shot prompts: the standard exemplars for chain-of-thought, and program-of-thought ones.

- GSM8K CoT: the 8 exemplars of Wei et al. 2022 ("Chain-of-Thought Prompting Elicits Reasoning in
  Large Language Models", Table 20), in the `Q: ...\\nA: ... The answer is N.` format of
  lm-evaluation-harness `gsm8k-cot`. Stops at the next `Q:`.
- MATH CoT: the 4 Minerva exemplars (Lewkowycz et al. 2022, "Solving Quantitative Reasoning
  Problems with Language Models", appendix D.2), `Problem:` / `Solution:` ending in "Final Answer:
  The final answer is $X$. I hope it is correct." as in lm-evaluation-harness `minerva_math`.
- PoT (Chen et al. 2022, "Program of Thoughts Prompting"): the same GSM8K questions and Minerva
  problems solved by short Python programs that `print` the answer, written for sciloom; the
  prompt ends with an open ```python fence and generation stops at the closing fence.

`build_prompt(task, question, shots, mode)` uses the first `shots` exemplars of the task family.
"""

from __future__ import annotations

from sciloom.corpus.answers import GSM8K, task_family

COT = "cot"
POT = "pot"
MODES = (COT, POT)

GSM8K_COT = [
    (
        "There are 15 trees in the grove. Grove workers will plant trees in the grove today. After they are done, there will be 21 trees. How many trees did the grove workers plant today?",
        "There are 15 trees originally. Then there were 21 trees after some more were planted. So there must have been 21 - 15 = 6. The answer is 6.",
    ),
    (
        "If there are 3 cars in the parking lot and 2 more cars arrive, how many cars are in the parking lot?",
        "There are originally 3 cars. 2 more cars arrive. 3 + 2 = 5. The answer is 5.",
    ),
    (
        "Leah had 32 chocolates and her sister had 42. If they ate 35, how many pieces do they have left in total?",
        "Originally, Leah had 32 chocolates. Her sister had 42. So in total they had 32 + 42 = 74. After eating 35, they had 74 - 35 = 39. The answer is 39.",
    ),
    (
        "Jason had 20 lollipops. He gave Denny some lollipops. Now Jason has 12 lollipops. How many lollipops did Jason give to Denny?",
        "Jason started with 20 lollipops. Then he had 12 after giving some to Denny. So he gave Denny 20 - 12 = 8. The answer is 8.",
    ),
    (
        "Shawn has five toys. For Christmas, he got two toys each from his mom and dad. How many toys does he have now?",
        "Shawn started with 5 toys. If he got 2 toys each from his mom and dad, then that is 4 more toys. 5 + 4 = 9. The answer is 9.",
    ),
    (
        "There were nine computers in the server room. Five more computers were installed each day, from monday to thursday. How many computers are now in the server room?",
        "There were originally 9 computers. For each of 4 days, 5 more computers were added. So 5 * 4 = 20 computers were added. 9 + 20 is 29. The answer is 29.",
    ),
    (
        "Michael had 58 golf balls. On tuesday, he lost 23 golf balls. On wednesday, he lost 2 more. How many golf balls did he have at the end of wednesday?",
        "Michael started with 58 golf balls. After losing 23 on tuesday, he had 58 - 23 = 35. After losing 2 more, he had 35 - 2 = 33 golf balls. The answer is 33.",
    ),
    (
        "Olivia has $23. She bought five bagels for $3 each. How much money does she have left?",
        "Olivia had 23 dollars. 5 bagels for 3 dollars each will be 5 x 3 = 15 dollars. So she has 23 - 15 dollars left. 23 - 15 is 8. The answer is 8.",
    ),
]

GSM8K_POT = [
    "trees_before = 15\ntrees_after = 21\nprint(trees_after - trees_before)",
    "cars = 3\narrived = 2\nprint(cars + arrived)",
    "leah = 32\nsister = 42\neaten = 35\nprint(leah + sister - eaten)",
    "start = 20\nleft = 12\nprint(start - left)",
    "toys = 5\nfrom_mom = 2\nfrom_dad = 2\nprint(toys + from_mom + from_dad)",
    "computers = 9\nper_day = 5\ndays = 4  # monday to thursday\nprint(computers + per_day * days)",
    "balls = 58\nlost_tuesday = 23\nlost_wednesday = 2\nprint(balls - lost_tuesday - lost_wednesday)",
    "money = 23\nbagels = 5\nprice = 3\nprint(money - bagels * price)",
]

MATH_COT = [
    (
        "Find the domain of the expression  $\\frac{\\sqrt{x-2}}{\\sqrt{5-x}}$.",
        "The expressions inside each square root must be non-negative. Therefore, $x-2 \\ge 0$, so $x\\ge2$, and $5 - x \\ge 0$, so $x \\le 5$. Also, the denominator cannot be equal to zero, so $5-x>0$, which gives $x<5$. Therefore, the domain of the expression is $\\boxed{[2,5)}$.\nFinal Answer: The final answer is $[2,5)$. I hope it is correct.",
    ),
    (
        "If $\\det \\mathbf{A} = 2$ and $\\det \\mathbf{B} = 12,$ then find $\\det (\\mathbf{A} \\mathbf{B}).$",
        "We have that $\\det (\\mathbf{A} \\mathbf{B}) = (\\det \\mathbf{A})(\\det \\mathbf{B}) = (2)(12) = \\boxed{24}.$\nFinal Answer: The final answer is $24$. I hope it is correct.",
    ),
    (
        "Terrell usually lifts two 20-pound weights 12 times. If he uses two 15-pound weights instead, how many times must Terrell lift them in order to lift the same total weight?",
        "If Terrell lifts two 20-pound weights 12 times, he lifts a total of $2\\cdot 12\\cdot20=480$ pounds of weight.  If he lifts two 15-pound weights instead for $n$ times, he will lift a total of $2\\cdot15\\cdot n=30n$ pounds of weight.  Equating this to 480 pounds, we can solve for $n$:\n\\begin{align*}\n30n&=480\\\\\n\\Rightarrow\\qquad n&=480/30=\\boxed{16}\n\\end{align*}\nFinal Answer: The final answer is $16$. I hope it is correct.",
    ),
    (
        "If the system of equations\n\n\\begin{align*}\n6x-4y&=a,\\\\\n6y-9x &=b.\n\\end{align*}has a solution $(x, y)$ where $x$ and $y$ are both nonzero, find $\\frac{a}{b},$ assuming $b$ is nonzero.",
        "If we multiply the first equation by $-\\frac{3}{2}$, we obtain\n\n$$6y-9x=-\\frac{3}{2}a.$$Since we also know that $6y-9x=b$, we have\n\n$$-\\frac{3}{2}a=b\\Rightarrow\\frac{a}{b}=\\boxed{-\\frac{2}{3}}.$$\nFinal Answer: The final answer is $-\\frac{2}{3}$. I hope it is correct.",
    ),
]

MATH_POT = [
    "import sympy as sp\nx = sp.symbols('x', real=True)\ndomain = sp.calculus.util.continuous_domain(sp.sqrt(x - 2) / sp.sqrt(5 - x), x, sp.S.Reals)\nprint(sp.latex(domain).replace('\\\\left', '').replace('\\\\right', ''))",
    "det_a = 2\ndet_b = 12\nprint(det_a * det_b)",
    "total = 2 * 20 * 12\nper_lift = 2 * 15\nprint(total // per_lift)",
    "import sympy as sp\nx, y, a, b = sp.symbols('x y a b')\n# -3/2 times the first equation is the second one: 6y - 9x = -3/2 a\nratio = sp.Rational(1) / sp.Rational(-3, 2)\nprint(sp.latex(ratio))",
]


def exemplars(task: str, mode: str) -> list[tuple[str, str]]:
    """(question, solution) pairs in the order they appear in prompts."""
    if mode not in MODES:
        raise ValueError(f"unknown mode {mode!r}; known: {', '.join(MODES)}")
    if task_family(task) == GSM8K:
        if mode == COT:
            return list(GSM8K_COT)
        return [(q, code) for (q, _), code in zip(GSM8K_COT, GSM8K_POT)]
    if mode == COT:
        return list(MATH_COT)
    return [(q, code) for (q, _), code in zip(MATH_COT, MATH_POT)]


def max_shots(task: str, mode: str) -> int:
    return len(exemplars(task, mode))


def default_shots(task: str) -> int:
    """8 for GSM8K (Wei et al.), 4 for MATH (Minerva)."""
    return 8 if task_family(task) == GSM8K else 4


def stop_sequences(task: str, mode: str) -> tuple[str, ...]:
    if mode == POT:
        return ("```",)
    if task_family(task) == GSM8K:
        return ("\n\nQ:", "\nQ:")
    return ("\n\nProblem:", "\nProblem:")


def _block(task: str, mode: str, question: str, solution: str | None) -> str:
    gsm8k = task_family(task) == GSM8K
    if mode == COT:
        if gsm8k:
            return f"Q: {question}\nA:" + (f" {solution}\n\n" if solution is not None else "")
        return f"Problem:\n{question}\n\nSolution:" + (f"\n{solution}\n\n" if solution is not None else "")
    lead = f"Q: {question}\n" if gsm8k else f"Problem:\n{question}\n"
    lead += "Let's write a program that prints the answer.\n```python\n"
    return lead + (f"{solution}\n```\n\n" if solution is not None else "")


def build_prompt(task: str, question: str, shots: int, mode: str = COT) -> str:
    """The few-shot prompt for `question`: `shots` exemplars, then the open question."""
    pool = exemplars(task, mode)
    if not 0 <= shots <= len(pool):
        raise ValueError(f"{task} {mode} has {len(pool)} exemplars; shots={shots} is out of range")
    return "".join(_block(task, mode, q, s) for q, s in pool[:shots]) + _block(task, mode, question, None)
