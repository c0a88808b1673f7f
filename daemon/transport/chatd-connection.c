/* chatd-connection.c: one connection's state machine (sans-IO).
 *
 * Receives parsed packets, builds packets to send, and keeps the timers of
 * RFC 9002 loss recovery (packet threshold 3, time threshold 9/8 RTT, probe
 * timeout with backoff), RFC 6298 RTT smoothing, NewReno with pacing, flow
 * control, streams (one per message), keepalive and dead-peer detection.
 */
#define G_LOG_DOMAIN "chatd-transport"

#include "chatd-connection-private.h"

#include <string.h>

#define GRANULARITY_US 250 /* timers are timerfd-exact; RFC 9002 suggests 1 ms for coarse clocks */
#define PACKET_THRESHOLD 3
#define MAX_PACKET_THRESHOLD 256
#define TIME_THRESHOLD_8 9
#define MAX_TIME_THRESHOLD_8 16
#define MAX_PTO_US (G_USEC_PER_SEC / 2)
#define MAX_HANDSHAKE_INTERVAL_US (G_USEC_PER_SEC / 2)
#define SMALL_MESSAGE_BYTES (64 * 1024)
#define RECV_PN_MAX_RANGES 64
#define MAX_RETRIES_ACCEPTED 4
#define INITIAL_WINDOW_PACKETS 10
#define MIN_WINDOW_PACKETS 2
#define IDLE_BURST_PACKETS 64 /* see pace_idle_burst () */
#define MAX_CWND (64 * 1024 * 1024)
#define THIN_FLIGHT_PACKETS 8       /* at most this many in flight: an interactive flow */
#define REDUNDANT_MAX_MESSAGE 256   /* messages up to this size are copied */
#define REDUNDANT_BUDGET 256        /* bytes of copied frames per packet */
#define REDUNDANT_WALK 32           /* newest sent packets searched for copies */
#define THIN_LINEAR_PTOS 3          /* probe timeouts not doubled on a thin connection */

/* ---- rings ---- */

static void
ring_init (ChatdRing *ring, gsize elem_size)
{
  ring->items = NULL;
  ring->elem_size = elem_size;
  ring->head = ring->tail = 0;
  ring->cap = 0;
}

static inline gpointer
ring_at (ChatdRing *ring, guint64 pos)
{
  return ring->items + (pos & (ring->cap - 1)) * ring->elem_size;
}

static gpointer
ring_push (ChatdRing *ring)
{
  if (ring->tail - ring->head == ring->cap)
    {
      guint64 new_cap = ring->cap ? ring->cap * 2 : 64;
      guint8 *items = g_malloc (new_cap * ring->elem_size);
      for (guint64 p = ring->head; p < ring->tail; p++)
        memcpy (items + (p & (new_cap - 1)) * ring->elem_size, ring_at (ring, p), ring->elem_size);
      g_free (ring->items);
      ring->items = items;
      ring->cap = new_cap;
    }
  return ring_at (ring, ring->tail++);
}

/* ---- helpers ---- */

static gsize
mss (ChatdConnection *conn)
{
  return chatd_endpoint_get_config (conn->endpoint)->max_datagram;
}

static const ChatdEndpointConfig *
config (ChatdConnection *conn)
{
  return chatd_endpoint_get_config (conn->endpoint);
}

static guint64
stream_seq (guint64 id)
{
  return id >> 1;
}

static gboolean
stream_is_local (ChatdConnection *conn, guint64 id)
{
  return (id & 1) == (conn->is_client ? 0 : 1);
}

static void
send_stream_free (ChatdSendStream *s)
{
  g_bytes_unref (s->payload);
  chatd_range_set_clear (&s->acked);
  chatd_range_set_clear (&s->lost);
  g_free (s);
}

static void
recv_stream_free (ChatdRecvStream *s)
{
  g_free (s->buf);
  chatd_range_set_clear (&s->received);
  g_free (s);
}

ChatdConnection *
chatd_conn_new (ChatdEndpoint *endpoint, gboolean is_client, const ChatdAddress *peer,
                guint64 local_cid, gint64 now_us)
{
  const ChatdEndpointConfig *cfg = chatd_endpoint_get_config (endpoint);
  ChatdConnection *conn = g_new0 (ChatdConnection, 1);

  conn->ref_count = 1;
  conn->endpoint = endpoint;
  conn->is_client = is_client;
  conn->state = is_client ? CONN_HANDSHAKE : CONN_ESTABLISHED;
  conn->peer = *peer;
  conn->local_cid = local_cid;
  conn->created_us = now_us;
  conn->local_params.max_data = cfg->conn_receive_window;
  conn->local_params.max_stream_data = cfg->stream_receive_window;
  conn->local_params.max_streams = cfg->max_incoming_streams;
  conn->recv_max_data = cfg->conn_receive_window;
  conn->recv_max_streams = cfg->max_incoming_streams;
  conn->handshake_send_due = is_client;
  conn->handshake_next_us = now_us + 2 * cfg->initial_rtt_us;
  conn->handshake_attempts = 1;
  conn->ack_deadline = G_MAXINT64;
  ring_init (&conn->sent, sizeof (ChatdSentPacket));
  ring_init (&conn->frames, sizeof (ChatdSentFrame));
  conn->smoothed_rtt = cfg->initial_rtt_us;
  conn->rttvar = cfg->initial_rtt_us / 2;
  conn->cwnd = INITIAL_WINDOW_PACKETS * cfg->max_datagram;
  conn->ssthresh = G_MAXUINT64;
  conn->packet_threshold = PACKET_THRESHOLD;
  conn->time_threshold_8 = TIME_THRESHOLD_8;
  memset (conn->recent_lost, 0xff, sizeof conn->recent_lost);
  conn->recovery_start = G_MININT64;
  conn->last_activity = now_us;
  conn->last_progress = now_us;
  conn->send_streams = g_hash_table_new_full (g_int64_hash, g_int64_equal, NULL,
                                              (GDestroyNotify) send_stream_free);
  conn->recv_streams = g_hash_table_new_full (g_int64_hash, g_int64_equal, NULL,
                                              (GDestroyNotify) recv_stream_free);
  g_queue_init (&conn->new_small);
  g_queue_init (&conn->new_large);
  g_queue_init (&conn->retx);
  conn->max_stream_data_pending = g_array_new (FALSE, FALSE, sizeof (guint64));
  conn->resets_pending = g_array_new (FALSE, FALSE, sizeof (ChatdSentFrame));
  conn->maybe_ready = TRUE;
  return conn;
}

ChatdConnection *
chatd_connection_ref (ChatdConnection *conn)
{
  g_atomic_int_inc (&conn->ref_count);
  return conn;
}

void
chatd_connection_unref (ChatdConnection *conn)
{
  if (!g_atomic_int_dec_and_test (&conn->ref_count))
    return;
  if (conn->user_destroy)
    conn->user_destroy (conn->user_data);
  if (conn->have_protector && conn->protector.free_func)
    conn->protector.free_func (conn->protector.user_data);
  if (conn->have_prev_protector && conn->prev_protector.free_func)
    conn->prev_protector.free_func (conn->prev_protector.user_data);
  if (conn->have_next_protector && conn->next_protector.free_func)
    conn->next_protector.free_func (conn->next_protector.user_data);
  g_hash_table_unref (conn->send_streams);
  g_hash_table_unref (conn->recv_streams);
  g_array_unref (conn->max_stream_data_pending);
  g_array_unref (conn->resets_pending);
  chatd_range_set_clear (&conn->recv_pns);
  chatd_range_set_clear (&conn->incoming_done);
  g_free (conn->sent.items);
  g_free (conn->frames.items);
  g_free (conn->close_reason);
  g_free (conn);
}

/* ---- public accessors ---- */

const ChatdAddress *
chatd_connection_get_peer (ChatdConnection *conn)
{
  return &conn->peer;
}

guint64
chatd_connection_get_id (ChatdConnection *conn)
{
  return conn->local_cid;
}

gboolean
chatd_connection_is_client (ChatdConnection *conn)
{
  return conn->is_client;
}

gboolean
chatd_connection_is_alive (ChatdConnection *conn)
{
  return conn->state == CONN_HANDSHAKE || conn->state == CONN_ESTABLISHED;
}

gboolean
chatd_connection_is_established (ChatdConnection *conn)
{
  return conn->state == CONN_ESTABLISHED;
}

void
chatd_connection_set_user_data (ChatdConnection *conn, gpointer user_data, GDestroyNotify destroy)
{
  if (conn->user_destroy)
    conn->user_destroy (conn->user_data);
  conn->user_data = user_data;
  conn->user_destroy = destroy;
}

gpointer
chatd_connection_get_user_data (ChatdConnection *conn)
{
  return conn->user_data;
}

gboolean
chatd_connection_is_protected (ChatdConnection *conn)
{
  return conn->send_protected && conn->recv_protected;
}

static void
check_protected (ChatdConnection *conn)
{
  if (!conn->protected_reported && chatd_connection_is_protected (conn) && conn->endpoint)
    {
      conn->protected_reported = TRUE;
      chatd_endpoint_emit_event (conn->endpoint, conn, CHATD_CONNECTION_EVENT_PROTECTED, NULL);
    }
}

/* keys a live connection can take: a tag of 8 to 32 bytes, both functions */
static gboolean
protector_usable (ChatdConnection *conn, const ChatdPacketProtector *protector, GError **error)
{
  if (protector->tag_len < 8 || protector->tag_len > 32 || !protector->seal || !protector->open)
    {
      g_set_error_literal (error, CHATD_TRANSPORT_ERROR, CHATD_TRANSPORT_ERROR_INVALID,
                           "invalid packet protector");
      return FALSE;
    }
  if (!chatd_connection_is_alive (conn))
    {
      g_set_error_literal (error, CHATD_TRANSPORT_ERROR, CHATD_TRANSPORT_ERROR_CLOSED_LOCALLY,
                           "connection is closed");
      return FALSE;
    }
  return TRUE;
}

gboolean
chatd_connection_install_protector (ChatdConnection *conn, const ChatdPacketProtector *protector,
                                    GError **error)
{
  if (conn->have_protector)
    {
      g_set_error_literal (error, CHATD_TRANSPORT_ERROR, CHATD_TRANSPORT_ERROR_INVALID,
                           "a packet protector is already installed");
      return FALSE;
    }
  if (!protector_usable (conn, protector, error))
    return FALSE;
  conn->protector = *protector;
  conn->have_protector = TRUE;
  conn->current_first_pn = G_MAXUINT64;
  conn->ready_pending = TRUE;
  if (conn->peer_ready)
    conn->send_protected = TRUE;
  conn->maybe_ready = TRUE;
  return TRUE;
}

