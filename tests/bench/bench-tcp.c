/* bench-tcp.c: kernel TCP, with the same message framing as the others
 * (a 4-byte big-endian length, then the message).  TCP_NODELAY is set so
 * small echoes are not held back by Nagle.  Bytes on the wire come from
 * TCP_INFO (payload bytes sent, retransmissions included, plus a header per
 * segment sent). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "bench.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>
#include <linux/tcp.h>

#define QUEUE_LIMIT (256 * 1024)
#define READ_CHUNK (256 * 1024)
#define MAX_MESSAGE (64 * 1024 * 1024)

struct _BenchEndpoint {
  int listen_fd;
  int fd;
  GByteArray *out;
  gsize out_offset;
  GByteArray *in;
  guint64 wire_bytes_final;
};

static void
tcp_free (BenchEndpoint *e)
{
  if (e->fd >= 0)
    close (e->fd);
  if (e->listen_fd >= 0)
    close (e->listen_fd);
  g_byte_array_unref (e->out);
  g_byte_array_unref (e->in);
  g_free (e);
}

static BenchEndpoint *
endpoint_new (void)
{
  BenchEndpoint *e = g_new0 (BenchEndpoint, 1);
  e->listen_fd = -1;
  e->fd = -1;
  e->out = g_byte_array_new ();
  e->in = g_byte_array_new ();
  return e;
}

static void
tune (int fd)
{
  int one = 1;
  (void) setsockopt (fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

static BenchEndpoint *
tcp_listen (const struct sockaddr *addr, socklen_t addr_len, guint16 *ret_port, GError **error)
{
  BenchEndpoint *e = endpoint_new ();
  struct sockaddr_storage bound;
  socklen_t len = sizeof bound;
  int one = 1;

  e->listen_fd = socket (addr->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (e->listen_fd < 0)
    {
      bench_set_error_errno (error, "socket");
      tcp_free (e);
      return NULL;
    }
  (void) setsockopt (e->listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (bind (e->listen_fd, addr, addr_len) < 0 || listen (e->listen_fd, 4) < 0 ||
      getsockname (e->listen_fd, (struct sockaddr *) &bound, &len) < 0)
    {
      bench_set_error_errno (error, "bind");
      tcp_free (e);
      return NULL;
    }
  *ret_port = ntohs (((struct sockaddr_in *) &bound)->sin_port);
  return e;
}

static BenchEndpoint *
tcp_connect (const struct sockaddr *addr, socklen_t addr_len, GError **error)
{
  BenchEndpoint *e = endpoint_new ();
  struct pollfd p;
  int err = 0;
  socklen_t err_len = sizeof err;

  e->fd = socket (addr->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (e->fd < 0)
    {
      bench_set_error_errno (error, "socket");
      tcp_free (e);
      return NULL;
    }
  tune (e->fd);
  if (connect (e->fd, addr, addr_len) < 0 && errno != EINPROGRESS)
    {
      bench_set_error_errno (error, "connect");
      tcp_free (e);
      return NULL;
    }
  p = (struct pollfd) { .fd = e->fd, .events = POLLOUT };
  if (poll (&p, 1, 10000) != 1 || getsockopt (e->fd, SOL_SOCKET, SO_ERROR, &err, &err_len) < 0 || err != 0)
    {
      errno = err != 0 ? err : ETIMEDOUT;
      bench_set_error_errno (error, "connect");
      tcp_free (e);
      return NULL;
    }
  return e;
}

static void
flush_out (BenchEndpoint *e)
{
  while (e->fd >= 0 && e->out_offset < e->out->len)
    {
      ssize_t n = send (e->fd, e->out->data + e->out_offset, e->out->len - e->out_offset,
                        MSG_DONTWAIT | MSG_NOSIGNAL);
      if (n <= 0)
        break;
      e->out_offset += (gsize) n;
    }
  if (e->out_offset == e->out->len)
    {
      g_byte_array_set_size (e->out, 0);
      e->out_offset = 0;
    }
  else if (e->out_offset > 1024 * 1024)
    {
      g_byte_array_remove_range (e->out, 0, (guint) e->out_offset);
      e->out_offset = 0;
    }
}

static gboolean
tcp_send (BenchEndpoint *e, const guint8 *data, gsize len)
{
  guint8 header[4] = { len >> 24, len >> 16, len >> 8, len };

  if (e->out->len - e->out_offset > QUEUE_LIMIT)
    {
      flush_out (e);
      if (e->out->len - e->out_offset > QUEUE_LIMIT)
        return FALSE;
    }
  g_byte_array_append (e->out, header, 4);
  g_byte_array_append (e->out, data, (guint) len);
  flush_out (e);
  return TRUE;
}

static void
deliver (BenchEndpoint *e, BenchMessageFunc on_message, gpointer user_data)
{
  gsize off = 0;

  while (e->in->len - off >= 4)
    {
      const guint8 *h = e->in->data + off;
      gsize len = (gsize) h[0] << 24 | (gsize) h[1] << 16 | (gsize) h[2] << 8 | h[3];
      if (len > MAX_MESSAGE)
        {
          g_byte_array_set_size (e->in, 0);   /* garbage: drop everything */
          return;
        }
      if (e->in->len - off - 4 < len)
        break;
      on_message (e, h + 4, len, user_data);
      off += 4 + len;
    }
  if (off > 0)
    g_byte_array_remove_range (e->in, 0, (guint) off);
}

