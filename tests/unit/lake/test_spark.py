"""catalog_ml.lake.spark: the session's configuration from settings (no JVM needed)."""

from __future__ import annotations

from catalog_ml.config import load_settings
from catalog_ml.lake.spark import connect_url, is_connect, spark_conf


def test_local_mode_binds_loopback_and_settings_override_the_defaults():
    settings = load_settings(spark_master="local[2]", spark_driver_memory="3g",
                             spark_conf={"spark.sql.shuffle.partitions": "16"})
    conf = spark_conf(settings)
    assert conf["spark.driver.memory"] == "3g"
    assert conf["spark.driver.bindAddress"] == "127.0.0.1" and conf["spark.ui.enabled"] == "false"
    assert conf["spark.sql.shuffle.partitions"] == "16"
    assert conf["spark.python.worker.reuse"] == "true"  # a model loads once per worker


def test_a_cluster_keeps_its_own_network_and_partition_settings():
    conf = spark_conf(load_settings(spark_master="spark://10.0.0.5:7077"))
    assert "spark.driver.bindAddress" not in conf and "spark.sql.shuffle.partitions" not in conf


def test_every_client_of_one_connect_server_and_lake_shares_one_session():
    first = load_settings(spark_master="sc://127.0.0.1:15002", lake="/lake/a")
    again = load_settings(spark_master="sc://127.0.0.1:15002", lake="/lake/a")
    other = load_settings(spark_master="sc://127.0.0.1:15002", lake="/lake/b")
    assert is_connect(first) and not is_connect(load_settings(spark_master="local[1]"))
    assert connect_url(first) == connect_url(again) != connect_url(other)
    assert connect_url(first).startswith("sc://127.0.0.1:15002/;session_id=")
    named = load_settings(spark_master="sc://h:1/;session_id=mine", lake="/lake/a")
    assert connect_url(named) == "sc://h:1/;session_id=mine"
