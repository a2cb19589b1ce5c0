"""spark-submit entry point: the classify step of one night.

    spark-submit jobs/classify.py --date 2026-11-02 [--lake DIR]

Runs on local[*] by default; spark-submit's --master and --conf take precedence.
"""

from _entry import run_job

if __name__ == "__main__":
    run_job("classify", __doc__)
