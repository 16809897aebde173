#include "fs/fuse/fuse_adapter.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "fs/fuse/errno_map.h"
#include "fs/fuse/read_dispatcher.h"
#include "fs/tree/file_xattrs.h"
#include "fs/tree/hub_filesystem.h"

namespace hfm {
namespace {

HubFilesystem* Fs(fuse_req_t req) {
  return static_cast<FuseContext*>(fuse_req_userdata(req))->fs.load();
}

struct stat ToStat(const Attr& a) {
  struct stat st;
  std::memset(&st, 0, sizeof(st));
  st.st_ino = a.ino;
  st.st_mode = a.is_dir ? (S_IFDIR | 0555) : a.is_symlink ? (S_IFLNK | 0777) : (S_IFREG | 0444);
  st.st_nlink = a.nlink;
  st.st_size = static_cast<off_t>(a.size);
  st.st_blksize = 1 << 20;
  st.st_blocks = static_cast<blkcnt_t>((a.size + 511) / 512);
  st.st_mtim.tv_sec = st.st_ctim.tv_sec = st.st_atim.tv_sec = a.mtime;
  return st;
}

fuse_entry_param ToEntryParam(const Entry& e) {
  fuse_entry_param p;
  std::memset(&p, 0, sizeof(p));
  p.ino = e.attr.ino;
  p.generation = 1;
  p.attr = ToStat(e.attr);
  p.entry_timeout = e.entry_timeout;
  p.attr_timeout = e.attr_timeout;
  return p;
}

// Who sent the request: only the access gate tells callers apart.
Caller CallerOf(fuse_req_t req) { return Caller{static_cast<uint32_t>(fuse_req_ctx(req)->uid)}; }

void OnInit(void* userdata, fuse_conn_info* conn) {
  auto* ctx = static_cast<FuseContext*>(userdata);
  // Large requests: 1 MiB reads and readahead cut round trips through FUSE.
  conn->max_read = ctx->max_read;
  conn->max_readahead = ctx->max_read;
  conn->max_write = ctx->max_read;  // libfuse derives max_pages from this
  // Background requests (readahead, async direct I/O) past this wait in the
  // kernel, out of reach of the read deadline; reads no longer hold FUSE
  // workers (ReadDispatcher), so let as many in as its queue can take soon.
  conn->max_background = 256;
  // Our attributes never change under an inode, so the kernel may keep pages.
  conn->want &= ~FUSE_CAP_AUTO_INVAL_DATA;
}

void OnLookup(fuse_req_t req, fuse_ino_t parent, const char* name) {
  auto entry = Fs(req)->Lookup(parent, name, CallerOf(req));
  if (!entry.ok()) {
    fuse_reply_err(req, ErrnoFor(entry.status()));
    return;
  }
  fuse_entry_param p = ToEntryParam(*entry);
  fuse_reply_entry(req, &p);  // ino 0: a negative entry the kernel caches
}

void OnForget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup) {
  Fs(req)->Forget(ino, nlookup);
  fuse_reply_none(req);
}

void OnForgetMulti(fuse_req_t req, size_t count, fuse_forget_data* forgets) {
  for (size_t i = 0; i < count; ++i) Fs(req)->Forget(forgets[i].ino, forgets[i].nlookup);
  fuse_reply_none(req);
}

void OnGetAttr(fuse_req_t req, fuse_ino_t ino, fuse_file_info*) {
  // A repo's attributes may need its snapshot, which the access gate checks
  // for whoever asks.
  CallerScope scope(CallerOf(req));
  auto entry = Fs(req)->GetAttr(ino);
  if (!entry.ok()) {
    fuse_reply_err(req, ErrnoFor(entry.status()));
    return;
  }
  struct stat st = ToStat(entry->attr);
  fuse_reply_attr(req, &st, entry->attr_timeout);
}

void OnOpenDir(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  auto handle = Fs(req)->OpenDir(ino, CallerOf(req));
  if (!handle.ok()) {
    fuse_reply_err(req, ErrnoFor(handle.status()));
    return;
  }
  fi->fh = *handle;
  fi->cache_readdir = 0;
  fuse_reply_open(req, fi);
}

void OnReadDir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t offset, fuse_file_info* fi) {
  auto entries = Fs(req)->DirEntries(fi->fh);
  if (!entries) {
    fuse_reply_err(req, EBADF);
    return;
  }
  // Offsets: 0 ".", 1 "..", 2+i the i-th entry; each entry's `off` is the
  // offset of the one after it.
  std::vector<char> buf(size);
  size_t used = 0;
  const size_t total = entries->size() + 2;
  for (size_t i = static_cast<size_t>(offset); i < total; ++i) {
    struct stat st;
    std::memset(&st, 0, sizeof(st));
    const char* name;
    if (i == 0) {
      name = ".";
      st.st_ino = ino;
      st.st_mode = S_IFDIR;
    } else if (i == 1) {
      name = "..";
      st.st_ino = 1;
      st.st_mode = S_IFDIR;
    } else {
      const DirEntry& e = (*entries)[i - 2];
      name = e.name.c_str();
      st.st_ino = e.ino_hint;
      st.st_mode = e.is_dir ? S_IFDIR : e.is_symlink ? S_IFLNK : S_IFREG;
    }
    size_t need = fuse_add_direntry(req, buf.data() + used, size - used, name, &st,
                                    static_cast<off_t>(i + 1));
    if (need > size - used) break;
    used += need;
  }
  fuse_reply_buf(req, buf.data(), used);
}

