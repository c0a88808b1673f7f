/* chatd-endpoint.c: demultiplexing, the stateless-cookie handshake, limits,
 * the message API and event delivery (sans-IO). */
#define G_LOG_DOMAIN "chatd-transport"

#include "chatd-connection-private.h"
#include "chatd-endpoint.h"

#include <gcrypt.h>
#include <string.h>

#define COOKIE_MAC_LEN 16
#define COOKIE_LEN (8 + COOKIE_MAC_LEN)
#define COOKIE_LIFETIME_US (30 * G_USEC_PER_SEC)
#define COOKIE_FUTURE_SLACK_US (1 * G_USEC_PER_SEC)
#define STATELESS_QUEUE_MAX 64
#define STATELESS_PACKET_MAX 128
#define POLL_BURST 64

typedef struct
{
  ChatdAddress to;
  gsize len;
  guint8 data[STATELESS_PACKET_MAX];
} StatelessPacket;

typedef enum
{
  EVENT_MESSAGE,
  EVENT_SEND_DONE,
  EVENT_CONNECTION,
} EventKind;

typedef struct
{
  EventKind kind;
  ChatdConnection *conn; /* referenced; NULL for early send failures */
  GBytes *message;
  ChatdSendCallback send_callback;
  gpointer send_user_data;
  ChatdConnectionEvent conn_event;
  GError *error;
} Event;

struct _ChatdEndpoint
{
  ChatdEndpointConfig config;
  ChatdAddress local;
  guint8 cookie_secret[32];
  ChatdCrc crc;
  guint64 buffered; /* bytes of unfinished incoming messages, all connections */
  GHashTable *by_cid;      /* &conn->local_cid -> conn */
  GHashTable *by_peer;     /* &conn->peer -> conn used for sends */
  GHashTable *by_initial;  /* &conn->initial_key -> server conn */
  GHashTable *per_address; /* ChatdAddress (owned) -> count of accepted conns */
  GHashTable *per_host;    /* the same with the port zeroed */
  GPtrArray *conns;        /* every connection not yet reaped (referenced) */
  guint n_alive;
  guint poll_cursor;
  guint poll_burst;
  GQueue stateless;
  GQueue events;
  gboolean dispatching;
  gboolean freeing;
  ChatdMessageCallback message_callback;
  gpointer message_user_data;
  ChatdConnectionCallback connection_callback;
  gpointer connection_user_data;
  ChatdEndpointCounters counters;
  ChatdConnCounters retired; /* sums of connections already gone */
};

G_DEFINE_QUARK (chatd-transport-error-quark, chatd_transport_error)

void
chatd_endpoint_config_init (ChatdEndpointConfig *c)
{
  memset (c, 0, sizeof *c);
  c->max_datagram = CHATD_MAX_DATAGRAM_DEFAULT;
  c->keepalive_interval_us = 15 * G_USEC_PER_SEC;
  c->dead_peer_timeout_us = 10 * G_USEC_PER_SEC;
  c->handshake_timeout_us = 10 * G_USEC_PER_SEC;
  c->max_ack_delay_us = 1000;
  c->initial_rtt_us = 100000;
  c->max_message_bytes = 64 * 1024 * 1024;
  c->conn_receive_window = 72 * 1024 * 1024;
  c->stream_receive_window = 4 * 1024 * 1024;
  c->max_incoming_streams = 1024;
  c->max_send_queue_bytes = 256 * 1024 * 1024;
  c->max_connections = 4096;
  c->max_connections_per_address = 4;
  c->max_connections_per_host = 256;
  c->receive_budget_bytes = 1024 * 1024 * 1024;
  c->ack_every = 2;
}

static guint
initial_key_hash (gconstpointer p)
{
  const ChatdInitialKey *k = p;
  return chatd_address_hash (&k->peer) ^ (guint) k->cid ^ (guint) (k->cid >> 32);
}

