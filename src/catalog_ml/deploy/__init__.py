"""Running catalog-ml as a service on one machine: the local stack (``catalog-ml stack``)."""