void OnReleaseDir(fuse_req_t req, fuse_ino_t, fuse_file_info* fi) {
  Fs(req)->ReleaseDir(fi->fh);
  fuse_reply_err(req, 0);
}

void OnReadLink(fuse_req_t req, fuse_ino_t ino) {
  auto target = Fs(req)->ReadLink(ino);
  if (!target.ok()) {
    fuse_reply_err(req, ErrnoFor(target.status()));
    return;
  }
  fuse_reply_readlink(req, target->c_str());
}

void OnOpen(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  if ((fi->flags & O_ACCMODE) != O_RDONLY || (fi->flags & O_TRUNC)) {
    fuse_reply_err(req, EROFS);
    return;
  }
  auto opened = Fs(req)->Open(ino, CallerOf(req));
  if (!opened.ok()) {
    fuse_reply_err(req, ErrnoFor(opened.status()));
    return;
  }
  fi->fh = opened->handle;
  fi->keep_cache = opened->keep_cache;
  fi->direct_io = opened->direct_io;  // never for model files: mmap must stay fast
  fuse_reply_open(req, fi);
}

// On a read thread: the read itself, and its one reply unless the read was
// answered already (ReadDispatcher answers one past the read deadline).
void ReadAndReply(fuse_req_t req, HubFilesystem* fs, uint64_t fh, size_t size, off_t offset,
                  const ReadDispatcher::MayAnswer& may_answer) {
  // Reused buffers: a fresh 1 MiB allocation per read stays in glibc's
  // per-thread arenas (see fs/buffer_pool.h).
  BufferPool& pool = fs->buffers();
  std::string buf = pool.TakeSized(size);
  auto n = fs->Read(fh, static_cast<uint64_t>(offset), std::span<char>(buf.data(), size));
  if (may_answer()) {
    if (!n.ok()) {
      fuse_reply_err(req, ErrnoFor(n.status()));
    } else {
      fuse_reply_buf(req, buf.data(), *n);
    }
  }
  pool.Give(std::move(buf));
}

// Hands the read to the read threads (ReadDispatcher): a read stalled on a
// mirror must not hold a FUSE worker that a lookup needs.
void OnRead(fuse_req_t req, fuse_ino_t, size_t size, off_t offset, fuse_file_info* fi) {
  HubFilesystem* fs = Fs(req);
  const uint64_t fh = fi->fh;  // fi is gone once this handler returns
  ReadDispatcher* reads = static_cast<FuseContext*>(fuse_req_userdata(req))->reads.load();
  if (!reads) return ReadAndReply(req, fs, fh, size, offset, [] { return true; });
  reads->Submit(ReadDispatcher::Job{[=](const ReadDispatcher::MayAnswer& may_answer) {
                                      ReadAndReply(req, fs, fh, size, offset, may_answer);
                                    },
                                    [req](const Status& status) { fuse_reply_err(req, ErrnoFor(status)); }});
}

void OnRelease(fuse_req_t req, fuse_ino_t, fuse_file_info* fi) {
  Fs(req)->Release(fi->fh);
  fuse_reply_err(req, 0);
}

void OnStatFs(fuse_req_t req, fuse_ino_t) {
  struct statvfs st;
  std::memset(&st, 0, sizeof(st));
  st.f_bsize = 1 << 20;
  st.f_frsize = 1 << 20;
  st.f_namemax = 255;
  st.f_flag = ST_RDONLY | ST_NOSUID | ST_NODEV;
  fuse_reply_statfs(req, &st);
}