static gboolean
initial_key_equal (gconstpointer a, gconstpointer b)
{
  const ChatdInitialKey *x = a, *y = b;
  return x->cid == y->cid && chatd_address_equal (&x->peer, &y->peer);
}

ChatdEndpoint *
chatd_endpoint_new (const ChatdEndpointConfig *config, const ChatdAddress *local)
{
  ChatdEndpoint *ep = g_new0 (ChatdEndpoint, 1);

  if (!gcry_control (GCRYCTL_INITIALIZATION_FINISHED_P))
    gcry_check_version (NULL);
  if (config)
    ep->config = *config;
  else
    chatd_endpoint_config_init (&ep->config);
  ep->config.max_datagram = CLAMP (ep->config.max_datagram, 1232, CHATD_MAX_DATAGRAM_LIMIT);
  ep->config.ack_every = MAX (ep->config.ack_every, 1);
  ep->config.max_message_bytes = MIN (ep->config.max_message_bytes, CHATD_VARINT_MAX);
  ep->config.conn_receive_window = MAX (ep->config.conn_receive_window,
                                        ep->config.max_message_bytes + 65536);
  ep->config.stream_receive_window = MAX (ep->config.stream_receive_window, 4096);
  ep->config.max_incoming_streams = MAX (ep->config.max_incoming_streams, 1);
  ep->config.receive_budget_bytes = MAX (ep->config.receive_budget_bytes,
                                         ep->config.conn_receive_window);
  if (local)
    ep->local = *local;
  gcry_randomize (ep->cookie_secret, sizeof ep->cookie_secret, GCRY_STRONG_RANDOM);
  chatd_crc_init (&ep->crc);
  ep->by_cid = g_hash_table_new (g_int64_hash, g_int64_equal);
  ep->by_peer = g_hash_table_new (chatd_address_hash, chatd_address_equal);
  ep->by_initial = g_hash_table_new (initial_key_hash, initial_key_equal);
  ep->per_address = g_hash_table_new_full (chatd_address_hash, chatd_address_equal, g_free, NULL);
  ep->per_host = g_hash_table_new_full (chatd_address_hash, chatd_address_equal, g_free, NULL);
  ep->conns = g_ptr_array_new ();
  g_queue_init (&ep->stateless);
  g_queue_init (&ep->events);
  return ep;
}

ChatdCrc *
chatd_endpoint_get_crc (ChatdEndpoint *ep)
{
  return &ep->crc;
}

void
chatd_endpoint_buffered_change (ChatdEndpoint *ep, gint64 delta)
{
  if (delta < 0 && (guint64) -delta > ep->buffered)
    ep->buffered = 0;
  else
    ep->buffered += delta;
}

gboolean
chatd_endpoint_buffered_allows (ChatdEndpoint *ep, guint64 growth)
{
  return growth == 0 || ep->buffered + growth <= ep->config.receive_budget_bytes;
}

const ChatdEndpointConfig *
chatd_endpoint_get_config (ChatdEndpoint *ep)
{
  return &ep->config;
}

void
chatd_endpoint_set_message_callback (ChatdEndpoint *ep, ChatdMessageCallback callback,
                                     gpointer user_data)
{
  ep->message_callback = callback;
  ep->message_user_data = user_data;
}

void
chatd_endpoint_set_connection_callback (ChatdEndpoint *ep, ChatdConnectionCallback callback,
                                        gpointer user_data)
{
  ep->connection_callback = callback;
  ep->connection_user_data = user_data;
}

/* ---- events ---- */

static Event *
event_new (EventKind kind, ChatdConnection *conn)
{
  Event *ev = g_new0 (Event, 1);
  ev->kind = kind;
  ev->conn = conn ? chatd_connection_ref (conn) : NULL;
  return ev;
}

static void
event_free (Event *ev)
{
  if (ev->conn)
    chatd_connection_unref (ev->conn);
  if (ev->message)
    g_bytes_unref (ev->message);
  if (ev->error)
    g_error_free (ev->error);
  g_free (ev);
}

