"""Fixture repositories for the test hub, built deterministically with real git semantics.

`build(dir)` writes every served byte string once into `dir/blobs/<sha256 of the served bytes>` and a
`dir/manifest.json` describing the repos; a stamp (FIXTURE_VERSION + the large file's size) makes a second
build of the same directory instant. Several processes may build the same directory at once (a file lock
serialises them). `load(dir)` returns a `Manifest` for tests to compare bytes and hashes with.

Git semantics: a regular file's oid is the git blob sha1 (sha1 of "blob <size>\\0" + content). A file is
stored in LFS when its name matches LFS_PATTERNS or it is over 1 MiB; its tree `oid` is then the git sha1 of
the LFS pointer text, `lfs.oid` the sha256 of the content, `lfs.pointerSize` the pointer's length. Directory
oids are real git tree hashes and commits real git commit hashes, so every id is a 40-hex sha1.

Repos (kind, id): see REPOS at the bottom, or tests/hub/README.md. Tokens: TOKENS. The benchmark's repos
(hfm-bench/shards, hfm-bench/st-model, hfm-bench/table, hfm-bench/10k-files; see _bench_specs) are added only on request.

Standard library only (Debian 12's python3).
"""

import array
import fcntl
import fnmatch
import hashlib
import json
import os
import struct
import sys
import unicodedata

import torch_pickle

FIXTURE_VERSION = "3"
DEFAULT_LARGE_MB = 64
MIB = 1024 * 1024
LFS_PATTERNS = ("*.safetensors", "*.bin", "*.gguf")
LFS_THRESHOLD = MIB  # strictly larger than this goes to LFS

# token -> repo ids (any kind) it may read when private or gated. A token not listed here is invalid (401).
TOKENS = {
    "hf_test_valid_token": ["hfm-test/gated-model", "hfm-test/private-model"],
    "hf_test_unauthorized": [],
}
VALID_TOKEN = "hf_test_valid_token"
UNAUTHORIZED_TOKEN = "hf_test_unauthorized"

AUTHOR = b"HFM Test <test@hfmirror.invalid>"
BASE_TIME = 1700000000  # commit n is dated BASE_TIME + 3600 * n


# ----------------------------------------------------------------------------------------------- hashing

def git_blob_sha1(data):
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def lfs_pointer(sha256_hex, size):
    return ("version https://git-lfs.github.com/spec/v1\noid sha256:%s\nsize %d\n" % (sha256_hex, size)).encode()


def is_lfs_path(path, size):
    name = path.rsplit("/", 1)[-1]
    return size > LFS_THRESHOLD or any(fnmatch.fnmatchcase(name, p) for p in LFS_PATTERNS)


# ------------------------------------------------------------------------------------------- contents

def _f32(values):
    a = array.array("f", values)
    if sys.byteorder != "little":
        a.byteswap()
    return a.tobytes()


def _i64(values):
    return struct.pack("<%dq" % len(values), *values)


def safetensors_header(layout, metadata):
    """The 8-byte length and JSON header of a safetensors file whose tensors, given as (name, dtype, shape,
    byte length), are laid out in that order right after it."""
    header = {"__metadata__": metadata}
    offset = 0
    for name, dtype, shape, length in layout:
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + length]}
        offset += length
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)  # safetensors pads the header with spaces to 8-byte alignment
    return struct.pack("<Q", len(text)) + text


def safetensors_bytes(tensors, metadata):
    """tensors: list of (name, dtype, shape, raw little-endian bytes), laid out in that order."""
    header = safetensors_header([(name, dtype, shape, len(raw)) for name, dtype, shape, raw in tensors], metadata)
    return header + b"".join(raw for _, _, _, raw in tensors)


# Expected tensors of hfm-test/tiny-model's model.safetensors: name -> (dtype, shape, value of flat index k).
TINY_TENSORS = {
    "weight": ("F32", [256, 1024], lambda k: k / 1024.0),
    "bias": ("F32", [1024], lambda k: -k / 8.0),
    "step": ("I64", [1], lambda k: 12345),
}
TINY_METADATA = {"format": "pt", "fixture": "hfm-test/tiny-model"}


def _flat_values(spec):
    """The flat values of a tensor given as (dtype, shape, value of flat index k)."""
    _, shape, fn = spec
    n = 1
    for d in shape:
        n *= d
    return [fn(k) for k in range(n)]


