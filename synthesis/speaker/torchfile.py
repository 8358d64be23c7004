"""Read tensors from a PyTorch checkpoint without importing torch.

Handles the legacy pickle format (torch < 1.6, as resemblyzer's pretrained.pt) and the zip
format. Only plain tensors in (ordered) dicts are supported: that is what state dicts hold.
"""
from __future__ import annotations

import io
import pickle
import struct
import zipfile
from collections import OrderedDict

import numpy as np

_DTYPES = {"FloatStorage": np.float32, "DoubleStorage": np.float64, "HalfStorage": np.float16,
           "LongStorage": np.int64, "IntStorage": np.int32, "ShortStorage": np.int16,
           "CharStorage": np.int8, "ByteStorage": np.uint8, "BoolStorage": np.bool_}


class _StorageType:
    def __init__(self, name: str):
        self.dtype = np.dtype(_DTYPES[name])


class _Storage:
    def __init__(self, key: str, dtype: np.dtype):
        self.key, self.dtype, self.array = key, dtype, None


class _Tensor:
    def __init__(self, storage: _Storage, offset: int, size, stride):
        self.storage, self.offset, self.size, self.stride = storage, offset, tuple(size), tuple(stride)

    def to_numpy(self) -> np.ndarray:
        base = self.storage.array
        itemsize = base.dtype.itemsize
        view = np.lib.stride_tricks.as_strided(base[self.offset:], shape=self.size,
                                               strides=tuple(s * itemsize for s in self.stride))
        return np.array(view)


def _rebuild_tensor(storage, offset, size, stride, *args):
    return _Tensor(storage, offset, size, stride)


class _Unpickler(pickle.Unpickler):
    def __init__(self, file, storages: dict):
        super().__init__(file)
        self.storages = storages

    def find_class(self, module, name):
        if module == "torch._utils" and name in ("_rebuild_tensor_v2", "_rebuild_tensor"):
            return _rebuild_tensor
        if module == "torch" and name in _DTYPES:
            return _StorageType(name)
        if module == "collections" and name == "OrderedDict":
            return OrderedDict
        if module in ("builtins", "__builtin__") and name in ("set", "frozenset", "tuple", "list", "dict"):
            return getattr(__import__("builtins"), name)
        raise pickle.UnpicklingError(f"refusing to load {module}.{name} from a checkpoint")

    def persistent_load(self, pid):
        kind, storage_type, key = pid[0], pid[1], str(pid[2])
        if kind != "storage":
            raise pickle.UnpicklingError(f"unsupported persistent id {kind!r}")
        dtype = storage_type.dtype if isinstance(storage_type, _StorageType) else np.dtype(np.float32)
        if key not in self.storages:
            self.storages[key] = _Storage(key, dtype)
        return self.storages[key]


def _materialize(obj):
    if isinstance(obj, _Tensor):
        return obj.to_numpy()
    if isinstance(obj, dict):
        return OrderedDict((k, _materialize(v)) for k, v in obj.items())
    if isinstance(obj, (list, tuple)):
        return type(obj)(_materialize(v) for v in obj)
    return obj


def load(path) -> dict:
    """The checkpoint's object with every tensor as a numpy array."""
    with open(path, "rb") as f:
        data = f.read()
    if zipfile.is_zipfile(io.BytesIO(data)):
        return _load_zip(data)
    return _load_legacy(io.BytesIO(data))


def _load_legacy(f) -> dict:
    storages: dict[str, _Storage] = {}
    for _ in range(3):  # magic number, protocol version, system info
        pickle.load(f)
    result = _Unpickler(f, storages).load()
    keys = pickle.load(f)
    for key in keys:
        storage = storages[str(key)]
        (count,) = struct.unpack("<q", f.read(8))
        storage.array = np.frombuffer(f.read(count * storage.dtype.itemsize), dtype=storage.dtype)
    return _materialize(result)


def _load_zip(data: bytes) -> dict:
    archive = zipfile.ZipFile(io.BytesIO(data))
    names = archive.namelist()
    prefix = names[0].split("/")[0]
    storages: dict[str, _Storage] = {}
    result = _Unpickler(io.BytesIO(archive.read(f"{prefix}/data.pkl")), storages).load()
    for key, storage in storages.items():
        storage.array = np.frombuffer(archive.read(f"{prefix}/data/{key}"), dtype=storage.dtype)
    return _materialize(result)