void
chatd_endpoint_emit_message (ChatdEndpoint *ep, ChatdConnection *conn, GBytes *message)
{
  Event *ev = event_new (EVENT_MESSAGE, conn);
  ev->message = g_bytes_ref (message);
  g_queue_push_tail (&ep->events, ev);
}

void
chatd_endpoint_emit_send_done (ChatdEndpoint *ep, ChatdConnection *conn,
                               ChatdSendCallback callback, gpointer user_data, GError *error)
{
  if (callback == NULL)
    {
      if (error)
        g_error_free (error);
      return;
    }
  Event *ev = event_new (EVENT_SEND_DONE, conn);
  ev->send_callback = callback;
  ev->send_user_data = user_data;
  ev->error = error;
  g_queue_push_tail (&ep->events, ev);
}

void
chatd_endpoint_emit_event (ChatdEndpoint *ep, ChatdConnection *conn, ChatdConnectionEvent event,
                           GError *error)
{
  if (event == CHATD_CONNECTION_EVENT_CLOSED && error &&
      !g_error_matches (error, CHATD_TRANSPORT_ERROR, CHATD_TRANSPORT_ERROR_CLOSED_LOCALLY) &&
      !g_error_matches (error, CHATD_TRANSPORT_ERROR, CHATD_TRANSPORT_ERROR_CLOSED))
    ep->counters.connections_failed++;
  Event *ev = event_new (EVENT_CONNECTION, conn);
  ev->conn_event = event;
  ev->error = error;
  g_queue_push_tail (&ep->events, ev);
}

static void
reap (ChatdEndpoint *ep)
{
  guint j = 0;
  for (guint i = 0; i < ep->conns->len; i++)
    {
      ChatdConnection *conn = ep->conns->pdata[i];
      if (conn->state == CONN_CLOSED)
        chatd_connection_unref (conn);
      else
        ep->conns->pdata[j++] = conn;
    }
  g_ptr_array_set_size (ep->conns, j);
  if (ep->poll_cursor >= j)
    ep->poll_cursor = 0;
}

static void dispatch (ChatdEndpoint *ep);

void
chatd_endpoint_dispatch (ChatdEndpoint *ep)
{
  dispatch (ep);
}

static void
dispatch (ChatdEndpoint *ep)
{
  Event *ev;
  if (ep->dispatching)
    return;
  ep->dispatching = TRUE;
  while ((ev = g_queue_pop_head (&ep->events)) != NULL)
    {
      switch (ev->kind)
        {
        case EVENT_MESSAGE:
          if (ep->message_callback)
            ep->message_callback (ep, ev->conn, &ev->conn->peer, ev->message, ep->message_user_data);
          break;
        case EVENT_SEND_DONE:
          ev->send_callback (ep, ev->conn, ev->error, ev->send_user_data);
          break;
        case EVENT_CONNECTION:
          if (ep->connection_callback)
            ep->connection_callback (ep, ev->conn, ev->conn_event, ev->error,
                                     ep->connection_user_data);
          break;
        }
      event_free (ev);
    }
  ep->dispatching = FALSE;
  reap (ep);
}

/* ---- connection table ---- */

static guint64
new_cid (ChatdEndpoint *ep)
{
  guint64 cid;
  do
    gcry_create_nonce (&cid, sizeof cid);
  while (cid == 0 || g_hash_table_contains (ep->by_cid, &cid));
  return cid;
}

static ChatdAddress
host_of (const ChatdAddress *addr)
{
  ChatdAddress host = *addr;
  if (host.u.sa.sa_family == AF_INET)
    host.u.in4.sin_port = 0;
  else if (host.u.sa.sa_family == AF_INET6)
    host.u.in6.sin6_port = 0;
  return host;
}

static void
count_change (GHashTable *counts, const ChatdAddress *key, int delta)
{
  guint count = GPOINTER_TO_UINT (g_hash_table_lookup (counts, key));
  if (delta < 0 && count <= 1)
    g_hash_table_remove (counts, key);
  else
    g_hash_table_insert (counts, g_memdup2 (key, sizeof *key),
                         GUINT_TO_POINTER (delta < 0 ? count - 1 : count + 1));
}

