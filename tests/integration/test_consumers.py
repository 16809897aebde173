"""Real consumers loading models by path through the mount, as users do: Debian's python3-torch loading a
pytorch_model.bin (torch.save's zip format) and python3-numpy reading every tensor of a safetensors file
through numpy.memmap. Both are installed by scripts/install-deps.sh, so a missing one fails here."""

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tests" / "hub"))
import fixtures  # noqa: E402


def test_torch_loads_pytorch_model_bin_by_path(hub, mount):
    import torch
    m = mount()
    repo = m.path / "hfm-test" / "torch-model"
    state = torch.load(repo / "pytorch_model.bin", map_location="cpu")
    assert list(state) == list(fixtures.TORCH_TENSORS)
    dtypes = {"F32": torch.float32, "I64": torch.int64}
    for name, (dtype, shape, _) in fixtures.TORCH_TENSORS.items():
        tensor = state[name]
        assert tensor.dtype == dtypes[dtype] and list(tensor.shape) == shape, name
        expected = torch.tensor(fixtures.torch_tensor_values(name), dtype=dtypes[dtype]).reshape(shape)
        assert torch.equal(tensor, expected), name
    assert json.loads((repo / "config.json").read_text())["model_type"] == "torch-fixture"
    # Loaded again by a fresh reader, from the cache and the page cache: the same tensors.
    again = torch.load(str(repo / "pytorch_model.bin"), map_location="cpu")
    assert all(torch.equal(again[n], state[n]) for n in state)


def test_numpy_memmap_reads_safetensors_through_the_mount(hub, mount):
    import numpy as np
    m = mount()
    path = m.path / "hfm-test" / "tiny-model" / "model.safetensors"
    raw = np.memmap(path, dtype=np.uint8, mode="r")
    header_len = int(raw[:8].view("<u8")[0])
    header = json.loads(bytes(raw[8:8 + header_len]))
    base = 8 + header_len
    dtypes = {"F32": "<f4", "I64": "<i8"}
    for name, (dtype, shape, _) in fixtures.TINY_TENSORS.items():
        meta = header[name]
        assert meta["dtype"] == dtype and meta["shape"] == shape
        start, end = meta["data_offsets"]
        tensor = raw[base + start:base + end].view(dtypes[dtype]).reshape(shape)
        expected = np.array(fixtures.tiny_tensor_values(name), dtype=dtypes[dtype]).reshape(shape)
        assert np.array_equal(tensor, expected), name
    del raw

