"""sciloom.tokenizer"""