static void
tcp_poll (BenchEndpoint *e, gint64 timeout_us, BenchMessageFunc on_message, gpointer user_data)
{
  struct pollfd p;
  struct timespec ts = { timeout_us / 1000000, (timeout_us % 1000000) * 1000 };

  if (e->fd < 0)
    {
      p = (struct pollfd) { .fd = e->listen_fd, .events = POLLIN };
      if (ppoll (&p, 1, &ts, NULL) <= 0)
        return;
      e->fd = accept4 (e->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (e->fd < 0)
        return;
      tune (e->fd);
      ts = (struct timespec) { 0, 0 };
    }
  flush_out (e);
  p = (struct pollfd) { .fd = e->fd, .events = POLLIN };
  if (e->out_offset < e->out->len)
    p.events |= POLLOUT;
  if (ppoll (&p, 1, &ts, NULL) <= 0)
    return;
  for (int round = 0; round < 64; round++)
    {
      guint old = e->in->len;
      ssize_t n;
      g_byte_array_set_size (e->in, old + READ_CHUNK);
      n = recv (e->fd, e->in->data + old, READ_CHUNK, MSG_DONTWAIT);
      g_byte_array_set_size (e->in, old + (n > 0 ? (guint) n : 0));
      if (n <= 0)
        break;
      deliver (e, on_message, user_data);
      if (n < READ_CHUNK)
        break;
    }
  flush_out (e);
}

static gboolean
tcp_idle (BenchEndpoint *e)
{
  return e->out_offset == e->out->len;
}

static guint64
tcp_wire_bytes (BenchEndpoint *e)
{
  struct tcp_info info;
  socklen_t len = sizeof info;

  if (e->fd < 0)
    return 0;
  memset (&info, 0, sizeof info);
  if (getsockopt (e->fd, IPPROTO_TCP, TCP_INFO, &info, &len) < 0)
    return 0;
  /* tcpi_bytes_sent counts payload including retransmissions (Linux 4.19+). */
  return info.tcpi_bytes_sent + (guint64) info.tcpi_segs_out * BENCH_IPV4_TCP_OVERHEAD;
}

const BenchContender bench_contender_tcp = {
  .name = "tcp",
  .label = "kernel TCP",
  .reliable = TRUE,
  .over_udp = FALSE,
  .max_message = MAX_MESSAGE,
  .transfer_message = 64 * 1024,
  .listen = tcp_listen,
  .connect = tcp_connect,
  .send = tcp_send,
  .poll = tcp_poll,
  .idle = tcp_idle,
  .wire_bytes = tcp_wire_bytes,
  .free = tcp_free,
};
