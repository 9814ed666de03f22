"""The one registry of markup tokens the corpus uses.

Extractors write these tokens, the mixer wraps prompt data in them and the tokenizer reserves
each as a single id (SentencePiece `user_defined_symbols`), so they are defined once here.
Galactica's tokens follow the paper (Taylor et al. 2022, section 3.1) and paperswithcode/galai.
Formula-boundary tokens are our own and off by default: formulas always stay LaTeX, a recipe
may additionally wrap them (`[tokenizer] math_boundary_tokens = true`).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class MarkupToken:
    text: str
    purpose: str
    optional: bool = False


# Citations: `[START_REF] Title, FirstAuthor[END_REF]`.
START_REF = "[START_REF]"
END_REF = "[END_REF]"
# Step-by-step working, with Python that was really run.
WORK_START = "<work>"
WORK_END = "</work>"
# Character-level science sequences.
START_I_SMILES = "[START_I_SMILES]"
END_I_SMILES = "[END_I_SMILES]"
START_SMILES = "[START_SMILES]"
END_SMILES = "[END_SMILES]"
START_AMINO = "[START_AMINO]"
END_AMINO = "[END_AMINO]"
START_DNA = "[START_DNA]"
END_DNA = "[END_DNA]"
# Super/subscripts that NFKC would otherwise fold (x²⁵ -> x25).
START_SUP = "[START_SUP]"
END_SUP = "[END_SUP]"
START_SUB = "[START_SUB]"
END_SUB = "[END_SUB]"
IMAGE = "[IMAGE]"
# Optional formula boundaries (ours). The LaTeX inside is unchanged.
START_INLINE_MATH = "[START_INLINE_MATH]"
END_INLINE_MATH = "[END_INLINE_MATH]"
START_DISPLAY_MATH = "[START_DISPLAY_MATH]"
END_DISPLAY_MATH = "[END_DISPLAY_MATH]"

REGISTRY: tuple[MarkupToken, ...] = (
    MarkupToken(START_REF, "citation start"),
    MarkupToken(END_REF, "citation end"),
    MarkupToken(WORK_START, "step-by-step working start"),
    MarkupToken(WORK_END, "step-by-step working end"),
    MarkupToken(START_I_SMILES, "isomeric SMILES start"),
    MarkupToken(END_I_SMILES, "isomeric SMILES end"),
    MarkupToken(START_SMILES, "SMILES start"),
    MarkupToken(END_SMILES, "SMILES end"),
    MarkupToken(START_AMINO, "amino-acid sequence start"),
    MarkupToken(END_AMINO, "amino-acid sequence end"),
    MarkupToken(START_DNA, "DNA sequence start"),
    MarkupToken(END_DNA, "DNA sequence end"),
    MarkupToken(START_SUP, "superscript start"),
    MarkupToken(END_SUP, "superscript end"),
    MarkupToken(START_SUB, "subscript start"),
    MarkupToken(END_SUB, "subscript end"),
    MarkupToken(IMAGE, "image placeholder"),
    MarkupToken(START_INLINE_MATH, "inline formula start", optional=True),
    MarkupToken(END_INLINE_MATH, "inline formula end", optional=True),
    MarkupToken(START_DISPLAY_MATH, "display formula start", optional=True),
    MarkupToken(END_DISPLAY_MATH, "display formula end", optional=True),
)


def markup_tokens(include_optional: bool = True) -> list[str]:
    """All markup token strings, in registry order (stable: tokenizer ids depend on it)."""
    return [t.text for t in REGISTRY if include_optional or not t.optional]


def wrap_math(latex: str, display: bool, boundary_tokens: bool = False) -> str:
    """Write one formula in the corpus convention: `$...$` inline, `$$...$$` display.

    With `boundary_tokens` the delimited formula is additionally wrapped in our boundary tokens.
    """
    body = f"$${latex}$$" if display else f"${latex}$"
    if not boundary_tokens:
        return body
    if display:
        return f"{START_DISPLAY_MATH}{body}{END_DISPLAY_MATH}"
    return f"{START_INLINE_MATH}{body}{END_INLINE_MATH}"
