from __future__ import annotations

import pytest
import torch

from got_model.devices import resolve_device, resolve_dtype


def test_auto_on_a_cpu_machine_is_cpu_fp32(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    device = resolve_device("auto")
    assert device.type == "cpu"
    assert resolve_dtype("auto", device) is torch.float32


def test_auto_prefers_cuda_then_mps(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert resolve_device(None).type == "cuda"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert resolve_device("auto").type == "mps"


@pytest.mark.parametrize(("bf16", "expected"), [(True, torch.bfloat16), (False, torch.float16)])
def test_cuda_uses_bf16_where_supported(
    monkeypatch: pytest.MonkeyPatch, bf16: bool, expected: torch.dtype
) -> None:
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda: bf16)
    assert resolve_dtype(None, torch.device("cuda")) is expected


def test_mps_never_defaults_to_bf16() -> None:
    assert resolve_dtype("auto", torch.device("mps")) is torch.float16


@pytest.mark.parametrize(
    ("name", "expected"),
    [("bf16", torch.bfloat16), ("float16", torch.float16), ("torch.float32", torch.float32)],
)
def test_explicit_dtypes(name: str, expected: torch.dtype) -> None:
    assert resolve_dtype(name, torch.device("cpu")) is expected
    assert resolve_dtype(expected, torch.device("cpu")) is expected


def test_unknown_dtype_is_rejected() -> None:
    with pytest.raises(ValueError, match="int8"):
        resolve_dtype("int8", torch.device("cpu"))


def test_explicit_device_is_kept() -> None:
    assert resolve_device("cpu") == torch.device("cpu")
    assert resolve_device("cuda:1") == torch.device("cuda", 1)
