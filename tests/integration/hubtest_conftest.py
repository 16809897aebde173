"""Self-tests of this directory's conftest.py: the hub fixture and the mount harness (start, wait, unmount,
remount, environment scrubbing, failures). The mount tests use a tiny libfuse filesystem compiled here, so
they run without hfmirror's binary; they are skipped only where no C compiler or libfuse3-dev exists."""

import os
import shutil
import subprocess
import time

import pytest

HELLO_C = r"""
#define FUSE_USE_VERSION 31
#include <fuse.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One file, /options.txt, saying which options and environment the harness gave us. */
static struct { const char *endpoint, *cache; } opts;
static const struct fuse_opt spec[] = {
  {"endpoint=%s", offsetof(__typeof__(opts), endpoint), 1},
  {"cache=%s", offsetof(__typeof__(opts), cache), 1},
  FUSE_OPT_END};
static char text[8192];

static int h_getattr(const char *p, struct stat *st, struct fuse_file_info *fi) {
  (void)fi;
  memset(st, 0, sizeof *st);
  if (!strcmp(p, "/")) { st->st_mode = S_IFDIR | 0755; st->st_nlink = 2; return 0; }
  if (!strcmp(p, "/options.txt")) {
    st->st_mode = S_IFREG | 0444; st->st_nlink = 1; st->st_size = strlen(text); return 0;
  }
  return -ENOENT;
}
static int h_readdir(const char *p, void *buf, fuse_fill_dir_t fill, off_t off, struct fuse_file_info *fi,
                     enum fuse_readdir_flags fl) {
  (void)off; (void)fi; (void)fl;
  if (strcmp(p, "/")) return -ENOENT;
  fill(buf, ".", NULL, 0, 0); fill(buf, "..", NULL, 0, 0); fill(buf, "options.txt", NULL, 0, 0);
  return 0;
}
static int h_open(const char *p, struct fuse_file_info *fi) {
  if (strcmp(p, "/options.txt")) return -ENOENT;
  return (fi->flags & O_ACCMODE) == O_RDONLY ? 0 : -EROFS;
}
static int h_read(const char *p, char *buf, size_t n, off_t off, struct fuse_file_info *fi) {
  (void)p; (void)fi;
  size_t len = strlen(text);
  if ((size_t)off >= len) return 0;
  if (off + n > len) n = len - off;
  memcpy(buf, text + off, n);
  return n;
}
static const struct fuse_operations ops = {.getattr = h_getattr, .readdir = h_readdir, .open = h_open, .read = h_read};

int main(int argc, char *argv[]) {
  struct fuse_args args = FUSE_ARGS_INIT(argc, argv);
  if (fuse_opt_parse(&args, &opts, spec, NULL) == -1) return 1;
  snprintf(text, sizeof text, "endpoint=%s\ncache=%s\nHF_TOKEN=%s\nHF_HOME=%s\n",
           opts.endpoint ? opts.endpoint : "", opts.cache ? opts.cache : "",
           getenv("HF_TOKEN") ? getenv("HF_TOKEN") : "<unset>", getenv("HF_HOME") ? getenv("HF_HOME") : "");
  fprintf(stderr, "hello-fuse: starting\n");
  int ret = fuse_main(args.argc, args.argv, &ops, NULL);
  fprintf(stderr, "hello-fuse: exiting %d\n", ret);
  fuse_opt_free_args(&args);
  return ret;
}
"""


@pytest.fixture(scope="module")
def hello_fuse(tmp_path_factory):
    cc, pkg = shutil.which("cc"), shutil.which("pkg-config")
    if not cc or not pkg or subprocess.run([pkg, "--exists", "fuse3"]).returncode != 0:
        pytest.skip("no C compiler or libfuse3-dev: cannot build the harness's test filesystem")
    d = tmp_path_factory.mktemp("hello_fuse")
    (d / "hello.c").write_text(HELLO_C)
    flags = subprocess.run([pkg, "--cflags", "--libs", "fuse3"], capture_output=True, text=True, check=True)
    subprocess.run([cc, "-O1", "-o", str(d / "hello-fuse"), str(d / "hello.c")] + flags.stdout.split(),
                   check=True)
    return str(d / "hello-fuse")