/* ---- key update ---- */

static gint64 pto_interval (ChatdConnection *conn);

static void
protector_wipe (ChatdPacketProtector *protector, gboolean *have)
{
  if (*have && protector->free_func)
    protector->free_func (protector->user_data);
  memset (protector, 0, sizeof *protector);
  *have = FALSE;
}

static void
wipe_prev_keys (ChatdConnection *conn)
{
  if (!conn->have_prev_protector)
    return;
  protector_wipe (&conn->prev_protector, &conn->have_prev_protector);
  conn->counters.old_keys_wiped++;
}

/* next becomes current: the previous current keys open late packets of the
 * old phase for a grace period */
static void
switch_to_next_keys (ChatdConnection *conn, gint64 now_us, guint64 first_pn)
{
  wipe_prev_keys (conn);
  conn->prev_protector = conn->protector;
  conn->have_prev_protector = TRUE;
  conn->prev_discard_at = now_us + MAX (3 * pto_interval (conn), CHATD_KEY_UPDATE_GRACE_MIN_US);
  conn->protector = conn->next_protector;
  memset (&conn->next_protector, 0, sizeof conn->next_protector);
  conn->have_next_protector = FALSE;
  conn->key_phase ^= 1;
  conn->current_first_pn = first_pn;
  conn->counters.key_updates++;
  conn->maybe_ready = TRUE;
}

gboolean
chatd_connection_update_protector (ChatdConnection *conn, gint64 now_us, const ChatdPacketProtector *next,
                                   gboolean peer_has_keys, GError **error)
{
  if (!protector_usable (conn, next, error))
    return FALSE;
  if (!conn->have_protector || (peer_has_keys && !chatd_connection_is_protected (conn)))
    {
      g_set_error_literal (error, CHATD_TRANSPORT_ERROR, CHATD_TRANSPORT_ERROR_INVALID,
                           "the connection is not protected yet: no key update");
      return FALSE;
    }
  protector_wipe (&conn->next_protector, &conn->have_next_protector);
  conn->next_protector = *next;
  conn->have_next_protector = TRUE;
  if (peer_has_keys)
    switch_to_next_keys (conn, now_us, G_MAXUINT64);
  return TRUE;
}

guint
chatd_connection_get_key_phase (ChatdConnection *conn)
{
  return conn->key_phase;
}

/* The keys for a protected packet (RFC 9001 sections 6.3 and 6.5): its phase
 * is the current one, or the other: the previous keys for packets older
 * than the first of the current phase, else the next keys; NULL if there
 * are none (never a fall-back to older keys after their grace period). */
static ChatdPacketProtector *
keys_for_packet (ChatdConnection *conn, const ChatdPacketHeader *h)
{
  if (h->key_phase == conn->key_phase)
    return &conn->protector;
  if (conn->have_prev_protector && h->pn < conn->current_first_pn)
    return &conn->prev_protector;
  if (conn->have_next_protector)
    return &conn->next_protector;
  return NULL;
}

void
chatd_connection_foreach_counter (ChatdConnection *conn, ChatdCounterFunc func, gpointer user_data)
{
  for (gsize i = 0; i < chatd_conn_counter_count; i++)
    func (chatd_conn_counter_info[i].name,
          CHATD_COUNTER_AT (&conn->counters, chatd_conn_counter_info[i]), user_data);
  func ("rtt_us", (guint64) conn->smoothed_rtt, user_data);
  func ("rttvar_us", (guint64) conn->rttvar, user_data);
  func ("cwnd_bytes", conn->cwnd, user_data);
  func ("bytes_in_flight", conn->bytes_in_flight, user_data);
  func ("send_queue_bytes", conn->send_queue_bytes, user_data);
}

typedef struct
{
  const char *name;
  guint64 value;
  gboolean found;
} CounterLookup;

static void
counter_lookup_cb (const char *name, guint64 value, gpointer user_data)
{
  CounterLookup *l = user_data;
  if (!l->found && strcmp (name, l->name) == 0)
    {
      l->value = value;
      l->found = TRUE;
    }
}

guint64
chatd_connection_get_counter (ChatdConnection *conn, const char *name)
{
  CounterLookup l = { name, 0, FALSE };
  chatd_connection_foreach_counter (conn, counter_lookup_cb, &l);
  return l.value;
}

static void recv_consumed_add (ChatdConnection *conn, guint64 n);

/* ---- failure and close ---- */

static void
fail_all_streams (ChatdConnection *conn, const GError *error)
{
  GHashTableIter iter;
  gpointer value;
  g_queue_init (&conn->new_small);
  g_queue_init (&conn->new_large);
  g_queue_init (&conn->retx);
  /* Report in stream order (the order the messages were queued). */
  g_hash_table_iter_init (&iter, conn->send_streams);
  g_autoptr(GPtrArray) ordered = g_ptr_array_new ();
  while (g_hash_table_iter_next (&iter, NULL, &value))
    g_ptr_array_add (ordered, value);
  for (guint i = 1; i < ordered->len; i++)
    {
      ChatdSendStream *s = ordered->pdata[i];
      guint j = i;
      while (j > 0 && ((ChatdSendStream *) ordered->pdata[j - 1])->id > s->id)
        {
          ordered->pdata[j] = ordered->pdata[j - 1];
          j--;
        }
      ordered->pdata[j] = s;
    }
  for (guint i = 0; i < ordered->len; i++)
    {
      ChatdSendStream *s = ordered->pdata[i];
      conn->counters.messages_failed++;
      if (conn->endpoint)
        chatd_endpoint_emit_send_done (conn->endpoint, conn, s->callback, s->user_data,
                                       g_error_copy (error));
    }
  g_hash_table_remove_all (conn->send_streams);
  g_hash_table_remove_all (conn->recv_streams);
  conn->send_queue_bytes = 0;
  if (conn->endpoint)
    recv_consumed_add (conn, conn->recv_data_total - conn->recv_consumed);
}

void
chatd_conn_fail (ChatdConnection *conn, GError *error, gboolean send_close)
{
  if (conn->state == CONN_CLOSED || conn->state == CONN_CLOSING)
    {
      g_error_free (error);
      return;
    }
  if (conn->endpoint)
    g_debug ("connection %016" G_GINT64_MODIFIER "x closed: %s", conn->local_cid, error->message);
  fail_all_streams (conn, error);
  if (send_close && conn->state == CONN_ESTABLISHED && conn->endpoint)
    {
      conn->state = CONN_CLOSING;
      conn->close_sends_left = 2;
      conn->maybe_ready = TRUE;
      chatd_endpoint_emit_event (conn->endpoint, conn, CHATD_CONNECTION_EVENT_CLOSED, error);
      return;
    }
  conn->state = CONN_CLOSED;
  if (conn->endpoint)
    {
      chatd_endpoint_emit_event (conn->endpoint, conn, CHATD_CONNECTION_EVENT_CLOSED, error);
      chatd_endpoint_detach (conn->endpoint, conn);
    }
  else
    g_error_free (error);
}

void
chatd_connection_close (ChatdConnection *conn, gint64 now_us, guint64 code, const char *reason)
{
  if (!chatd_connection_is_alive (conn))
    return;
  g_free (conn->close_reason);
  conn->close_reason = g_strdup (reason);
  conn->close_code = code;
  chatd_conn_fail (conn, g_error_new (CHATD_TRANSPORT_ERROR, CHATD_TRANSPORT_ERROR_CLOSED_LOCALLY,
                                      "connection closed locally: %s", reason ? reason : ""),
                   TRUE);
  if (conn->endpoint)
    chatd_endpoint_dispatch (conn->endpoint);
}

/* ---- RTT, congestion control, pacing ---- */

static void
update_rtt (ChatdConnection *conn, gint64 latest, gint64 ack_delay)
{
  const ChatdEndpointConfig *cfg = config (conn);
  if (latest < 1)
    latest = 1;
  conn->latest_rtt = latest;
  if (!conn->have_rtt)
    {
      conn->have_rtt = TRUE;
      conn->min_rtt = latest;
      conn->smoothed_rtt = latest;
      conn->rttvar = latest / 2;
      return;
    }
  conn->min_rtt = MIN (conn->min_rtt, latest);
  ack_delay = MIN (ack_delay, cfg->max_ack_delay_us);
  gint64 adjusted = latest;
  if (latest >= conn->min_rtt + ack_delay)
    adjusted = latest - ack_delay;
  gint64 diff = conn->smoothed_rtt > adjusted ? conn->smoothed_rtt - adjusted
                                               : adjusted - conn->smoothed_rtt;
  conn->rttvar = (3 * conn->rttvar + diff) / 4;
  conn->smoothed_rtt = (7 * conn->smoothed_rtt + adjusted) / 8;
}

static gboolean connection_is_thin (ChatdConnection *conn);

/* RFC 9002's probe timeout, doubled per consecutive timeout; on a thin
 * (interactive) connection the first THIN_LINEAR_PTOS timeouts are not
 * doubled (as Linux's thin-stream linear timeouts): each of them sends two
 * probes that carry all the small data in flight, so a tail loss whose
 * probes are lost too is retried after one more PTO, not after 2, 4, 8. */
static gint64
pto_interval (ChatdConnection *conn)
{
  gint64 base = conn->smoothed_rtt + MAX (4 * conn->rttvar, GRANULARITY_US) +
                config (conn)->max_ack_delay_us;
  guint shift = conn->pto_count;
  if (connection_is_thin (conn))
    shift = shift >= THIN_LINEAR_PTOS ? shift - (THIN_LINEAR_PTOS - 1) : 0;
  gint64 pto = base << MIN (shift, 16u);
  return MIN (pto, MAX_PTO_US);
}

static void
congestion_on_acked (ChatdConnection *conn, const ChatdSentPacket *p)
{
  if (p->time_sent <= conn->recovery_start)
    return;
  if (conn->cwnd < conn->ssthresh)
    conn->cwnd += p->size;
  else
    {
      conn->cwnd_acc += p->size;
      if (conn->cwnd_acc >= conn->cwnd)
        {
          conn->cwnd_acc -= conn->cwnd;
          conn->cwnd += mss (conn);
        }
    }
  if (conn->cwnd > MAX_CWND)
    conn->cwnd = MAX_CWND;
}

