"""One module per synthesis method; each cites its paper and repository in its docstring."""
