"""The nightly DAG's first task: wait, deferred, until the night's dump is complete.

``WaitForDump`` checks once in the worker; a dump that is already complete costs no waiting.
Otherwise it hands the polling to the triggerer (``DumpReadyTrigger``, asynchronous, no worker
slot held) until the dump is complete or the night's deadline (logical date plus
``dump_deadline_hours``) passes. Then the task fails at once, without retries, naming the
folder, the deadline and what was missing. The rule of completeness is
``catalog_ml.validation.dump.dump_readiness``. This module is imported when DAG files are
parsed, so it imports nothing heavy at module level.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator, Mapping
from typing import Any, NoReturn

from airflow.sdk import BaseOperator
from airflow.triggers.base import BaseTrigger, TriggerEvent

POLL_SECONDS = 30.0


def _readiness(folder: str, marker: str, settle_s: float) -> tuple[bool, str]:
    """Credentials for a dump on an object store come from the settings (the environment of
    the worker or triggerer), never from the trigger's stored arguments."""
    from catalog_ml.config import load_settings
    from catalog_ml.validation.dump import dump_readiness
    from catalog_ml.validation.landing import DumpFolder

    return dump_readiness(DumpFolder.at(folder, load_settings().storage_options), marker,
                          settle_s)


class DumpReadyTrigger(BaseTrigger):
    """Polls the dump folder from the triggerer until it is complete or the deadline passes."""

    def __init__(self, folder: str, deadline: str, marker: str, settle_s: float,
                 poll_s: float = POLL_SECONDS) -> None:
        super().__init__()
        self.folder, self.deadline, self.marker = folder, deadline, marker
        self.settle_s, self.poll_s = settle_s, poll_s

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (f"{__name__}.DumpReadyTrigger",
                {"folder": self.folder, "deadline": self.deadline, "marker": self.marker,
                 "settle_s": self.settle_s, "poll_s": self.poll_s})

    async def run(self) -> AsyncIterator[TriggerEvent]:
        deadline = dt.datetime.fromisoformat(self.deadline)
        while True:
            ready, why = await asyncio.to_thread(_readiness, self.folder, self.marker,
                                                 self.settle_s)
            if ready or dt.datetime.now(dt.UTC) >= deadline:
                yield TriggerEvent({"ready": ready, "why": why})
                return
            await asyncio.sleep(self.poll_s)


class WaitForDump(BaseOperator):
    """Succeeds with the dump folder once it is complete; fails (no retries) past the deadline."""

    ui_color = "#e8f0fe"

    def __init__(self, poll_s: float = POLL_SECONDS, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.poll_s = poll_s

    def execute(self, context: Mapping[str, Any]) -> dict[str, str]:
        from catalog_ml.airflow.tasks import failing_fast, night_from_context
        from catalog_ml.config import load_settings

        with failing_fast("waiting for the dump"):
            settings = load_settings()
            night = night_from_context(context)
            params = context.get("params") or {}
            folder = params.get("dump_dir") or settings.dump_dir(night.isoformat())
            deadline = (dt.datetime.combine(night, dt.time(), dt.UTC)
                        + dt.timedelta(hours=settings.dump_deadline_hours))
            ready, why = _readiness(folder, settings.dump_marker, settings.dump_settle_s)
            if ready:
                self.log.info("night %s: dump ready: %s", night, why)
                return {"dump": folder, "why": why}
            self._late_if_past(folder, deadline, why, settings.dump_deadline_hours)
            self.log.info("night %s: waiting for the dump until %s: %s", night,
                          deadline.isoformat(), why)
            self.defer(trigger=DumpReadyTrigger(folder, deadline.isoformat(),
                                                settings.dump_marker, settings.dump_settle_s,
                                                self.poll_s),
                       method_name="resume",
                       kwargs={"folder": folder, "deadline": deadline.isoformat(),
                               "hours": settings.dump_deadline_hours})
            raise AssertionError("defer() raises TaskDeferred and never returns")

    def resume(self, context: Mapping[str, Any], event: dict[str, Any], folder: str,
               deadline: str, hours: float) -> dict[str, str]:
        """Back from the triggerer: ready, or the deadline passed."""
        if event.get("ready"):
            self.log.info("dump ready: %s", event["why"])
            return {"dump": folder, "why": event["why"]}
        _late(folder, deadline, event.get("why", ""), hours)

    @staticmethod
    def _late_if_past(folder: str, deadline: dt.datetime, why: str, hours: float) -> None:
        if dt.datetime.now(dt.UTC) >= deadline:
            _late(folder, deadline.isoformat(), why, hours)


def _late(folder: str, deadline: str, why: str, hours: float) -> NoReturn:
    from airflow.sdk.exceptions import AirflowFailException

    raise AirflowFailException(
        f"the dump in {folder} was not complete by {deadline} (the night plus "
        f"dump_deadline_hours={hours:g}): {why}")
