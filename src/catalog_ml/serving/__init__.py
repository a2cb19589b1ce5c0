"""The online API on the nightly champion (``catalog-ml serve``)."""
