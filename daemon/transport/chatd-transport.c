/* chatd-transport.c: drives a ChatdEndpoint with a UDP socket and a timerfd
 * under a GSource. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#define G_LOG_DOMAIN "chatd-transport"

#include "chatd-counters.h"
#include "chatd-transport.h"

#include <errno.h>
#include <netinet/udp.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <unistd.h>

#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103
#endif
#ifndef SOL_UDP
#define SOL_UDP 17
#endif

#define BATCH 64
#define RECV_BUF_SIZE 2048
#define MAX_RECV_BATCHES 16   /* per dispatch, to bound latency of timers */
#define MAX_SEND_ROUNDS 64    /* per flush: 64 x 64 datagrams */
#define GSO_MAX_SEGMENTS 64
#define GSO_MAX_BYTES 65000
#define SOCKET_BUFFER (16 * 1024 * 1024) /* clamped by the kernel to rmem_max unless privileged */

#define IO_COUNTERS(X) \
  X (recv_calls)       \
  X (send_calls)       \
  X (gso_sends)        \
  X (send_would_block) \
  X (send_errors)      \
  X (timer_wakeups)

typedef struct
{
  IO_COUNTERS (CHATD_COUNTER_FIELD)
} IoCounters;

typedef struct
{
  GSource source;
  ChatdTransport *transport;
  gpointer socket_tag;
  gpointer timer_tag;
} TransportSource;

typedef struct
{
  ChatdAddress to;
  gsize offset; /* in the send arena */
  gsize len;
} PendingDatagram;

struct _ChatdTransport
{
  ChatdEndpoint *endpoint;
  GSocket *socket;
  int fd;
  int timer_fd;
  ChatdAddress local;
  GSource *source;
  gint64 armed_deadline;
  gboolean in_dispatch;
  guint held;            /* chatd_transport_hold without its release yet */
  gboolean want_write;
  gboolean gso;
  gsize max_datagram;
  /* receive batch */
  guint8 *recv_arena;
  struct mmsghdr recv_msgs[BATCH];
  struct iovec recv_iov[BATCH];
  struct sockaddr_storage recv_addrs[BATCH];
  /* send batch */
  guint8 *send_arena;
  PendingDatagram pending[BATCH];
  guint n_pending;
  gsize arena_used;
  IoCounters io;
};

static void flush (ChatdTransport *t);
static void rearm (ChatdTransport *t);

gint64
chatd_transport_now (ChatdTransport *t)
{
  return g_get_monotonic_time ();
}

/* ---- receiving ---- */

static void
receive (ChatdTransport *t)
{
  for (guint round = 0; round < MAX_RECV_BATCHES; round++)
    {
      for (guint i = 0; i < BATCH; i++)
        {
          t->recv_iov[i].iov_base = t->recv_arena + i * RECV_BUF_SIZE;
          t->recv_iov[i].iov_len = RECV_BUF_SIZE;
          memset (&t->recv_msgs[i].msg_hdr, 0, sizeof t->recv_msgs[i].msg_hdr);
          t->recv_msgs[i].msg_hdr.msg_name = &t->recv_addrs[i];
          t->recv_msgs[i].msg_hdr.msg_namelen = sizeof t->recv_addrs[i];
          t->recv_msgs[i].msg_hdr.msg_iov = &t->recv_iov[i];
          t->recv_msgs[i].msg_hdr.msg_iovlen = 1;
        }
      int n = recvmmsg (t->fd, t->recv_msgs, BATCH, MSG_DONTWAIT, NULL);
      t->io.recv_calls++;
      if (n <= 0)
        return;
      gint64 now = g_get_monotonic_time ();
      for (int i = 0; i < n; i++)
        {
          ChatdAddress from;
          if (!chatd_address_from_native ((struct sockaddr *) &t->recv_addrs[i],
                                          t->recv_msgs[i].msg_hdr.msg_namelen, &from))
            continue;
          gsize len = t->recv_msgs[i].msg_len;
          if (t->recv_msgs[i].msg_hdr.msg_flags & MSG_TRUNC)
            len = RECV_BUF_SIZE + 1; /* counted as oversized */
          chatd_endpoint_handle_datagram (t->endpoint, now, &from,
                                          t->recv_arena + i * RECV_BUF_SIZE,
                                          MIN (len, (gsize) RECV_BUF_SIZE + 1));
        }
      /* send what the batch produced (ACKs) before reading more */
      flush (t);
      if (n < BATCH)
        return;
    }
}

/* ---- sending ---- */

