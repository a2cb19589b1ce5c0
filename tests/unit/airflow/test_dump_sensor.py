"""catalog_ml.airflow.dump_sensor: the wait for a complete dump, in the worker and deferred."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest

from catalog_ml.airflow.dump_sensor import DumpReadyTrigger, WaitForDump


def _first_event(trigger: DumpReadyTrigger) -> dict:
    async def first() -> dict:
        async for event in trigger.run():
            return event.payload
        raise AssertionError("the trigger ended without an event")

    return asyncio.run(asyncio.wait_for(first(), 30))


def test_the_trigger_fires_once_the_marker_lands_or_the_deadline_passes(tmp_path):
    later = (dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)).isoformat()
    (tmp_path / "products.csv").write_text("product_id,title\n")
    (tmp_path / "_SUCCESS").touch()
    assert _first_event(DumpReadyTrigger(str(tmp_path), later, "_SUCCESS", 3600, 0.1))["ready"]
    past = (dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)).isoformat()
    event = _first_event(DumpReadyTrigger(str(tmp_path / "none"), past, "_SUCCESS", 3600, 0.1))
    assert event["ready"] is False and event["why"]


def test_the_trigger_serialises_to_what_the_triggerer_rebuilds_it_from():
    trigger = DumpReadyTrigger("/landing/2026-11-02", "2026-11-02T06:00:00+00:00", "_SUCCESS",
                               600.0, 5.0)
    path, kwargs = trigger.serialize()
    assert path == "catalog_ml.airflow.dump_sensor.DumpReadyTrigger"
    assert DumpReadyTrigger(**kwargs).serialize() == (path, kwargs)


def test_a_complete_dump_costs_no_waiting_and_a_late_one_fails_naming_the_deadline(
        tmp_path, monkeypatch):
    from airflow.sdk.exceptions import AirflowFailException

    monkeypatch.setenv("CATALOG_ML_LAKE", str(tmp_path / "lake"))
    (tmp_path / "dump").mkdir()
    (tmp_path / "dump" / "products.csv").write_text("product_id,title\n")
    (tmp_path / "dump" / "_SUCCESS").touch()
    sensor = WaitForDump(task_id="wait_for_dump")
    night = {"logical_date": dt.datetime(2026, 11, 2, tzinfo=dt.UTC)}
    done = sensor.execute({**night, "params": {"dump_dir": str(tmp_path / "dump")}})
    assert done["dump"] == str(tmp_path / "dump")
    with pytest.raises(AirflowFailException, match=r"not complete by 2026-11-02T06:00"):
        sensor.execute({**night, "params": {"dump_dir": str(tmp_path / "missing")}})