/* Returns TRUE if this loss starts a new congestion episode. */
static gboolean
congestion_event (ChatdConnection *conn, gint64 now_us, gint64 sent_time)
{
  if (sent_time <= conn->recovery_start)
    return FALSE;
  conn->episode++;
  conn->episode_lost = 0;
  conn->episode_spurious = 0;
  conn->prior_cwnd = conn->cwnd;
  conn->prior_ssthresh = conn->ssthresh;
  conn->undo_possible = TRUE;
  conn->recovery_start = now_us;
  conn->ssthresh = MAX (conn->cwnd / 2, MIN_WINDOW_PACKETS * mss (conn));
  conn->cwnd = conn->ssthresh;
  conn->cwnd_acc = 0;
  return TRUE;
}

static double
pace_rate (ChatdConnection *conn)
{
  /* bytes per microsecond: 1.25 * cwnd / srtt */
  return 1.25 * (double) conn->cwnd / (double) MAX (conn->smoothed_rtt, 1);
}

static double
pace_burst (ChatdConnection *conn)
{
  return MAX ((double) (16 * mss (conn)), (double) conn->cwnd / 4);
}

/* A connection with nothing in flight (an interactive one between two
 * messages) may send up to this much at once, within the congestion
 * window: a whole message of up to 64 KiB (47 packets) leaves in one burst
 * instead of max(16 packets, cwnd/4) now and the rest paced over part of a
 * round trip, which made a 64 KiB echo up to 1.8 round trips long while the
 * window was below 188 packets (test-burst). */
static double
pace_idle_burst (ChatdConnection *conn)
{
  return (double) MIN (conn->cwnd, (guint64) IDLE_BURST_PACKETS * mss (conn));
}

static gboolean
pacing_allows (ChatdConnection *conn, gint64 now_us)
{
  if (!conn->have_rtt)
    return TRUE;
  if (now_us > conn->pace_last)
    {
      /* refills stop at the burst size; an idle grant above it is kept */
      double cap = pace_burst (conn);
      if (conn->pace_tokens < cap)
        conn->pace_tokens = MIN (conn->pace_tokens + (double) (now_us - conn->pace_last) * pace_rate (conn),
                                 cap);
      else
        conn->pace_tokens = MIN (conn->pace_tokens, MAX (cap, pace_idle_burst (conn)));
      conn->pace_last = now_us;
    }
  if (conn->bytes_in_flight == 0 && conn->pace_tokens < pace_idle_burst (conn))
    conn->pace_tokens = pace_idle_burst (conn);
  if (conn->pace_tokens >= (double) mss (conn))
    return TRUE;
  conn->pace_ready_at = now_us + (gint64) (((double) mss (conn) - conn->pace_tokens) /
                                           pace_rate (conn)) + 1;
  return FALSE;
}

/* ---- stream bookkeeping on ACK and loss ---- */

static void
send_stream_complete (ChatdConnection *conn, ChatdSendStream *s)
{
  if (s->in_new)
    g_queue_unlink (s->is_large ? &conn->new_large : &conn->new_small, &s->new_link);
  if (s->in_retx)
    g_queue_unlink (&conn->retx, &s->retx_link);
  conn->send_queue_bytes -= s->len;
  conn->counters.messages_sent++;
  chatd_endpoint_emit_send_done (conn->endpoint, conn, s->callback, s->user_data, NULL);
  g_hash_table_remove (conn->send_streams, &s->id);
}

static void
stream_frame_acked (ChatdConnection *conn, const ChatdSentFrame *f)
{
  ChatdSendStream *s = g_hash_table_lookup (conn->send_streams, &f->id);
  if (s == NULL)
    return;
  if (f->len)
    {
      chatd_range_set_add (&s->acked, f->offset, f->offset + f->len);
      chatd_range_set_remove (&s->lost, f->offset, f->offset + f->len);
    }
  if (f->fin)
    {
      s->fin_acked = TRUE;
      s->fin_lost = FALSE;
    }
  if (s->fin_acked && chatd_range_set_covers (&s->acked, 0, s->len))
    send_stream_complete (conn, s);
  else if (s->in_retx && chatd_range_set_is_empty (&s->lost) && !s->fin_lost)
    {
      g_queue_unlink (&conn->retx, &s->retx_link);
      s->in_retx = FALSE;
    }
}

static void
stream_frame_lost (ChatdConnection *conn, const ChatdSentFrame *f)
{
  ChatdSendStream *s = g_hash_table_lookup (conn->send_streams, &f->id);
  if (s == NULL)
    return;
  if (f->len)
    {
      guint64 start = f->offset, end = f->offset + f->len;
      chatd_range_set_add (&s->lost, start, end);
      /* never retransmit what was acknowledged meanwhile */
      for (guint i = 0; i < s->acked.len; i++)
        {
          ChatdRange r = s->acked.items[i];
          if (r.start >= end)
            break;
          if (r.end > start)
            chatd_range_set_remove (&s->lost, MAX (r.start, start), MIN (r.end, end));
        }
    }
  if (f->fin && !s->fin_acked)
    s->fin_lost = TRUE;
  if (!s->in_retx && (!chatd_range_set_is_empty (&s->lost) || s->fin_lost))
    {
      s->retx_link.data = s;
      g_queue_push_tail_link (&conn->retx, &s->retx_link);
      s->in_retx = TRUE;
    }
}

static void
frames_requeue (ChatdConnection *conn, const ChatdSentPacket *p)
{
  for (guint i = 0; i < p->n_frames; i++)
    {
      const ChatdSentFrame *f = ring_at (&conn->frames, p->first_frame + i);
      switch (f->kind)
        {
        case CHATD_FRAME_STREAM:
          stream_frame_lost (conn, f);
          break;
        case CHATD_FRAME_ACCEPT:
          if (!conn->accept_acked)
            conn->accept_pending = TRUE;
          break;
        case CHATD_FRAME_MAX_DATA:
          conn->max_data_pending = TRUE;
          break;
        case CHATD_FRAME_MAX_STREAMS:
          conn->max_streams_pending = TRUE;
          break;
        case CHATD_FRAME_MAX_STREAM_DATA:
          if (g_hash_table_contains (conn->recv_streams, &f->id))
            g_array_append_val (conn->max_stream_data_pending, f->id);
          break;
        case CHATD_FRAME_RESET_STREAM:
          g_array_append_val (conn->resets_pending, *f);
          break;
        case CHATD_FRAME_PROTECT_READY:
          conn->ready_pending = TRUE;
          break;
        default:
          break;
        }
    }
}

static void
frames_acked (ChatdConnection *conn, const ChatdSentPacket *p)
{
  for (guint i = 0; i < p->n_frames && conn->state != CONN_CLOSED; i++)
    {
      const ChatdSentFrame *f = ring_at (&conn->frames, p->first_frame + i);
      if (f->kind == CHATD_FRAME_STREAM)
        stream_frame_acked (conn, f);
      else if (f->kind == CHATD_FRAME_ACCEPT)
        {
          conn->accept_acked = TRUE;
          conn->accept_pending = FALSE;
        }
      else if (f->kind == CHATD_FRAME_ACK && f->offset == conn->ack_floor_epoch &&
               (!conn->ack_floor_known || f->id > conn->ack_floor))
        {
          conn->ack_floor = f->id;
          conn->ack_floor_known = TRUE;
        }
    }
}

static void
ring_trim (ChatdConnection *conn)
{
  while (conn->sent.head < conn->sent.tail)
    {
      ChatdSentPacket *p = ring_at (&conn->sent, conn->sent.head);
      if (p->state == SENT_OUTSTANDING)
        break;
      conn->sent.head++;
      conn->frames.head = p->first_frame + p->n_frames;
    }
  if (conn->sent.head == conn->sent.tail)
    conn->frames.head = conn->frames.tail;
}

static void
packet_leaves_flight (ChatdConnection *conn, ChatdSentPacket *p)
{
  if (p->flags & SENT_FLAG_ACK_ELICITING)
    {
      conn->bytes_in_flight -= MIN (conn->bytes_in_flight, p->size);
      if (conn->ack_eliciting_in_flight > 0)
        conn->ack_eliciting_in_flight--;
    }
}

static void
detect_lost (ChatdConnection *conn, gint64 now_us)
{
  conn->loss_time = 0;
  if (!conn->any_acked)
    return;
  gint64 delay = MAX (conn->latest_rtt, conn->smoothed_rtt) * conn->time_threshold_8 / 8;
  delay = MAX (delay, GRANULARITY_US);
  gint64 lost_before = now_us - delay;
  gint64 largest_lost_time = G_MININT64;
  gboolean any_lost = FALSE;
  guint n_lost = 0;
  guint64 end = MIN (conn->largest_acked, conn->sent.tail - 1);

  for (guint64 pn = conn->sent.head; pn <= end && pn < conn->sent.tail; pn++)
    {
      ChatdSentPacket *p = ring_at (&conn->sent, pn);
      if (p->state != SENT_OUTSTANDING)
        continue;
      if (p->time_sent <= lost_before || conn->largest_acked >= pn + conn->packet_threshold)
        {
          p->state = SENT_LOST;
          conn->recent_lost[conn->recent_lost_pos % G_N_ELEMENTS (conn->recent_lost)] = pn;
          conn->recent_lost_pos++;
          n_lost++;
          packet_leaves_flight (conn, p);
          conn->counters.packets_lost++;
          frames_requeue (conn, p);
          largest_lost_time = MAX (largest_lost_time, p->time_sent);
          any_lost = TRUE;
        }
      else
        {
          gint64 t = p->time_sent + delay;
          if (conn->loss_time == 0 || t < conn->loss_time)
            conn->loss_time = t;
        }
    }
  if (any_lost)
    {
      congestion_event (conn, now_us, largest_lost_time);
      /* these losses belong to the current episode */
      conn->episode_lost += n_lost;
      for (guint i = 0; i < MIN (n_lost, G_N_ELEMENTS (conn->recent_lost)); i++)
        conn->recent_lost_episode[(conn->recent_lost_pos - 1 - i) % G_N_ELEMENTS (conn->recent_lost)] =
          conn->episode;
      conn->maybe_ready = TRUE;
    }
  ring_trim (conn);
}

