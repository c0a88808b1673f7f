/* bench-chatd-core.c: our transport's protocol core alone
 * (chatd-endpoint.h, sans-IO), driven by the benchmark's own I/O loop instead
 * of ChatdTransport (bench-chatd.c), to tell protocol costs from I/O costs: recvmmsg in
 * batches, everything the endpoint wants sent collected with
 * chatd_endpoint_poll_transmit and sent with one sendmmsg (same-size
 * datagrams to one peer packed into UDP GSO buffers), and the endpoint's
 * next deadline as the ppoll timeout (microsecond resolution).
 *
 * A sender keeps at most QUEUE_LIMIT bytes of messages unacknowledged, as
 * for ENet; each message's completion callback gives the amount.
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
#include <gio/gio.h>

#include "chatd-endpoint.h"

#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103
#endif

#define QUEUE_LIMIT (8 * 1024 * 1024)
#define TX_BATCH 64
#define RX_BATCH 32
#define DATAGRAM_CAP 2048

typedef struct {
  BenchEndpoint *endpoint;
  gsize len;
} SendTicket;

struct _BenchEndpoint {
  int fd;
  ChatdEndpoint *core;
  ChatdAddress peer;
  gboolean have_peer;
  gboolean connected;             /* client: the first message was acknowledged */
  gboolean failed;
  gsize in_flight;
  guint64 wire_bytes;
  gboolean gso;
  BenchMessageFunc on_message;
  gpointer on_message_data;
  /* transmit batch */
  guint8 *tx;                     /* TX_BATCH * DATAGRAM_CAP */
  gsize tx_len[TX_BATCH];
  ChatdAddress tx_to[TX_BATCH];
  guint8 *rx;                     /* RX_BATCH * DATAGRAM_CAP */
};

static void
on_core_message (ChatdEndpoint *core, ChatdConnection *connection, const ChatdAddress *from,
                 GBytes *message, gpointer user_data)
{
  BenchEndpoint *e = user_data;
  gsize len;
  const guint8 *data = g_bytes_get_data (message, &len);

  if (!e->have_peer)
    {
      e->peer = *from;
      e->have_peer = TRUE;
    }
  if (e->on_message != NULL)
    e->on_message (e, data, len, e->on_message_data);
}

static void
on_sent (ChatdEndpoint *core, ChatdConnection *connection, const GError *error, gpointer user_data)
{
  SendTicket *t = user_data;
  t->endpoint->in_flight -= MIN (t->endpoint->in_flight, t->len);
  if (error != NULL && error->code != CHATD_TRANSPORT_ERROR_CLOSED_LOCALLY)
    t->endpoint->failed = TRUE;
  else if (error == NULL)
    t->endpoint->connected = TRUE;
  g_free (t);
}