def tiny_tensor_values(name):
    return _flat_values(TINY_TENSORS[name])


def tiny_safetensors():
    tensors = []
    for name in ("weight", "bias", "step"):
        dtype, shape, _ = TINY_TENSORS[name]
        vals = tiny_tensor_values(name)
        tensors.append((name, dtype, shape, _f32(vals) if dtype == "F32" else _i64(vals)))
    return safetensors_bytes(tensors, TINY_METADATA)


# Expected tensors of hfm-test/torch-model's pytorch_model.bin (a torch.save() zip just over one 1 MiB block):
# name -> (dtype, shape, value of flat index k).
TORCH_TENSORS = {
    "encoder.weight": ("F32", [512, 520], lambda k: (k % 1000) / 64.0),
    "encoder.bias": ("F32", [520], lambda k: -k / 4.0),
    "num_batches_tracked": ("I64", [1], lambda k: 777),
}


def torch_tensor_values(name):
    return _flat_values(TORCH_TENSORS[name])


def torch_model_bin():
    return torch_pickle.pytorch_model_bin([(name, dtype, shape, torch_tensor_values(name))
                                           for name, (dtype, shape, _) in TORCH_TENSORS.items()])


def gated_safetensors():
    return safetensors_bytes([("w", "F32", [16], _f32([k * 0.5 for k in range(16)]))], {"format": "pt"})


_LARGE_BASE = None


