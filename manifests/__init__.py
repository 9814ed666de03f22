"""sciloom.manifests"""
