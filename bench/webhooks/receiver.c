// A webhook receiver for bench/webhooks: answers every POST with 200 (or 503
// while an outage is on), and records each event's first 2xx arrival against
// the time it happened (data.occurred_at, the database's clock on the same
// machine). GET /stats prints the figures; POST /outage?seconds=N starts an
// outage; POST /reset forgets what arrived.
//
//   receiver PORT_FILE [keep-alive|close]
//
// keep-alive: HTTP/1.1, connections kept open. close: HTTP/1.0, one request
// per connection, closed after the answer (as many small frameworks,
// serverless functions and proxies do).
//
// C and one epoll thread, not Node: the receiver shares the machine's two
// cores with the gateway and MariaDB, so it must cost as little as a
// request can (Node's took 80-150 us of CPU an event, a third of the whole),
// so that what is measured is the gateway. The run prints the CPU time each
// process used.
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static int keep_alive;
static double outage_until;

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return ts.tv_sec * 1000.0 + ts.tv_nsec / 1e6;
}

// Events seen: webhook-id -> first 2xx arrival and occurred_at (ms), in an
// open-addressing table that grows.
struct event {
  char* id;
  double arrival, occurred;
};
static struct event* table;
static size_t capacity, count;
static long attempts;

static size_t hash(const char* s) {
  size_t h = 1469598103934665603ULL;
  for (; *s; ++s) h = (h ^ (unsigned char)*s) * 1099511628211ULL;
  return h;
}

static struct event* slot(struct event* t, size_t cap, const char* id) {
  size_t i = hash(id) & (cap - 1);
  while (t[i].id && strcmp(t[i].id, id) != 0) i = (i + 1) & (cap - 1);
  return &t[i];
}

static void grow(void) {
  size_t cap = capacity ? capacity * 2 : 1 << 16;
  struct event* t = calloc(cap, sizeof *t);
  for (size_t i = 0; i < capacity; ++i)
    if (table[i].id) *slot(t, cap, table[i].id) = table[i];
  free(table);
  table = t;
  capacity = cap;
}

static void reset(void) {
  for (size_t i = 0; i < capacity; ++i) free(table[i].id);
  if (capacity) memset(table, 0, capacity * sizeof *table);
  count = 0;
  attempts = 0;
}

// "2026-12-08T03:30:00.123456Z" -> ms since the epoch (0: unreadable).
static double parse_time(const char* s) {
  struct tm tm = {0};
  const char* rest = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
  if (!rest) return 0;
  double ms = (double)timegm(&tm) * 1000.0;
  if (*rest == '.') {
    double scale = 100.0;
    for (++rest; isdigit((unsigned char)*rest); ++rest, scale /= 10) ms += (*rest - '0') * scale;
  }
  return ms;
}

static int by_double(const void* a, const void* b) {
  double x = *(const double*)a, y = *(const double*)b;
  return x < y ? -1 : x > y;
}

static double percentile(const double* sorted, size_t n, double p) {
  if (!n) return 0;
  long k = (long)(p / 100.0 * n + 0.5 + 0.5) - 1;  // as receiver.mjs did: round(p n + 0.5) - 1
  if (k < 0) k = 0;
  if ((size_t)k >= n) k = (long)n - 1;
  return sorted[k];
}

static int stats(char* out, size_t size) {
  double* lags = malloc((count + 1) * sizeof *lags);
  double* arrivals = malloc((count + 1) * sizeof *arrivals);
  size_t n = 0;
  for (size_t i = 0; i < capacity; ++i)
    if (table[i].id) {
      lags[n] = table[i].arrival - table[i].occurred;
      arrivals[n++] = table[i].arrival;
    }
  qsort(lags, n, sizeof *lags, by_double);
  qsort(arrivals, n, sizeof *arrivals, by_double);
  // Stalls: the time no event arrived for 20 ms or more, in all.
  double stalled = 0;
  for (size_t i = 1; i < n; ++i)
    if (arrivals[i] - arrivals[i - 1] >= 20) stalled += arrivals[i] - arrivals[i - 1];
  double span = n > 1 ? (arrivals[n - 1] - arrivals[0]) / 1000.0 : 0;
  int len = snprintf(out, size,
                     "{\"events\":%zu,\"attempts\":%ld,\"span_s\":%.3f,\"rate\":%.1f,\"lag_p50_ms\":%.1f,"
                     "\"lag_p99_ms\":%.1f,\"lag_max_ms\":%.1f,\"stalled_ms\":%.0f}",
                     n, attempts, span, span > 0 ? n / span : 0.0, percentile(lags, n, 50), percentile(lags, n, 99),
                     n ? lags[n - 1] : 0.0, stalled);
  free(lags);
  free(arrivals);
  return len;
}

// The value of header `name` in the head [head, end), copied into out.
static int header(const char* head, const char* end, const char* name, char* out, size_t size) {
  size_t len = strlen(name);
  for (const char* p = head; p && p < end; p = memchr(p, '\n', end - p), p = p ? p + 1 : p) {
    if (end - p > (long)len && strncasecmp(p, name, len) == 0 && p[len] == ':') {
      const char* v = p + len + 1;
      while (v < end && *v == ' ') ++v;
      const char* e = v;
      while (e < end && *e != '\r' && *e != '\n') ++e;
      size_t n = (size_t)(e - v) < size - 1 ? (size_t)(e - v) : size - 1;
      memcpy(out, v, n);
      out[n] = 0;
      return 1;
    }
  }
  return 0;
}

