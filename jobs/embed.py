"""spark-submit entry point: the embed step of one night.

    spark-submit jobs/embed.py --date 2026-11-02 [--lake DIR]

Runs on local[*] by default; spark-submit's --master and --conf take precedence.
"""

from _entry import run_job

if __name__ == "__main__":
    run_job("embed", __doc__)
