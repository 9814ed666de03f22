"""arXiv LaTeX submissions -> one text document per paper, math kept verbatim.

Modules, in pipeline order: `archive` (safe in-memory reading of tar/gzip/zip/plain sources and bulk
tars), `encoding` (per-file decoding), `main_file` (root document), `comments` (comments and dead
conditionals), `macros` + `includes` (one TeX-like token stream: user macros expanded and included
files inlined in document order), `bibliography` (citation titles), `latex_text` (LaTeX -> text),
`extractor` (the reader step) and `stage` (the entry function).
"""