/* Sends the pending datagrams; returns FALSE if the socket is full. */
static gboolean
send_pending (ChatdTransport *t)
{
  struct mmsghdr msgs[BATCH];
  struct iovec iov[BATCH];
  union
  {
    char buf[CMSG_SPACE (sizeof (guint16))];
    struct cmsghdr align;
  } ctrl[BATCH];
  guint first_of[BATCH + 1];
  guint n_msgs = 0;
  guint i = 0;

  memset (msgs, 0, sizeof (struct mmsghdr) * MIN (t->n_pending, (guint) BATCH));
  while (i < t->n_pending)
    {
      PendingDatagram *d = &t->pending[i];
      guint j = i + 1;
      gsize total = d->len;
      if (t->gso)
        {
          /* a run of equal-size datagrams to the same peer, the last may be shorter */
          while (j < t->n_pending && j - i < GSO_MAX_SEGMENTS &&
                 total + t->pending[j].len <= GSO_MAX_BYTES &&
                 t->pending[j - 1].len == d->len && t->pending[j].len <= d->len &&
                 t->pending[j].offset == t->pending[j - 1].offset + t->pending[j - 1].len &&
                 chatd_address_equal (&t->pending[j].to, &d->to))
            {
              total += t->pending[j].len;
              j++;
            }
        }
      struct msghdr *h = &msgs[n_msgs].msg_hdr;
      iov[n_msgs].iov_base = t->send_arena + d->offset;
      iov[n_msgs].iov_len = total;
      h->msg_name = (void *) &d->to.u.storage;
      h->msg_namelen = d->to.len;
      h->msg_iov = &iov[n_msgs];
      h->msg_iovlen = 1;
      if (j - i > 1)
        {
          memset (&ctrl[n_msgs], 0, sizeof ctrl[n_msgs]);
          h->msg_control = ctrl[n_msgs].buf;
          h->msg_controllen = sizeof ctrl[n_msgs].buf;
          struct cmsghdr *cm = CMSG_FIRSTHDR (h);
          cm->cmsg_level = SOL_UDP;
          cm->cmsg_type = UDP_SEGMENT;
          cm->cmsg_len = CMSG_LEN (sizeof (guint16));
          guint16 seg = (guint16) d->len;
          memcpy (CMSG_DATA (cm), &seg, sizeof seg);
          t->io.gso_sends++;
        }
      first_of[n_msgs] = i;
      n_msgs++;
      i = j;
    }
  first_of[n_msgs] = t->n_pending;

  guint sent_msgs = 0;
  while (sent_msgs < n_msgs)
    {
      int n = sendmmsg (t->fd, msgs + sent_msgs, n_msgs - sent_msgs, MSG_DONTWAIT);
      t->io.send_calls++;
      if (n > 0)
        {
          sent_msgs += (guint) n;
          continue;
        }
      if (errno == EINTR)
        continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS)
        {
          t->io.send_would_block++;
          break;
        }
      if ((errno == EIO || errno == EINVAL) && t->gso && msgs[sent_msgs].msg_hdr.msg_controllen)
        {
          /* no GSO here after all: resend without it */
          g_debug ("UDP GSO refused (%s), disabled", g_strerror (errno));
          t->gso = FALSE;
          guint keep = first_of[sent_msgs];
          memmove (t->pending, t->pending + keep, (t->n_pending - keep) * sizeof (PendingDatagram));
          t->n_pending -= keep;
          return send_pending (t);
        }
      /* unreachable peer (ICMP) and similar: the datagram is lost, recovery
       * handles it */
      t->io.send_errors++;
      sent_msgs++;
    }
  guint done = first_of[sent_msgs];
  if (done < t->n_pending)
    {
      memmove (t->pending, t->pending + done, (t->n_pending - done) * sizeof (PendingDatagram));
      t->n_pending -= done;
      return FALSE;
    }
  t->n_pending = 0;
  t->arena_used = 0;
  return TRUE;
}

static void
flush (ChatdTransport *t)
{
  gint64 now = g_get_monotonic_time ();
  if (t->n_pending > 0 && !send_pending (t))
    {
      t->want_write = TRUE;
      return;
    }
  for (guint round = 0; round < MAX_SEND_ROUNDS; round++)
    {
      gsize len;
      t->arena_used = 0;
      while (t->n_pending < BATCH &&
             (len = chatd_endpoint_poll_transmit (t->endpoint, now,
                                                  t->send_arena + t->arena_used, t->max_datagram,
                                                  &t->pending[t->n_pending].to)) > 0)
        {
          t->pending[t->n_pending].offset = t->arena_used;
          t->pending[t->n_pending].len = len;
          t->arena_used += len;
          t->n_pending++;
        }
      if (t->n_pending == 0)
        break;
      gboolean full = t->n_pending == BATCH;
      if (!send_pending (t))
        {
          t->want_write = TRUE;
          return;
        }
      if (!full)
        break;
      now = g_get_monotonic_time ();
    }
  t->want_write = FALSE;
}

