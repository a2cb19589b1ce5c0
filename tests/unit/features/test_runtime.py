"""catalog_ml.features.runtime: where and at what precision the encoders run."""

from __future__ import annotations

import pytest
import torch

from catalog_ml.errors import ConfigError
from catalog_ml.features.runtime import cpu_has_native_bf16, resolve_runtime, set_threads


def test_auto_on_a_cpu_picks_bf16_only_where_the_cpu_has_it_natively():
    runtime = resolve_runtime("cpu", "auto")
    assert runtime.device.type == "cpu"
    assert runtime.dtype == (torch.bfloat16 if cpu_has_native_bf16() else torch.float32)
    assert runtime.autocast == (runtime.dtype != torch.float32)


def test_fp16_on_a_cpu_falls_back_to_fp32_and_explicit_precisions_hold():
    assert resolve_runtime("cpu", "fp16").dtype == torch.float32
    assert resolve_runtime("cpu", "bf16").dtype == torch.bfloat16
    assert not resolve_runtime("cpu", "fp32").autocast


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU")
@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU")
def test_asking_for_cuda_without_a_gpu_is_a_setting_problem_not_a_bug():
    with pytest.raises(ConfigError, match="no CUDA device here; use auto"):
        resolve_runtime("cuda", "auto")


def test_threads_are_the_workers_share_of_the_cores():
    before = torch.get_num_threads()
    try:
        set_threads(10_000)
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(before)