static void
attach (ChatdEndpoint *ep, ChatdConnection *conn)
{
  g_hash_table_replace (ep->by_cid, &conn->local_cid, conn);
  /* replace, not insert: the key points into the connection, and insert
   * would keep the previous connection's key (freed with it) */
  g_hash_table_replace (ep->by_peer, &conn->peer, conn);
  if (!conn->is_client)
    {
      g_hash_table_replace (ep->by_initial, &conn->initial_key, conn);
      ChatdAddress host = host_of (&conn->peer);
      count_change (ep->per_address, &conn->peer, +1);
      count_change (ep->per_host, &host, +1);
    }
  g_ptr_array_add (ep->conns, conn); /* takes the initial reference */
  ep->n_alive++;
}

void
chatd_endpoint_detach (ChatdEndpoint *ep, ChatdConnection *conn)
{
  if (g_hash_table_lookup (ep->by_cid, &conn->local_cid) != conn)
    return; /* already detached */
  g_hash_table_remove (ep->by_cid, &conn->local_cid);
  if (g_hash_table_lookup (ep->by_peer, &conn->peer) == conn)
    g_hash_table_remove (ep->by_peer, &conn->peer);
  if (!conn->is_client)
    {
      if (g_hash_table_lookup (ep->by_initial, &conn->initial_key) == conn)
        g_hash_table_remove (ep->by_initial, &conn->initial_key);
      ChatdAddress host = host_of (&conn->peer);
      count_change (ep->per_address, &conn->peer, -1);
      count_change (ep->per_host, &host, -1);
    }
  for (gsize i = 0; i < chatd_conn_counter_count; i++)
    CHATD_COUNTER_AT (&ep->retired, chatd_conn_counter_info[i]) +=
      CHATD_COUNTER_AT (&conn->counters, chatd_conn_counter_info[i]);
  memset (&conn->counters, 0, sizeof conn->counters); /* now counted in retired */
  ep->counters.connections_closed++;
  ep->n_alive--;
}

ChatdConnection *
chatd_endpoint_lookup (ChatdEndpoint *ep, const ChatdAddress *peer)
{
  ChatdAddress key;
  chatd_address_for_family (peer, ep->local.u.sa.sa_family, &key);
  ChatdConnection *conn = g_hash_table_lookup (ep->by_peer, &key);
  return conn && chatd_connection_is_alive (conn) ? conn : NULL;
}

guint
chatd_endpoint_get_n_connections (ChatdEndpoint *ep)
{
  return ep->n_alive;
}

void
chatd_endpoint_foreach_connection (ChatdEndpoint *ep,
                                   void (*func) (ChatdConnection *connection, gpointer user_data),
                                   gpointer user_data)
{
  for (guint i = 0; i < ep->conns->len; i++)
    {
      ChatdConnection *conn = ep->conns->pdata[i];
      if (chatd_connection_is_alive (conn))
        func (conn, user_data);
    }
}

/* ---- stateless cookie ---- */

static void
cookie_mac (ChatdEndpoint *ep, const ChatdAddress *peer, guint64 scid, const guint8 ts[8],
            guint8 ret_mac[COOKIE_MAC_LEN])
{
  gcry_mac_hd_t h;
  guint8 mac[32];
  gsize mac_len = sizeof mac;
  guint8 cid[8];
  guint16 port = chatd_address_get_port (peer);
  guint8 fam_port[3] = { (guint8) peer->u.sa.sa_family, port >> 8, port & 0xff };
  for (int i = 0; i < 8; i++)
    cid[i] = (scid >> (56 - 8 * i)) & 0xff;
  if (gcry_mac_open (&h, GCRY_MAC_HMAC_SHA256, 0, NULL) != 0)
    g_error ("HMAC-SHA256 unavailable");
  gcry_mac_setkey (h, ep->cookie_secret, sizeof ep->cookie_secret);
  gcry_mac_write (h, "chatd/1/cookie", 15);
  gcry_mac_write (h, fam_port, sizeof fam_port);
  if (peer->u.sa.sa_family == AF_INET)
    gcry_mac_write (h, &peer->u.in4.sin_addr, 4);
  else
    gcry_mac_write (h, &peer->u.in6.sin6_addr, 16);
  gcry_mac_write (h, cid, sizeof cid);
  gcry_mac_write (h, ts, 8);
  gcry_mac_read (h, mac, &mac_len);
  gcry_mac_close (h);
  memcpy (ret_mac, mac, COOKIE_MAC_LEN);
}

