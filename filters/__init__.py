"""sciloom.filters"""
