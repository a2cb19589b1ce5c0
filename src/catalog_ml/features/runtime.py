"""Where and at what precision the encoders run: GPU when there is one, bf16 where it is safe.

bf16 on a CPU pays off only where the CPU has native bf16 (AVX512-BF16 or AMX); elsewhere it
is emulated and slower than fp32, so ``auto`` checks the CPU flags before choosing it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import torch

from catalog_ml.errors import ConfigError


@cache
def cpu_has_native_bf16() -> bool:
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


@dataclass(frozen=True)
class Runtime:
    device: torch.device
    dtype: torch.dtype

    @property
    def autocast(self) -> bool:
        return self.dtype != torch.float32


def resolve_runtime(device: str = "auto", precision: str = "auto") -> Runtime:
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda" and not torch.cuda.is_available():
        raise ConfigError("setting device=cuda, but torch sees no CUDA device here; use "
                          "auto (the GPU where there is one) or cpu")
    if precision == "auto":
        if device == "cuda":
            precision = "bf16" if torch.cuda.is_bf16_supported() else "fp16"
        else:
            precision = "bf16" if cpu_has_native_bf16() else "fp32"
    if precision == "fp16" and device == "cpu":
        precision = "fp32"  # fp16 matmuls on CPU are slow and gain nothing
    dtype = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}[precision]
    return Runtime(torch.device(device), dtype)


def set_threads(parallel_tasks: int) -> None:
    """One worker's share of the cores; two workers with two threads each oversubscribe."""
    cores = os.cpu_count() or 1
    torch.set_num_threads(max(1, cores // max(1, parallel_tasks)))
