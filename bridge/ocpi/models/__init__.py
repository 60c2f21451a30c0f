"""OCPI protocol models, one package per version (bottom floor: imports nothing of ours)."""