static void
on_pto (ChatdConnection *conn, gint64 now_us)
{
  conn->pto_count++;
  conn->counters.probe_timeouts++;
  conn->probes_pending = 2;
  /* Re-send what the oldest outstanding packet carried. */
  for (guint64 pn = conn->sent.head; pn < conn->sent.tail; pn++)
    {
      ChatdSentPacket *p = ring_at (&conn->sent, pn);
      if (p->state == SENT_OUTSTANDING && (p->flags & SENT_FLAG_ACK_ELICITING))
        {
          frames_requeue (conn, p);
          break;
        }
    }
  conn->maybe_ready = TRUE;
}

/* A packet declared lost was acknowledged after all: it was reordered, not
 * lost.  Tolerate more reordering from now on (as RACK does). */
static void
note_spurious (ChatdConnection *conn, guint64 lo, guint64 hi)
{
  for (guint i = 0; i < G_N_ELEMENTS (conn->recent_lost); i++)
    {
      guint64 pn = conn->recent_lost[i];
      if (pn == G_MAXUINT64 || pn < lo || pn > hi)
        continue;
      conn->recent_lost[i] = G_MAXUINT64;
      conn->counters.spurious_losses++;
      conn->packet_threshold = MIN (conn->packet_threshold * 2, MAX_PACKET_THRESHOLD);
      conn->time_threshold_8 = MIN (conn->time_threshold_8 + 1, MAX_TIME_THRESHOLD_8);
      if (conn->recent_lost_episode[i] == conn->episode && conn->undo_possible &&
          ++conn->episode_spurious >= conn->episode_lost)
        {
          /* every loss of this episode was reordering: undo the reduction */
          conn->cwnd = MAX (conn->cwnd, conn->prior_cwnd);
          conn->ssthresh = MAX (conn->ssthresh, conn->prior_ssthresh);
          conn->recovery_start = G_MININT64;
          conn->undo_possible = FALSE;
        }
    }
}

static void
process_ack (ChatdConnection *conn, gint64 now_us, const ChatdFrame *f)
{
  ChatdAckIter it;
  guint64 lo, hi;
  gboolean newly_acked = FALSE, ack_eliciting_acked = FALSE;
  gint64 largest_sent_time = -1;

  guint64 largest = f->u.ack.largest;
  if (largest >= conn->next_pn)
    {
      /* acknowledges packets never sent: ignore that part (a forged packet
       * on the peer's side must not blind our recovery) */
      conn->counters.protocol_violations++;
      if (conn->next_pn == 0)
        return;
      largest = conn->next_pn - 1;
    }
  chatd_ack_iter_init (&it, f);
  while (chatd_ack_iter_next (&it, &lo, &hi))
    {
      if (lo > largest)
        continue;
      hi = MIN (hi, largest);
      if (hi < conn->sent.head)
        break;
      note_spurious (conn, lo, hi);
      lo = MAX (lo, conn->sent.head);
      for (guint64 pn = hi + 1; pn-- > lo;)
        {
          ChatdSentPacket *p = ring_at (&conn->sent, pn);
          if (p->state != SENT_OUTSTANDING)
            continue;
          p->state = SENT_ACKED;
          newly_acked = TRUE;
          if (pn == f->u.ack.largest)
            largest_sent_time = p->time_sent;
          if (p->flags & SENT_FLAG_ACK_ELICITING)
            {
              ack_eliciting_acked = TRUE;
              packet_leaves_flight (conn, p);
              congestion_on_acked (conn, p);
            }
          frames_acked (conn, p);
          if (conn->state == CONN_CLOSED)
            return;
        }
    }
  if (!conn->any_acked || largest > conn->largest_acked)
    {
      conn->largest_acked = largest;
      conn->any_acked = TRUE;
    }
  if (largest_sent_time >= 0 && ack_eliciting_acked)
    update_rtt (conn, now_us - largest_sent_time, (gint64) MIN (f->u.ack.delay_us, G_MAXINT32));
  if (newly_acked)
    {
      conn->last_progress = now_us;
      conn->pto_count = 0;
      conn->maybe_ready = TRUE;
    }
  detect_lost (conn, now_us);
}

/* ---- receiving stream data ---- */

/* Bytes of unfinished incoming messages, per connection and (for the
 * endpoint-wide budget) per endpoint. */
static void
recv_total_add (ChatdConnection *conn, guint64 n)
{
  conn->recv_data_total += n;
  chatd_endpoint_buffered_change (conn->endpoint, (gint64) n);
}

static void
recv_consumed_add (ChatdConnection *conn, guint64 n)
{
  conn->recv_consumed += n;
  chatd_endpoint_buffered_change (conn->endpoint, -(gint64) n);
}

/* How much a packet would add to the bytes buffered for incoming messages
 * (a frame far beyond a stream's data reserves the gap). */
static guint64
packet_buffer_growth (ChatdConnection *conn, const guint8 *payload, gsize len)
{
  ChatdReader r;
  ChatdFrame f;
  guint64 growth = 0;
  chatd_reader_init (&r, payload, len);
  while (chatd_reader_remaining (&r) > 0 && chatd_frame_parse (&r, &f))
    {
      if (f.type != CHATD_FRAME_STREAM || stream_is_local (conn, f.u.stream.id) ||
          chatd_range_set_contains (&conn->incoming_done, stream_seq (f.u.stream.id)))
        continue;
      ChatdRecvStream *s = g_hash_table_lookup (conn->recv_streams, &f.u.stream.id);
      guint64 end = f.u.stream.offset + f.u.stream.len;
      guint64 highest = s ? s->highest : 0;
      if (end > highest)
        growth += end - highest;
    }
  return growth;
}

static void
maybe_update_conn_credit (ChatdConnection *conn)
{
  guint64 window = conn->local_params.max_data;
  guint64 target = conn->recv_consumed + window;
  if (target >= conn->recv_max_data + window / 4)
    {
      conn->recv_max_data = target;
      conn->max_data_pending = TRUE;
      conn->maybe_ready = TRUE;
    }
}

static void
incoming_stream_done (ChatdConnection *conn, guint64 id, guint64 final_size)
{
  guint64 seq = stream_seq (id);
  guint64 window = conn->local_params.max_streams;
  chatd_range_set_add (&conn->incoming_done, seq, seq + 1);
  /* keep the set small: everything below the first gap is done */
  conn->incoming_done_count++;
  recv_consumed_add (conn, final_size);
  maybe_update_conn_credit (conn);
  if (conn->incoming_done_count + window >= conn->recv_max_streams + MAX (window / 4, 1))
    {
      conn->recv_max_streams = conn->incoming_done_count + window;
      conn->max_streams_pending = TRUE;
      conn->maybe_ready = TRUE;
    }
}

static void
deliver (ChatdConnection *conn, GBytes *message)
{
  conn->counters.messages_received++;
  chatd_endpoint_emit_message (conn->endpoint, conn, message);
}

static gboolean
recv_reserve (ChatdRecvStream *s, guint64 end)
{
  if (end <= s->cap)
    return TRUE;
  gsize cap = s->cap ? s->cap : 4096;
  while (cap < end)
    cap *= 2;
  if (s->fin_known)
    cap = MAX (end, MIN (cap, s->final_size));
  guint8 *buf = g_try_realloc (s->buf, cap);
  if (buf == NULL)
    return FALSE;
  s->buf = buf;
  s->cap = cap;
  return TRUE;
}

#define RESET_CODE_TOO_LARGE 1

/* Refuses an incoming message (too large): RESET_STREAM tells the sender,
 * whose completion then fails; the stream counts as finished here. */
static void
refuse_stream (ChatdConnection *conn, guint64 id, ChatdRecvStream *s)
{
  guint64 highest = s ? s->highest : 0;
  ChatdSentFrame r = { .id = id, .offset = highest, .len = RESET_CODE_TOO_LARGE,
                       .kind = CHATD_FRAME_RESET_STREAM };
  conn->counters.messages_refused++;
  g_array_append_val (conn->resets_pending, r);
  if (s)
    g_hash_table_remove (conn->recv_streams, &id);
  incoming_stream_done (conn, id, highest);
  conn->maybe_ready = TRUE;
}

static void
recv_stream_frame (ChatdConnection *conn, const ChatdFrame *f)
{
  const ChatdEndpointConfig *cfg = config (conn);
  guint64 id = f->u.stream.id;
  guint64 offset = f->u.stream.offset;
  guint64 end = offset + f->u.stream.len;
  guint64 seq = stream_seq (id);

  if (stream_is_local (conn, id) || seq >= conn->recv_max_streams)
    {
      conn->counters.protocol_violations++;
      return;
    }
  if (chatd_range_set_contains (&conn->incoming_done, seq))
    return; /* a late copy of a delivered message */
  ChatdRecvStream *s = g_hash_table_lookup (conn->recv_streams, &id);
  if (end > cfg->max_message_bytes)
    {
      refuse_stream (conn, id, s);
      return;
    }
  if (s == NULL)
    {
      if (end > conn->local_params.max_stream_data)
        {
          conn->counters.protocol_violations++;
          return;
        }
      if (conn->recv_data_total + end > conn->recv_max_data)
        {
          conn->counters.protocol_violations++;
          return;
        }
      if (offset == 0 && f->u.stream.fin)
        {
          /* the whole message in one frame: deliver at once */
          recv_total_add (conn, end);
          g_autoptr(GBytes) message = g_bytes_new (f->u.stream.data, f->u.stream.len);
          incoming_stream_done (conn, id, end);
          deliver (conn, message);
          return;
        }
      s = g_new0 (ChatdRecvStream, 1);
      s->id = id;
      s->max_data_advertised = conn->local_params.max_stream_data;
      g_hash_table_insert (conn->recv_streams, &s->id, s);
    }
  if (end > s->max_data_advertised || (s->fin_known && end > s->final_size) ||
      (f->u.stream.fin && ((s->fin_known && end != s->final_size) || end < s->highest)))
    {
      conn->counters.protocol_violations++;
      return;
    }
  if (end > s->highest)
    {
      if (conn->recv_data_total + (end - s->highest) > conn->recv_max_data)
        {
          conn->counters.protocol_violations++;
          return;
        }
      recv_total_add (conn, end - s->highest);
      s->highest = end;
    }
  if (f->u.stream.fin)
    {
      s->fin_known = TRUE;
      s->final_size = end;
    }
  if (f->u.stream.len)
    {
      if (!recv_reserve (s, end))
        {
          conn->counters.protocol_violations++;
          return;
        }
      memcpy (s->buf + offset, f->u.stream.data, f->u.stream.len);
      chatd_range_set_add (&s->received, offset, end);
    }
  guint64 contiguous = chatd_range_set_prefix (&s->received);
  if (!s->fin_known && contiguous >= cfg->max_message_bytes)
    {
      /* all the credit we give a message is used and it is not finished:
       * larger than we accept */
      refuse_stream (conn, id, s);
      return;
    }
  if (s->fin_known && contiguous >= s->final_size)
    {
      guint64 size = s->final_size;
      guint8 *buf = g_steal_pointer (&s->buf);
      g_hash_table_remove (conn->recv_streams, &id);
      g_autoptr(GBytes) message = size ? g_bytes_new_take (buf, size) : g_bytes_new (NULL, 0);
      if (size == 0)
        g_free (buf);
      incoming_stream_done (conn, id, size);
      deliver (conn, message);
      return;
    }
  /* extend the stream's credit as the in-order prefix grows */
  guint64 window = conn->local_params.max_stream_data;
  guint64 target = MIN (contiguous + window, cfg->max_message_bytes);
  if (target >= s->max_data_advertised + window / 4 ||
      (target == cfg->max_message_bytes && target > s->max_data_advertised))
    {
      s->max_data_advertised = target;
      g_array_append_val (conn->max_stream_data_pending, s->id);
      conn->maybe_ready = TRUE;
    }
}

