"""Reads an hfmirror cache directory with python3-lmdb, independently of the daemon, and re-hashes every
file the cache calls complete. The format is cache/lmdb_format.h: DBI "files" maps a file key (kind byte:
1 git sha1, 2 sha256; then the digest) to a 24-byte record (le64 size, le64 last access, flags; bit 0 =
complete); DBI "blocks" maps file key + big-endian u32 block index to the block's bytes."""

import hashlib
import struct

import lmdb


def check_cache(directory):
    """Returns (complete files checked, partial files seen, [errors])."""
    env = lmdb.open(str(directory), readonly=True, lock=False, max_dbs=16, subdir=True)
    files_db = env.open_db(b"files", create=False)
    blocks_db = env.open_db(b"blocks", create=False)
    complete = partial = 0
    errors = []
    with env.begin() as txn:
        for key, record in txn.cursor(db=files_db):
            size, _, flags = struct.unpack_from("<QQB", record)
            if not flags & 1:
                partial += 1
                continue
            complete += 1
            kind, digest = key[0], bytes(key[1:])
            h = hashlib.sha256() if kind == 2 else hashlib.sha1(b"blob %d\0" % size)
            expected_index, total = 0, 0
            cursor = txn.cursor(db=blocks_db)
            if cursor.set_range(bytes(key)):
                for bkey, block in cursor:
                    if not bkey.startswith(bytes(key)) or len(bkey) != len(key) + 4:
                        break
                    index = struct.unpack(">I", bkey[-4:])[0]
                    if index != expected_index:
                        errors.append("%s: block %d missing" % (digest.hex(), expected_index))
                        break
                    h.update(block)
                    total += len(block)
                    expected_index += 1
            if total != size:
                errors.append("%s: %d bytes cached, complete record says %d" % (digest.hex(), total, size))
            elif h.digest() != digest:
                errors.append("%s: complete but hashes to %s" % (digest.hex(), h.hexdigest()))
    env.close()
    return complete, partial, errors
