"""sciloom.corpus"""
