"""Mixing sources at token shares (Galactica/Minerva presets, epochs, a prompt fraction) into one
seeded, shuffled stream with its megatron-core blend (docs/mix.md).

Entry point: `sciloom.corpus.mix.stage.run_mix_stage`.
"""
