/* latency_proxy: a TCP proxy that adds a round-trip time, for tests and benchmarks on a machine without
 * netem (no tc qdisc, no root network namespace to spare).
 *
 *   latency_proxy --listen HOST:PORT --upstream HOST:PORT --rtt-ms N [--window-kb K] [--port-file F]
 *
 * Every byte is held RTT/2 in each direction, so a request and its answer on a kept-alive connection take
 * one RTT more than without the proxy. A fresh connection also pays TCP's handshake: the client's bytes
 * are not forwarded before one RTT after accept(), so its first answer comes two RTTs after connect(), as
 * over a real WAN. Slow start and loss are not emulated.
 *
 * Each direction of each connection queues at most --window-kb bytes (default 8 MiB); a side whose queue
 * is full is not read until the queue drains, so memory stays bounded and the sender sees backpressure,
 * as a TCP receive window would make it (a window of W caps one connection at W/RTT). EOF is delayed
 * like data and then passed on as a half-close (shutdown SHUT_WR); a reset or error on either side ends
 * the pair. Port 0 picks a free port, printed on stdout and written to --port-file. SIGTERM or SIGINT:
 * every connection is closed and the process exits 0.
 *
 * One thread, epoll, level-triggered. Release times live in the queued chunks; one timerfd is armed for
 * the earliest head of any queue, so delays are honoured to well under a millisecond.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#define READ_CHUNK (256 * 1024)

typedef struct Chunk {
  struct Chunk *next;
  int64_t release_ns; /* not written before this CLOCK_MONOTONIC time */
  size_t len, off;    /* len 0: the source's EOF, passed on as shutdown(SHUT_WR) */
  char data[];
} Chunk;

struct Conn;

/* One direction: bytes read from `src` wait in the queue, then go to `dst`. */
typedef struct {
  struct Conn *conn;
  int src_side, dst_side; /* 0 = client, 1 = upstream */
  Chunk *head, *tail;
  size_t queued;
  int64_t gate_ns; /* nothing is released before gate + delay: the handshake's round trip */
  int src_eof, done;
  int blocked; /* the destination took no more: wait for EPOLLOUT */
} Dir;

/* What epoll hands back: a side (fd) of a connection. */
typedef struct {
  struct Conn *conn;
  int side;
  int fd;
  uint32_t events; /* the interest registered now; 0: not in epoll (so a hung-up fd cannot spin) */
} Side;

typedef struct Conn {
  struct Conn *prev, *next;
  Side side[2];
  Dir dir[2]; /* dir[0]: client -> upstream, dir[1]: upstream -> client */
  int connecting;
} Conn;

static int64_t delay_ns, rtt_ns;
static size_t window_bytes = 8u << 20;
static int epfd;
static Conn *conns;
static struct sockaddr_storage upstream_addr;
static socklen_t upstream_len;

static int64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void die(const char *what) {
  perror(what);
  exit(1);
}

static int resolve(const char *hostport, struct sockaddr_storage *out, socklen_t *len) {
  char host[256];
  const char *colon = strrchr(hostport, ':');
  if (!colon || (size_t)(colon - hostport) >= sizeof host) return -1;
  memcpy(host, hostport, colon - hostport);
  host[colon - hostport] = 0;
  struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *res;
  if (getaddrinfo(host, colon + 1, &hints, &res) != 0) return -1;
  memcpy(out, res->ai_addr, res->ai_addrlen);
  *len = res->ai_addrlen;
  freeaddrinfo(res);
  return 0;
}

/* Registers or updates the side's epoll interest: read while its outgoing queue has room, write while a
 * write to it is blocked (or its connect is in flight). */