/* ---- timer ---- */

static void
rearm (ChatdTransport *t)
{
  gint64 deadline = chatd_endpoint_next_deadline (t->endpoint);
  if (t->want_write)
    {
      g_source_modify_unix_fd (t->source, ((TransportSource *) t->source)->socket_tag,
                               G_IO_IN | G_IO_OUT);
    }
  else
    g_source_modify_unix_fd (t->source, ((TransportSource *) t->source)->socket_tag, G_IO_IN);
  if (deadline == t->armed_deadline)
    return;
  struct itimerspec its = { 0 };
  if (deadline != G_MAXINT64)
    {
      gint64 d = MAX (deadline, 1);
      its.it_value.tv_sec = d / G_USEC_PER_SEC;
      its.it_value.tv_nsec = (d % G_USEC_PER_SEC) * 1000;
    }
  timerfd_settime (t->timer_fd, TFD_TIMER_ABSTIME, &its, NULL);
  t->armed_deadline = deadline;
}

static gboolean
source_dispatch (GSource *source, GSourceFunc callback, gpointer user_data)
{
  TransportSource *ts = (TransportSource *) source;
  ChatdTransport *t = ts->transport;
  GIOCondition sock = g_source_query_unix_fd (source, ts->socket_tag);
  GIOCondition timer = g_source_query_unix_fd (source, ts->timer_tag);

  t->in_dispatch = TRUE;
  if (timer & G_IO_IN)
    {
      guint64 expirations;
      if (read (t->timer_fd, &expirations, sizeof expirations) > 0)
        t->io.timer_wakeups++;
      t->armed_deadline = G_MININT64; /* re-arm below */
    }
  if (sock & G_IO_IN)
    receive (t);
  gint64 now = g_get_monotonic_time ();
  if (chatd_endpoint_next_deadline (t->endpoint) <= now)
    chatd_endpoint_handle_timeout (t->endpoint, now);
  flush (t);
  t->in_dispatch = FALSE;
  rearm (t);
  return G_SOURCE_CONTINUE;
}

static GSourceFuncs source_funcs = {
  .dispatch = source_dispatch,
};

/* After an API call from outside the source: send and re-arm now. */
static void
after_call (ChatdTransport *t)
{
  if (t->in_dispatch || t->held > 0)
    return;
  flush (t);
  rearm (t);
}

/* ---- construction ---- */

ChatdTransport *
chatd_transport_new (const char *ip, guint16 port, const ChatdEndpointConfig *config,
                     GMainContext *context, GError **error)
{
  ChatdAddress local;
  g_autoptr(GSocket) socket = NULL;
  g_autoptr(GSocketAddress) bind_addr = NULL;
  g_autoptr(GSocketAddress) bound = NULL;
  int size = SOCKET_BUFFER;

  if (!chatd_address_parse (ip, port, &local, error))
    return NULL;
  socket = g_socket_new (local.u.sa.sa_family == AF_INET6 ? G_SOCKET_FAMILY_IPV6 : G_SOCKET_FAMILY_IPV4,
                         G_SOCKET_TYPE_DATAGRAM, G_SOCKET_PROTOCOL_UDP, error);
  if (socket == NULL)
    {
      g_prefix_error (error, "cannot create a UDP socket: ");
      return NULL;
    }
  g_socket_set_blocking (socket, FALSE);
  bind_addr = chatd_address_to_gsocket (&local);
  if (!g_socket_bind (socket, bind_addr, FALSE, error))
    {
      g_prefix_error (error, "cannot bind %s:%u: ", ip, port);
      return NULL;
    }
  bound = g_socket_get_local_address (socket, error);
  if (bound == NULL || !chatd_address_from_gsocket (bound, &local, error))
    return NULL;

  ChatdTransport *t = g_new0 (ChatdTransport, 1);
  t->socket = g_steal_pointer (&socket);
  t->fd = g_socket_get_fd (t->socket);
  t->local = local;
  /* as large as allowed: bursts at loopback speed overflow small buffers */
  if (setsockopt (t->fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof size) != 0)
    setsockopt (t->fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
  if (setsockopt (t->fd, SOL_SOCKET, SO_SNDBUFFORCE, &size, sizeof size) != 0)
    setsockopt (t->fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof size);
  int seg = CHATD_MAX_DATAGRAM_DEFAULT;
  t->gso = setsockopt (t->fd, SOL_UDP, UDP_SEGMENT, &seg, sizeof seg) == 0;
  seg = 0;
  if (t->gso)
    setsockopt (t->fd, SOL_UDP, UDP_SEGMENT, &seg, sizeof seg);
  t->timer_fd = timerfd_create (CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
  if (t->timer_fd < 0)
    {
      int saved = errno;
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved), "timerfd_create: %s",
                   g_strerror (saved));
      g_object_unref (t->socket);
      g_free (t);
      return NULL;
    }
  t->endpoint = chatd_endpoint_new (config, &local);
  t->max_datagram = chatd_endpoint_get_config (t->endpoint)->max_datagram;
  t->recv_arena = g_malloc (BATCH * RECV_BUF_SIZE);
  t->send_arena = g_malloc (BATCH * CHATD_MAX_DATAGRAM_LIMIT);
  t->armed_deadline = G_MININT64;

  t->source = g_source_new (&source_funcs, sizeof (TransportSource));
  TransportSource *ts = (TransportSource *) t->source;
  ts->transport = t;
  ts->socket_tag = g_source_add_unix_fd (t->source, t->fd, G_IO_IN);
  ts->timer_tag = g_source_add_unix_fd (t->source, t->timer_fd, G_IO_IN);
  g_source_set_name (t->source, "chatd-transport");
  g_source_set_priority (t->source, G_PRIORITY_DEFAULT);
  g_source_attach (t->source, context ? context : g_main_context_get_thread_default ());
  rearm (t);
  return t;
}

