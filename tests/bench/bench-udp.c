/* bench-udp.c: the raw UDP contender, the limit for a design that sends
 * datagrams of BENCH_UDP_DATAGRAM bytes.
 *
 * No reliability at all.  A message is cut into datagrams with an 8-byte
 * header (message id, fragment index, fragment count) and reassembled if
 * every fragment arrives in order; a lost fragment loses the message.
 * Sending uses the best batching available: datagrams are packed into UDP
 * GSO buffers (UDP_SEGMENT, up to 44 datagrams each) and several buffers go
 * out in one sendmmsg; without GSO, one sendmmsg of plain datagrams.
 * Receiving uses recvmmsg, one datagram per message ("udp"), or with UDP_GRO
 * ("udp-gro", where a GSO train arrives whole on loopback).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "bench.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>
#include <netinet/udp.h>

#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103
#endif
#ifndef UDP_GRO
#define UDP_GRO 104
#endif

#define BENCH_UDP_DATAGRAM 1452
#define HEADER 8
#define FRAGMENT_PAYLOAD (BENCH_UDP_DATAGRAM - HEADER)
#define GSO_SEGMENTS 44
#define BATCH_BUFFERS 16
#define RECV_BATCH 16
#define RECV_BUFFER 65536
#define MAX_MESSAGE (64 * 1024 * 1024)

typedef struct {
  guint8 data[GSO_SEGMENTS * BENCH_UDP_DATAGRAM];
  gsize len;
  gsize segment;     /* size of every datagram in it except maybe the last */
  guint count;
} GsoBuffer;

struct _BenchEndpoint {
  int fd;
  gboolean connected;              /* client: connected socket; server: peer learned */
  struct sockaddr_storage peer;
  socklen_t peer_len;
  gboolean gso;
  GsoBuffer batch[BATCH_BUFFERS];
  guint batch_used;                /* buffers with content */
  guint32 next_message_id;
  /* reassembly of the one message in progress */
  guint8 *assembly;
  gsize assembly_len;
  guint32 assembly_id;
  guint16 assembly_next;
  guint16 assembly_count;
  guint8 *recv_buffers;
  guint64 wire_bytes;
};