static void
cookie_make (ChatdEndpoint *ep, gint64 now_us, const ChatdAddress *peer, guint64 scid,
             guint8 ret_cookie[COOKIE_LEN])
{
  guint64 ts = (guint64) now_us;
  for (int i = 0; i < 8; i++)
    ret_cookie[i] = (ts >> (56 - 8 * i)) & 0xff;
  cookie_mac (ep, peer, scid, ret_cookie, ret_cookie + 8);
}

/* 1: valid, 0: invalid, -1: authentic but expired */
static int
cookie_check (ChatdEndpoint *ep, gint64 now_us, const ChatdAddress *peer, guint64 scid,
              const guint8 *token, gsize len)
{
  guint8 mac[COOKIE_MAC_LEN];
  guint8 diff = 0;
  guint64 ts = 0;
  if (len != COOKIE_LEN)
    return 0;
  cookie_mac (ep, peer, scid, token, mac);
  for (int i = 0; i < COOKIE_MAC_LEN; i++)
    diff |= mac[i] ^ token[8 + i];
  if (diff != 0)
    return 0;
  for (int i = 0; i < 8; i++)
    ts = (ts << 8) | token[i];
  if ((gint64) ts > now_us + COOKIE_FUTURE_SLACK_US || now_us - (gint64) ts > COOKIE_LIFETIME_US)
    return -1;
  return 1;
}

static void
queue_retry (ChatdEndpoint *ep, gint64 now_us, const ChatdAddress *to, guint64 scid)
{
  if (ep->stateless.length >= STATELESS_QUEUE_MAX)
    {
      ep->counters.dropped_stateless_queue_full++;
      return;
    }
  StatelessPacket *sp = g_new (StatelessPacket, 1);
  guint8 cookie[COOKIE_LEN];
  cookie_make (ep, now_us, to, scid, cookie);
  ChatdPacketHeader h = { .type = CHATD_PACKET_RETRY, .dcid = scid, .pn = 0,
                          .token = cookie, .token_len = COOKIE_LEN };
  gsize hl = chatd_packet_write_header (sp->data, sizeof sp->data - CHATD_CRC_LEN, &h);
  g_assert (hl > 0);
  chatd_crc_append (&ep->crc, sp->data, hl);
  sp->len = hl + CHATD_CRC_LEN;
  sp->to = *to;
  g_queue_push_tail (&ep->stateless, sp);
  ep->counters.retries_sent++;
}