static void
recv_reset_frame (ChatdConnection *conn, const ChatdFrame *f)
{
  guint64 id = f->u.reset.id;
  if (stream_is_local (conn, id))
    {
      /* the peer refuses our message */
      ChatdSendStream *s = g_hash_table_lookup (conn->send_streams, &id);
      if (s == NULL)
        return;
      if (s->in_new)
        g_queue_unlink (s->is_large ? &conn->new_large : &conn->new_small, &s->new_link);
      if (s->in_retx)
        g_queue_unlink (&conn->retx, &s->retx_link);
      conn->send_queue_bytes -= s->len;
      /* the receiver counted final_size bytes of this stream against the
       * connection's credit and ignores the rest: count the same here */
      if (s->next_offset > f->u.reset.final_size)
        conn->sent_data_total -= MIN (s->next_offset - f->u.reset.final_size, conn->sent_data_total);
      conn->counters.messages_failed++;
      chatd_endpoint_emit_send_done (conn->endpoint, conn, s->callback, s->user_data,
                                     g_error_new (CHATD_TRANSPORT_ERROR, CHATD_TRANSPORT_ERROR_RESET,
                                                  "message refused by the peer (code %" G_GUINT64_FORMAT ")",
                                                  f->u.reset.code));
      g_hash_table_remove (conn->send_streams, &id);
      return;
    }
  guint64 seq = stream_seq (id);
  if (seq >= conn->recv_max_streams || chatd_range_set_contains (&conn->incoming_done, seq))
    return;
  ChatdRecvStream *s = g_hash_table_lookup (conn->recv_streams, &id);
  guint64 highest = s ? s->highest : 0;
  if (f->u.reset.final_size < highest || f->u.reset.final_size > config (conn)->max_message_bytes)
    {
      conn->counters.protocol_violations++;
      return;
    }
  guint64 extra = f->u.reset.final_size - highest;
  if (conn->recv_data_total + extra > conn->recv_max_data)
    {
      conn->counters.protocol_violations++;
      return;
    }
  recv_total_add (conn, extra);
  if (s)
    g_hash_table_remove (conn->recv_streams, &id);
  incoming_stream_done (conn, id, f->u.reset.final_size);
}

/* ---- receiving packets ---- */

static void
handle_accept (ChatdConnection *conn, gint64 now_us, const ChatdFrame *f)
{
  if (!conn->is_client)
    {
      conn->counters.protocol_violations++;
      return;
    }
  if (conn->state != CONN_HANDSHAKE)
    return;
  conn->peer_cid = f->u.accept.cid;
  conn->peer_params = f->u.accept.params;
  conn->peer_params_known = TRUE;
  conn->peer_max_data = conn->peer_params.max_data;
  conn->peer_max_streams = conn->peer_params.max_streams;
  GHashTableIter iter;
  gpointer value;
  g_hash_table_iter_init (&iter, conn->send_streams);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    {
      ChatdSendStream *s = value;
      s->max_data = MAX (s->max_data, conn->peer_params.max_stream_data);
    }
  conn->state = CONN_ESTABLISHED;
  conn->last_progress = now_us;
  conn->last_activity = now_us;
  chatd_endpoint_emit_event (conn->endpoint, conn, CHATD_CONNECTION_EVENT_ESTABLISHED, NULL);
}

void
chatd_conn_server_accept (ChatdConnection *conn, const ChatdPacketHeader *initial)
{
  conn->peer_cid = initial->scid;
  conn->peer_params = initial->params;
  conn->peer_params_known = TRUE;
  conn->peer_max_data = initial->params.max_data;
  conn->peer_max_streams = initial->params.max_streams;
  conn->accept_pending = TRUE;
  conn->initial_key.peer = conn->peer;
  conn->initial_key.cid = initial->scid;
}

static gboolean
validate_frames (const guint8 *payload, gsize len, gboolean *ret_ack_eliciting)
{
  ChatdReader r;
  ChatdFrame f;
  gboolean eliciting = FALSE;
  chatd_reader_init (&r, payload, len);
  if (len == 0)
    return FALSE;
  while (chatd_reader_remaining (&r) > 0)
    {
      if (!chatd_frame_parse (&r, &f))
        return FALSE;
      if (f.type != CHATD_FRAME_ACK && f.type != CHATD_FRAME_PADDING && f.type != CHATD_FRAME_CLOSE)
        eliciting = TRUE;
    }
  *ret_ack_eliciting = eliciting;
  return TRUE;
}

