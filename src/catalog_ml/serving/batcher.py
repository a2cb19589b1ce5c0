"""Micro-batching: products of requests that arrive together are encoded and classified as one
batch on one model thread, so ten concurrent single-product requests cost about one batch of
ten, not ten batches of one."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import pandas as pd


@dataclass
class _Pending:
    rows: pd.DataFrame
    future: asyncio.Future[list[dict[str, Any]]]


class MicroBatcher:
    def __init__(self, run: Callable[[pd.DataFrame], list[dict[str, Any]]], wait_ms: float,
                 max_rows: int) -> None:
        self.run = run
        self.wait_s = wait_ms / 1000
        self.max_rows = max_rows
        self.queue: asyncio.Queue[_Pending] | None = None
        self.worker: asyncio.Task[None] | None = None
        self.thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="catalog-ml-model")
        self.batches = 0

    async def start(self) -> None:
        self.queue = asyncio.Queue()
        self.worker = asyncio.create_task(self._loop())

    async def stop(self) -> None:
        if self.worker:
            self.worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.worker
        self.thread.shutdown(wait=False, cancel_futures=True)

    async def submit(self, rows: pd.DataFrame) -> list[dict[str, Any]]:
        assert self.queue is not None, "start() first"
        future: asyncio.Future[list[dict[str, Any]]] = (
            asyncio.get_running_loop().create_future())
        await self.queue.put(_Pending(rows, future))
        return await future

    async def _loop(self) -> None:
        assert self.queue is not None
        loop = asyncio.get_running_loop()
        while True:
            group = [await self.queue.get()]
            size = len(group[0].rows)
            deadline = loop.time() + self.wait_s
            while size < self.max_rows:
                left = deadline - loop.time()
                if left <= 0:
                    break
                try:
                    item = await asyncio.wait_for(self.queue.get(), left)
                except TimeoutError:
                    break
                group.append(item)
                size += len(item.rows)
            await self._run(loop, group)

    async def _run(self, loop: asyncio.AbstractEventLoop, group: list[_Pending]) -> None:
        frame = pd.concat([p.rows for p in group], ignore_index=True)
        self.batches += 1
        try:
            answers = await loop.run_in_executor(self.thread, self.run, frame)
        except Exception as exc:  # every request of the batch gets the error
            for pending in group:
                if not pending.future.done():
                    pending.future.set_exception(exc)
            return
        start = 0
        for pending in group:
            end = start + len(pending.rows)
            if not pending.future.done():
                pending.future.set_result(answers[start:end])
            start = end