// Everything that would change the tree.
void OnSetAttr(fuse_req_t req, fuse_ino_t, struct stat*, int, fuse_file_info*) { fuse_reply_err(req, EROFS); }
void OnMknod(fuse_req_t req, fuse_ino_t, const char*, mode_t, dev_t) { fuse_reply_err(req, EROFS); }
void OnMkdir(fuse_req_t req, fuse_ino_t, const char*, mode_t) { fuse_reply_err(req, EROFS); }
void OnUnlink(fuse_req_t req, fuse_ino_t, const char*) { fuse_reply_err(req, EROFS); }
void OnRmdir(fuse_req_t req, fuse_ino_t, const char*) { fuse_reply_err(req, EROFS); }
void OnSymlink(fuse_req_t req, const char*, fuse_ino_t, const char*) { fuse_reply_err(req, EROFS); }
void OnRename(fuse_req_t req, fuse_ino_t, const char*, fuse_ino_t, const char*, unsigned) { fuse_reply_err(req, EROFS); }
void OnLink(fuse_req_t req, fuse_ino_t, fuse_ino_t, const char*) { fuse_reply_err(req, EROFS); }
void OnWrite(fuse_req_t req, fuse_ino_t, const char*, size_t, off_t, fuse_file_info*) { fuse_reply_err(req, EROFS); }
void OnCreate(fuse_req_t req, fuse_ino_t, const char*, mode_t, fuse_file_info*) { fuse_reply_err(req, EROFS); }
// The usual xattr protocol: size 0 asks for the length; a buffer too small
// for the value is ERANGE.
void ReplyXattr(fuse_req_t req, const std::string& value, size_t size) {
  if (size == 0) {
    fuse_reply_xattr(req, value.size());
  } else if (size < value.size()) {
    fuse_reply_err(req, ERANGE);
  } else {
    fuse_reply_buf(req, value.data(), value.size());
  }
}

void OnGetXattr(fuse_req_t req, fuse_ino_t ino, const char* name, size_t size) {
  auto xattrs = Fs(req)->Xattrs(ino);
  if (!xattrs.ok()) {
    fuse_reply_err(req, ErrnoFor(xattrs.status()));
    return;
  }
  auto value = FindXattr(*xattrs, name);
  if (!value) {
    fuse_reply_err(req, ENODATA);
    return;
  }
  ReplyXattr(req, *value, size);
}

void OnListXattr(fuse_req_t req, fuse_ino_t ino, size_t size) {
  auto xattrs = Fs(req)->Xattrs(ino);
  if (!xattrs.ok()) {
    fuse_reply_err(req, ErrnoFor(xattrs.status()));
    return;
  }
  ReplyXattr(req, XattrNameList(*xattrs), size);
}

void OnSetXattr(fuse_req_t req, fuse_ino_t, const char*, const char*, size_t, int) { fuse_reply_err(req, EROFS); }
void OnRemoveXattr(fuse_req_t req, fuse_ino_t, const char*) { fuse_reply_err(req, EROFS); }
void OnFallocate(fuse_req_t req, fuse_ino_t, int, off_t, off_t, fuse_file_info*) { fuse_reply_err(req, EROFS); }

fuse_lowlevel_ops MakeOps() {
  fuse_lowlevel_ops ops;
  std::memset(&ops, 0, sizeof(ops));
  ops.init = OnInit;
  ops.lookup = OnLookup;
  ops.forget = OnForget;
  ops.forget_multi = OnForgetMulti;
  ops.getattr = OnGetAttr;
  ops.readlink = OnReadLink;
  ops.opendir = OnOpenDir;
  ops.readdir = OnReadDir;
  ops.releasedir = OnReleaseDir;
  ops.open = OnOpen;
  ops.read = OnRead;
  ops.release = OnRelease;
  ops.statfs = OnStatFs;
  ops.setattr = OnSetAttr;
  ops.mknod = OnMknod;
  ops.mkdir = OnMkdir;
  ops.unlink = OnUnlink;
  ops.rmdir = OnRmdir;
  ops.symlink = OnSymlink;
  ops.rename = OnRename;
  ops.link = OnLink;
  ops.write = OnWrite;
  ops.create = OnCreate;
  ops.getxattr = OnGetXattr;
  ops.listxattr = OnListXattr;
  ops.setxattr = OnSetXattr;
  ops.removexattr = OnRemoveXattr;
  ops.fallocate = OnFallocate;
  return ops;
}

}  // namespace

const fuse_lowlevel_ops& FuseOperations() {
  static const fuse_lowlevel_ops ops = MakeOps();
  return ops;
}

}  // namespace hfm
