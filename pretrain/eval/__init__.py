"""Math evaluation of checkpoints: GSM8K / MATH accuracy (CoT, PoT), maj@k, pass@k, perplexity.

- `prompts`: the standard few-shot exemplars (Wei et al. GSM8K CoT, Minerva MATH) and PoT ones;
- `generation`: batched sampling from a Hugging Face-format checkpoint;
- `pot`: PoT programs executed in `sciloom.corpus.sandbox`;
- `metrics`: per-item records, maj@k (self-consistency), unbiased pass@k, summaries;
- `runner`: `run_eval` (resumable JSONL results) and `score_completions` (recorded completions);
- `perplexity`: held-out loss per source of a mix.

Answers are extracted and compared by `sciloom.corpus.answers`, the checker the mix also uses.
"""
