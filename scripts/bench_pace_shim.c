/* bench_pace_shim.c: an LD_PRELOAD library for scripts/bench's "paced" nginx. Every TCP connection the
 * server accepts gets SO_MAX_PACING_RATE = $HFM_PACE_BYTES_PER_SEC bytes/s, so the cap applies per
 * connection (as a CDN's per-flow limit would), not per request: a client that opens more connections
 * gets more bandwidth, one that reuses a connection does not.
 *
 * The kernel paces such a socket by itself (TCP's internal pacing), with no qdisc set up on loopback.
 * scripts/bench compiles it with `cc -shared -fPIC -O2 -o pace_shim.so bench_pace_shim.c -ldl`.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>

#ifndef SO_MAX_PACING_RATE
#define SO_MAX_PACING_RATE 47 /* asm-generic/socket.h; older headers lack the name */
#endif

typedef int (*accept_fn)(int, struct sockaddr *, socklen_t *);
typedef int (*accept4_fn)(int, struct sockaddr *, socklen_t *, int);

/* Read when the library loads, in nginx's master: its workers are forked from it, and nginx clears the
 * environment of its workers, so a later getenv() there would find nothing. */
static uint32_t pace_rate;
static accept_fn next_accept;
static accept4_fn next_accept4;

__attribute__((constructor)) static void pace_init(void) {
  const char *text = getenv("HFM_PACE_BYTES_PER_SEC");
  if (text && *text) {
    unsigned long long rate = strtoull(text, NULL, 10);
    pace_rate = rate > UINT32_MAX ? UINT32_MAX : (uint32_t)rate;
  }
  next_accept = (accept_fn)dlsym(RTLD_NEXT, "accept");
  next_accept4 = (accept4_fn)dlsym(RTLD_NEXT, "accept4");
}

/* Caps a freshly accepted socket; leaves errno as accept left it. */
static int pace_socket(int fd) {
  if (fd >= 0 && pace_rate != 0) {
    int saved = errno;
    if (setsockopt(fd, SOL_SOCKET, SO_MAX_PACING_RATE, &pace_rate, sizeof pace_rate) != 0) {
      static int warned;
      if (!warned) {
        warned = 1;
        perror("bench_pace_shim: setsockopt(SO_MAX_PACING_RATE)");
      }
    }
    errno = saved;
  }
  return fd;
}

int accept(int sockfd, struct sockaddr *addr, socklen_t *addrlen) {
  if (!next_accept) {
    errno = ENOSYS;
    return -1;
  }
  return pace_socket(next_accept(sockfd, addr, addrlen));
}

int accept4(int sockfd, struct sockaddr *addr, socklen_t *addrlen, int flags) {
  if (!next_accept4) {
    errno = ENOSYS;
    return -1;
  }
  return pace_socket(next_accept4(sockfd, addr, addrlen, flags));
}
