"""What Airflow runs: the task callables, the dump sensor, the embedded Airflow environment and
the constants the DAG files share. Nothing here is imported by the layers below."""
