"""Training: configs per variant, the synthetic/DensePose dataset, the loop (AdamW, warm-up + cosine,
safetensors checkpoints, bit-for-bit resume, DDP through torchrun, the CPU or a GPU with batch workers)."""