static BenchEndpoint *
endpoint_new (const struct sockaddr *addr, gboolean gro, GError **error)
{
  BenchEndpoint *e = g_new0 (BenchEndpoint, 1);
  int one = 1;

  e->fd = socket (addr->sa_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (e->fd < 0)
    {
      bench_set_error_errno (error, "socket");
      g_free (e);
      return NULL;
    }
  bench_set_socket_buffers (e->fd, 4 * 1024 * 1024);
  if (gro)
    (void) setsockopt (e->fd, SOL_UDP, UDP_GRO, &one, sizeof one);
  e->gso = TRUE;
  e->assembly = g_malloc (MAX_MESSAGE);
  e->recv_buffers = g_malloc ((gsize) RECV_BATCH * RECV_BUFFER);
  return e;
}

static void
udp_free (BenchEndpoint *e)
{
  close (e->fd);
  g_free (e->assembly);
  g_free (e->recv_buffers);
  g_free (e);
}

static BenchEndpoint *
listen_with (const struct sockaddr *addr, socklen_t addr_len, gboolean gro, guint16 *ret_port,
             GError **error)
{
  BenchEndpoint *e = endpoint_new (addr, gro, error);
  struct sockaddr_storage bound;
  socklen_t len = sizeof bound;

  if (e == NULL)
    return NULL;
  if (bind (e->fd, addr, addr_len) < 0 || getsockname (e->fd, (struct sockaddr *) &bound, &len) < 0)
    {
      bench_set_error_errno (error, "bind");
      udp_free (e);
      return NULL;
    }
  *ret_port = ntohs (((struct sockaddr_in *) &bound)->sin_port);
  return e;
}

static BenchEndpoint *
connect_with (const struct sockaddr *addr, socklen_t addr_len, gboolean gro, GError **error)
{
  BenchEndpoint *e = endpoint_new (addr, gro, error);
  if (e == NULL)
    return NULL;
  if (connect (e->fd, addr, addr_len) < 0)
    {
      bench_set_error_errno (error, "connect");
      udp_free (e);
      return NULL;
    }
  e->connected = TRUE;
  return e;
}

static BenchEndpoint *
udp_listen (const struct sockaddr *addr, socklen_t addr_len, guint16 *ret_port, GError **error)
{
  return listen_with (addr, addr_len, FALSE, ret_port, error);
}

static BenchEndpoint *
udp_connect (const struct sockaddr *addr, socklen_t addr_len, GError **error)
{
  return connect_with (addr, addr_len, FALSE, error);
}

static BenchEndpoint *
udp_gro_listen (const struct sockaddr *addr, socklen_t addr_len, guint16 *ret_port, GError **error)
{
  return listen_with (addr, addr_len, TRUE, ret_port, error);
}

static BenchEndpoint *
udp_gro_connect (const struct sockaddr *addr, socklen_t addr_len, GError **error)
{
  return connect_with (addr, addr_len, TRUE, error);
}

/* Sends every full buffer; returns FALSE if the socket is full. */
static gboolean
flush_batch (BenchEndpoint *e)
{
  struct mmsghdr msgs[BATCH_BUFFERS];
  struct iovec iovs[BATCH_BUFFERS];
  union { char buf[CMSG_SPACE (sizeof (guint16))]; struct cmsghdr align; } control[BATCH_BUFFERS];
  guint done = 0;

  while (done < e->batch_used)
    {
      guint n = e->batch_used - done;
      int sent;

      for (guint i = 0; i < n; i++)
        {
          GsoBuffer *b = &e->batch[done + i];
          iovs[i] = (struct iovec) { b->data, b->len };
          msgs[i].msg_hdr = (struct msghdr) {
            .msg_name = e->connected && e->peer_len == 0 ? NULL : &e->peer,
            .msg_namelen = e->connected && e->peer_len == 0 ? 0 : e->peer_len,
            .msg_iov = &iovs[i],
            .msg_iovlen = 1,
          };
          if (e->gso && b->count > 1)
            {
              struct cmsghdr *cm;
              msgs[i].msg_hdr.msg_control = control[i].buf;
              msgs[i].msg_hdr.msg_controllen = sizeof control[i].buf;
              cm = CMSG_FIRSTHDR (&msgs[i].msg_hdr);
              cm->cmsg_level = SOL_UDP;
              cm->cmsg_type = UDP_SEGMENT;
              cm->cmsg_len = CMSG_LEN (sizeof (guint16));
              *(guint16 *) (void *) CMSG_DATA (cm) = (guint16) b->segment;
            }
        }
      sent = sendmmsg (e->fd, msgs, n, MSG_DONTWAIT);
      if (sent < 0)
        {
          if (errno == EAGAIN || errno == ENOBUFS)
            break;
          if (e->gso && (errno == EINVAL || errno == EIO || errno == ENOPROTOOPT))
            {
              /* No GSO here: these buffers are lost; from now on one datagram per buffer. */
              e->gso = FALSE;
              e->batch_used = 0;
              return TRUE;
            }
          /* ECONNREFUSED and the like: the datagrams are lost, as on a network. */
          sent = 1;
        }
      for (int i = 0; i < sent; i++)
        e->wire_bytes += e->batch[done + i].len + (guint64) e->batch[done + i].count * BENCH_IPV4_UDP_OVERHEAD;
      done += (guint) sent;
    }
  if (done > 0)
    {
      memmove (e->batch, e->batch + done, (e->batch_used - done) * sizeof (GsoBuffer));
      e->batch_used -= done;
    }
  return e->batch_used == 0;
}

/* Appends one datagram to the batch; FALSE if the batch is full. */
static gboolean
append_datagram (BenchEndpoint *e, const guint8 header[HEADER], const guint8 *payload, gsize len)
{
  gsize size = HEADER + len;
  GsoBuffer *b = e->batch_used > 0 ? &e->batch[e->batch_used - 1] : NULL;

  /* A GSO buffer takes equal segments; only its last one may be shorter. */
  if (b == NULL || b->count >= (e->gso ? GSO_SEGMENTS : 1) || size > b->segment ||
      (b->count > 0 && b->len % b->segment != 0))
    {
      if (e->batch_used == BATCH_BUFFERS)
        return FALSE;
      b = &e->batch[e->batch_used++];
      b->len = 0;
      b->count = 0;
      b->segment = size;
    }
  memcpy (b->data + b->len, header, HEADER);
  memcpy (b->data + b->len + HEADER, payload, len);
  b->len += size;
  b->count++;
  return TRUE;
}

static gboolean
udp_send (BenchEndpoint *e, const guint8 *data, gsize len)
{
  guint fragments = len == 0 ? 1 : (guint) ((len + FRAGMENT_PAYLOAD - 1) / FRAGMENT_PAYLOAD);

  if (len > MAX_MESSAGE || (!e->connected && e->peer_len == 0))
    return TRUE;   /* too big, or nobody to send to: dropped, like on a network */
  /* A one-buffer message waits (FALSE: the caller polls) when the batch is
   * full and the socket too; a longer one waits for room fragment by fragment. */
  if (e->batch_used == BATCH_BUFFERS && !flush_batch (e) && fragments <= GSO_SEGMENTS)
    return FALSE;
  for (guint i = 0; i < fragments; i++)
    {
      guint8 header[HEADER];
      gsize off = (gsize) i * FRAGMENT_PAYLOAD;
      gsize chunk = MIN ((gsize) FRAGMENT_PAYLOAD, len - off);
      guint32 id = e->next_message_id;
      header[0] = id >> 24; header[1] = id >> 16; header[2] = id >> 8; header[3] = id;
      header[4] = i >> 8; header[5] = i;
      header[6] = fragments >> 8; header[7] = fragments;
      while (!append_datagram (e, header, data + off, chunk))
        if (!flush_batch (e))
          {
            struct pollfd p = { .fd = e->fd, .events = POLLOUT };
            (void) poll (&p, 1, 1);
          }
    }
  e->next_message_id++;
  if (e->batch_used == BATCH_BUFFERS)
    (void) flush_batch (e);
  return TRUE;
}

static void
handle_datagram (BenchEndpoint *e, const guint8 *d, gsize len, BenchMessageFunc on_message,
                 gpointer user_data)
{
  guint32 id;
  guint16 index, count;
  gsize payload = len - HEADER;

  if (len < HEADER)
    return;
  id = (guint32) d[0] << 24 | (guint32) d[1] << 16 | (guint32) d[2] << 8 | d[3];
  index = (guint16) (d[4] << 8 | d[5]);
  count = (guint16) (d[6] << 8 | d[7]);
  if (count == 0 || index >= count)
    return;
  if (count == 1)
    {
      on_message (e, d + HEADER, payload, user_data);
      return;
    }
  if (index == 0)
    {
      e->assembly_id = id;
      e->assembly_len = 0;
      e->assembly_next = 0;
      e->assembly_count = count;
    }
  if (id != e->assembly_id || index != e->assembly_next || count != e->assembly_count ||
      e->assembly_len + payload > MAX_MESSAGE)
    {
      e->assembly_count = 0;   /* a gap: this message is lost */
      return;
    }
  memcpy (e->assembly + e->assembly_len, d + HEADER, payload);
  e->assembly_len += payload;
  e->assembly_next++;
  if (e->assembly_next == count)
    {
      e->assembly_count = 0;
      on_message (e, e->assembly, e->assembly_len, user_data);
    }
}

static void
udp_poll (BenchEndpoint *e, gint64 timeout_us, BenchMessageFunc on_message, gpointer user_data)
{
  struct mmsghdr msgs[RECV_BATCH];
  struct iovec iovs[RECV_BATCH];
  struct sockaddr_storage names[RECV_BATCH];
  union { char buf[CMSG_SPACE (sizeof (int))]; struct cmsghdr align; } control[RECV_BATCH];
  struct pollfd p = { .fd = e->fd, .events = POLLIN };
  struct timespec ts = { timeout_us / 1000000, (timeout_us % 1000000) * 1000 };

  (void) flush_batch (e);
  if (e->batch_used > 0)
    p.events |= POLLOUT;
  if (ppoll (&p, 1, &ts, NULL) <= 0)
    return;
  for (int round = 0; round < 64; round++)
    {
      int n;
      for (int i = 0; i < RECV_BATCH; i++)
        {
          iovs[i] = (struct iovec) { e->recv_buffers + (gsize) i * RECV_BUFFER, RECV_BUFFER };
          msgs[i].msg_hdr = (struct msghdr) {
            .msg_name = &names[i], .msg_namelen = sizeof names[i],
            .msg_iov = &iovs[i], .msg_iovlen = 1,
            .msg_control = control[i].buf, .msg_controllen = sizeof control[i].buf,
          };
        }
      n = recvmmsg (e->fd, msgs, RECV_BATCH, MSG_DONTWAIT, NULL);
      if (n <= 0)
        break;
      for (int i = 0; i < n; i++)
        {
          const guint8 *data = iovs[i].iov_base;
          gsize len = msgs[i].msg_len, segment = len;
          struct cmsghdr *cm;

          for (cm = CMSG_FIRSTHDR (&msgs[i].msg_hdr); cm != NULL; cm = CMSG_NXTHDR (&msgs[i].msg_hdr, cm))
            if (cm->cmsg_level == SOL_UDP && cm->cmsg_type == UDP_GRO)
              segment = (gsize) *(int *) (void *) CMSG_DATA (cm);
          if (!e->connected)
            {
              memcpy (&e->peer, &names[i], msgs[i].msg_hdr.msg_namelen);
              e->peer_len = msgs[i].msg_hdr.msg_namelen;
            }
          if (segment == 0)
            segment = len;
          for (gsize off = 0; off < len; off += segment)
            handle_datagram (e, data + off, MIN (segment, len - off), on_message, user_data);
        }
      if (n < RECV_BATCH)
        break;
    }
  (void) flush_batch (e);
}

static gboolean
udp_idle (BenchEndpoint *e)
{
  return e->batch_used == 0;
}

static guint64
udp_wire_bytes (BenchEndpoint *e)
{
  return e->wire_bytes;
}

const BenchContender bench_contender_udp = {
  .name = "udp",
  .label = "raw UDP",
  .reliable = FALSE,
  .over_udp = TRUE,
  .max_message = MAX_MESSAGE,
  .transfer_message = FRAGMENT_PAYLOAD,
  .listen = udp_listen,
  .connect = udp_connect,
  .send = udp_send,
  .poll = udp_poll,
  .idle = udp_idle,
  .wire_bytes = udp_wire_bytes,
  .free = udp_free,
};

/* The same with UDP_GRO on the receiving socket: on loopback a GSO train then
 * reaches the receiver whole, so this is a memory-copy limit rather than a
 * per-datagram one; shown for context. */
const BenchContender bench_contender_udp_gro = {
  .name = "udp-gro",
  .label = "raw UDP, GSO+GRO",
  .reliable = FALSE,
  .over_udp = TRUE,
  .max_message = MAX_MESSAGE,
  .transfer_message = FRAGMENT_PAYLOAD,
  .listen = udp_gro_listen,
  .connect = udp_gro_connect,
  .send = udp_send,
  .poll = udp_poll,
  .idle = udp_idle,
  .wire_bytes = udp_wire_bytes,
  .free = udp_free,
};