static void
handle_initial (ChatdEndpoint *ep, gint64 now_us, const ChatdAddress *from,
                const ChatdPacketHeader *h, const guint8 *data, gsize len)
{
  ep->counters.stateless_bytes_received += len;
  if (len < CHATD_MIN_INITIAL_SIZE)
    {
      ep->counters.dropped_initial_too_small++;
      return;
    }
  if (!chatd_crc_check (&ep->crc, data, len))
    {
      ep->counters.dropped_bad_checksum++;
      return;
    }
  if (h->token_len == 0)
    {
      queue_retry (ep, now_us, from, h->scid);
      return;
    }
  int valid = cookie_check (ep, now_us, from, h->scid, h->token, h->token_len);
  if (valid <= 0)
    {
      ep->counters.dropped_bad_cookie++;
      if (valid < 0)
        queue_retry (ep, now_us, from, h->scid);
      return;
    }
  ChatdInitialKey key = { .peer = *from, .cid = h->scid };
  ChatdConnection *existing = g_hash_table_lookup (ep->by_initial, &key);
  if (existing)
    {
      if (chatd_connection_is_alive (existing) && !existing->accept_acked)
        {
          existing->accept_pending = TRUE;
          existing->maybe_ready = TRUE;
        }
      return;
    }
  guint per_addr = GPOINTER_TO_UINT (g_hash_table_lookup (ep->per_address, from));
  ChatdAddress host = host_of (from);
  guint per_host = GPOINTER_TO_UINT (g_hash_table_lookup (ep->per_host, &host));
  if (ep->n_alive >= ep->config.max_connections ||
      per_addr >= ep->config.max_connections_per_address ||
      per_host >= ep->config.max_connections_per_host)
    {
      ep->counters.dropped_connection_limit++;
      return;
    }
  ChatdConnection *conn = chatd_conn_new (ep, FALSE, from, new_cid (ep), now_us);
  chatd_conn_server_accept (conn, h);
  attach (ep, conn);
  ep->counters.connections_accepted++;
  chatd_endpoint_emit_event (ep, conn, CHATD_CONNECTION_EVENT_ESTABLISHED, NULL);
}

/* ---- sans-IO entry points ---- */

void
chatd_endpoint_handle_datagram (ChatdEndpoint *ep, gint64 now_us, const ChatdAddress *from,
                                guint8 *data, gsize len)
{
  ChatdPacketHeader h;
  ep->counters.datagrams_received++;
  ep->counters.bytes_received += len;
  if (len > ep->config.max_datagram)
    {
      ep->counters.dropped_oversized++;
      return;
    }
  switch (chatd_packet_parse_header (data, len, &h))
    {
    case CHATD_PACKET_OK:
      break;
    case CHATD_PACKET_TOO_SHORT:
      ep->counters.dropped_too_short++;
      return;
    case CHATD_PACKET_BAD_VERSION:
      ep->counters.dropped_bad_version++;
      return;
    case CHATD_PACKET_BAD_TYPE:
      ep->counters.dropped_bad_type++;
      return;
    case CHATD_PACKET_MALFORMED:
    default:
      ep->counters.dropped_malformed_header++;
      return;
    }
  if (h.type == CHATD_PACKET_INITIAL)
    handle_initial (ep, now_us, from, &h, data, len);
  else
    {
      ChatdConnection *conn = g_hash_table_lookup (ep->by_cid, &h.dcid);
      if (conn == NULL)
        ep->counters.dropped_unknown_connection++;
      else if (!chatd_address_equal (from, &conn->peer))
        ep->counters.dropped_wrong_address++;
      else if (h.type == CHATD_PACKET_RETRY)
        {
          if (!conn->is_client)
            ep->counters.dropped_bad_type++;
          else if (!chatd_crc_check (&ep->crc, data, len))
            ep->counters.dropped_bad_checksum++;
          else
            chatd_conn_handle_retry (conn, now_us, &h);
        }
      else
        chatd_conn_handle_packet (conn, now_us, &h, data, len);
    }
  dispatch (ep);
}

gsize
chatd_endpoint_poll_transmit (ChatdEndpoint *ep, gint64 now_us, guint8 *buf, gsize cap,
                              ChatdAddress *ret_to)
{
  StatelessPacket *sp = g_queue_pop_head (&ep->stateless);
  if (sp)
    {
      gsize len = MIN (sp->len, cap);
      memcpy (buf, sp->data, len);
      *ret_to = sp->to;
      ep->counters.stateless_bytes_sent += len;
      ep->counters.datagrams_sent++;
      ep->counters.bytes_sent += len;
      g_free (sp);
      return len;
    }
  guint n = ep->conns->len;
  if (ep->poll_burst >= POLL_BURST)
    {
      ep->poll_burst = 0;
      ep->poll_cursor++;
    }
  for (guint i = 0; i < n; i++)
    {
      guint idx = (ep->poll_cursor + i) % n;
      ChatdConnection *conn = ep->conns->pdata[idx];
      if (!conn->maybe_ready || conn->state == CONN_CLOSED)
        continue;
      gsize len = chatd_conn_build_packet (conn, now_us, buf, cap);
      if (len == 0)
        {
          conn->maybe_ready = FALSE;
          continue;
        }
      if (idx != ep->poll_cursor)
        ep->poll_burst = 0;
      ep->poll_cursor = idx;
      ep->poll_burst++;
      *ret_to = conn->peer;
      ep->counters.datagrams_sent++;
      ep->counters.bytes_sent += len;
      return len;
    }
  return 0;
}