def fake_binary(tmp_path, body):
    path = tmp_path / "fake-mount"
    path.write_text("#!/bin/sh\n" + body + "\n")
    path.chmod(0o755)
    return str(path)


def options_of(m):
    return dict(line.split("=", 1) for line in (m.path / "options.txt").read_text().splitlines())


# ------------------------------------------------------------------------------------------------ hub

def test_hub_fixture_serves_the_manifest(hub):
    info = hub.request("GET", "/api/models/hfm-test/tiny-model").json()
    assert info["sha"] == hub.manifest.repo("hfm-test/tiny-model").branches["main"]
    assert hub.cdn_url.startswith("http://127.0.0.2:")


def test_hub_isolation_part1_dirty_the_hub(hub):
    hub.set_fault(route="api_info", action="status", status=500, times=100)
    hub.move_branch("hfm-test/tiny-model", "main", "v1.0")
    assert hub.request("GET", "/api/models/hfm-test/tiny-model").status == 500


def test_hub_isolation_part2_starts_clean(hub):
    assert hub.faults() == [] and hub.stats()["total"] == 0
    info = hub.request("GET", "/api/models/hfm-test/tiny-model").json()
    assert info["sha"] == hub.manifest.repo("hfm-test/tiny-model").branches["main"]


# ---------------------------------------------------------------------------------------- mount table

def test_parse_mountinfo_unescapes_and_reads_fstype(request):
    parse = request.config.pluginmanager.get_plugin(
        os.path.join(os.path.dirname(__file__), "conftest.py")).parse_mountinfo
    text = ("36 35 98:0 / /mnt/with\\040space rw,nosuid - fuse.hfmirror hfmirror rw,user_id=0\n"
            "37 35 98:0 / /plain rw shared:1 master:2 - ext4 /dev/sda1 rw\n")
    assert parse(text) == [("/mnt/with space", "fuse.hfmirror"), ("/plain", "ext4")]


# --------------------------------------------------------------------------------------------- mounts

def test_mount_reports_a_daemon_that_exits(mount, tmp_path):
    binary = fake_binary(tmp_path, 'echo "boom: bad option $4" >&2; exit 3')
    with pytest.raises(mount.Error, match="exited with 3(.|\n)*boom: bad option endpoint=http://127"):
        mount(binary=binary)


def test_mount_gives_up_after_its_timeout(mount, tmp_path):
    binary = fake_binary(tmp_path, "exec sleep 60")
    started = time.monotonic()
    with pytest.raises(mount.Error, match="did not mount"):
        mount(binary=binary, timeout=0.5)
    assert time.monotonic() - started < 10


def test_real_mount_unmount_remount(mount, hub, hello_fuse, monkeypatch):
    monkeypatch.setenv("HF_TOKEN", "hf_outer_token_must_not_leak")
    m = mount(binary=hello_fuse)
    assert m.is_mounted()
    got = options_of(m)
    assert got["endpoint"] == hub.url and got["cache"] == str(m.cache_dir)
    assert got["HF_TOKEN"] == "<unset>" and got["HF_HOME"] == str(m.hf_home)
    m.remount(env={"HF_TOKEN": "hf_test_valid_token"})
    assert m.is_mounted() and options_of(m)["HF_TOKEN"] == "hf_test_valid_token"
    assert options_of(m)["cache"] == str(m.cache_dir)
    assert m.unmount() == 0
    assert not m.is_mounted()
    assert "hello-fuse: exiting 0" in m.stderr_tail()


def test_busy_mount_is_unmounted_lazily(mount, hello_fuse):
    m = mount(binary=hello_fuse)
    with open(m.path / "options.txt") as busy:
        busy.read(1)
        cwd = os.getcwd()
        os.chdir(m.path)  # a cwd inside the mount makes the plain unmount fail with EBUSY
        try:
            m.unmount()
        finally:
            os.chdir(cwd)
    assert not m.is_mounted() and m.proc.poll() is not None
    assert "lazy unmount" in m.stderr_tail()


def test_drop_page_cache_on_a_file(drop_page_cache, tmp_path):
    f = tmp_path / "f"
    f.write_bytes(b"x" * 4096)
    assert drop_page_cache(f) is True
    assert drop_page_cache(tmp_path) is True
    assert drop_page_cache() in (True, False)  # needs privileges the test may not have
