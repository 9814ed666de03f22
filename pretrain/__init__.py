"""sciloom.pretrain"""