void
chatd_endpoint_handle_timeout (ChatdEndpoint *ep, gint64 now_us)
{
  guint n = ep->conns->len;
  for (guint i = 0; i < n; i++)
    {
      ChatdConnection *conn = ep->conns->pdata[i];
      if (conn->state != CONN_CLOSED && chatd_conn_deadline (conn) <= now_us)
        chatd_conn_on_timeout (conn, now_us);
    }
  dispatch (ep);
}

gint64
chatd_endpoint_next_deadline (ChatdEndpoint *ep)
{
  gint64 d = G_MAXINT64;
  for (guint i = 0; i < ep->conns->len; i++)
    {
      ChatdConnection *conn = ep->conns->pdata[i];
      if (conn->state != CONN_CLOSED)
        d = MIN (d, chatd_conn_deadline (conn));
    }
  return d;
}

/* ---- message API ---- */

static void
send_one (ChatdEndpoint *ep, gint64 now_us, const ChatdSendRequest *req)
{
  ChatdAddress peer;
  chatd_address_for_family (req->peer, ep->local.u.sa.sa_family, &peer);
  ChatdConnection *conn = chatd_endpoint_lookup (ep, &peer);
  if (ep->freeing)
    {
      chatd_endpoint_emit_send_done (ep, NULL, req->callback, req->user_data,
                                     g_error_new_literal (CHATD_TRANSPORT_ERROR,
                                                          CHATD_TRANSPORT_ERROR_CLOSED_LOCALLY,
                                                          "transport shut down"));
      return;
    }
  if (conn == NULL)
    {
      if (peer.u.sa.sa_family != ep->local.u.sa.sa_family &&
          ep->local.u.sa.sa_family != 0)
        {
          chatd_endpoint_emit_send_done (ep, NULL, req->callback, req->user_data,
                                         g_error_new_literal (CHATD_TRANSPORT_ERROR,
                                                              CHATD_TRANSPORT_ERROR_INVALID,
                                                              "address family does not match the socket"));
          return;
        }
      if (ep->n_alive >= ep->config.max_connections)
        {
          chatd_endpoint_emit_send_done (ep, NULL, req->callback, req->user_data,
                                         g_error_new_literal (CHATD_TRANSPORT_ERROR,
                                                              CHATD_TRANSPORT_ERROR_LIMIT,
                                                              "too many connections"));
          return;
        }
      conn = chatd_conn_new (ep, TRUE, &peer, new_cid (ep), now_us);
      attach (ep, conn);
      ep->counters.connections_initiated++;
    }
  chatd_conn_queue_message (conn, req->payload, req->callback, req->user_data);
}

void
chatd_endpoint_send_many (ChatdEndpoint *ep, gint64 now_us, const ChatdSendRequest *requests,
                          gsize n_requests)
{
  for (gsize i = 0; i < n_requests; i++)
    send_one (ep, now_us, &requests[i]);
  dispatch (ep);
}

void
chatd_endpoint_send (ChatdEndpoint *ep, gint64 now_us, const ChatdAddress *peer, GBytes *payload,
                     ChatdSendCallback callback, gpointer user_data)
{
  ChatdSendRequest req = { peer, payload, callback, user_data };
  chatd_endpoint_send_many (ep, now_us, &req, 1);
}