void
chatd_conn_handle_packet (ChatdConnection *conn, gint64 now_us, const ChatdPacketHeader *h,
                          guint8 *data, gsize len)
{
  gsize trailer;
  guint8 *payload = data + h->header_len;
  gsize payload_len;
  gboolean ack_eliciting;

  if (conn->state == CONN_CLOSED)
    return;
  ChatdPacketProtector *keys = NULL;
  if (h->protected_)
    {
      if (!conn->have_protector)
        {
          conn->counters.dropped_no_key++;
          return;
        }
      if (conn->have_prev_protector && now_us >= conn->prev_discard_at)
        wipe_prev_keys (conn);
      keys = keys_for_packet (conn, h);
      if (keys == NULL)
        {
          conn->counters.dropped_key_phase++;
          return;
        }
      trailer = keys->tag_len;
      if (len < h->header_len + trailer)
        {
          conn->counters.dropped_malformed++;
          return;
        }
      payload_len = len - h->header_len - trailer;
    }
  else
    {
      if (conn->recv_protected)
        {
          conn->counters.dropped_unprotected++;
          return;
        }
      payload_len = len - h->header_len - CHATD_CRC_LEN;
      if (!chatd_crc_check (chatd_endpoint_get_crc (conn->endpoint), data, len))
        {
          conn->counters.dropped_bad_checksum++;
          return;
        }
    }
  /* a protected packet is authenticated first: a forged one that reuses a
   * packet number must not count as a duplicate nor make us acknowledge */
  if (h->protected_ && !keys->open (keys->user_data, h->pn, data, h->header_len,
                                    payload, payload_len, payload + payload_len))
    {
      conn->counters.dropped_auth_failed++;
      return;
    }
  if (h->pn < conn->recv_pn_floor || chatd_range_set_contains (&conn->recv_pns, h->pn))
    {
      conn->counters.dropped_duplicate++;
      /* a duplicate may mean our ACK was lost */
      if (conn->any_received)
        {
          conn->ack_pending = TRUE;
          if (conn->ack_deadline == G_MAXINT64)
            conn->ack_deadline = now_us + config (conn)->max_ack_delay_us;
        }
      return;
    }
  if (h->protected_)
    {
      /* authentic: the peer uses these keys */
      if (keys == &conn->next_protector)
        switch_to_next_keys (conn, now_us, h->pn);
      else if (keys == &conn->protector)
        conn->current_first_pn = MIN (conn->current_first_pn, h->pn);
    }
  if (!validate_frames (payload, payload_len, &ack_eliciting))
    {
      conn->counters.dropped_malformed++;
      return;
    }
  if (!chatd_endpoint_buffered_allows (conn->endpoint, packet_buffer_growth (conn, payload, payload_len)))
    {
      /* not acknowledged: the peer sends it again once memory is free */
      conn->counters.dropped_memory_budget++;
      return;
    }
  if (h->protected_ && !conn->recv_protected)
    {
      conn->recv_protected = TRUE;
      conn->pto_count = 0;
      check_protected (conn);
    }

  /* The packet is accepted: record it for acknowledgement. */
  conn->counters.packets_received++;
  conn->counters.bytes_received += len;
  conn->last_activity = now_us;
  gboolean in_order = !conn->any_received || h->pn == conn->largest_recv_pn + 1;
  if (conn->ack_floor_known && h->pn <= conn->ack_floor)
    {
      /* late (reordered, or below a forged high packet number): report
       * every range again until an ACK written from now on is acknowledged */
      conn->ack_floor_known = FALSE;
      conn->ack_floor_epoch++;
    }
  chatd_range_set_add (&conn->recv_pns, h->pn, h->pn + 1);
  while (conn->recv_pns.len > RECV_PN_MAX_RANGES)
    {
      conn->recv_pn_floor = conn->recv_pns.items[0].end;
      chatd_range_set_drop_lowest (&conn->recv_pns);
    }
  if (!conn->any_received || h->pn > conn->largest_recv_pn)
    {
      conn->largest_recv_pn = h->pn;
      conn->largest_recv_time = now_us;
    }
  conn->any_received = TRUE;
  conn->maybe_ready = TRUE;
  if (ack_eliciting)
    {
      conn->ack_pending = TRUE;
      conn->ack_eliciting_unacked++;
      if (!in_order || conn->ack_eliciting_unacked >= config (conn)->ack_every)
        conn->ack_now = TRUE;
      else if (conn->ack_deadline == G_MAXINT64)
        conn->ack_deadline = now_us + config (conn)->max_ack_delay_us;
    }
  else if (!in_order)
    conn->ack_pending = TRUE;

  ChatdReader r;
  ChatdFrame f;
  chatd_reader_init (&r, payload, payload_len);
  while (chatd_reader_remaining (&r) > 0 && conn->state != CONN_CLOSED)
    {
      chatd_frame_parse (&r, &f);
      switch (f.type)
        {
        case CHATD_FRAME_ACK:
          process_ack (conn, now_us, &f);
          break;
        case CHATD_FRAME_STREAM:
          recv_stream_frame (conn, &f);
          if (f.u.stream.fin)
            conn->ack_now = TRUE;
          break;
        case CHATD_FRAME_MAX_DATA:
          conn->peer_max_data = MAX (conn->peer_max_data, f.u.max.value);
          break;
        case CHATD_FRAME_MAX_STREAMS:
          conn->peer_max_streams = MAX (conn->peer_max_streams, f.u.max.value);
          break;
        case CHATD_FRAME_MAX_STREAM_DATA:
          {
            ChatdSendStream *s = g_hash_table_lookup (conn->send_streams, &f.u.max.id);
            if (s)
              s->max_data = MAX (s->max_data, f.u.max.value);
          }
          break;
        case CHATD_FRAME_RESET_STREAM:
          recv_reset_frame (conn, &f);
          break;
        case CHATD_FRAME_CLOSE:
          {
            g_autofree char *reason = g_strndup ((const char *) f.u.close.reason, f.u.close.reason_len);
            g_strcanon (reason, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 .,:;-_/()", '?');
            chatd_conn_fail (conn, g_error_new (CHATD_TRANSPORT_ERROR, CHATD_TRANSPORT_ERROR_CLOSED,
                                                "closed by the peer (code %" G_GUINT64_FORMAT "): %s",
                                                f.u.close.code, reason),
                             FALSE);
          }
          break;
        case CHATD_FRAME_ACCEPT:
          handle_accept (conn, now_us, &f);
          break;
        case CHATD_FRAME_PROTECT_READY:
          conn->peer_ready = TRUE;
          if (conn->have_protector)
            conn->send_protected = TRUE;
          break;
        default:
          break;
        }
    }
  if (conn->state != CONN_CLOSED)
    check_protected (conn);
}

void
chatd_conn_handle_retry (ChatdConnection *conn, gint64 now_us, const ChatdPacketHeader *h)
{
  if (conn->state != CONN_HANDSHAKE || h->token_len == 0 ||
      conn->retries_accepted >= MAX_RETRIES_ACCEPTED)
    return;
  conn->retries_accepted++;
  memcpy (conn->token, h->token, h->token_len);
  conn->token_len = h->token_len;
  conn->handshake_send_due = TRUE;
  conn->maybe_ready = TRUE;
  /* the second half of the handshake starts now: retransmit it on the
   * short schedule again rather than where the first half's backoff left */
  conn->handshake_attempts = 1;
  conn->handshake_next_us = now_us + 2 * config (conn)->initial_rtt_us;
}

/* ---- queueing messages ---- */

void
chatd_conn_queue_message (ChatdConnection *conn, GBytes *payload, ChatdSendCallback callback,
                          gpointer user_data)
{
  const ChatdEndpointConfig *cfg = config (conn);
  gsize len = g_bytes_get_size (payload);

  if (!chatd_connection_is_alive (conn))
    {
      chatd_endpoint_emit_send_done (conn->endpoint, conn, callback, user_data,
                                     g_error_new_literal (CHATD_TRANSPORT_ERROR,
                                                          CHATD_TRANSPORT_ERROR_CLOSED_LOCALLY,
                                                          "connection is closed"));
      return;
    }
  if (len > cfg->max_message_bytes)
    {
      chatd_endpoint_emit_send_done (conn->endpoint, conn, callback, user_data,
                                     g_error_new (CHATD_TRANSPORT_ERROR, CHATD_TRANSPORT_ERROR_TOO_LARGE,
                                                  "message of %" G_GSIZE_FORMAT " bytes is above the limit of %"
                                                  G_GUINT64_FORMAT, len, cfg->max_message_bytes));
      return;
    }
  if (conn->send_queue_bytes + len > cfg->max_send_queue_bytes)
    {
      chatd_endpoint_emit_send_done (conn->endpoint, conn, callback, user_data,
                                     g_error_new (CHATD_TRANSPORT_ERROR, CHATD_TRANSPORT_ERROR_LIMIT,
                                                  "send queue full (%" G_GUINT64_FORMAT " bytes queued)",
                                                  conn->send_queue_bytes));
      return;
    }
  ChatdSendStream *s = g_new0 (ChatdSendStream, 1);
  s->id = (conn->next_stream_seq++ << 1) | (conn->is_client ? 0 : 1);
  s->payload = g_bytes_ref (payload);
  s->data = g_bytes_get_data (payload, NULL);
  s->len = len;
  s->max_data = conn->peer_params_known ? conn->peer_params.max_stream_data : 0;
  s->callback = callback;
  s->user_data = user_data;
  s->is_large = len > SMALL_MESSAGE_BYTES;
  s->new_link.data = s;
  s->in_new = TRUE;
  g_queue_push_tail_link (s->is_large ? &conn->new_large : &conn->new_small, &s->new_link);
  g_hash_table_insert (conn->send_streams, &s->id, s);
  conn->send_queue_bytes += len;
  conn->maybe_ready = TRUE;
}

/* ---- building packets ---- */

static ChatdSentFrame *
record_frame (ChatdConnection *conn, guint8 kind, guint64 id, guint64 offset, guint32 len, gboolean fin)
{
  ChatdSentFrame *f = ring_push (&conn->frames);
  f->kind = kind;
  f->id = id;
  f->offset = offset;
  f->len = len;
  f->fin = fin;
  return f;
}

static gboolean
write_ack (ChatdConnection *conn, gint64 now_us, ChatdWriter *w)
{
  ChatdRangeSet *set = &conn->recv_pns;
  if (set->len == 0)
    return FALSE;
  ChatdRange top = set->items[set->len - 1];
  guint64 largest = top.end - 1;
  guint64 n_ranges = MIN (set->len - 1, 63u);
  gint64 delay = MAX (now_us - conn->largest_recv_time, 0);
  ChatdWriter save = *w;

  chatd_writer_u8 (w, CHATD_FRAME_ACK);
  chatd_writer_varint (w, largest);
  chatd_writer_varint (w, (guint64) delay);
  guint8 *count_pos = w->pos;
  chatd_writer_varint (w, 0); /* one-byte placeholder, patched below (count < 64) */
  chatd_writer_varint (w, largest - top.start);
  if (!w->ok)
    {
      *w = save;
      return FALSE;
    }
  guint64 written = 0;
  guint64 smallest = top.start;
  for (guint i = set->len - 1; i-- > 0 && written < n_ranges;)
    {
      ChatdRange r = set->items[i];
      guint64 hi = r.end - 1;
      if (conn->ack_floor_known && hi <= conn->ack_floor)
        break; /* the peer has seen these in an ACK it acknowledged */
      ChatdWriter before = *w;
      chatd_writer_varint (w, smallest - hi - 2);
      chatd_writer_varint (w, hi - r.start);
      if (!w->ok)
        {
          *w = before;
          w->ok = TRUE;
          break;
        }
      smallest = r.start;
      written++;
    }
  *count_pos = (guint8) written;
  return TRUE;
}

static gboolean
has_control_work (ChatdConnection *conn)
{
  return conn->accept_pending || conn->max_data_pending || conn->max_streams_pending ||
         conn->ping_pending || conn->ready_pending || conn->max_stream_data_pending->len > 0 ||
         conn->resets_pending->len > 0;
}

/* Writes control frames; returns TRUE if any was written. */
static gboolean
write_control (ChatdConnection *conn, ChatdWriter *w)
{
  gboolean wrote = FALSE;
  if (conn->accept_pending)
    {
      ChatdWriter save = *w;
      if (chatd_frame_write_accept (w, conn->local_cid, &conn->local_params))
        {
          record_frame (conn, CHATD_FRAME_ACCEPT, 0, 0, 0, FALSE);
          conn->accept_pending = FALSE;
          wrote = TRUE;
        }
      else
        *w = save;
    }
  if (conn->ready_pending && conn->state == CONN_ESTABLISHED)
    {
      if (chatd_writer_u8 (w, CHATD_FRAME_PROTECT_READY))
        {
          record_frame (conn, CHATD_FRAME_PROTECT_READY, 0, 0, 0, FALSE);
          conn->ready_pending = FALSE;
          wrote = TRUE;
        }
      else
        w->ok = TRUE;
    }
  if (conn->max_data_pending)
    {
      ChatdWriter save = *w;
      if (chatd_frame_write_max (w, CHATD_FRAME_MAX_DATA, 0, conn->recv_max_data))
        {
          record_frame (conn, CHATD_FRAME_MAX_DATA, 0, 0, 0, FALSE);
          conn->max_data_pending = FALSE;
          wrote = TRUE;
        }
      else
        *w = save;
    }
  if (conn->max_streams_pending)
    {
      ChatdWriter save = *w;
      if (chatd_frame_write_max (w, CHATD_FRAME_MAX_STREAMS, 0, conn->recv_max_streams))
        {
          record_frame (conn, CHATD_FRAME_MAX_STREAMS, 0, 0, 0, FALSE);
          conn->max_streams_pending = FALSE;
          wrote = TRUE;
        }
      else
        *w = save;
    }
  while (conn->max_stream_data_pending->len > 0)
    {
      guint64 id = g_array_index (conn->max_stream_data_pending, guint64,
                                  conn->max_stream_data_pending->len - 1);
      ChatdRecvStream *s = g_hash_table_lookup (conn->recv_streams, &id);
      if (s)
        {
          ChatdWriter save = *w;
          if (!chatd_frame_write_max (w, CHATD_FRAME_MAX_STREAM_DATA, id, s->max_data_advertised))
            {
              *w = save;
              break;
            }
          record_frame (conn, CHATD_FRAME_MAX_STREAM_DATA, id, 0, 0, FALSE);
          wrote = TRUE;
        }
      g_array_set_size (conn->max_stream_data_pending, conn->max_stream_data_pending->len - 1);
    }
  while (conn->resets_pending->len > 0)
    {
      ChatdSentFrame r = g_array_index (conn->resets_pending, ChatdSentFrame,
                                        conn->resets_pending->len - 1);
      ChatdWriter save = *w;
      if (!chatd_frame_write_reset (w, r.id, r.len, r.offset))
        {
          *w = save;
          break;
        }
      record_frame (conn, CHATD_FRAME_RESET_STREAM, r.id, r.offset, r.len, FALSE);
      g_array_set_size (conn->resets_pending, conn->resets_pending->len - 1);
      wrote = TRUE;
    }
  if (conn->ping_pending)
    {
      if (chatd_writer_u8 (w, CHATD_FRAME_PING))
        {
          record_frame (conn, CHATD_FRAME_PING, 0, 0, 0, FALSE);
          conn->ping_pending = FALSE;
          wrote = TRUE;
        }
      else
        w->ok = TRUE;
    }
  return wrote;
}

static gboolean
write_stream_frame (ChatdConnection *conn, ChatdWriter *w, ChatdSendStream *s,
                    guint64 offset, guint64 max_len, gboolean can_fin, gsize *ret_len, gboolean *ret_fin)
{
  gsize room = chatd_writer_remaining (w);
  gsize hdr = chatd_frame_stream_header_size (s->id, offset, (gsize) MIN (max_len, room), TRUE);
  if (room <= hdr + 1 && max_len > 0)
    return FALSE;
  if (room < hdr)
    return FALSE;
  gsize n = (gsize) MIN (max_len, (guint64) (room - hdr));
  gboolean fin = can_fin && offset + n == s->len;
  chatd_frame_write_stream_header (w, s->id, offset, n, fin, TRUE);
  /* an empty stream (a bare FIN) has no data buffer: no arithmetic on NULL */
  chatd_writer_bytes (w, n > 0 ? s->data + offset : NULL, n);
  g_assert (w->ok);
  record_frame (conn, CHATD_FRAME_STREAM, s->id, offset, (guint32) n, fin);
  *ret_len = n;
  *ret_fin = fin;
  return TRUE;
}

/* Retransmissions first, then new data in queue order (small messages
 * before large ones).  Returns TRUE if anything was written. */
static gboolean
write_streams (ChatdConnection *conn, ChatdWriter *w, gboolean *ret_retransmitted)
{
  gboolean wrote = FALSE;
  while (conn->retx.head)
    {
      ChatdSendStream *s = conn->retx.head->data;
      gsize n;
      gboolean fin;
      if (!chatd_range_set_is_empty (&s->lost))
        {
          ChatdRange r = s->lost.items[0];
          if (!write_stream_frame (conn, w, s, r.start, r.end - r.start, s->fin_lost, &n, &fin))
            return wrote;
          chatd_range_set_remove (&s->lost, r.start, r.start + n);
          conn->counters.bytes_retransmitted += n;
        }
      else if (s->fin_lost)
        {
          if (!write_stream_frame (conn, w, s, s->len, 0, TRUE, &n, &fin))
            return wrote;
        }
      else
        {
          g_queue_unlink (&conn->retx, &s->retx_link);
          s->in_retx = FALSE;
          continue;
        }
      if (fin)
        s->fin_lost = FALSE;
      wrote = TRUE;
      *ret_retransmitted = TRUE;
      if (chatd_range_set_is_empty (&s->lost) && !s->fin_lost)
        {
          g_queue_unlink (&conn->retx, &s->retx_link);
          s->in_retx = FALSE;
        }
    }
  GQueue *queues[2] = { &conn->new_small, &conn->new_large };
  for (int q = 0; q < 2; q++)
    {
      while (queues[q]->head)
        {
          ChatdSendStream *s = queues[q]->head->data;
          if (stream_seq (s->id) >= conn->peer_max_streams)
            break;
          guint64 left = s->len - s->next_offset;
          guint64 credit_stream = s->max_data > s->next_offset ? s->max_data - s->next_offset : 0;
          guint64 credit_conn = conn->peer_max_data > conn->sent_data_total
                                  ? conn->peer_max_data - conn->sent_data_total : 0;
          guint64 allowed = MIN (left, MIN (credit_stream, credit_conn));
          if (allowed == 0 && left > 0)
            break; /* blocked by flow control */
          gsize n;
          gboolean fin;
          if (!write_stream_frame (conn, w, s, s->next_offset, allowed, allowed == left, &n, &fin))
            return wrote;
          wrote = TRUE;
          s->next_offset += n;
          conn->sent_data_total += n;
          if (fin)
            {
              s->fin_sent = TRUE;
              g_queue_unlink (queues[q], &s->new_link);
              s->in_new = FALSE;
            }
          else if (n == 0 || chatd_writer_remaining (w) < 16)
            return wrote;
        }
    }
  return wrote;
}

/* Thin-stream redundancy (redundant data bundling, as in the thin-stream
 * work on TCP): a connection with few packets in flight and nothing more
 * queued is interactive, and there a loss costs latency, not throughput.
 * A packet that carries stream data then also carries copies of the
 * unacknowledged data of small messages still in flight, up to
 * REDUNDANT_BUDGET bytes of frames: a lost packet's data arrives with the
 * next one instead of after loss detection plus a round trip.  Copies are
 * recorded like any frame (an acknowledged copy acknowledges the data) and
 * counted in bytes_redundant.  Bulk transfers never qualify (large
 * messages, or more than THIN_FLIGHT_PACKETS in flight). */
static gboolean
frame_in_packet (ChatdConnection *conn, guint64 first_frame, const ChatdSentFrame *f)
{
  for (guint64 i = first_frame; i < conn->frames.tail; i++)
    {
      const ChatdSentFrame *g = ring_at (&conn->frames, i);
      if (g->kind == f->kind && (f->kind != CHATD_FRAME_STREAM || (g->id == f->id && g->offset == f->offset)))
        return TRUE;
    }
  return FALSE;
}

static gboolean
connection_is_thin (ChatdConnection *conn)
{
  return conn->ack_eliciting_in_flight <= THIN_FLIGHT_PACKETS;
}

static gboolean
write_redundant (ChatdConnection *conn, ChatdWriter *w, guint64 first_frame)
{
  gsize budget = REDUNDANT_BUDGET;
  gboolean wrote = FALSE;
  guint walked = 0;
  for (guint64 pn = conn->sent.tail; pn-- > conn->sent.head && walked < REDUNDANT_WALK; walked++)
    {
      ChatdSentPacket *p = ring_at (&conn->sent, pn);
      if (p->state != SENT_OUTSTANDING)
        continue;
      for (guint i = 0; i < p->n_frames; i++)
        {
          /* a copy: record_frame() may move the ring */
          ChatdSentFrame f = *(ChatdSentFrame *) ring_at (&conn->frames, p->first_frame + i);
          if (f.kind == CHATD_FRAME_PROTECT_READY)
            {
              /* a copied message must not overtake the switch-over it was
               * sent after: the peer would answer it unprotected */
              if (budget < 1 || frame_in_packet (conn, first_frame, &f) || !chatd_writer_u8 (w, CHATD_FRAME_PROTECT_READY))
                {
                  w->ok = TRUE;
                  continue;
                }
              record_frame (conn, CHATD_FRAME_PROTECT_READY, 0, 0, 0, FALSE);
              budget -= 1;
              conn->counters.bytes_redundant += 1;
              wrote = TRUE;
              continue;
            }
          if (f.kind != CHATD_FRAME_STREAM)
            continue;
          ChatdSendStream *s = g_hash_table_lookup (conn->send_streams, &f.id);
          if (s == NULL || s->len > REDUNDANT_MAX_MESSAGE)
            continue;
          gboolean data_acked = f.len == 0 || chatd_range_set_covers (&s->acked, f.offset, f.offset + f.len);
          if (data_acked && (!f.fin || s->fin_acked))
            continue;
          if (frame_in_packet (conn, first_frame, &f))
            continue;
          gsize size = chatd_frame_stream_header_size (f.id, f.offset, f.len, TRUE) + f.len;
          if (size > budget || size > chatd_writer_remaining (w))
            return wrote;
          chatd_frame_write_stream_header (w, f.id, f.offset, f.len, f.fin, TRUE);
          chatd_writer_bytes (w, f.len > 0 ? s->data + f.offset : NULL, f.len);
          g_assert (w->ok);
          record_frame (conn, CHATD_FRAME_STREAM, f.id, f.offset, f.len, f.fin);
          budget -= size;
          conn->counters.bytes_redundant += size;
          wrote = TRUE;
        }
    }
  return wrote;
}

static gboolean
has_stream_work (ChatdConnection *conn)
{
  if (conn->retx.head)
    return TRUE;
  GQueue *queues[2] = { &conn->new_small, &conn->new_large };
  for (int q = 0; q < 2; q++)
    if (queues[q]->head)
      {
        ChatdSendStream *s = queues[q]->head->data;
        if (stream_seq (s->id) >= conn->peer_max_streams)
          continue;
        if (s->next_offset == s->len)
          return TRUE; /* fin */
        if (s->max_data > s->next_offset && conn->peer_max_data > conn->sent_data_total)
          return TRUE;
      }
  return FALSE;
}

static gsize
build_initial (ChatdConnection *conn, guint8 *buf, gsize cap)
{
  ChatdPacketHeader h = { 0 };
  h.type = CHATD_PACKET_INITIAL;
  h.dcid = 0;
  h.pn = conn->handshake_attempts; /* INITIALs are outside the DATA number space */
  h.scid = conn->local_cid;
  h.params = conn->local_params;
  h.token = conn->token;
  h.token_len = conn->token_len;
  gsize hl = chatd_packet_write_header (buf, cap, &h);
  gsize total = MAX ((gsize) CHATD_MIN_INITIAL_SIZE, hl + CHATD_CRC_LEN);
  if (hl == 0 || total > cap)
    return 0;
  memset (buf + hl, 0, total - CHATD_CRC_LEN - hl); /* PADDING */
  chatd_crc_append (chatd_endpoint_get_crc (conn->endpoint), buf, total - CHATD_CRC_LEN);
  conn->handshake_send_due = FALSE;
  conn->counters.packets_sent++;
  conn->counters.bytes_sent += total;
  return total;
}

static gsize
finish_packet (ChatdConnection *conn, gint64 now_us, guint8 *buf, gsize header_len,
               gsize payload_len, gboolean ack_eliciting, guint64 first_frame, gboolean retransmitted)
{
  gsize total;
  guint64 pn = conn->next_pn;
  if (conn->send_protected)
    {
      if (!conn->protector.seal (conn->protector.user_data, pn, buf, header_len,
                                 buf + header_len, payload_len, buf + header_len + payload_len))
        {
          /* frames were taken from the queues: without this packet the
           * connection cannot continue correctly */
          conn->frames.tail = first_frame;
          chatd_conn_fail (conn, g_error_new_literal (CHATD_TRANSPORT_ERROR, CHATD_TRANSPORT_ERROR_PROTOCOL,
                                                      "the packet protector failed to seal"),
                           FALSE);
          return 0;
        }
      total = header_len + payload_len + conn->protector.tag_len;
    }
  else
    {
      chatd_crc_append (chatd_endpoint_get_crc (conn->endpoint), buf, header_len + payload_len);
      total = header_len + payload_len + CHATD_CRC_LEN;
    }
  ChatdSentPacket *p = ring_push (&conn->sent);
  g_assert (conn->sent.tail - 1 == pn);
  p->time_sent = now_us;
  p->first_frame = first_frame;
  p->n_frames = (guint16) (conn->frames.tail - first_frame);
  p->size = (guint32) total;
  p->flags = ack_eliciting ? SENT_FLAG_ACK_ELICITING : 0;
  p->state = ack_eliciting ? SENT_OUTSTANDING : SENT_DONE;
  conn->next_pn++;
  conn->counters.packets_sent++;
  conn->counters.bytes_sent += total;
  if (retransmitted)
    conn->counters.packets_retransmitted++;
  if (ack_eliciting)
    {
      if (conn->ack_eliciting_in_flight == 0)
        conn->last_progress = now_us;
      conn->ack_eliciting_in_flight++;
      conn->bytes_in_flight += total;
      conn->last_ack_eliciting_sent = now_us;
      conn->last_activity = now_us;
      conn->pace_tokens -= (double) total;
      if (conn->probes_pending > 0)
        conn->probes_pending--;
    }
  if (p->state == SENT_DONE)
    ring_trim (conn);
  return total;
}

gsize
chatd_conn_build_packet (ChatdConnection *conn, gint64 now_us, guint8 *buf, gsize cap)
{
  if (conn->endpoint == NULL)
    return 0;
  cap = MIN (cap, mss (conn));
  switch (conn->state)
    {
    case CONN_CLOSED:
      return 0;
    case CONN_HANDSHAKE:
      return conn->handshake_send_due ? build_initial (conn, buf, cap) : 0;
    case CONN_CLOSING:
      {
        if (conn->close_sends_left == 0)
          return 0;
        ChatdPacketHeader h = { .type = CHATD_PACKET_DATA, .protected_ = conn->send_protected,
                                .key_phase = conn->key_phase, .dcid = conn->peer_cid, .pn = conn->next_pn };
        gsize hl = chatd_packet_write_header (buf, cap, &h);
        gsize trailer = conn->send_protected ? conn->protector.tag_len : CHATD_CRC_LEN;
        ChatdWriter w;
        chatd_writer_init (&w, buf + hl, cap - hl - trailer);
        chatd_frame_write_close (&w, conn->close_code, conn->close_reason);
        guint64 first = conn->frames.tail;
        gsize n = finish_packet (conn, now_us, buf, hl, (gsize) (w.pos - (buf + hl)), FALSE, first, FALSE);
        if (--conn->close_sends_left == 0)
          {
            conn->state = CONN_CLOSED;
            chatd_endpoint_detach (conn->endpoint, conn);
          }
        return n;
      }
    case CONN_ESTABLISHED:
      break;
    }

  gboolean want_ack = conn->ack_pending && (conn->ack_now || now_us >= conn->ack_deadline);
  gboolean probe = conn->probes_pending > 0;
  gboolean may_elicit = probe || conn->bytes_in_flight + mss (conn) <= conn->cwnd;
  conn->pace_blocked = FALSE;
  if (may_elicit && !probe && (has_control_work (conn) || has_stream_work (conn)))
    {
      if (!pacing_allows (conn, now_us))
        {
          may_elicit = FALSE;
          conn->pace_blocked = TRUE;
        }
    }
  if (!want_ack && !(may_elicit && (probe || has_control_work (conn) || has_stream_work (conn))))
    return 0;

  gsize trailer = conn->send_protected ? conn->protector.tag_len : CHATD_CRC_LEN;
  ChatdPacketHeader h = { .type = CHATD_PACKET_DATA, .protected_ = conn->send_protected,
                          .key_phase = conn->key_phase, .dcid = conn->peer_cid, .pn = conn->next_pn };
  gsize hl = chatd_packet_write_header (buf, cap, &h);
  g_assert (hl == CHATD_PACKET_HEADER_LEN);
  ChatdWriter w;
  chatd_writer_init (&w, buf + hl, cap - hl - trailer);
  guint64 first_frame = conn->frames.tail;
  gboolean eliciting = FALSE, retransmitted = FALSE, wrote_ack = FALSE;

  if (conn->ack_pending && write_ack (conn, now_us, &w))
    {
      /* remembered so that its acknowledgement can raise ack_floor */
      record_frame (conn, CHATD_FRAME_ACK, conn->recv_pns.items[conn->recv_pns.len - 1].end - 1,
                    conn->ack_floor_epoch, 0, FALSE);
      wrote_ack = TRUE;
      conn->ack_pending = FALSE;
      conn->ack_now = FALSE;
      conn->ack_eliciting_unacked = 0;
      conn->ack_deadline = G_MAXINT64;
    }
  if (may_elicit)
    {
      if (write_control (conn, &w))
        eliciting = TRUE;
      gboolean wrote_data = write_streams (conn, &w, &retransmitted);
      /* copies go with new or retransmitted data, and make each of the two
       * probes of a probe timeout carry all the small data in flight */
      if ((wrote_data || probe) && connection_is_thin (conn) && !has_stream_work (conn) &&
          write_redundant (conn, &w, first_frame))
        wrote_data = TRUE;
      if (wrote_data)
        eliciting = TRUE;
      if (probe && !eliciting)
        {
          if (chatd_writer_u8 (&w, CHATD_FRAME_PING))
            {
              record_frame (conn, CHATD_FRAME_PING, 0, 0, 0, FALSE);
              eliciting = TRUE;
            }
        }
    }
  if (!eliciting && !wrote_ack)
    return 0;
  return finish_packet (conn, now_us, buf, hl, (gsize) (w.pos - (buf + hl)), eliciting,
                        first_frame, retransmitted);
}

/* ---- timers ---- */

gint64
chatd_conn_deadline (ChatdConnection *conn)
{
  const ChatdEndpointConfig *cfg;
  gint64 d = G_MAXINT64;
  if (conn->endpoint == NULL)
    return d;
  cfg = config (conn);
  switch (conn->state)
    {
    case CONN_CLOSED:
      return d;
    case CONN_CLOSING: /* the CLOSE frames go out at the next poll */
      return d;
    case CONN_HANDSHAKE:
      return MIN (conn->handshake_next_us, conn->created_us + cfg->handshake_timeout_us);
    case CONN_ESTABLISHED:
      break;
    }
  if (conn->ack_pending)
    d = MIN (d, conn->ack_deadline);
  if (conn->loss_time)
    d = MIN (d, conn->loss_time);
  else if (conn->ack_eliciting_in_flight > 0)
    d = MIN (d, conn->last_ack_eliciting_sent + pto_interval (conn));
  if (conn->ack_eliciting_in_flight > 0)
    d = MIN (d, conn->last_progress + cfg->dead_peer_timeout_us);
  else
    d = MIN (d, conn->last_activity + cfg->keepalive_interval_us);
  if (conn->pace_blocked)
    d = MIN (d, conn->pace_ready_at);
  if (conn->have_prev_protector)
    d = MIN (d, conn->prev_discard_at);
  return d;
}

void
chatd_conn_on_timeout (ChatdConnection *conn, gint64 now_us)
{
  const ChatdEndpointConfig *cfg = config (conn);
  conn->maybe_ready = TRUE;
  if (conn->state == CONN_HANDSHAKE)
    {
      if (now_us >= conn->created_us + cfg->handshake_timeout_us)
        {
          chatd_conn_fail (conn, g_error_new (CHATD_TRANSPORT_ERROR, CHATD_TRANSPORT_ERROR_UNREACHABLE,
                                              "no answer from the peer within %" G_GINT64_FORMAT " ms",
                                              cfg->handshake_timeout_us / 1000),
                           FALSE);
          return;
        }
      if (now_us >= conn->handshake_next_us)
        {
          gint64 interval = MIN (2 * cfg->initial_rtt_us << MIN (conn->handshake_attempts, 8u),
                                 MAX_HANDSHAKE_INTERVAL_US);
          conn->handshake_attempts++;
          conn->handshake_send_due = TRUE;
          conn->handshake_next_us = now_us + interval;
        }
      return;
    }
  if (conn->state != CONN_ESTABLISHED)
    return;
  if (conn->have_prev_protector && now_us >= conn->prev_discard_at)
    wipe_prev_keys (conn);
  if (conn->ack_pending && now_us >= conn->ack_deadline)
    conn->ack_now = TRUE;
  if (conn->ack_eliciting_in_flight > 0 &&
      now_us >= conn->last_progress + cfg->dead_peer_timeout_us)
    {
      chatd_conn_fail (conn, g_error_new (CHATD_TRANSPORT_ERROR, CHATD_TRANSPORT_ERROR_TIMED_OUT,
                                          "peer did not acknowledge data for %" G_GINT64_FORMAT " ms",
                                          cfg->dead_peer_timeout_us / 1000),
                       FALSE);
      return;
    }
  if (conn->loss_time && now_us >= conn->loss_time)
    detect_lost (conn, now_us);
  else if (!conn->loss_time && conn->ack_eliciting_in_flight > 0 &&
           now_us >= conn->last_ack_eliciting_sent + pto_interval (conn))
    on_pto (conn, now_us);
  if (conn->ack_eliciting_in_flight == 0 &&
      now_us >= conn->last_activity + cfg->keepalive_interval_us)
    {
      conn->ping_pending = TRUE;
      conn->last_activity = now_us;
    }
}