void
chatd_transport_free (ChatdTransport *t)
{
  if (t == NULL)
    return;
  t->in_dispatch = TRUE; /* no flushing from callbacks any more */
  chatd_endpoint_free (t->endpoint);
  g_source_destroy (t->source);
  g_source_unref (t->source);
  close (t->timer_fd);
  g_socket_close (t->socket, NULL);
  g_object_unref (t->socket);
  g_free (t->recv_arena);
  g_free (t->send_arena);
  g_free (t);
}

ChatdEndpoint *
chatd_transport_get_endpoint (ChatdTransport *t)
{
  return t->endpoint;
}

const ChatdAddress *
chatd_transport_get_local_address (ChatdTransport *t)
{
  return &t->local;
}

guint16
chatd_transport_get_port (ChatdTransport *t)
{
  return chatd_address_get_port (&t->local);
}

void
chatd_transport_set_message_callback (ChatdTransport *t, ChatdMessageCallback callback,
                                      gpointer user_data)
{
  chatd_endpoint_set_message_callback (t->endpoint, callback, user_data);
}

void
chatd_transport_set_connection_callback (ChatdTransport *t, ChatdConnectionCallback callback,
                                         gpointer user_data)
{
  chatd_endpoint_set_connection_callback (t->endpoint, callback, user_data);
}

void
chatd_transport_send_many (ChatdTransport *t, const ChatdSendRequest *requests, gsize n_requests)
{
  chatd_endpoint_send_many (t->endpoint, g_get_monotonic_time (), requests, n_requests);
  after_call (t);
}

void
chatd_transport_send (ChatdTransport *t, const ChatdAddress *peer, GBytes *payload,
                      ChatdSendCallback callback, gpointer user_data)
{
  chatd_endpoint_send (t->endpoint, g_get_monotonic_time (), peer, payload, callback, user_data);
  after_call (t);
}

void
chatd_transport_send_on (ChatdTransport *t, ChatdConnection *connection, GBytes *payload,
                         ChatdSendCallback callback, gpointer user_data)
{
  chatd_connection_send (connection, g_get_monotonic_time (), payload, callback, user_data);
  after_call (t);
}

void
chatd_transport_hold (ChatdTransport *t)
{
  t->held++;
}

void
chatd_transport_release (ChatdTransport *t)
{
  g_return_if_fail (t->held > 0);
  if (--t->held == 0)
    after_call (t);
}

void
chatd_transport_close_connection (ChatdTransport *t, ChatdConnection *connection, guint64 code,
                                  const char *reason)
{
  chatd_connection_close (connection, g_get_monotonic_time (), code, reason);
  after_call (t);
}

gboolean
chatd_transport_update_protector (ChatdTransport *t, ChatdConnection *connection,
                                  const ChatdPacketProtector *next, gboolean peer_has_keys, GError **error)
{
  gboolean ok = chatd_connection_update_protector (connection, g_get_monotonic_time (), next, peer_has_keys, error);
  after_call (t);
  return ok;
}

void
chatd_transport_foreach_counter (ChatdTransport *t, ChatdCounterFunc func, gpointer user_data)
{
  chatd_endpoint_foreach_counter (t->endpoint, func, user_data);
#define IO_EMIT(n) func ("io." #n, t->io.n, user_data);
  IO_COUNTERS (IO_EMIT)
#undef IO_EMIT
  func ("io.gso_enabled", t->gso, user_data);
}