void
chatd_connection_send (ChatdConnection *conn, gint64 now_us, GBytes *payload,
                       ChatdSendCallback callback, gpointer user_data)
{
  ChatdEndpoint *ep = conn->endpoint;
  if (ep == NULL)
    {
      if (callback)
        {
          g_autoptr(GError) error = g_error_new_literal (CHATD_TRANSPORT_ERROR,
                                                         CHATD_TRANSPORT_ERROR_CLOSED_LOCALLY,
                                                         "the endpoint is gone");
          callback (NULL, conn, error, user_data);
        }
      return;
    }
  chatd_conn_queue_message (conn, payload, callback, user_data);
  dispatch (ep);
}

/* ---- counters ---- */

void
chatd_endpoint_foreach_counter (ChatdEndpoint *ep, ChatdCounterFunc func, gpointer user_data)
{
  ChatdConnCounters sum = ep->retired;
  for (gsize i = 0; i < chatd_endpoint_counter_count; i++)
    func (chatd_endpoint_counter_info[i].name,
          CHATD_COUNTER_AT (&ep->counters, chatd_endpoint_counter_info[i]), user_data);
  func ("connections", ep->n_alive, user_data);
  func ("buffered_bytes", ep->buffered, user_data);
  for (guint c = 0; c < ep->conns->len; c++)
    {
      ChatdConnection *conn = ep->conns->pdata[c];
      for (gsize i = 0; i < chatd_conn_counter_count; i++)
        CHATD_COUNTER_AT (&sum, chatd_conn_counter_info[i]) +=
          CHATD_COUNTER_AT (&conn->counters, chatd_conn_counter_info[i]);
    }
  for (gsize i = 0; i < chatd_conn_counter_count; i++)
    {
      char name[64];
      g_snprintf (name, sizeof name, "conn.%s", chatd_conn_counter_info[i].name);
      func (name, CHATD_COUNTER_AT (&sum, chatd_conn_counter_info[i]), user_data);
    }
}

typedef struct
{
  const char *name;
  guint64 value;
} Lookup;

static void
lookup_cb (const char *name, guint64 value, gpointer user_data)
{
  Lookup *l = user_data;
  if (strcmp (name, l->name) == 0)
    l->value = value;
}

guint64
chatd_endpoint_get_counter (ChatdEndpoint *ep, const char *name)
{
  Lookup l = { name, 0 };
  chatd_endpoint_foreach_counter (ep, lookup_cb, &l);
  return l.value;
}

void
chatd_endpoint_free (ChatdEndpoint *ep)
{
  if (ep == NULL)
    return;
  ep->freeing = TRUE;
  for (guint i = 0; i < ep->conns->len; i++)
    {
      ChatdConnection *conn = ep->conns->pdata[i];
      if (chatd_connection_is_alive (conn))
        chatd_conn_fail (conn, g_error_new_literal (CHATD_TRANSPORT_ERROR,
                                                    CHATD_TRANSPORT_ERROR_CLOSED_LOCALLY,
                                                    "transport shut down"),
                         FALSE);
      else if (conn->state == CONN_CLOSING)
        {
          conn->state = CONN_CLOSED;
          chatd_endpoint_detach (ep, conn);
        }
    }
  ep->dispatching = FALSE;
  dispatch (ep);
  for (guint i = 0; i < ep->conns->len; i++)
    {
      ChatdConnection *conn = ep->conns->pdata[i];
      conn->endpoint = NULL;
      chatd_connection_unref (conn);
    }
  g_ptr_array_unref (ep->conns);
  g_queue_clear_full (&ep->stateless, g_free);
  g_queue_clear_full (&ep->events, (GDestroyNotify) event_free);
  g_hash_table_unref (ep->by_cid);
  g_hash_table_unref (ep->by_peer);
  g_hash_table_unref (ep->by_initial);
  g_hash_table_unref (ep->per_address);
  g_hash_table_unref (ep->per_host);
  chatd_crc_clear (&ep->crc);
  g_free (ep);
}
