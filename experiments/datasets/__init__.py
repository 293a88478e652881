"""Readers for the papers' data sets in their real on-disk formats (one module per data set)."""
