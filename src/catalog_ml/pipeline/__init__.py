"""The jobs: a night's steps (validate, ingest, embed, classify, publish), training,
promotion and reclassification. Each step module is imported only when it runs."""