static void update_interest(Conn *c, int s) {
  Side *side = &c->side[s];
  Dir *out = &c->dir[s];      /* what this side sends */
  Dir *in = &c->dir[1 - s];   /* what this side receives */
  uint32_t ev = 0;
  if (!out->src_eof && out->queued < window_bytes && !(s == 1 && c->connecting)) ev |= EPOLLIN;
  if (s == 1 && c->connecting) ev |= EPOLLOUT;
  if (in->blocked) ev |= EPOLLOUT;
  if (ev == side->events) return;
  struct epoll_event e = {.events = ev, .data.ptr = side};
  int op = ev == 0 ? EPOLL_CTL_DEL : side->events == 0 ? EPOLL_CTL_ADD : EPOLL_CTL_MOD;
  if (epoll_ctl(epfd, op, side->fd, &e) != 0) die("epoll_ctl");
  side->events = ev;
}

static void free_queue(Dir *d) {
  while (d->head) {
    Chunk *n = d->head->next;
    free(d->head);
    d->head = n;
  }
  d->tail = NULL;
  d->queued = 0;
}

static void close_conn(Conn *c) {
  for (int s = 0; s < 2; s++) {
    if (c->side[s].fd >= 0) close(c->side[s].fd); /* close() also removes it from epoll */
    free_queue(&c->dir[s]);
  }
  if (c->prev) c->prev->next = c->next; else conns = c->next;
  if (c->next) c->next->prev = c->prev;
  free(c);
}

static void enqueue(Dir *d, const char *buf, size_t n, int64_t now) {
  Chunk *ch = malloc(sizeof *ch + n);
  if (!ch) die("malloc");
  ch->next = NULL;
  ch->release_ns = (now > d->gate_ns ? now : d->gate_ns) + delay_ns;
  ch->len = n;
  ch->off = 0;
  if (n) memcpy(ch->data, buf, n);
  if (d->tail) d->tail->next = ch; else d->head = ch;
  d->tail = ch;
  d->queued += n;
}

/* Reads what side `s` sent into its queue. -> 0, or -1 when the pair was closed. */
static int on_readable(Conn *c, int s, int64_t now, uint32_t ev) {
  static char buf[READ_CHUNK];
  Dir *d = &c->dir[s];
  if (d->src_eof) return 0;
  size_t room = d->queued < window_bytes ? window_bytes - d->queued : 0;
  /* A hang-up is reported whatever the interest: read it out (the kernel's socket buffer bounds the
   * overshoot) rather than spin on it. */
  if (room == 0 && (ev & (EPOLLHUP | EPOLLERR))) room = READ_CHUNK;
  if (room == 0) return 0;
  ssize_t n = read(c->side[s].fd, buf, room < sizeof buf ? room : sizeof buf);
  if (n < 0) {
    if (errno == EAGAIN || errno == EINTR) return 0;
    close_conn(c); /* a reset: nothing more will pass either way */
    return -1;
  }
  if (n == 0) d->src_eof = 1;
  enqueue(d, buf, (size_t)n, now);
  update_interest(c, s);
  return 0;
}

/* Writes every released chunk of direction `k` that the destination takes now. -> 0, or -1 when closed. */
static int flush_dir(Conn *c, int k, int64_t now) {
  Dir *d = &c->dir[k];
  int dst = c->side[d->dst_side].fd;
  if (d->dst_side == 1 && c->connecting) return 0;
  d->blocked = 0;
  while (d->head && d->head->release_ns <= now) {
    Chunk *ch = d->head;
    if (ch->len == 0) {
      shutdown(dst, SHUT_WR);
      d->done = 1;
    } else {
      ssize_t n = write(dst, ch->data + ch->off, ch->len - ch->off);
      if (n < 0) {
        if (errno == EAGAIN || errno == EINTR) {
          d->blocked = 1;
          break;
        }
        close_conn(c);
        return -1;
      }
      ch->off += (size_t)n;
      if (ch->off < ch->len) {
        d->blocked = 1;
        break;
      }
      d->queued -= ch->len;
    }
    d->head = ch->next;
    if (!d->head) d->tail = NULL;
    free(ch);
  }
  if (c->dir[0].done && c->dir[1].done) {
    close_conn(c);
    return -1;
  }
  update_interest(c, d->src_side);
  update_interest(c, d->dst_side);
  return 0;
}

