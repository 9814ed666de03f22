"""Write the sample arXiv submissions of this folder (sources written for sciloom, CC0).

Run `python corpus/sample/arxiv/make_archives.py` to rebuild them; the output is byte-for-byte
deterministic (tar members sorted, mtime 0, uid/gid 0; gzip mtime 0, no stored name), so the
committed archives only change when the sources below do.

- 2401.00001.tar.gz  multi-file paper: macros in an \\input'ed preamble file, \\input and \\include
                     of section files (one nested), user macros with arguments and an optional
                     default, \\def and \\DeclareMathOperator, `%` comments, \\iffalse and a comment
                     environment, a figure caption, citations resolved through the shipped .bbl
- 2401.00002.gz      a single gzip-compressed .tex (no tar), as arXiv stores one-file papers
- 2401.00003.tar.gz  citations from a .bib only (no .bbl), a theorem and a proof, \\eqref
- lecture_notes.tex  a plain .tex upload with its bibliography inline (\\bibitem), latin-1 bytes
"""

from __future__ import annotations

import gzip
import io
import tarfile
from pathlib import Path

HERE = Path(__file__).resolve().parent

PAPER1 = {
    "main.tex": r"""\input{preamble}
\title{Spectral Gaps of Random \Lap{} Operators}
\begin{document}
\maketitle
\begin{abstract}
We bound the spectral gap of the random operator $\Lap_n$ on $\R^d$ % the usual setting
and show that $\gap(\Lap_n) \geq c\,\eps$ with high probability.
\end{abstract}
\input{sections/intro}
\include{sections/results}
%\input{sections/old_draft}
\iffalse
This paragraph was cut from the submitted version and must not appear.
\fi
\bibliographystyle{plain}
\bibliography{refs}
\end{document}
This text follows \end{document} and is ignored.
""",
    "preamble.tex": r"""\documentclass[11pt]{article}
\usepackage{amsmath,amssymb}
\newcommand{\R}{\mathbb{R}}
\newcommand{\Lap}{\mathcal{L}}
\newcommand{\norm}[1]{\left\lVert #1 \right\rVert}
\newcommand{\inner}[2][\mu]{\langle #2 \rangle_{#1}}
\def\eps{\varepsilon}
\DeclareMathOperator{\gap}{gap}
\newcommand{\be}{\begin{equation}}
\newcommand{\ee}{\end{equation}}
""",
    "sections/intro.tex": r"""\section{Introduction}
Random operators model disordered media \cite{anderson1958,kirsch2007}. For $f \in L^2(\R^d)$
we write $\norm{f}$ for its norm and $\inner{f, g}$ (or $\inner[\nu]{f, g}$) for the inner product.
Spectral gaps are 50\% of the story; the rest is localisation.% a joined comment
\begin{comment}
An internal note the authors forgot to delete.
\end{comment}
\input{sections/notation}
""",
    "sections/notation.tex": r"""\paragraph{Notation} Throughout, $\Rightarrow$ is implication and $\R_+$ the half line.
""",
    "sections/results.tex": r"""\section{Main result}
\be
\gap(\Lap_n) = \inf_{\norm{f}=1,\, f \perp 1} \inner{\Lap_n f, f} \geq c\,\eps .
\label{eq:gap}
\ee
\begin{figure}[t]
\centering
\includegraphics[width=0.6\linewidth]{gap_histogram.pdf}
\caption{Empirical spectral gaps of $\Lap_n$ for $n = 10^3$ samples.}
\end{figure}
The bound in the main result follows the method of \cite{kirsch2007}.
""",
    "main.bbl": r"""\begin{thebibliography}{1}

\bibitem{anderson1958}
P.~W. Anderson.
\newblock Absence of diffusion in certain random lattices.
\newblock {\em Physical Review}, 109(5):1492--1505, 1958.

\bibitem{kirsch2007}
W.~Kirsch.
\newblock An invitation to random {S}chr\"odinger operators.
\newblock {\em Panoramas et Synth\`eses}, 25:1--119, 2008.

\end{thebibliography}
""",
}

PAPER2 = r"""\documentclass{article}
\newcommand{\E}{\mathbb{E}}
\newcommand{\Var}{\operatorname{Var}}
\begin{document}
\section{A one-file note on variance}
For a random variable $X$ with finite second moment,
\[ \Var(X) = \E[X^2] - (\E X)^2 , \]
and Chebyshev's inequality reads $\Pr(|X - \E X| \geq t) \leq \Var(X)/t^2$. % (t > 0)
\end{document}
"""

PAPER3 = {
    "paper.tex": r"""\documentclass{amsart}
\newtheorem{theorem}{Theorem}
\newcommand{\Z}{\mathbb{Z}}
\begin{document}
\section{Sums of squares}
\begin{theorem}[Fermat]
An odd prime $p$ is a sum of two squares if and only if $p \equiv 1 \pmod 4$.
\end{theorem}
\begin{proof}
See \cite{zagier1990} for a one-sentence proof using an involution on
$\{(x,y,z) \in \Z^3 : x^2 + 4yz = p\}$.
\end{proof}
By \eqref{eq:two} below the count is finite:
\begin{align}
r_2(n) &= 4 \sum_{d \mid n} \chi(d) \label{eq:two}
\end{align}
\bibliography{refs}
\end{document}
""",
    "refs.bib": r"""@article{zagier1990,
  author  = {Zagier, Don},
  title   = {A One-Sentence Proof That Every Prime $p \equiv 1 \pmod 4$ Is a Sum of Two Squares},
  journal = {The American Mathematical Monthly},
  volume  = {97},
  number  = {2},
  pages   = {144},
  year    = {1990}
}
""",
}

NOTES = (
    r"""\documentclass{article}
\begin{document}
\section{Lecture 1: Fourier series}
Les s\'eries de Fourier, d'apr"""
    + "\u00e8"
    + r"""s Dirichlet \cite{dirichlet1829}, converge for piecewise smooth $f$:
$$ f(x) = \sum_{n \in \mathbb{Z}} \hat f(n) e^{inx}. $$
\begin{thebibliography}{9}
\bibitem{dirichlet1829} P. G. L. Dirichlet, J. Reine Angew. Math. 4 (1829) 157--169.
\end{thebibliography}
\end{document}
"""
)


def tar_gz(members: dict[str, str]) -> bytes:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.GNU_FORMAT) as tf:
        for name in sorted(members):
            data = members[name].encode("utf-8")
            info = tarfile.TarInfo(name)
            info.size, info.mtime, info.mode = len(data), 0, 0o644
            tf.addfile(info, io.BytesIO(data))
    return gzip_bytes(raw.getvalue())


def gzip_bytes(data: bytes) -> bytes:
    out = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=out, mtime=0, compresslevel=9) as gz:
        gz.write(data)
    return out.getvalue()


def main(out_dir: Path = HERE) -> None:
    (out_dir / "2401.00001.tar.gz").write_bytes(tar_gz(PAPER1))
    (out_dir / "2401.00002.gz").write_bytes(gzip_bytes(PAPER2.encode("utf-8")))
    (out_dir / "2401.00003.tar.gz").write_bytes(tar_gz(PAPER3))
    (out_dir / "lecture_notes.tex").write_bytes(NOTES.encode("latin-1"))


if __name__ == "__main__":
    main()
