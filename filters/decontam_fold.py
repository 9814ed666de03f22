"""Token folding for decontamination: LaTeX spacing and presentation variants are not content.

`normalize.py` already folds case, whitespace and punctuation (only words, TeX commands and the
operators `+ - * / = < > ^` are tokens). A copied benchmark problem is also re-typeset: spacing
commands added (`\\,` `\\;` `\\!` `\\quad`), delimiters sized (`\\left(` `\\bigl(`), `\\frac`
written `\\dfrac`, `\\le` for `\\leq`, `\\$` for `$`, `\\(x\\)` for `$x$`. Those variants are folded
here, on the token hashes of `normalize.token_hashes` (vectorised, no Python object per token),
for the benchmark items and the documents alike:

- dropped: the bare backslash token (what `\\,` `\\;` `\\:` `\\!` `\\ ` `\\\\` `\\$` `\\%` `\\{`
  `\\(` `\\[` leave once their punctuation separates), sizing and style commands that only change
  how a formula looks (`\\left` `\\right` `\\middle` `\\big...` `\\displaystyle` `\\textstyle`),
  spacing (`\\quad` `\\qquad`), text wrappers whose argument stays (`\\text` `\\textrm` `\\mathrm`
  `\\mbox` `\\operatorname`), ellipses (`...` is punctuation already) and `\\vert` forms (`|` is);
- renamed: `\\dfrac` `\\tfrac` `\\cfrac` -> `\\frac`, `\\dbinom` `\\tbinom` -> `\\binom`,
  `\\le` -> `\\leq`, `\\ge` -> `\\geq`, `\\ne` -> `\\neq` (the same symbol, another spelling).

Before tokenising, a TeX command is cut from the digits that follow it (`\\frac15` is `\\frac`
with arguments 1 and 5 to TeX, while `normalize.py` reads one command `\\frac15`), so `\\dfrac15`
folds to the same tokens as `\\frac15`. Braces are separators, but `\\frac15` and `\\frac{1}{5}`
still differ (`15` against `1 5`): re-bracing is a rewrite, not spacing.

Operators and digits are kept: `a-b` is not `a b`, and a problem with other numbers is another
problem. Decontamination only: MinHash dedup keeps the plain tokens (its shingles are not
compared against a reference text, and the extra pass would cost it throughput).
"""

from __future__ import annotations

import re

import numpy as np

from sciloom.filters.normalize import token_hash, tokens

DROPPED = (
    "\\",
    "\\left",
    "\\right",
    "\\middle",
    *(f"\\{size}{side}" for size in ("big", "bigg") for side in ("", "l", "r", "m")),
    "\\displaystyle",
    "\\textstyle",
    "\\scriptstyle",
    "\\quad",
    "\\qquad",
    "\\text",
    "\\textrm",
    "\\textup",
    "\\mathrm",
    "\\mbox",
    "\\operatorname",
    "\\ldots",
    "\\dots",
    "\\cdots",
    "\\vert",
    "\\lvert",
    "\\rvert",
)
RENAMED = {
    "\\dfrac": "\\frac",
    "\\tfrac": "\\frac",
    "\\cfrac": "\\frac",
    "\\dbinom": "\\binom",
    "\\tbinom": "\\binom",
    "\\le": "\\leq",
    "\\ge": "\\geq",
    "\\ne": "\\neq",
}
_COMMAND_DIGITS = re.compile(r"(\\[A-Za-z]+)(?=[0-9])")
_DROP = np.uint64(0)  # marker in the target table: hash 0 is never produced by splitmix64 of a token here


def _table() -> tuple[np.ndarray, np.ndarray]:
    pairs = {token_hash(t): 0 for t in DROPPED}
    pairs.update({token_hash(a): token_hash(b) for a, b in RENAMED.items()})
    keys = np.array(sorted(pairs), dtype=np.uint64)
    targets = np.array([pairs[int(k)] for k in keys], dtype=np.uint64)
    return keys, targets


_KEYS, _TARGETS = _table()
_DROPPED_SET = frozenset(DROPPED)


def split_command_digits(texts: list[str]) -> list[str]:
    """`texts` with a space between each TeX command and digits right after it (see above)."""
    return [_COMMAND_DIGITS.sub(r"\1 ", t) if "\\" in t else t for t in texts]


def fold_tokens(
    hashes: np.ndarray, offsets: np.ndarray, *per_token: np.ndarray
) -> tuple[np.ndarray, np.ndarray, list[np.ndarray]]:
    """`(hashes, offsets)` of `normalize.token_hashes` with the variants above dropped or renamed,
    offsets recomputed so document i still owns its own tokens, and each array of `per_token`
    (letters, sizes) filtered alike."""
    if len(hashes) == 0:
        return hashes, offsets, list(per_token)
    pos = np.searchsorted(_KEYS, hashes)
    pos[pos == len(_KEYS)] = 0
    special = _KEYS[pos] == hashes
    if not special.any():
        return hashes, offsets, list(per_token)
    target = _TARGETS[pos[special]]
    hashes = hashes.copy()
    hashes[special] = target
    keep = np.ones(len(hashes), dtype=bool)
    keep[np.flatnonzero(special)[target == _DROP]] = False
    kept_before = np.concatenate(([0], np.cumsum(keep)))
    new_offsets = kept_before[offsets].astype(np.int64)
    return hashes[keep], new_offsets, [a[keep] for a in per_token]


def folded_tokens(text: str) -> list[str]:
    """The folded tokens of `text` as strings (reference implementation, for reports and tests)."""
    out = []
    for tok in tokens(split_command_digits([text])[0]):
        if tok in _DROPPED_SET:
            continue
        out.append(RENAMED.get(tok, tok))
    return out