def large_block(index):
    """Block `index` (1 MiB) of hfm-test/large-model's large.bin: a sha256 chain XOR a per-block 8-byte word,
    so every 32 bytes differ within a block and every block differs from every other. Tests may call this
    to know the expected bytes at any offset without reading the fixture file."""
    global _LARGE_BASE
    if _LARGE_BASE is None:
        out, h = [], hashlib.sha256(b"hfm-test large.bin").digest()
        for _ in range(MIB // 32):
            out.append(h)
            h = hashlib.sha256(h).digest()
        _LARGE_BASE = int.from_bytes(b"".join(out), "little")
    word = struct.pack("<Q", (index * 0x9E3779B97F4A7C15 + 0x632BE59BD9B4E019) & 0xFFFFFFFFFFFFFFFF)
    mask = int.from_bytes(word * (MIB // 8), "little")
    return (_LARGE_BASE ^ mask).to_bytes(MIB, "little")


def large_bytes(offset, length):
    """Expected bytes [offset, offset+length) of large.bin (no bounds check against the file size)."""
    out = []
    while length > 0:
        idx, within = divmod(offset, MIB)
        n = min(length, MIB - within)
        out.append(large_block(idx)[within:within + n])
        offset += n
        length -= n
    return b"".join(out)


class Content:
    """A file's content: inline bytes, or `blocks` (a callable yielding chunks) of a known size."""

    def __init__(self, data=None, size=None, blocks=None):
        self.data, self.blocks = data, blocks
        self.size = len(data) if data is not None else size

    def chunks(self):
        if self.data is not None:
            yield self.data
        else:
            yield from self.blocks()


def _large_content(mb):
    return Content(size=mb * MIB, blocks=lambda: (large_block(i) for i in range(mb)))


# ------------------------------------------------------------------------ the benchmark's repos (opt-in)

# scripts/bench reads these; they are built only when asked for (build(..., bench=...), testhub.py
# --bench-fixtures or $HFM_HUB_BENCH), so the test suite's fixtures stay small.
BENCH_DEFAULTS = {"shard_mb": 256, "st_mb": 1024, "files": 10000}
BENCH_SHARDS = 8
BENCH_VERSION = "2"  # bump when the bench repos change: their fixtures are rebuilt
BENCH_FILE_DIRS = 4
# Block indices of large_block() the bench files start at: far from large.bin's (0..large_mb) and the
# fault model's (about 1000 and 2000), so no two files share a block.
_SHARD_BASE, _SHARD_STRIDE, _ST_BASE = 10_000_000, 1_000_000, 50_000_000
_F32_FINITE_MASK = None


def bench_config(bench):
    """None/False (no bench repos), True (the defaults) or a dict overriding some of BENCH_DEFAULTS
    -> None or a full dict of ints."""
    if not bench:
        return None
    cfg = dict(BENCH_DEFAULTS)
    if isinstance(bench, dict):
        unknown = set(bench) - set(cfg)
        if unknown:
            raise ValueError("unknown bench fixture settings: %s" % ", ".join(sorted(unknown)))
        cfg.update({k: int(v) for k, v in bench.items() if v is not None})
    if min(cfg.values()) < 1:
        raise ValueError("bench fixture sizes must be positive: %r" % cfg)
    return cfg


def bench_from_env():
    """$HFM_HUB_BENCH: unset, empty or 0: no bench repos; 1: the defaults; otherwise JSON overriding some
    of BENCH_DEFAULTS, e.g. {"shard_mb": 4, "st_mb": 16}. The hub's own fixture build reads it, so a hub
    started with --bench-fixtures keeps the bench repos it was asked for."""
    text = os.environ.get("HFM_HUB_BENCH", "").strip()
    if text in ("", "0"):
        return None
    if text == "1":
        return bench_config(True)
    return bench_config(json.loads(text))


def _shard_content(index, mb):
    base = _SHARD_BASE + index * _SHARD_STRIDE
    return Content(size=mb * MIB, blocks=lambda: (large_block(base + i) for i in range(mb)))


def _finite_f32_block(index):
    """large_block(index) with bit 30 of every little-endian 32-bit word cleared: as float32 every value
    is finite, below 2 in magnitude (the exponent's top bit is gone), so sums stay finite."""
    global _F32_FINITE_MASK
    if _F32_FINITE_MASK is None:
        _F32_FINITE_MASK = int.from_bytes(b"\xff\xff\xff\xbf" * (MIB // 4), "little")
    return (int.from_bytes(large_block(index), "little") & _F32_FINITE_MASK).to_bytes(MIB, "little")


def bench_safetensors_layout(st_mb):
    """[(name, dtype, shape, byte length)] of hfm-bench/st-model's model.safetensors: F32 tensors of
    16 MiB (smaller for a small file, so even a smoke run has several), st_mb MiB of tensor data."""
    tensor_mb = 16 if st_mb >= 64 else max(1, st_mb // 4)
    count = max(1, st_mb // tensor_mb)
    return [("layers.%04d.weight" % i, "F32", [tensor_mb * 256, 1024], tensor_mb * MIB) for i in range(count)]


def _bench_safetensors(st_mb):
    """Generated block by block as it is written: never the whole file in memory."""
    layout = bench_safetensors_layout(st_mb)
    header = safetensors_header(layout, {"format": "pt", "fixture": "hfm-bench/st-model"})
    data_mb = sum(length for _, _, _, length in layout) // MIB

    def blocks():
        yield header
        for i in range(data_mb):
            yield _finite_f32_block(_ST_BASE + i)
    return Content(size=len(header) + data_mb * MIB, blocks=blocks)


def _bench_small_files(count):
    files = {}
    per_dir = -(-count // BENCH_FILE_DIRS)
    for n in range(count):
        path = "dir_%d/file_%05d.txt" % (n // per_dir, n)
        files[path] = ("hfm-bench small file %s\n" % path).encode()
    return files


def _bench_specs(cfg):
    shards = {"shard-%d.bin" % i: _shard_content(i, cfg["shard_mb"]) for i in range(BENCH_SHARDS)}
    return [
        dict(kind="model", id="hfm-bench/shards", default="main",
             commits=[("A", None, "Add %d shards" % BENCH_SHARDS, shards)], branches={"main": "A"}),
        dict(kind="model", id="hfm-bench/st-model", default="main",
             commits=[("A", None, "Add model.safetensors", {
                 "config.json": b'{"model_type": "bench"}\n', "model.safetensors": _bench_safetensors(cfg["st_mb"])})],
             branches={"main": "A"}),
        # A large file that is not a weight file (hfmirror fetches *.bin, *.safetensors... whole in the
        # background when opened; other files only as read): the random-read target reads this one.
        dict(kind="model", id="hfm-bench/table", default="main",
             commits=[("A", None, "Add a table", {"data/table.arrow": _shard_content(BENCH_SHARDS, 4 * cfg["shard_mb"])})],
             branches={"main": "A"}),
        dict(kind="model", id="hfm-bench/10k-files", default="main",
             commits=[("A", None, "Add %d files" % cfg["files"], _bench_small_files(cfg["files"]))],
             branches={"main": "A"}),
    ]


# --------------------------------------------------------------------------------------------- the repos

UNICODE_NAME = unicodedata.normalize("NFC", "\u00fcn\u00efc\u00f8d\u00e9-\u00f1ame.txt")


def _tiny_model_files():
    readme = b"---\nlicense: mit\n---\n# tiny-model\n\nA fixture for hfmirror's tests.\n"
    tokenizer = json.dumps({"version": "1.0", "model": {"type": "BPE", "vocab": {"a": 0, "b": 1, "ab": 2},
                                                          "merges": ["a b"]}}, indent=2).encode() + b"\n"
    base = {
        "config.json": b'{\n  "model_type": "tiny",\n  "hidden_size": 1024,\n  "revision": "A"\n}\n',
        "README.md": readme,
        "tokenizer.json": tokenizer,
        "model.safetensors": tiny_safetensors(),
        "nested/dir/deep/file.txt": b"deep file in nested/dir/deep\n",
        "name with spaces.txt": b"a name with spaces\n",
        "hash#name.txt": b"a name with a hash sign\n",
        UNICODE_NAME: "non-ASCII name \u00fc\u00f1\n".encode(),
        "empty.txt": b"",
    }
    commit_b = dict(base)
    commit_b["config.json"] = b'{\n  "model_type": "tiny",\n  "hidden_size": 1024,\n  "revision": "B"\n}\n'
    commit_c = dict(commit_b)
    commit_c["dev-only.txt"] = b"only on the dev branch\n"
    commit_d = dict(commit_b)
    commit_d["pr-file.txt"] = b"added by pull request 1\n"
    return base, commit_b, commit_c, commit_d


# hfm-test/fault-model: the fault matrix's files. weights.bin (LFS) spans two 8 MiB fetch groups and ends in a
# partial block; small.txt is a regular (git) file under one 1 MiB block, served by /resolve itself. Commit A
# (tag v1) and B (main) differ in both files, sizes included, so a stale mirror's bytes are recognisable.
FAULT_SIZES = {"A": {"weights.bin": 10 * MIB + 12345, "small.txt": 600000},
               "B": {"weights.bin": 10 * MIB + 54321, "small.txt": 800003}}


def _fault_text(tag, size):
    line = b"fault-model commit %s line %%07d: the quick brown fox jumps over the lazy dog\n" % tag.encode()
    out = b"".join(line % i for i in range(size // len(line % 0) + 1))
    return out[:size]


def _fault_files(tag):
    base = {"A": 1000, "B": 2000}[tag] * MIB + 17
    return {"weights.bin": large_bytes(base, FAULT_SIZES[tag]["weights.bin"]),
            "small.txt": _fault_text(tag, FAULT_SIZES[tag]["small.txt"]),
            "config.json": b'{"model_type": "fault", "commit": "%s"}\n' % tag.encode()}


def _many_files():
    files = {}
    for d in range(25):
        for s in range(4):
            for f in range(25):
                path = "dir_%02d/sub_%d/file_%02d.txt" % (d, s, f)
                files[path] = ("many-files %s\n" % path).encode()
    return files


def _repo_specs(large_mb):
    """Each spec: kind, id, flags, commits [(name, parent name, message, {path: bytes|Content})],
    branches/tags/prs {name: commit name}, corrupt {path: claimed bytes}."""
    a, b, c, d = _tiny_model_files()
    bad = bytes((i * 131 + (i >> 12)) & 0xFF for i in range(3 * MIB))
    claimed_bad = bytearray(bad)
    claimed_bad[2 * MIB + 7] ^= 0xFF  # same size, one byte differs: only a full hash catches it
    return [
        dict(kind="model", id="hfm-test/tiny-model", default="main",
             commits=[("A", None, "Initial commit", a), ("B", "A", "Update config.json", b),
                      ("C", "B", "Add dev-only.txt", c), ("D", "B", "PR: add pr-file.txt", d)],
             branches={"main": "B", "dev": "C", "feature/slash": "C"}, tags={"v1.0": "A"}, prs={1: "D"}),
        dict(kind="model", id="hfm-test/large-model", default="main",
             commits=[("A", None, "Add large.bin", {
                 "config.json": b'{"model_type": "large"}\n', "large.bin": _large_content(large_mb)})],
             branches={"main": "A"}),
        dict(kind="model", id="hfm-test/torch-model", default="main",
             commits=[("A", None, "Add pytorch_model.bin", {
                 "config.json": b'{"model_type": "torch-fixture"}\n', "pytorch_model.bin": torch_model_bin()})],
             branches={"main": "A"}),
        dict(kind="model", id="hfm-test/fault-model", default="main",
             commits=[("A", None, "Fault fixtures v1", _fault_files("A")),
                      ("B", "A", "Fault fixtures v2", _fault_files("B"))],
             branches={"main": "B"}, tags={"v1": "A"}),
        dict(kind="model", id="hfm-test/many-files", default="main",
             commits=[("A", None, "Add 2500 files", _many_files())], branches={"main": "A"}),
        dict(kind="model", id="hfm-test/corrupt", default="main",
             commits=[("A", None, "Add files", {"bad.safetensors": bad, "bad-small.txt": b"hello corrupt world\n",
                                                 "good.txt": b"this one is fine\n"})],
             branches={"main": "A"},
             corrupt={"bad.safetensors": bytes(claimed_bad), "bad-small.txt": b"hello CORRUPT world\n"}),
        dict(kind="model", id="hfm-test/gated-model", default="main", gated="manual",
             commits=[("A", None, "Add gated files", {"config.json": b'{"model_type": "gated"}\n',
                                                       "weights.safetensors": gated_safetensors()})],
             branches={"main": "A"}),
        dict(kind="model", id="hfm-test/private-model", default="main", private=True,
             commits=[("A", None, "Add private files", {"config.json": b'{"model_type": "private"}\n'})],
             branches={"main": "A"}),
        dict(kind="model", id="hfm-test/disabled-model", default="main", disabled=True,
             commits=[("A", None, "Add files", {"config.json": b'{"model_type": "disabled"}\n'})],
             branches={"main": "A"}),
        dict(kind="dataset", id="hfm-test/tiny-dataset", default="master",
             commits=[("A", None, "Add data", {"data/train.csv": b"id,text\n0,hello\n1,world\n",
                                                "README.md": b"# tiny-dataset\n\nDefault branch: master.\n"})],
             branches={"master": "A"}),
        # A dataset sharing its name with the model hfm-test/tiny-model: kinds must not be confused.
        dict(kind="dataset", id="hfm-test/tiny-model", default="main",
             commits=[("A", None, "Add data", {"data/shared-name.csv": b"kind,name\ndataset,tiny-model\n"})],
             branches={"main": "A"}),
        dict(kind="space", id="hfm-test/tiny-space", default="main",
             commits=[("A", None, "Add app", {"app.py": b"print('hello from tiny-space')\n",
                                               "README.md": b"---\nsdk: gradio\n---\n# tiny-space\n"})],
             branches={"main": "A"}),
    ]


# Repo ids the hub answers with a 307 and a relative Location, like a renamed repo on the Hub.
RENAMED = {("model", "hfm-test/renamed-model"): "hfm-test/tiny-model"}


# ------------------------------------------------------------------------------------------- the build

def _git_tree(files_by_dir, dirpath, tree_oids):
    """Compute git tree sha1 of `dirpath` recursively; fills tree_oids[dir] for every directory."""
    entries = []
    for name, (kind, oid) in files_by_dir.get(dirpath, {}).items():
        if kind == "dir":
            sub = name if not dirpath else dirpath + "/" + name
            oid = _git_tree(files_by_dir, sub, tree_oids)
            entries.append((name.encode() + b"/", b"40000 " + name.encode(), oid))
        else:
            entries.append((name.encode(), b"100644 " + name.encode(), oid))
    entries.sort(key=lambda e: e[0])
    body = b"".join(mode_name + b"\0" + bytes.fromhex(oid) for _, mode_name, oid in entries)
    sha = hashlib.sha1(b"tree %d\0" % len(body) + body).hexdigest()
    tree_oids[dirpath] = sha
    return sha


def _store(blobs_dir, content):
    """Write content to blobs_dir/<sha256>; return (sha256, git sha1, size)."""
    sha256, sha1 = hashlib.sha256(), hashlib.sha1(b"blob %d\0" % content.size)
    tmp = os.path.join(blobs_dir, ".tmp.%d" % os.getpid())
    with open(tmp, "wb") as out:
        for chunk in content.chunks():
            sha256.update(chunk)
            sha1.update(chunk)
            out.write(chunk)
    digest = sha256.hexdigest()
    os.replace(tmp, os.path.join(blobs_dir, digest))
    return digest, sha1.hexdigest(), content.size


def _build_repo(spec, blobs_dir, stored):
    commits, by_name, order = {}, {}, []
    corrupt = spec.get("corrupt", {})
    for n, (name, parent, message, files) in enumerate(spec["commits"]):
        entries, by_dir = {}, {}
        for path in sorted(files):
            content = files[path] if isinstance(files[path], Content) else Content(files[path])
            key = files[path] if isinstance(files[path], bytes) else id(files[path])
            if key not in stored:
                stored[key] = _store(blobs_dir, content)
            served_sha256, served_oid, size = stored[key]
            sha256, git_oid = served_sha256, served_oid
            if path in corrupt:  # the listing claims the hashes of other bytes of the same size
                claimed = corrupt[path]
                assert len(claimed) == size
                sha256, git_oid = hashlib.sha256(claimed).hexdigest(), git_blob_sha1(claimed)
            lfs = is_lfs_path(path, size)
            entry = {"size": size, "sha256": sha256, "git_oid": git_oid, "lfs": lfs, "blob": served_sha256,
                     "served_sha256": served_sha256, "corrupt": path in corrupt}
            if lfs:
                pointer = lfs_pointer(sha256, size)
                entry.update(oid=git_blob_sha1(pointer), pointer_size=len(pointer))
            else:
                entry["oid"] = git_oid
            entries[path] = entry
            parts = path.split("/")
            for i in range(len(parts) - 1):
                by_dir.setdefault("/".join(parts[:i]), {})[parts[i]] = ("dir", None)
            by_dir.setdefault("/".join(parts[:-1]), {})[parts[-1]] = ("file", entry["oid"])
        tree_oids = {}
        root = _git_tree(by_dir, "", tree_oids)
        when = BASE_TIME + 3600 * n
        text = b"tree %s\n" % root.encode()
        if parent:
            text += b"parent %s\n" % by_name[parent].encode()
        text += b"author %s %d +0000\ncommitter %s %d +0000\n\n%s\n" % (AUTHOR, when, AUTHOR, when,
                                                                       message.encode())
        sha = hashlib.sha1(b"commit %d\0" % len(text) + text).hexdigest()
        by_name[name] = sha
        order.append(sha)
        commits[sha] = {"name": name, "parent": by_name[parent] if parent else None, "message": message,
                        "time": when, "tree": root, "dirs": tree_oids, "files": entries}
    return {
        "kind": spec["kind"], "id": spec["id"], "default_branch": spec["default"],
        "private": spec.get("private", False), "gated": spec.get("gated", False),
        "disabled": spec.get("disabled", False),
        "commit_order": order, "commits": commits,
        "branches": {k: by_name[v] for k, v in spec["branches"].items()},
        "tags": {k: by_name[v] for k, v in spec.get("tags", {}).items()},
        "prs": {str(k): by_name[v] for k, v in spec.get("prs", {}).items()},
    }


def repo_key(repo_id, kind="model"):
    return "%ss/%s" % (kind, repo_id)


def large_mb_from_env():
    return int(os.environ.get("HFM_HUB_LARGE_MB", DEFAULT_LARGE_MB))


def build(directory, large_mb=None, bench=None):
    """Build (or reuse) the fixtures in `directory`; returns the manifest path. `bench` adds the
    benchmark's repos (see bench_config; None: $HFM_HUB_BENCH)."""
    large_mb = large_mb_from_env() if large_mb is None else large_mb
    bench = bench_from_env() if bench is None else bench_config(bench)
    os.makedirs(os.path.join(directory, "blobs"), exist_ok=True)
    stamp_path, manifest_path = os.path.join(directory, "STAMP"), os.path.join(directory, "manifest.json")
    stamp_fields = {"version": FIXTURE_VERSION, "large_mb": large_mb}
    if bench:  # only then, so the test fixtures' stamp (and a build already there) stays as it was
        stamp_fields["bench"] = bench
        stamp_fields["bench_version"] = BENCH_VERSION
    stamp = json.dumps(stamp_fields)
    with open(os.path.join(directory, ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            with open(stamp_path) as f:
                if f.read() == stamp and os.path.exists(manifest_path):
                    return manifest_path
        except FileNotFoundError:
            pass
        stored, repos = {}, {}
        blobs_dir = os.path.join(directory, "blobs")
        for spec in _repo_specs(large_mb) + (_bench_specs(bench) if bench else []):
            repos[repo_key(spec["id"], spec["kind"])] = _build_repo(spec, blobs_dir, stored)
        manifest = {"version": FIXTURE_VERSION, "large_mb": large_mb, "bench": bench, "tokens": TOKENS,
                    "renamed": {repo_key(i, k): target for (k, i), target in RENAMED.items()}, "repos": repos}
        keep = {e["blob"] for r in repos.values() for c in r["commits"].values() for e in c["files"].values()}
        for name in os.listdir(blobs_dir):
            if name not in keep:  # blobs of an older version or another large_mb
                os.remove(os.path.join(blobs_dir, name))
        tmp = manifest_path + ".tmp"
        with open(tmp, "w") as f:
            json.dump(manifest, f, ensure_ascii=False)
        os.replace(tmp, manifest_path)
        with open(stamp_path, "w") as f:
            f.write(stamp)
    return manifest_path


# -------------------------------------------------------------------------------------------- reading

class Repo:
    """One fixture repo as built (branches as built; the hub's move_branch does not change this)."""

    def __init__(self, raw, blobs_dir):
        self.raw, self._blobs = raw, blobs_dir
        self.kind, self.id = raw["kind"], raw["id"]
        self.default_branch = raw["default_branch"]
        self.private, self.gated, self.disabled = raw["private"], raw["gated"], raw["disabled"]
        self.branches, self.tags = raw["branches"], raw["tags"]
        self.prs = {"refs/pr/" + n: sha for n, sha in raw["prs"].items()}
        self.commits = raw["commits"]
        # revision name -> commit, for every name a client may use
        self.revisions = {}
        for sha in raw["commit_order"]:
            self.revisions[sha] = sha
        for name, sha in self.branches.items():
            self.revisions[name] = self.revisions["refs/heads/" + name] = sha
        for name, sha in self.tags.items():
            self.revisions.setdefault(name, sha)
            self.revisions["refs/tags/" + name] = sha
        self.revisions.update(self.prs)

    def commit(self, rev=None):
        return self.revisions[self.default_branch if rev is None else rev]

    def files(self, rev=None):
        """{path: entry}: size, sha256, git_oid, lfs (bool), oid (tree oid), pointer_size (LFS), corrupt,
        bytes_path (served bytes; for a corrupt entry they do not match sha256/git_oid)."""
        out = {}
        for path, e in self.commits[self.commit(rev)]["files"].items():
            out[path] = dict(e, bytes_path=os.path.join(self._blobs, e["blob"]))
        return out

    def read(self, path, rev=None):
        """The bytes the hub serves for `path` at `rev`."""
        blob = self.commits[self.commit(rev)]["files"][path]["blob"]
        with open(os.path.join(self._blobs, blob), "rb") as f:
            return f.read()

    def dirs(self, rev=None):
        """{dir path: git tree oid}; the root is ''."""
        return self.commits[self.commit(rev)]["dirs"]


class Manifest:
    def __init__(self, directory):
        with open(os.path.join(directory, "manifest.json")) as f:
            self.raw = json.load(f)
        self.directory = directory
        self.tokens = self.raw["tokens"]
        self.large_mb = self.raw["large_mb"]
        self.bench = self.raw.get("bench")  # None, or the bench repos' sizes (see bench_config)
        blobs = os.path.join(directory, "blobs")
        self.repos = {key: Repo(r, blobs) for key, r in self.raw["repos"].items()}

    def repo(self, repo_id, kind="model"):
        return self.repos[repo_key(repo_id, kind)]


def load(directory):
    return Manifest(directory)


if __name__ == "__main__":
    import argparse
    ap = argparse.ArgumentParser(description="Build the test hub's fixture repos.")
    ap.add_argument("directory")
    ap.add_argument("--large-mb", type=int, default=None)
    ap.add_argument("--bench", action="store_true", help="add the benchmark's repos (hfm-bench/...)")
    ap.add_argument("--bench-shard-mb", type=int, default=None)
    ap.add_argument("--bench-st-mb", type=int, default=None)
    args = ap.parse_args()
    bench = {"shard_mb": args.bench_shard_mb, "st_mb": args.bench_st_mb} if args.bench else None
    print(build(args.directory, args.large_mb, bench))
