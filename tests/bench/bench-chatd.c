/* bench-chatd.c: our transport as the daemon uses it: ChatdTransport
 * (daemon/transport/chatd-transport.h), one UDP socket driven by a
 * GMainContext of the benchmark thread (its own recvmmsg/sendmmsg, UDP GSO
 * and timerfd).  poll() runs that context for at most the given time.
 *
 * A sender keeps at most QUEUE_LIMIT bytes of messages unacknowledged, as
 * for ENet; each message's completion callback gives the amount.  Bytes on
 * the wire come from the endpoint's counters (bytes_sent, datagrams_sent).
 */
#include "bench.h"

#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <gio/gio.h>

#include "chatd-transport.h"

#define QUEUE_LIMIT (8 * 1024 * 1024)

typedef struct {
  BenchEndpoint *endpoint;
  gsize len;
} SendTicket;

struct _BenchEndpoint {
  GMainContext *context;
  ChatdTransport *transport;
  ChatdAddress peer;
  gboolean have_peer;
  gboolean connected;        /* client: the first message was acknowledged */
  gboolean failed;
  char *failure;
  gsize in_flight;
  BenchMessageFunc on_message;
  gpointer on_message_data;
};

static void
on_message (ChatdEndpoint *core, ChatdConnection *connection, const ChatdAddress *from,
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
  BenchEndpoint *e = t->endpoint;

  e->in_flight -= MIN (e->in_flight, t->len);
  if (error == NULL)
    e->connected = TRUE;
  else if (error->code != CHATD_TRANSPORT_ERROR_CLOSED_LOCALLY && !e->failed)
    {
      e->failed = TRUE;
      e->failure = g_strdup (error->message);
    }
  g_free (t);
}

static BenchEndpoint *
endpoint_new (const char *ip, guint16 *ret_port, GError **error)
{
  BenchEndpoint *e = g_new0 (BenchEndpoint, 1);

  e->context = g_main_context_new ();
  e->transport = chatd_transport_new (ip, 0, NULL, e->context, error);
  if (e->transport == NULL)
    {
      g_main_context_unref (e->context);
      g_free (e);
      return NULL;
    }
  chatd_transport_set_message_callback (e->transport, on_message, e);
  if (ret_port != NULL)
    *ret_port = chatd_transport_get_port (e->transport);
  return e;
}

static void
chatd_free_endpoint (BenchEndpoint *e)
{
  chatd_transport_free (e->transport);   /* runs pending completions (CLOSED_LOCALLY) */
  while (g_main_context_iteration (e->context, FALSE))
    ;
  g_main_context_unref (e->context);
  g_free (e->failure);
  g_free (e);
}

static gboolean
wake_up (gpointer user_data)
{
  return G_SOURCE_REMOVE;
}

static void
chatd_poll_endpoint (BenchEndpoint *e, gint64 timeout_us, BenchMessageFunc callback, gpointer user_data)
{
  e->on_message = callback;
  e->on_message_data = user_data;
  if (timeout_us > 0)
    {
      /* GLib waits in whole milliseconds; the transport's own timers are on a timerfd. */
      GSource *timeout = g_timeout_source_new ((guint) MAX (1, timeout_us / 1000));
      g_source_set_callback (timeout, wake_up, NULL, NULL);
      g_source_attach (timeout, e->context);
      g_main_context_iteration (e->context, TRUE);
      g_source_destroy (timeout);
      g_source_unref (timeout);
    }
  for (int i = 0; i < 64 && g_main_context_iteration (e->context, FALSE); i++)
    ;
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
  chatd_transport_send (e->transport, &e->peer, payload, on_sent, t);
  return TRUE;
}

static char *
ip_of (const struct sockaddr *addr)
{
  char text[INET6_ADDRSTRLEN] = "";
  if (addr->sa_family == AF_INET6)
    inet_ntop (AF_INET6, &((const struct sockaddr_in6 *) addr)->sin6_addr, text, sizeof text);
  else
    inet_ntop (AF_INET, &((const struct sockaddr_in *) addr)->sin_addr, text, sizeof text);
  return g_strdup (text);
}

static BenchEndpoint *
chatd_listen_endpoint (const struct sockaddr *addr, socklen_t addr_len, guint16 *ret_port, GError **error)
{
  g_autofree char *ip = ip_of (addr);
  return endpoint_new (ip, ret_port, error);
}

/* Connects by sending an empty message and waiting for its acknowledgement,
 * so the handshake is not part of the first measurement. */
static BenchEndpoint *
chatd_connect_endpoint (const struct sockaddr *addr, socklen_t addr_len, GError **error)
{
  g_autofree char *ip = ip_of (addr);
  const struct sockaddr_in *in = (const struct sockaddr_in *) addr;
  const char *local = in->sin_addr.s_addr == htonl (INADDR_LOOPBACK) ? "127.0.0.1" : "0.0.0.0";
  BenchEndpoint *e = endpoint_new (addr->sa_family == AF_INET6 ? "::" : local, NULL, error);
  gint64 deadline = bench_now_us () + 15 * G_USEC_PER_SEC;

  if (e == NULL)
    return NULL;
  if (!chatd_address_parse (ip, ntohs (in->sin_port), &e->peer, error))
    {
      chatd_free_endpoint (e);
      return NULL;
    }
  e->have_peer = TRUE;
  chatd_send_message (e, (const guint8 *) "", 0);
  while (!e->connected && !e->failed && bench_now_us () < deadline)
    chatd_poll_endpoint (e, 1000, NULL, NULL);
  if (!e->connected)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT, "no connection to the server: %s",
                   e->failure != NULL ? e->failure : "timed out");
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
  ChatdEndpoint *core = chatd_transport_get_endpoint (e->transport);
  return chatd_endpoint_get_counter (core, "bytes_sent") +
         chatd_endpoint_get_counter (core, "datagrams_sent") * BENCH_IPV4_UDP_OVERHEAD;
}

const BenchContender bench_contender_chatd = {
  .name = "chatd",
  .label = "chatd transport",
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