// One request: its answer's status, and body in `body`.
static int handle(const char* method, const char* target, const char* head, const char* head_end, const char* data,
                  size_t length, char* body, size_t size) {
  strcpy(body, "{}");
  if (strcmp(method, "GET") == 0) {
    stats(body, size);
    return 200;
  }
  if (strncmp(target, "/outage", 7) == 0) {
    const char* q = strstr(target, "seconds=");
    outage_until = now_ms() + 1000.0 * (q ? atof(q + 8) : 10.0);
    return 200;
  }
  if (strncmp(target, "/reset", 6) == 0) {
    reset();
    return 200;
  }
  double now = now_ms();
  ++attempts;
  if (now < outage_until) return 503;
  char id[256] = "";
  header(head, head_end, "webhook-id", id, sizeof id);
  if (2 * (count + 1) > capacity) grow();
  struct event* e = slot(table, capacity, id);
  if (!e->id) {
    const char* key = "\"occurred_at\":\"";
    const char* at = memmem(data, length, key, strlen(key));
    e->id = strdup(id);
    e->arrival = now;
    e->occurred = at ? parse_time(at + strlen(key)) : now;
    ++count;
  }
  return 200;
}

struct conn {
  int fd;
  char* buf;
  size_t len, cap;
};

static void drop(int epfd, struct conn* c) {
  epoll_ctl(epfd, EPOLL_CTL_DEL, c->fd, NULL);
  close(c->fd);
  free(c->buf);
  free(c);
}

// Answers every complete request in c's buffer; 0 when the connection is closed.
static int serve(int epfd, struct conn* c) {
  static char body[4096], answer[4608];
  for (;;) {
    char* end = memmem(c->buf, c->len, "\r\n\r\n", 4);
    if (!end) return 1;
    char length_text[32] = "0";
    header(c->buf, end, "content-length", length_text, sizeof length_text);
    size_t length = strtoul(length_text, NULL, 10);
    size_t total = (size_t)(end + 4 - c->buf) + length;
    if (c->len < total) return 1;
    char method[16] = "", target[512] = "";
    sscanf(c->buf, "%15s %511s", method, target);
    int status = handle(method, target, c->buf, end, end + 4, length, body, sizeof body);
    int n = snprintf(answer, sizeof answer,
                     "HTTP/1.%d %d %s\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n%s\r\n%s",
                     keep_alive, status, status == 200 ? "OK" : "Service Unavailable", strlen(body),
                     keep_alive ? "" : "Connection: close\r\n", body);
    // A small answer to a socket with room: one write.
    if (write(c->fd, answer, n) != n || !keep_alive) {
      drop(epfd, c);
      return 0;
    }
    memmove(c->buf, c->buf + total, c->len - total);
    c->len -= total;
  }
}

int main(int argc, char** argv) {
  if (argc < 2 || (argc > 2 && strcmp(argv[2], "keep-alive") != 0 && strcmp(argv[2], "close") != 0)) {
    fprintf(stderr, "usage: receiver PORT_FILE [keep-alive|close]\n");
    return 2;
  }
  keep_alive = argc < 3 || strcmp(argv[2], "keep-alive") == 0;
  int listener = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  int one = 1;
  setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in addr = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  if (bind(listener, (struct sockaddr*)&addr, sizeof addr) != 0 || listen(listener, 511) != 0) {
    perror("receiver: listen");
    return 1;
  }
  socklen_t alen = sizeof addr;
  getsockname(listener, (struct sockaddr*)&addr, &alen);
  FILE* f = fopen(argv[1], "w");
  if (!f) {
    perror("receiver: port file");
    return 1;
  }
  fprintf(f, "%d", ntohs(addr.sin_port));
  fclose(f);
  grow();

  int epfd = epoll_create1(EPOLL_CLOEXEC);
  struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};
  epoll_ctl(epfd, EPOLL_CTL_ADD, listener, &ev);
  struct epoll_event events[256];
  for (;;) {
    int n = epoll_wait(epfd, events, 256, -1);
    for (int i = 0; i < n; ++i) {
      struct conn* c = events[i].data.ptr;
      if (!c) {  // the listener: every connection waiting
        int fd;
        while ((fd = accept4(listener, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
          setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
          c = calloc(1, sizeof *c);
          c->fd = fd;
          c->cap = 8192;
          c->buf = malloc(c->cap);
          struct epoll_event cev = {.events = EPOLLIN, .data.ptr = c};
          epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &cev);
        }
        continue;
      }
      for (;;) {
        if (c->len == c->cap) c->buf = realloc(c->buf, c->cap *= 2);
        ssize_t got = read(c->fd, c->buf + c->len, c->cap - c->len);
        if (got > 0) {
          c->len += (size_t)got;
          if ((size_t)got < c->cap - c->len + (size_t)got) break;  // drained (a short read)
          continue;
        }
        if (got < 0 && (errno == EAGAIN || errno == EINTR)) break;
        drop(epfd, c);  // closed, or an error
        c = NULL;
        break;
      }
      if (c) serve(epfd, c);
    }
  }
}