static void accept_all(int lfd, int64_t now) {
  for (;;) {
    int cfd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (cfd < 0) {
      if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED) perror("accept4");
      return;
    }
    int ufd = socket(upstream_addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (ufd < 0) {
      perror("socket");
      close(cfd);
      continue;
    }
    int one = 1;
    setsockopt(cfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one); /* the delay is ours alone, not Nagle's */
    setsockopt(ufd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    int connecting = 0;
    if (connect(ufd, (struct sockaddr *)&upstream_addr, upstream_len) != 0) {
      if (errno != EINPROGRESS) {
        close(cfd);
        close(ufd);
        continue;
      }
      connecting = 1;
    }
    Conn *c = calloc(1, sizeof *c);
    if (!c) die("calloc");
    c->connecting = connecting;
    for (int s = 0; s < 2; s++) {
      c->side[s] = (Side){.conn = c, .side = s, .fd = s ? ufd : cfd, .events = 0};
      c->dir[s] = (Dir){.conn = c, .src_side = s, .dst_side = 1 - s};
    }
    c->dir[0].gate_ns = now + rtt_ns; /* the handshake: the client's bytes leave one RTT after accept */
    c->next = conns;
    if (conns) conns->prev = c;
    conns = c;
    update_interest(c, 0);
    update_interest(c, 1);
  }
}

static void on_connected(Conn *c, int64_t now) {
  int err = 0;
  socklen_t len = sizeof err;
  getsockopt(c->side[1].fd, SOL_SOCKET, SO_ERROR, &err, &len);
  if (err) {
    close_conn(c);
    return;
  }
  c->connecting = 0;
  update_interest(c, 1);
  flush_dir(c, 0, now);
}

/* Arms the timer for the earliest queued release that is not already due. */
static void arm_timer(int tfd) {
  int64_t next = INT64_MAX;
  for (Conn *c = conns; c; c = c->next)
    for (int k = 0; k < 2; k++)
      if (c->dir[k].head && !c->dir[k].blocked && !(k == 0 && c->connecting) &&
          c->dir[k].head->release_ns < next)
        next = c->dir[k].head->release_ns;
  struct itimerspec its = {0};
  if (next != INT64_MAX) {
    if (next <= 0) next = 1;
    its.it_value.tv_sec = next / 1000000000;
    its.it_value.tv_nsec = next % 1000000000;
  }
  if (timerfd_settime(tfd, TFD_TIMER_ABSTIME, &its, NULL) != 0) die("timerfd_settime");
}

static void usage(void) {
  fprintf(stderr, "usage: latency_proxy --listen HOST:PORT --upstream HOST:PORT --rtt-ms N "
                  "[--window-kb K] [--port-file F]\n");
  exit(2);
}

int main(int argc, char **argv) {
  const char *listen_at = NULL, *upstream = NULL, *port_file = NULL;
  double rtt_ms = -1;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!strcmp(argv[i], "--listen")) listen_at = argv[i + 1];
    else if (!strcmp(argv[i], "--upstream")) upstream = argv[i + 1];
    else if (!strcmp(argv[i], "--rtt-ms")) rtt_ms = atof(argv[i + 1]);
    else if (!strcmp(argv[i], "--window-kb")) window_bytes = (size_t)atol(argv[i + 1]) * 1024;
    else if (!strcmp(argv[i], "--port-file")) port_file = argv[i + 1];
    else usage();
  }
  if (argc % 2 == 0 || !listen_at || !upstream || rtt_ms < 0 || window_bytes == 0) usage();
  rtt_ns = (int64_t)(rtt_ms * 1e6);
  delay_ns = rtt_ns / 2;
  /* Chunks up to READ_CHUNK come and go all the time: keep them on the heap, not in an mmap() each, and
   * keep freed ones there, since handing them back and faulting fresh pages in cost more than the copy. */
  mallopt(M_MMAP_THRESHOLD, 4 * READ_CHUNK);
  mallopt(M_TRIM_THRESHOLD, 256 << 20);

  struct sockaddr_storage la;
  socklen_t la_len;
  if (resolve(listen_at, &la, &la_len) != 0) die("--listen: bad HOST:PORT");
  if (resolve(upstream, &upstream_addr, &upstream_len) != 0) die("--upstream: bad HOST:PORT");
  int lfd = socket(la.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  int one = 1;
  setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (lfd < 0 || bind(lfd, (struct sockaddr *)&la, la_len) != 0 || listen(lfd, 512) != 0) die("listen");
  la_len = sizeof la;
  getsockname(lfd, (struct sockaddr *)&la, &la_len);
  int port = ntohs(la.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&la)->sin6_port
                                            : ((struct sockaddr_in *)&la)->sin_port);

  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGTERM);
  sigaddset(&mask, SIGINT);
  sigprocmask(SIG_BLOCK, &mask, NULL);
  signal(SIGPIPE, SIG_IGN); /* a write to a closed peer is an EPIPE, handled as a reset */
  int sfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
  int tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
  epfd = epoll_create1(EPOLL_CLOEXEC);
  if (sfd < 0 || tfd < 0 || epfd < 0) die("signalfd/timerfd/epoll");
  /* Listener, signals and timer are told apart by these markers in data.u64 (Side pointers are never this
   * small). */
  struct epoll_event e = {.events = EPOLLIN, .data.u64 = 1};
  epoll_ctl(epfd, EPOLL_CTL_ADD, lfd, &e);
  e.data.u64 = 2;
  epoll_ctl(epfd, EPOLL_CTL_ADD, sfd, &e);
  e.data.u64 = 3;
  epoll_ctl(epfd, EPOLL_CTL_ADD, tfd, &e);

  if (port_file) { /* written whole, then renamed: a reader never sees half a number */
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp", port_file);
    FILE *f = fopen(tmp, "w");
    if (!f || fprintf(f, "%d\n", port) < 0 || fclose(f) != 0 || rename(tmp, port_file) != 0) die("--port-file");
  }
  printf("%d\n", port);
  fflush(stdout);

  struct epoll_event events[128];
  for (;;) {
    int n = epoll_wait(epfd, events, 128, -1);
    if (n < 0) {
      if (errno == EINTR) continue;
      die("epoll_wait");
    }
    int64_t now = now_ns();
    int stop = 0;
    /* A connection closed while handling an event may be named by a later event of this batch: after a
     * close the rest of the batch is dropped, and level-triggering reports it again. */
    for (int i = 0; i < n; i++) {
      uint64_t tag = events[i].data.u64;
      if (tag == 1) {
        accept_all(lfd, now);
      } else if (tag == 2) {
        stop = 1;
      } else if (tag == 3) {
        uint64_t ticks;
        (void)!read(tfd, &ticks, sizeof ticks);
      } else {
        Side *side = events[i].data.ptr;
        Conn *c = side->conn;
        int s = side->side;
        uint32_t ev = events[i].events;
        if (s == 1 && c->connecting) {
          if (ev & (EPOLLOUT | EPOLLERR | EPOLLHUP)) on_connected(c, now);
          break; /* c may be gone: the rest of the batch comes back from epoll */
        }
        if ((ev & (EPOLLIN | EPOLLHUP | EPOLLERR)) && on_readable(c, s, now, ev) < 0) break;
        if ((ev & EPOLLOUT) && flush_dir(c, 1 - s, now) < 0) break;
      }
    }
    if (stop) break;
    /* Release whatever is due, on every connection (the timer only says that something is). */
    Conn *c = conns;
    while (c) {
      Conn *next = c->next;
      if (c->dir[0].blocked || flush_dir(c, 0, now) == 0)
        if (!c->dir[1].blocked) flush_dir(c, 1, now);
      c = next;
    }
    arm_timer(tfd);
  }
  while (conns) close_conn(conns);
  close(lfd);
  return 0;
}
