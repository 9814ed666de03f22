"""sciloom.pretrain: continued pretraining of Llama/Qwen2-family models on megatron-core.

config (run TOML -> PretrainConfig), model_spec (HF family -> TransformerConfig), hf_import
(HF <-> mcore weights), attention + layers (SDPA core attention, sequence-parallel RMSNorm), parallel
(process groups), data (blended GPTDataset, resumable sampler), trainer (the loop), step0 (conversion
guard), checkpoint (dist_checkpointing, SIGTERM, resharding), metrics (MFU), slurm (sbatch scripts),
launch (one training process). megatron-core and torch are imported lazily by the CLI. `eval/`
belongs to the evaluation harness. See docs/pretrain.md.
"""
