"""A pytorch_model.bin written without torch: the zip format torch.save() uses since PyTorch 1.6, so the test
hub can serve one and the consumer test can load it with Debian's python3-torch.

The archive (entries stored, not compressed, as torch writes them) holds:
  archive/data.pkl   a protocol-2 pickle of an OrderedDict name -> tensor, each tensor
                     torch._utils._rebuild_tensor_v2(storage, offset, size, stride, False, OrderedDict())
                     with the storage a persistent id ('storage', torch.FloatStorage, KEY, 'cpu', NUMEL)
  archive/data/KEY   the storage's raw little-endian bytes
  archive/byteorder  "little"
  archive/version    "3"
The pickle is written opcode by opcode: pickling stand-in objects would need a module named torch to exist."""

import io
import struct
import zipfile

# Pickle opcodes (Lib/pickletools.py).
PROTO, STOP, MARK, GLOBAL, REDUCE = b"\x80", b".", b"(", b"c", b"R"
EMPTY_TUPLE, TUPLE, SETITEMS, BINPERSID, NEWFALSE = b")", b"t", b"u", b"Q", b"\x89"
BINUNICODE, BININT = b"X", b"J"

STORAGE_TYPES = {"F32": ("FloatStorage", "<f", 4), "I64": ("LongStorage", "<q", 8)}


def _string(s):
    data = s.encode()
    return BINUNICODE + struct.pack("<I", len(data)) + data


def _int(n):
    return BININT + struct.pack("<i", n)


def _int_tuple(values):
    return MARK + b"".join(_int(v) for v in values) + TUPLE


def _global(module, name):
    return GLOBAL + module.encode() + b"\n" + name.encode() + b"\n"


def _empty_ordered_dict():
    return _global("collections", "OrderedDict") + EMPTY_TUPLE + REDUCE


def pytorch_model_bin(tensors):
    """tensors: list of (name, dtype "F32" | "I64", shape, flat values). Returns the bytes of the .bin file."""
    pickle = PROTO + b"\x02" + _empty_ordered_dict() + MARK
    storages = []
    for key, (name, dtype, shape, values) in enumerate(tensors):
        storage_type, fmt, _ = STORAGE_TYPES[dtype]
        numel = len(values)
        storages.append((str(key), struct.pack("<%d%s" % (numel, fmt[1]), *values)))
        strides, step = [], 1
        for d in reversed(shape):
            strides.insert(0, step)
            step *= d
        storage = (MARK + _string("storage") + _global("torch", storage_type) + _string(str(key)) + _string("cpu") +
                   _int(numel) + TUPLE + BINPERSID)
        tensor = (_global("torch._utils", "_rebuild_tensor_v2") + MARK + storage + _int(0) + _int_tuple(shape) +
                  _int_tuple(strides) + NEWFALSE + _empty_ordered_dict() + TUPLE + REDUCE)
        pickle += _string(name) + tensor
    pickle += SETITEMS + STOP

    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_STORED) as z:
        def add(name, data):
            info = zipfile.ZipInfo("archive/" + name, date_time=(1980, 1, 1, 0, 0, 0))  # reproducible bytes
            z.writestr(info, data)
        add("data.pkl", pickle)
        add("byteorder", b"little")
        for key, raw in storages:
            add("data/" + key, raw)
        add("version", b"3\n")
    return out.getvalue()