static BenchEndpoint *
endpoint_new (const struct sockaddr *addr, socklen_t addr_len, gboolean bind_it, guint16 *ret_port,
              GError **error)
{
  BenchEndpoint *e = g_new0 (BenchEndpoint, 1);
  ChatdEndpointConfig config;
  ChatdAddress local;
  struct sockaddr_storage bound;
  socklen_t len = sizeof bound;
  struct sockaddr_in any = { .sin_family = AF_INET, .sin_addr.s_addr = htonl (INADDR_LOOPBACK) };

  e->fd = socket (addr->sa_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (e->fd < 0)
    {
      bench_set_error_errno (error, "socket");
      g_free (e);
      return NULL;
    }
  bench_set_socket_buffers (e->fd, 4 * 1024 * 1024);
  if (!bind_it)
    {
      /* a client binds the loopback or the namespace address of its family */
      any.sin_addr = ((const struct sockaddr_in *) addr)->sin_addr;
      if (((const struct sockaddr_in *) addr)->sin_addr.s_addr == htonl (INADDR_LOOPBACK))
        addr = (const struct sockaddr *) &any;
      else
        {
          any.sin_addr.s_addr = htonl (INADDR_ANY);
          addr = (const struct sockaddr *) &any;
        }
      addr_len = sizeof any;
    }
  if (bind (e->fd, addr, addr_len) < 0 || getsockname (e->fd, (struct sockaddr *) &bound, &len) < 0)
    {
      bench_set_error_errno (error, "bind");
      close (e->fd);
      g_free (e);
      return NULL;
    }
  if (ret_port != NULL)
    *ret_port = ntohs (((struct sockaddr_in *) &bound)->sin_port);
  chatd_address_from_native ((struct sockaddr *) &bound, len, &local);
  chatd_endpoint_config_init (&config);
  e->core = chatd_endpoint_new (&config, &local);
  chatd_endpoint_set_message_callback (e->core, on_core_message, e);
  e->gso = TRUE;
  e->tx = g_malloc ((gsize) TX_BATCH * DATAGRAM_CAP);
  e->rx = g_malloc ((gsize) RX_BATCH * DATAGRAM_CAP);
  return e;
}

static void
chatd_free_endpoint (BenchEndpoint *e)
{
  chatd_endpoint_free (e->core);   /* runs pending completions (CLOSED_LOCALLY) */
  close (e->fd);
  g_free (e->tx);
  g_free (e->rx);
  g_free (e);
}

/* Sends n datagrams from the transmit batch; same-size runs to one peer go
 * as one GSO buffer. */
static void
send_batch (BenchEndpoint *e, guint n)
{
  struct mmsghdr msgs[TX_BATCH];
  struct iovec iovs[TX_BATCH];
  union { char buf[CMSG_SPACE (sizeof (guint16))]; struct cmsghdr align; } control[TX_BATCH];
  guint m = 0;

  for (guint i = 0; i < n;)
    {
      guint j = i + 1;
      gsize total = e->tx_len[i];

      /* contiguous in tx: datagram k lives at k * DATAGRAM_CAP, so pack by copying */
      if (e->gso)
        while (j < n && j - i < 44 && e->tx_len[j] <= e->tx_len[i] && e->tx_len[j - 1] == e->tx_len[i] &&
               chatd_address_equal (&e->tx_to[j], &e->tx_to[i]) && total + e->tx_len[j] <= 65000)
          {
            memmove (e->tx + (gsize) i * DATAGRAM_CAP + total, e->tx + (gsize) j * DATAGRAM_CAP, e->tx_len[j]);
            total += e->tx_len[j];
            j++;
          }
      iovs[m] = (struct iovec) { e->tx + (gsize) i * DATAGRAM_CAP, total };
      msgs[m].msg_hdr = (struct msghdr) {
        .msg_name = &e->tx_to[i].u.sa, .msg_namelen = e->tx_to[i].len,
        .msg_iov = &iovs[m], .msg_iovlen = 1,
      };
      if (j - i > 1)
        {
          struct cmsghdr *cm;
          msgs[m].msg_hdr.msg_control = control[m].buf;
          msgs[m].msg_hdr.msg_controllen = sizeof control[m].buf;
          cm = CMSG_FIRSTHDR (&msgs[m].msg_hdr);
          cm->cmsg_level = SOL_UDP;
          cm->cmsg_type = UDP_SEGMENT;
          cm->cmsg_len = CMSG_LEN (sizeof (guint16));
          *(guint16 *) (void *) CMSG_DATA (cm) = (guint16) e->tx_len[i];
        }
      e->wire_bytes += total + (guint64) (j - i) * BENCH_IPV4_UDP_OVERHEAD;
      m++;
      i = j;
    }
  for (guint done = 0; done < m;)
    {
      int r = sendmmsg (e->fd, msgs + done, m - done, MSG_DONTWAIT);
      if (r < 0)
        {
          if (errno == EAGAIN || errno == ENOBUFS)
            {
              struct pollfd p = { .fd = e->fd, .events = POLLOUT };
              (void) poll (&p, 1, 1);
              continue;
            }
          if (e->gso && (errno == EINVAL || errno == EIO))
            e->gso = FALSE;   /* later batches go one datagram at a time */
          done++;             /* this one is lost, as on a network */
          continue;
        }
      done += (guint) r;
    }
}

static void
transmit (BenchEndpoint *e)
{
  for (int rounds = 0; rounds < 64; rounds++)
    {
      guint n = 0;
      gint64 now = bench_now_us ();
      while (n < TX_BATCH)
        {
          gsize len = chatd_endpoint_poll_transmit (e->core, now, e->tx + (gsize) n * DATAGRAM_CAP,
                                                    DATAGRAM_CAP, &e->tx_to[n]);
          if (len == 0)
            break;
          e->tx_len[n++] = len;
        }
      if (n > 0)
        send_batch (e, n);
      if (n < TX_BATCH)
        break;
    }
}

static void
receive (BenchEndpoint *e)
{
  struct mmsghdr msgs[RX_BATCH];
  struct iovec iovs[RX_BATCH];
  struct sockaddr_storage names[RX_BATCH];

  for (int round = 0; round < 64; round++)
    {
      int n;
      gint64 now;
      for (int i = 0; i < RX_BATCH; i++)
        {
          iovs[i] = (struct iovec) { e->rx + (gsize) i * DATAGRAM_CAP, DATAGRAM_CAP };
          msgs[i].msg_hdr = (struct msghdr) {
            .msg_name = &names[i], .msg_namelen = sizeof names[i],
            .msg_iov = &iovs[i], .msg_iovlen = 1,
          };
        }
      n = recvmmsg (e->fd, msgs, RX_BATCH, MSG_DONTWAIT, NULL);
      if (n <= 0)
        break;
      now = bench_now_us ();
      for (int i = 0; i < n; i++)
        {
          ChatdAddress from;
          if (chatd_address_from_native ((struct sockaddr *) &names[i], msgs[i].msg_hdr.msg_namelen, &from))
            chatd_endpoint_handle_datagram (e->core, now, &from, iovs[i].iov_base, msgs[i].msg_len);
        }
      /* answer (ACKs, echoes) between batches rather than after everything */
      transmit (e);
      if (n < RX_BATCH)
        break;
    }
}

static void
chatd_poll_endpoint (BenchEndpoint *e, gint64 timeout_us, BenchMessageFunc on_message, gpointer user_data)
{
  struct pollfd p = { .fd = e->fd, .events = POLLIN };
  gint64 now, deadline, wait;
  struct timespec ts;

  e->on_message = on_message;
  e->on_message_data = user_data;
  now = bench_now_us ();
  if (chatd_endpoint_next_deadline (e->core) <= now)
    chatd_endpoint_handle_timeout (e->core, now);
  transmit (e);
  now = bench_now_us ();
  deadline = chatd_endpoint_next_deadline (e->core);
  wait = MIN (timeout_us, deadline > now ? deadline - now : 0);
  wait = MAX (wait, 0);
  ts = (struct timespec) { wait / 1000000, (wait % 1000000) * 1000 };
  if (ppoll (&p, 1, &ts, NULL) > 0)
    receive (e);
  now = bench_now_us ();
  if (chatd_endpoint_next_deadline (e->core) <= now)
    chatd_endpoint_handle_timeout (e->core, now);
  transmit (e);
  e->on_message = NULL;
}

static gboolean
chatd_send_message (BenchEndpoint *e, const guint8 *data, gsize len)
{
  SendTicket *t;
  g_autoptr (GBytes) payload = NULL;

  if (!e->have_peer)
    return TRUE;    /* nobody to answer yet: dropped */
  if (e->in_flight > QUEUE_LIMIT)
    return FALSE;
  t = g_new (SendTicket, 1);
  t->endpoint = e;
  t->len = len;
  e->in_flight += len;
  payload = g_bytes_new (data, len);
  chatd_endpoint_send (e->core, bench_now_us (), &e->peer, payload, on_sent, t);
  transmit (e);
  return TRUE;
}

static BenchEndpoint *
chatd_listen_endpoint (const struct sockaddr *addr, socklen_t addr_len, guint16 *ret_port, GError **error)
{
  return endpoint_new (addr, addr_len, TRUE, ret_port, error);
}

/* Connects by sending an empty message and waiting for its acknowledgement,
 * so the handshake is not part of the first measurement. */
static BenchEndpoint *
chatd_connect_endpoint (const struct sockaddr *addr, socklen_t addr_len, GError **error)
{
  BenchEndpoint *e = endpoint_new (addr, addr_len, FALSE, NULL, error);
  gint64 deadline = bench_now_us () + 15 * G_USEC_PER_SEC;

  if (e == NULL)
    return NULL;
  if (!chatd_address_from_native (addr, addr_len, &e->peer))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "bad address");
      chatd_free_endpoint (e);
      return NULL;
    }
  e->have_peer = TRUE;
  chatd_send_message (e, (const guint8 *) "", 0);
  while (!e->connected && !e->failed && bench_now_us () < deadline)
    chatd_poll_endpoint (e, 1000, NULL, NULL);
  if (!e->connected)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT, "no connection to the server");
      chatd_free_endpoint (e);
      return NULL;
    }
  return e;
}

static gboolean
chatd_idle (BenchEndpoint *e)
{
  return e->in_flight == 0;
}

static guint64
chatd_wire_bytes (BenchEndpoint *e)
{
  return e->wire_bytes;
}

const BenchContender bench_contender_chatd_core = {
  .name = "chatd-core",
  .label = "chatd core, bench I/O",
  .reliable = TRUE,
  .over_udp = TRUE,
  .max_message = 64 * 1024 * 1024,
  .transfer_message = 64 * 1024,
  .listen = chatd_listen_endpoint,
  .connect = chatd_connect_endpoint,
  .send = chatd_send_message,
  .poll = chatd_poll_endpoint,
  .idle = chatd_idle,
  .wire_bytes = chatd_wire_bytes,
  .free = chatd_free_endpoint,
};
