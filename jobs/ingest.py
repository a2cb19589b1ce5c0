"""Entry point: ingest one validated night into the Delta tables (driver-only, no Spark).

    python jobs/ingest.py --date 2026-11-02 [--lake DIR]
"""

from _entry import run_job

if __name__ == "__main__":
    run_job("ingest", __doc__)
