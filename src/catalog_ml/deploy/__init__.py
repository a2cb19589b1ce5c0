"""Running catalog-ml as a service: the local stack (``catalog-ml stack``)."""
