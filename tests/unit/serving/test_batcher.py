"""catalog_ml.serving.batcher: concurrent requests share one model batch, each gets its rows."""

from __future__ import annotations

import asyncio

import pandas as pd
import pytest

from catalog_ml.serving.batcher import MicroBatcher


def _run(rows: pd.DataFrame) -> list[dict]:
    if (rows["id"] == "boom").any():
        raise ValueError("model failed")
    return [{"id": value, "batch_size": len(rows)} for value in rows["id"]]


def test_requests_arriving_together_are_one_batch_and_answers_go_back_in_order():
    async def scenario() -> tuple[list[list[dict]], int]:
        batcher = MicroBatcher(_run, wait_ms=200, max_rows=100)
        await batcher.start()
        try:
            answers = await asyncio.gather(*(
                batcher.submit(pd.DataFrame({"id": [f"r{i}-a", f"r{i}-b"]})) for i in range(5)))
        finally:
            await batcher.stop()
        return list(answers), batcher.batches

    answers, batches = asyncio.run(scenario())
    assert batches == 1
    for i, answer in enumerate(answers):
        assert [a["id"] for a in answer] == [f"r{i}-a", f"r{i}-b"]
        assert all(a["batch_size"] == 10 for a in answer)


def test_a_full_batch_does_not_wait_and_a_failure_reaches_every_request_of_its_batch():
    async def scenario() -> int:
        batcher = MicroBatcher(_run, wait_ms=10_000, max_rows=2)
        await batcher.start()
        try:
            done = await asyncio.wait_for(batcher.submit(pd.DataFrame({"id": ["a", "b"]})), 5)
            assert [a["id"] for a in done] == ["a", "b"]
            with pytest.raises(ValueError, match="model failed"):
                await asyncio.wait_for(batcher.submit(pd.DataFrame({"id": ["boom", "x"]})), 5)
        finally:
            await batcher.stop()
        return batcher.batches

    assert asyncio.run(scenario()) == 2
