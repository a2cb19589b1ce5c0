"""catalog_ml.features.onnx_engine: which engine runs the encoders, and clear refusals."""

import pytest
import torch

from catalog_ml.errors import ConfigError
from catalog_ml.features.onnx_engine import resolve_engine


def test_auto_is_onnx_on_a_cpu_and_torch_on_a_gpu():
    assert resolve_engine("auto", torch.device("cpu")) == "onnx"
    assert resolve_engine("auto", torch.device("cuda")) == "torch"
    assert resolve_engine("torch", torch.device("cpu")) == "torch"


def test_onnx_on_a_gpu_and_unknown_engines_are_refused_by_setting():
    with pytest.raises(ConfigError, match=r"inference_engine.*CPU only"):
        resolve_engine("onnx", torch.device("cuda"))
    with pytest.raises(ConfigError, match=r"inference_engine.*got 'tensorrt'"):
        resolve_engine("tensorrt", torch.device("cpu"))
