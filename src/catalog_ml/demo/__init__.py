"""``catalog-ml demo``: a generated sample catalog and the whole product run on it."""
