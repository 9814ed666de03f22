"""Prompt data for pretraining mixes: CoT, PoT, Galactica `<work>` traces, FOBAR/self-verification,
RFT selection, converters for public augmented sets, and MathGLM-style arithmetic (docs/mix.md).

Entry point: `sciloom.corpus.prompts.stage.run_prompts_stage`.
"""
