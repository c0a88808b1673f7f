/* peer-channel.c: forward-secret sessions with the other online user nodes
 * (peer-channel.h). */
#define G_LOG_DOMAIN "chatd-messaging"
#include "peer-channel.h"
#include "peer-handshake.h"
#include "peer-wire.h"
#include "node-options.h"

#include <string.h>

typedef struct _Channel Channel;

/* one message on its way: waiting for a session, or sealed and in flight */
typedef struct {
  GBytes  *plaintext;
  gpointer tag;
  gint64   sent_us;      /* when it was last sealed and sent */
  guint    attempts;     /* sessions it was sent in without a receipt */
} Outgoing;

struct _ChatdPeerChannels {
  ChatdTransport            *transport;
  ChatdRegistry             *registry;
  const ChatdSuite          *suite;
  char                      *own_name;
  char                      *own_folded;
  ChatdPeerChannelConfig     config;
  ChatdPeerChannelCallbacks  callbacks;
  gpointer                   data;
  ChatdPeerSkipBudget       *budget;
  GHashTable                *channels;      /* folded name -> Channel* */
  GHashTable                *by_connection; /* ChatdConnection* -> Channel* whose current connection it is */
  guint                      receipts_source; /* sends the receipts queued in this iteration */
  guint                      pump_source;     /* seals what chatd_peer_channels_send queued */
  GQueue                     finished;      /* FinishedOutgoing*: callbacks to run from an idle */
  guint                      finish_source;
  double                     init_tokens;
  gint64                     init_tokens_at;
  guint64 n_handshakes, n_handshake_failures, n_inits_dropped, n_sent, n_received, n_receipts, n_refused;
  guint64 n_key_updates;   /* transport key updates this node started (as responder) */
};

struct _Channel {
  ChatdPeerChannels  *owner;
  char               *name;
  char               *folded;
  char               *suite;
  GBytes             *key_blob;
  ChatdKey           *key;
  ChatdAddress        address;
  gboolean            has_address;
  ChatdPeerLink      *link;
  ChatdConnection    *connection;         /* where the current session's messages go */
  ChatdConnection    *protected_on;       /* the connection we installed a protector on */
  ChatdPeerHandshake *handshake;
  gboolean            initiator;
  ChatdConnection    *handshake_connection;
  /* initiator: the session of a completed handshake, installed once the
   * peer's transport acknowledged our PEER_FINISH (before that the peer
   * could not open messages sealed in it), or as soon as a message of the
   * peer in it arrives */
  ChatdPeerSession   *pending_session;
  ChatdConnection    *pending_connection;
  guint               handshake_timer;
  guint               expiry_timer;
  guint               receipt_timer;      /* runs while messages are in flight */
  GBytes             *stashed_init;       /* a PEER_INIT waiting for the peer's key */
  ChatdConnection    *stashed_connection;
  GQueue              waiting;            /* Outgoing* */
  GHashTable         *inflight;           /* GBytes (session id || counter BE) -> Outgoing* */
  GQueue              sealed_order;       /* GBytes keys in the order sealed (acked ones popped lazily) */
  gint64              since;              /* real time of the current session's handshake */
  GBytes             *aad_out, *aad_in;   /* associated data of our messages, of the peer's */
  GArray             *receipts;           /* PendingReceipt: stored, to go in the next batch */
  guint64             n_sent, n_received, n_handshakes;
};

typedef struct {
  gpointer tag;
  GError  *error;      /* NULL: delivered */
} Finished;

/* what received() hands to the messenger for the receipt: the message's
 * session, counter and the hash its receipt covers */
typedef struct {
  char                  *folded;
  ChatdConnection       *connection;
  guint8                 session_id[CHATD_PEER_SESSION_ID_LEN];
  ChatdPeerReceiptEntry  entry;
} ReceiptRef;

/* a receipt that waits (one main-loop iteration) to go in a batch */
typedef struct {
  ChatdConnection       *connection;
  guint8                 session_id[CHATD_PEER_SESSION_ID_LEN];
  ChatdPeerReceiptEntry  entry;
} PendingReceipt;

static void pump (Channel *ch);
static void arm_receipt_timer (Channel *ch);
static GBytes *message_aad (const char *sender_folded, const char *recipient_folded);

static void
outgoing_free (Outgoing *o)
{
  g_bytes_unref (o->plaintext);
  g_free (o);
}

/* callbacks run from an idle, never from inside a call into this module */
static gboolean
run_finished (gpointer user_data)
{
  ChatdPeerChannels *c = user_data;
  c->finish_source = 0;
  Finished *f;
  while ((f = g_queue_pop_head (&c->finished)) != NULL)
    {
      if (f->error == NULL)
        c->callbacks.delivered (f->tag, c->data);
      else
        c->callbacks.failed (f->tag, f->error, c->data);
      g_clear_error (&f->error);
      g_free (f);
    }
  return G_SOURCE_REMOVE;
}

static void
finish (ChatdPeerChannels *c, Outgoing *o, const GError *error)
{
  Finished *f = g_new0 (Finished, 1);
  f->tag = o->tag;
  f->error = error ? g_error_copy (error) : NULL;
  g_queue_push_tail (&c->finished, f);
  if (c->finish_source == 0)
    c->finish_source = g_idle_add_full (G_PRIORITY_DEFAULT, run_finished, c, NULL);
  outgoing_free (o);
}

static void
fail_waiting (Channel *ch, const GError *error)
{
  Outgoing *o;
  while ((o = g_queue_pop_head (&ch->waiting)) != NULL)
    finish (ch->owner, o, error);
}

static void
drop_handshake (Channel *ch)
{
  g_clear_pointer (&ch->handshake, chatd_peer_handshake_free);
  g_clear_pointer (&ch->pending_session, chatd_peer_session_free);
  g_clear_pointer (&ch->pending_connection, chatd_connection_unref);
  g_clear_pointer (&ch->handshake_connection, chatd_connection_unref);
  if (ch->handshake_timer != 0)
    {
      g_source_remove (ch->handshake_timer);
      ch->handshake_timer = 0;
    }
}

/* the in-flight messages go back to the front of the queue, in order, to
 * be sealed again in the next session (the receiver stores a message once:
 * the same id and text is a duplicate, answered with a receipt again) */
static void
requeue_inflight (Channel *ch)
{
  g_autoptr(GList) values = g_hash_table_get_values (ch->inflight);
  g_hash_table_steal_all (ch->inflight);
  g_queue_clear_full (&ch->sealed_order, (GDestroyNotify) g_bytes_unref);
  /* the key's order is not the send order: sort by the tag's arrival is not
   * known here, so order does not matter for correctness (ids dedupe) */
  for (GList *l = values; l != NULL; l = l->next)
    g_queue_push_head (&ch->waiting, l->data);
}

/* where the current session's messages go (NULL: nowhere); the owner
 * finds the channel of a connection in one lookup */
static void
set_connection (Channel *ch, ChatdConnection *connection)
{
  GHashTable *by_connection = ch->owner->by_connection;
  if (ch->connection != NULL && g_hash_table_lookup (by_connection, ch->connection) == ch)
    g_hash_table_remove (by_connection, ch->connection);
  g_clear_pointer (&ch->connection, chatd_connection_unref);
  if (connection != NULL)
    {
      ch->connection = chatd_connection_ref (connection);
      g_hash_table_insert (by_connection, connection, ch);
    }
}

/* the receipts not sent yet (their sessions are gone: they could not be
 * made any more) */
static void
drop_receipts (Channel *ch)
{
  for (guint i = 0; i < ch->receipts->len; i++)
    chatd_connection_unref (g_array_index (ch->receipts, PendingReceipt, i).connection);
  g_array_set_size (ch->receipts, 0);
}

static void
drop_sessions (Channel *ch)
{
  requeue_inflight (ch);
  drop_receipts (ch);
  g_clear_pointer (&ch->link, chatd_peer_link_free);
  ch->link = chatd_peer_link_new (ch->owner->budget);
  set_connection (ch, NULL);
  if (ch->expiry_timer != 0)
    {
      g_source_remove (ch->expiry_timer);
      ch->expiry_timer = 0;
    }
  if (ch->receipt_timer != 0)
    {
      g_source_remove (ch->receipt_timer);
      ch->receipt_timer = 0;
    }
}

static void
channel_free (Channel *ch)
{
  g_autoptr(GError) error = g_error_new_literal (CHATD_ERROR, CHATD_ERROR_FAILED, "the node is shutting down");
  drop_handshake (ch);
  drop_sessions (ch);
  fail_waiting (ch, error);
  g_clear_pointer (&ch->link, chatd_peer_link_free);
  g_clear_pointer (&ch->protected_on, chatd_connection_unref);
  g_clear_pointer (&ch->stashed_init, g_bytes_unref);
  g_clear_pointer (&ch->stashed_connection, chatd_connection_unref);
  g_clear_pointer (&ch->key, chatd_key_free);
  g_clear_pointer (&ch->key_blob, g_bytes_unref);
  g_hash_table_unref (ch->inflight);
  g_queue_clear_full (&ch->sealed_order, (GDestroyNotify) g_bytes_unref);
  drop_receipts (ch);
  g_array_unref (ch->receipts);
  g_bytes_unref (ch->aad_out);
  g_bytes_unref (ch->aad_in);
  g_free (ch->suite);
  g_free (ch->name);
  g_free (ch->folded);
  g_free (ch);
}

static Channel *
channel_get (ChatdPeerChannels *c, const char *name, gboolean create)
{
  g_autofree char *folded = g_ascii_strdown (name, -1);
  Channel *ch = g_hash_table_lookup (c->channels, folded);
  if (ch != NULL || !create)
    return ch;
  ch = g_new0 (Channel, 1);
  ch->owner = c;
  ch->name = g_strdup (name);
  ch->folded = g_steal_pointer (&folded);
  ch->link = chatd_peer_link_new (c->budget);
  g_queue_init (&ch->waiting);
  g_queue_init (&ch->sealed_order);
  ch->inflight = g_hash_table_new_full (g_bytes_hash, g_bytes_equal, (GDestroyNotify) g_bytes_unref,
                                        (GDestroyNotify) outgoing_free);
  ch->aad_out = message_aad (c->own_folded, ch->folded);
  ch->aad_in = message_aad (ch->folded, c->own_folded);
  ch->receipts = g_array_new (FALSE, FALSE, sizeof (PendingReceipt));
  g_hash_table_insert (c->channels, ch->folded, ch);
  return ch;
}

gboolean
chatd_peer_channels_set_peer_key (ChatdPeerChannels *c, const char *peer, const char *suite_name, GBytes *public_key,
                                  GError **error)
{
  Channel *ch = channel_get (c, peer, TRUE);
  if (ch->key_blob != NULL && g_bytes_equal (ch->key_blob, public_key) && g_strcmp0 (ch->suite, suite_name) == 0)
    return TRUE;
  const ChatdSuite *suite = chatd_registry_lookup_suite (c->registry, suite_name);
  if (suite == NULL)
    {
      g_set_error (error, CHATD_ERROR, CHATD_ERROR_NOT_SUPPORTED, "suite '%s' is not loaded here", suite_name);
      return FALSE;
    }
  ChatdKey *key = suite->import_public (suite, g_bytes_get_data (public_key, NULL), g_bytes_get_size (public_key),
                                        error);
  if (key == NULL)
    return FALSE;
  gboolean replaced = ch->key != NULL;
  if (replaced)
    {
      /* another key: nothing made with the old one goes on */
      drop_handshake (ch);
      drop_sessions (ch);
    }
  g_clear_pointer (&ch->key, chatd_key_free);
  g_clear_pointer (&ch->key_blob, g_bytes_unref);
  g_free (ch->suite);
  ch->key = key;
  ch->key_blob = g_bytes_ref (public_key);
  ch->suite = g_strdup (suite_name);
  g_free (ch->name);
  ch->name = g_strdup (peer);
  /* a PEER_INIT that waited for this key */
  if (ch->stashed_init != NULL)
    {
      g_autoptr(GBytes) init = g_steal_pointer (&ch->stashed_init);
      g_autoptr(ChatdConnection) connection = g_steal_pointer (&ch->stashed_connection);
      g_autoptr(ChatdAuthMessage) parsed = chatd_auth_message_parse (init, NULL);
      if (parsed != NULL)
        chatd_peer_channels_handle (c, connection, parsed, init);
    }
  else if (replaced)
    pump (ch);
  return TRUE;
}

/* --- the handshake --- */

static void
handshake_failed (Channel *ch, const char *why)
{
  ChatdPeerChannels *c = ch->owner;
  gboolean was_initiator = ch->initiator;
  c->n_handshake_failures++;
  g_message ("peer session with %s: handshake failed: %s", ch->name, why);
  drop_handshake (ch);
  if (!was_initiator)
    {
      /* ours was given up for theirs, or a re-key of theirs failed: our
       * messages still need a session */
      if (!g_queue_is_empty (&ch->waiting))
        pump (ch);
      return;
    }
  g_autoptr(GError) error = g_error_new (CHATD_ERROR, CHATD_ERROR_TIMED_OUT,
                                         "no forward-secret session with %s's node (%s); nothing was sent "
                                         "outside a session: retry", ch->name, why);
  fail_waiting (ch, error);
}

static gboolean
on_handshake_timer (gpointer user_data)
{
  Channel *ch = user_data;
  ch->handshake_timer = 0;
  g_autoptr(GError) error = NULL;
  if (ch->handshake != NULL &&
      !chatd_peer_handshake_check_timeout (ch->handshake, g_get_monotonic_time (), &error))
    handshake_failed (ch, error->message);
  else if (ch->handshake != NULL)
    {
      gint64 left = chatd_peer_handshake_deadline (ch->handshake) - g_get_monotonic_time ();
      ch->handshake_timer = g_timeout_add (MAX (1, left / 1000 + 1), on_handshake_timer, ch);
    }
  return G_SOURCE_REMOVE;
}

static void
arm_handshake_timer (Channel *ch)
{
  if (ch->handshake_timer != 0)
    g_source_remove (ch->handshake_timer);
  gint64 left = chatd_peer_handshake_deadline (ch->handshake) - g_get_monotonic_time ();
  ch->handshake_timer = g_timeout_add (MAX (1, left / 1000 + 1), on_handshake_timer, ch);
}

static gboolean
on_expiry_timer (gpointer user_data)
{
  Channel *ch = user_data;
  ch->expiry_timer = 0;
  gint64 now = g_get_monotonic_time ();
  chatd_peer_link_expire (ch->link, now);
  gint64 deadline = chatd_peer_link_deadline (ch->link);
  if (deadline != G_MAXINT64)
    ch->expiry_timer = g_timeout_add_seconds ((guint) MAX (1, (deadline - now) / G_USEC_PER_SEC + 1),
                                              on_expiry_timer, ch);
  return G_SOURCE_REMOVE;
}

static ChatdPeerHandshakeConfig
handshake_config (ChatdPeerChannels *c)
{
  ChatdPeerHandshakeConfig config = { 0 };
  config.timeout_us = c->config.handshake_timeout_us;
  config.limits = c->config.limits;
  return config;
}

typedef struct {
  ChatdPeerChannels *owner;
  char              *folded;
  ChatdPeerHandshake *handshake;   /* compared only: which handshake the INIT was of */
} InitTag;

static void
on_init_sent (ChatdEndpoint *endpoint, ChatdConnection *connection, const GError *error, gpointer user_data)
{
  InitTag *tag = user_data;
  Channel *ch = tag->owner->channels ? g_hash_table_lookup (tag->owner->channels, tag->folded) : NULL;
  if (error != NULL && ch != NULL && ch->handshake == tag->handshake && ch->initiator)
    handshake_failed (ch, error->message);
  g_free (tag->folded);
  g_free (tag);
}

static void
start_initiator (Channel *ch)
{
  ChatdPeerChannels *c = ch->owner;
  const ChatdKey *own_key = c->callbacks.own_key (c->data);
  if (own_key == NULL || ch->key == NULL || !ch->has_address)
    {
      g_autoptr(GError) error = g_error_new (CHATD_ERROR, CHATD_ERROR_FAILED, "not logged in, or %s's key or "
                                             "address is unknown", ch->name);
      fail_waiting (ch, error);
      return;
    }
  ChatdPeerIdentity self = { c->own_name, own_key }, peer = { ch->name, ch->key };
  ChatdPeerHandshakeConfig config = handshake_config (c);
  g_autoptr(GBytes) init = NULL;
  g_autoptr(GError) error = NULL;
  ch->handshake = chatd_peer_handshake_new_initiator (c->suite, &self, &peer, &config, g_get_monotonic_time (),
                                                      &init, &error);
  if (ch->handshake == NULL)
    {
      ch->initiator = TRUE;
      handshake_failed (ch, error->message);
      return;
    }
  ch->initiator = TRUE;
  ch->n_handshakes++;
  InitTag *tag = g_new0 (InitTag, 1);
  tag->owner = c;
  tag->folded = g_strdup (ch->folded);
  tag->handshake = ch->handshake;
  ChatdPeerHandshake *started = ch->handshake;
  chatd_transport_send (c->transport, &ch->address, init, on_init_sent, tag);
  if (ch->handshake != started)
    return;   /* failed at once */
  ChatdConnection *connection = chatd_endpoint_lookup (chatd_transport_get_endpoint (c->transport), &ch->address);
  ch->handshake_connection = connection ? chatd_connection_ref (connection) : NULL;
  arm_handshake_timer (ch);
}

static gboolean
handshake_running (Channel *ch)
{
  return ch->handshake != NULL || ch->pending_session != NULL;
}

static void
install_session (Channel *ch, ChatdConnection *connection, ChatdPeerSession *session, gboolean responder)
{
  ChatdPeerChannels *c = ch->owner;
  gint64 now = g_get_monotonic_time ();
  c->n_handshakes++;
  /* a new connection: the messages in flight on the old one go again */
  if (ch->connection != connection)
    {
      requeue_inflight (ch);
      set_connection (ch, connection);
    }
  /* the first handshake on a connection installs its transport keys; a
   * re-key moves the connection to the new session's keys (key update):
   * the responder, which has just checked PEER_FINISH, knows that the
   * initiator holds them (it gave them to the connection before sending
   * PEER_FINISH, see handle_handshake_reply) and switches at once; the
   * initiator switches when the first packet sealed with them arrives */
  if (ch->protected_on == connection && responder)
    {
      ChatdPacketProtector protector;
      g_autoptr(GError) error = NULL;
      if (!chatd_peer_session_take_protector (session, &protector, &error))
        g_message ("peer session with %s: no transport key update: %s", ch->name, error->message);
      else if (!chatd_transport_update_protector (c->transport, connection, &protector, TRUE, &error))
        {
          g_message ("peer session with %s: no transport key update: %s", ch->name, error->message);
          protector.free_func (protector.user_data);
        }
      else
        c->n_key_updates++;
    }
  else if (ch->protected_on != connection)
    {
      ChatdPacketProtector protector;
      g_autoptr(GError) error = NULL;
      if (!chatd_peer_session_take_protector (session, &protector, &error) ||
          !chatd_connection_install_protector (connection, &protector, &error))
        g_message ("peer session with %s: no packet protection on the connection: %s", ch->name, error->message);
      g_clear_pointer (&ch->protected_on, chatd_connection_unref);
      ch->protected_on = chatd_connection_ref (connection);
    }
  chatd_peer_link_install (ch->link, session, now);
  ch->since = g_get_real_time () / G_USEC_PER_SEC;
  g_debug ("peer session with %s established", ch->name);
  /* the retired session must go at its own deadline, even without traffic */
  if (ch->expiry_timer != 0)
    g_source_remove (ch->expiry_timer);
  on_expiry_timer (ch);
  pump (ch);
}

/* the token bucket of responder handshakes */
static gboolean
may_respond (ChatdPeerChannels *c)
{
  gint64 now = g_get_monotonic_time ();
  c->init_tokens = MIN (CHATD_PEER_CHANNEL_INITS_PER_S,
                        c->init_tokens + (double) (now - c->init_tokens_at) * CHATD_PEER_CHANNEL_INITS_PER_S / G_USEC_PER_SEC);
  c->init_tokens_at = now;
  if (c->init_tokens < 1)
    return FALSE;
  c->init_tokens -= 1;
  return TRUE;
}

static void
handle_init (ChatdPeerChannels *c, ChatdConnection *connection, GBytes *bytes)
{
  g_autofree char *initiator = NULL, *responder = NULL;
  g_autoptr(GError) error = NULL;
  if (!chatd_peer_handshake_peek_init (bytes, &initiator, &responder, &error) ||
      g_ascii_strcasecmp (responder, c->own_name) != 0 || !chatd_user_name_is_valid (initiator, NULL) ||
      g_ascii_strcasecmp (initiator, c->own_name) == 0)
    {
      c->n_refused++;
      g_message ("PEER_INIT dropped: %s", error ? error->message : "not for us");
      return;
    }
  Channel *ch = channel_get (c, initiator, TRUE);
  if (ch->handshake != NULL && ch->initiator &&
      chatd_peer_handshake_get_state (ch->handshake) == CHATD_PEER_HANDSHAKE_WAIT_RESPONSE)
    {
      /* crossing PEER_INITs: the one of the smaller (folded) name wins */
      if (strcmp (c->own_folded, ch->folded) < 0)
        {
          g_debug ("crossing PEER_INIT from %s dropped: ours wins", initiator);
          return;
        }
    }
  if (ch->key == NULL)
    {
      /* find the key first; one PEER_INIT waits (a newer one replaces it) */
      gboolean asked = ch->stashed_init != NULL;
      g_clear_pointer (&ch->stashed_init, g_bytes_unref);
      g_clear_pointer (&ch->stashed_connection, chatd_connection_unref);
      ch->stashed_init = g_bytes_ref (bytes);
      ch->stashed_connection = chatd_connection_ref (connection);
      if (!asked)
        c->callbacks.need_key (initiator, c->data);
      return;
    }
  const ChatdKey *own_key = c->callbacks.own_key (c->data);
  if (own_key == NULL || !may_respond (c))
    {
      c->n_inits_dropped++;
      return;
    }
  /* one pending responder per peer (and so per connection): this replaces
   * any handshake of ours with this peer */
  drop_handshake (ch);
  ChatdPeerIdentity self = { c->own_name, own_key }, peer = { ch->name, ch->key };
  ChatdPeerHandshakeConfig config = handshake_config (c);
  gint64 now = g_get_monotonic_time ();
  g_autoptr(ChatdPeerHandshake) handshake = chatd_peer_handshake_new_responder (c->suite, &self, &peer, &config,
                                                                                now, &error);
  g_autoptr(GBytes) reply = NULL;
  if (handshake == NULL || !chatd_peer_handshake_receive (handshake, bytes, now, &reply, &error) || reply == NULL)
    {
      c->n_refused++;
      g_message ("PEER_INIT from %s refused: %s", initiator, error ? error->message : "no reply");
      if (!g_queue_is_empty (&ch->waiting))
        pump (ch);
      return;
    }
  ch->handshake = g_steal_pointer (&handshake);
  ch->initiator = FALSE;
  ch->handshake_connection = chatd_connection_ref (connection);
  arm_handshake_timer (ch);
  chatd_transport_send_on (c->transport, connection, reply, NULL, NULL);
}

/* PEER_RESPONSE (we initiated) or PEER_FINISH (we respond) */
static void
handshake_done (Channel *ch, ChatdConnection *connection, gboolean responder)
{
  ChatdPeerSession *session = chatd_peer_handshake_take_session (ch->handshake);
  drop_handshake (ch);
  if (session != NULL)
    install_session (ch, connection, session, responder);
}

static void
install_pending (Channel *ch)
{
  g_autoptr(ChatdConnection) connection = g_steal_pointer (&ch->pending_connection);
  ChatdPeerSession *session = g_steal_pointer (&ch->pending_session);
  drop_handshake (ch);
  install_session (ch, connection, session, FALSE);
}

typedef struct {
  ChatdPeerChannels *owner;
  char              *folded;
  ChatdPeerSession  *session;   /* compared only */
} FinishTag;

static void
on_finish_sent (ChatdEndpoint *endpoint, ChatdConnection *connection, const GError *error, gpointer user_data)
{
  FinishTag *tag = user_data;
  Channel *ch = tag->owner->channels ? g_hash_table_lookup (tag->owner->channels, tag->folded) : NULL;
  if (ch != NULL && ch->pending_session != NULL && ch->pending_session == tag->session)
    {
      if (error == NULL)
        install_pending (ch);
      else
        {
          ch->initiator = TRUE;
          handshake_failed (ch, error->message);
        }
    }
  g_free (tag->folded);
  g_free (tag);
}

static void
handle_handshake_reply (ChatdPeerChannels *c, ChatdConnection *connection, GBytes *bytes, gboolean response)
{
  GHashTableIter iter;
  gpointer value;
  Channel *ch = NULL;
  g_hash_table_iter_init (&iter, c->channels);
  while (ch == NULL && g_hash_table_iter_next (&iter, NULL, &value))
    {
      Channel *candidate = value;
      if (candidate->handshake != NULL && candidate->initiator == response &&
          candidate->handshake_connection == connection)
        ch = candidate;
    }
  if (ch == NULL)
    {
      c->n_refused++;
      g_debug ("%s without a handshake on its connection (dropped)", response ? "PEER_RESPONSE" : "PEER_FINISH");
      return;
    }
  g_autoptr(GBytes) reply = NULL;
  g_autoptr(GError) error = NULL;
  if (!chatd_peer_handshake_receive (ch->handshake, bytes, g_get_monotonic_time (), &reply, &error))
    {
      /* junk does not end a genuine handshake: only its deadline does */
      c->n_refused++;
      g_message ("peer handshake with %s: %s (dropped)", ch->name, error->message);
      if (chatd_peer_handshake_get_state (ch->handshake) == CHATD_PEER_HANDSHAKE_FAILED)
        handshake_failed (ch, error->message);
      return;
    }
  if (chatd_peer_handshake_get_state (ch->handshake) != CHATD_PEER_HANDSHAKE_DONE)
    {
      if (reply != NULL)
        chatd_transport_send_on (c->transport, connection, reply, NULL, NULL);
      return;
    }
  if (!response || reply == NULL)
    {
      /* the responder: the initiator has the session already */
      handshake_done (ch, connection, !response);
      return;
    }
  /* the initiator: the session waits for the acknowledgement of PEER_FINISH */
  ch->pending_session = chatd_peer_handshake_take_session (ch->handshake);
  g_clear_pointer (&ch->handshake, chatd_peer_handshake_free);
  if (ch->pending_session == NULL)
    {
      drop_handshake (ch);
      return;
    }
  ch->pending_connection = chatd_connection_ref (connection);
  if (ch->protected_on == connection)
    {
      /* a re-key on a protected connection: the new transport keys open the
       * responder's packets once it has PEER_FINISH (it switches then) */
      ChatdPacketProtector protector;
      g_autoptr(GError) key_error = NULL;
      if (!chatd_peer_session_take_protector (ch->pending_session, &protector, &key_error))
        g_message ("peer session with %s: no transport key update: %s", ch->name, key_error->message);
      else if (!chatd_transport_update_protector (c->transport, connection, &protector, FALSE, &key_error))
        {
          g_message ("peer session with %s: no transport key update: %s", ch->name, key_error->message);
          protector.free_func (protector.user_data);
        }
    }
  FinishTag *tag = g_new0 (FinishTag, 1);
  tag->owner = c;
  tag->folded = g_strdup (ch->folded);
  tag->session = ch->pending_session;
  chatd_transport_send_on (c->transport, connection, reply, on_finish_sent, tag);
}

/* --- messages --- */

static GBytes *
message_aad (const char *sender_folded, const char *recipient_folded)
{
  GByteArray *aad = g_byte_array_new ();
  g_byte_array_append (aad, (const guint8 *) sender_folded, strlen (sender_folded) + 1);
  g_byte_array_append (aad, (const guint8 *) recipient_folded, strlen (recipient_folded) + 1);
  return g_byte_array_free_to_bytes (aad);
}

static GBytes *
inflight_key (const guint8 *session_id, guint64 counter)
{
  guint8 key[CHATD_PEER_SESSION_ID_LEN + 8];
  memcpy (key, session_id, CHATD_PEER_SESSION_ID_LEN);
  for (int i = 7; i >= 0; i--, counter >>= 8)
    key[CHATD_PEER_SESSION_ID_LEN + i] = (guint8) counter;
  return g_bytes_new (key, sizeof key);
}

typedef struct {
  ChatdPeerChannels *owner;
  char              *folded;
  GBytes            *key;
} SentRef;

/* the transport's verdict on a PEER_MESSAGE: only failures matter (the
 * receipt says it was stored) */
static void
on_message_sent (ChatdEndpoint *endpoint, ChatdConnection *connection, const GError *error, gpointer user_data)
{
  SentRef *ref = user_data;
  Channel *ch = error != NULL && ref->owner->channels ? g_hash_table_lookup (ref->owner->channels, ref->folded) : NULL;
  if (ch != NULL && g_hash_table_contains (ch->inflight, ref->key))
    {
      /* the peer's node is gone or moved: the messages fail, and the
       * messenger asks the server where (or whether) it is now */
      g_message ("peer session with %s: the connection failed (%s)", ch->name, error->message);
      drop_handshake (ch);
      drop_sessions (ch);
      g_autoptr(GError) failed = g_error_new (CHATD_ERROR, CHATD_ERROR_FAILED, "the connection to %s's node "
                                              "failed (%s): retry", ch->name, error->message);
      fail_waiting (ch, failed);
    }
  g_bytes_unref (ref->key);
  g_free (ref->folded);
  g_free (ref);
}

/* The receiver accepts a counter at most CHATD_PEER_MAX_GAP ahead of the
 * oldest one it still waits for: the next message is sealed only while it
 * is less than CHATD_PEER_CHANNEL_INFLIGHT_MAX ahead of the oldest message
 * of the current session without a receipt (one lost and retransmitted
 * message must not let the others run out of the window). */
static gboolean
window_open (Channel *ch)
{
  ChatdPeerSession *current = chatd_peer_link_current (ch->link);
  GBytes *head;
  while ((head = g_queue_peek_head (&ch->sealed_order)) != NULL && !g_hash_table_contains (ch->inflight, head))
    g_bytes_unref (g_queue_pop_head (&ch->sealed_order));
  if (current == NULL)
    return TRUE;
  /* the oldest unacknowledged message of the current session (older
   * sessions' messages do not count against its counters) */
  for (GList *l = ch->sealed_order.head; l != NULL; l = l->next)
    {
      const guint8 *key = g_bytes_get_data (l->data, NULL);
      if (!g_hash_table_contains (ch->inflight, l->data) ||
          memcmp (key, chatd_peer_session_id (current), CHATD_PEER_SESSION_ID_LEN) != 0)
        continue;
      guint64 oldest = 0;
      for (int i = 0; i < 8; i++)
        oldest = oldest << 8 | key[CHATD_PEER_SESSION_ID_LEN + i];
      return chatd_peer_session_sealed_count (current) - oldest < CHATD_PEER_CHANNEL_INFLIGHT_MAX;
    }
  return TRUE;
}

static void
pump (Channel *ch)
{
  ChatdPeerChannels *c = ch->owner;
  if (g_queue_is_empty (&ch->waiting))
    return;
  gint64 now = g_get_monotonic_time ();
  if (ch->connection != NULL && !chatd_connection_is_alive (ch->connection))
    drop_sessions (ch);
  gboolean usable = ch->connection != NULL && chatd_peer_link_current (ch->link) != NULL;
  if (!handshake_running (ch) && (!usable || chatd_peer_link_needs_rekey (ch->link, now)))
    start_initiator (ch);
  if (!usable || ch->connection == NULL)
    return;
  GBytes *aad = ch->aad_out;
  while (!g_queue_is_empty (&ch->waiting) && g_hash_table_size (ch->inflight) < CHATD_PEER_CHANNEL_INFLIGHT_MAX &&
         window_open (ch))
    {
      Outgoing *o = g_queue_peek_head (&ch->waiting);
      guint64 counter = 0;
      g_autoptr(GError) error = NULL;
      gsize len = 0;
      const guint8 *text = g_bytes_get_data (o->plaintext, &len);
      g_autoptr(GBytes) sealed = chatd_peer_link_seal (ch->link, g_bytes_get_data (aad, NULL), g_bytes_get_size (aad),
                                                       text, len, &counter, &error);
      if (sealed == NULL && !g_error_matches (error, CHATD_ERROR, CHATD_ERROR_REFUSED))
        {
          finish (c, g_queue_pop_head (&ch->waiting), error);   /* too long, ... */
          continue;
        }
      if (sealed == NULL)
        {
          /* at twice the re-key count: wait for the new session */
          if (!handshake_running (ch))
            start_initiator (ch);
          return;
        }
      g_queue_pop_head (&ch->waiting);
      GBytes *key = inflight_key (chatd_peer_session_id (chatd_peer_link_current (ch->link)), counter);
      g_queue_push_tail (&ch->sealed_order, g_bytes_ref (key));
      o->sent_us = now;
      o->attempts++;
      g_hash_table_insert (ch->inflight, g_bytes_ref (key), o);
      arm_receipt_timer (ch);
      ch->n_sent++;
      c->n_sent++;
      SentRef *ref = g_new0 (SentRef, 1);
      ref->owner = c;
      ref->folded = g_strdup (ch->folded);
      ref->key = key;
      chatd_transport_send_on (c->transport, ch->connection, sealed, on_message_sent, ref);
      if (ch->connection == NULL)
        return;   /* the send failed at once and dropped the sessions */
    }
}

/* No receipt in time: the peer's node lost the session (a restart at the
 * same address, a reset) or the connection is dead.  The sessions go, the
 * messages are sent again in a new one; a message that already went in
 * CHATD_PEER_CHANNEL_ATTEMPTS_MAX sessions without a receipt fails. */
static gboolean
on_receipt_timer (gpointer user_data)
{
  Channel *ch = user_data;
  gint64 now = g_get_monotonic_time ();
  GHashTableIter iter;
  gpointer value;
  gboolean late = FALSE;
  g_hash_table_iter_init (&iter, ch->inflight);
  while (!late && g_hash_table_iter_next (&iter, NULL, &value))
    late = now - ((Outgoing *) value)->sent_us > CHATD_PEER_CHANNEL_RECEIPT_TIMEOUT_US;
  if (!late && g_hash_table_size (ch->inflight) > 0)
    return G_SOURCE_CONTINUE;
  if (!late)
    {
      ch->receipt_timer = 0;
      return G_SOURCE_REMOVE;
    }
  ch->receipt_timer = 0;
  g_message ("peer session with %s: no receipt within %d s: a new handshake", ch->name,
             (int) (CHATD_PEER_CHANNEL_RECEIPT_TIMEOUT_US / G_USEC_PER_SEC));
  drop_handshake (ch);
  drop_sessions (ch);
  GQueue keep = G_QUEUE_INIT;
  Outgoing *o;
  while ((o = g_queue_pop_head (&ch->waiting)) != NULL)
    {
      if (o->attempts < CHATD_PEER_CHANNEL_ATTEMPTS_MAX)
        {
          g_queue_push_tail (&keep, o);
          continue;
        }
      g_autoptr(GError) error = g_error_new (CHATD_ERROR, CHATD_ERROR_TIMED_OUT, "no receipt from %s's node in "
                                             "%u sessions: retry", ch->name, o->attempts);
      finish (ch->owner, o, error);
    }
  ch->waiting = keep;
  pump (ch);
  return G_SOURCE_REMOVE;
}

static void
arm_receipt_timer (Channel *ch)
{
  if (ch->receipt_timer == 0)
    ch->receipt_timer = g_timeout_add_seconds (1, on_receipt_timer, ch);
}

/* func on every channel, what they send leaving together at the end */
static void
each_channel_held (ChatdPeerChannels *c, void (*func) (Channel *))
{
  GHashTableIter iter;
  gpointer value;
  chatd_transport_hold (c->transport);
  g_hash_table_iter_init (&iter, c->channels);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    func (value);
  chatd_transport_release (c->transport);
}

static gboolean
on_pump_due (gpointer user_data)
{
  ChatdPeerChannels *c = user_data;
  c->pump_source = 0;
  each_channel_held (c, pump);
  return G_SOURCE_REMOVE;
}

void
chatd_peer_channels_send (ChatdPeerChannels *c, const char *peer, const ChatdAddress *address, GBytes *plaintext,
                          gpointer tag)
{
  Channel *ch = channel_get (c, peer, TRUE);
  Outgoing *o = g_new0 (Outgoing, 1);
  o->plaintext = g_bytes_ref (plaintext);
  o->tag = tag;
  if (g_queue_get_length (&ch->waiting) >= CHATD_PEER_CHANNEL_WAITING_MAX)
    {
      g_autoptr(GError) error = g_error_new (CHATD_ERROR, CHATD_ERROR_REFUSED, "too many messages wait for the "
                                             "session with %s's node (%d): retry", ch->name,
                                             CHATD_PEER_CHANNEL_WAITING_MAX);
      finish (c, o, error);
      return;
    }
  if (!ch->has_address || !chatd_address_equal (&ch->address, address))
    {
      /* the peer's node is elsewhere now (a restart): a new session there */
      if (ch->has_address)
        {
          drop_handshake (ch);
          drop_sessions (ch);
        }
      ch->address = *address;
      ch->has_address = TRUE;
    }
  g_queue_push_tail (&ch->waiting, o);
  /* the messenger hands over a committed group one message at a time:
   * they are sealed together, and leave in as few packets as they fit */
  if (c->pump_source == 0)
    c->pump_source = g_idle_add_full (G_PRIORITY_DEFAULT, on_pump_due, c, NULL);
}

static Channel *
channel_of_connection (ChatdPeerChannels *c, ChatdConnection *connection)
{
  return g_hash_table_lookup (c->by_connection, connection);
}

static void
handle_message (ChatdPeerChannels *c, ChatdConnection *connection, const ChatdAuthMessage *parsed)
{
  Channel *ch = channel_of_connection (c, connection);
  g_autoptr(GError) error = NULL;
  if (ch == NULL)
    {
      c->n_refused++;
      g_message ("PEER_MESSAGE on a connection without a peer session (dropped)");
      return;
    }
  /* the schema checked the session id's length (field 0) */
  const guint8 *session_id = parsed->fields[PM_SESSION].data;
  if (ch->pending_session != NULL &&
      memcmp (session_id, chatd_peer_session_id (ch->pending_session), CHATD_PEER_SESSION_ID_LEN) == 0)
    install_pending (ch);   /* the peer has it: our PEER_FINISH arrived */
  ReceiptRef *ref = g_new0 (ReceiptRef, 1);
  g_autoptr(GBytes) plaintext = chatd_peer_link_open_parsed (ch->link, parsed, g_bytes_get_data (ch->aad_in, NULL),
                                                             g_bytes_get_size (ch->aad_in), g_get_monotonic_time (),
                                                             &ref->entry.counter, ref->entry.digest, &error);
  if (plaintext == NULL)
    {
      g_free (ref);
      c->n_refused++;
      g_message ("PEER_MESSAGE from %s dropped: %s", ch->name, error->message);
      return;
    }
  ch->n_received++;
  c->n_received++;
  ref->folded = g_strdup (ch->folded);
  ref->connection = chatd_connection_ref (connection);
  memcpy (ref->session_id, session_id, CHATD_PEER_SESSION_ID_LEN);
  c->callbacks.received (ch->name, plaintext, ref, c->data);
}

/* The receipts queued in this main-loop iteration (the messenger commits a
 * group, then calls chatd_peer_channels_send_receipt for each message):
 * one PEER_RECEIPTS per session and connection, at most
 * CHATD_PEER_RECEIPTS_MAX each. */
static void
flush_receipts (Channel *ch)
{
  ChatdPeerChannels *c = ch->owner;
  gint64 now = g_get_monotonic_time ();
  while (ch->receipts->len > 0)
    {
      PendingReceipt first = g_array_index (ch->receipts, PendingReceipt, 0);
      ChatdPeerReceiptEntry entries[CHATD_PEER_RECEIPTS_MAX];
      guint n = 0, kept = 0;
      /* this batch: the entries of the first one's session and connection */
      for (guint i = 0; i < ch->receipts->len; i++)
        {
          PendingReceipt *r = &g_array_index (ch->receipts, PendingReceipt, i);
          if (n < CHATD_PEER_RECEIPTS_MAX && r->connection == first.connection &&
              memcmp (r->session_id, first.session_id, CHATD_PEER_SESSION_ID_LEN) == 0)
            {
              entries[n++] = r->entry;
              if (i > 0)
                chatd_connection_unref (r->connection);   /* first's is dropped below */
              continue;
            }
          g_array_index (ch->receipts, PendingReceipt, kept++) = *r;
        }
      g_array_set_size (ch->receipts, kept);
      g_autoptr(GError) error = NULL;
      g_autoptr(GBytes) batch = chatd_peer_link_receipts (ch->link, first.session_id, entries, n, now, &error);
      if (batch != NULL)
        chatd_transport_send_on (c->transport, first.connection, batch, NULL, NULL);
      else
        g_message ("no receipts for %u messages from %s: %s", n, ch->name, error->message);
      chatd_connection_unref (first.connection);
    }
}

static gboolean
on_receipts_due (gpointer user_data)
{
  ChatdPeerChannels *c = user_data;
  c->receipts_source = 0;
  each_channel_held (c, flush_receipts);
  return G_SOURCE_REMOVE;
}

void
chatd_peer_channels_send_receipt (ChatdPeerChannels *c, gpointer receipt_ref, gboolean stored)
{
  ReceiptRef *ref = receipt_ref;
  Channel *ch = stored ? g_hash_table_lookup (c->channels, ref->folded) : NULL;
  if (ch != NULL)
    {
      PendingReceipt pending = { .connection = g_steal_pointer (&ref->connection), .entry = ref->entry };
      memcpy (pending.session_id, ref->session_id, CHATD_PEER_SESSION_ID_LEN);
      g_array_append_val (ch->receipts, pending);
      if (c->receipts_source == 0)
        c->receipts_source = g_idle_add_full (G_PRIORITY_DEFAULT, on_receipts_due, c, NULL);
    }
  g_clear_pointer (&ref->connection, chatd_connection_unref);
  g_free (ref->folded);
  chatd_wipe (ref, sizeof *ref);
  g_free (ref);
}

/* a receipt of the messages with these counters of session_id: their
 * deliveries finish */
static void
receipts_checked (Channel *ch, const guint8 *session_id, const guint64 *counters, const guint8 *statuses, guint n)
{
  ChatdPeerChannels *c = ch->owner;
  for (guint i = 0; i < n; i++)
    {
      g_autoptr(GBytes) key = inflight_key (session_id, counters[i]);
      gpointer stolen_key = NULL, value = NULL;
      if (!g_hash_table_steal_extended (ch->inflight, key, &stolen_key, &value))
        continue;   /* requeued (the connection changed): it is sent again */
      g_bytes_unref (stolen_key);
      c->n_receipts++;
      Outgoing *o = value;
      if (statuses[i] == 0)
        finish (c, o, NULL);
      else
        {
          g_autoptr(GError) refused = g_error_new (CHATD_ERROR, CHATD_ERROR_REFUSED, "%s's node did not store it "
                                                   "(status %u)", ch->name, statuses[i]);
          finish (c, o, refused);
        }
    }
  pump (ch);
}

static void
handle_receipts (ChatdPeerChannels *c, ChatdConnection *connection, const ChatdAuthMessage *parsed)
{
  Channel *ch = channel_of_connection (c, connection);
  guint64 counters[CHATD_PEER_RECEIPTS_MAX];
  guint8 statuses[CHATD_PEER_RECEIPTS_MAX];
  guint n = 0;
  g_autoptr(GError) error = NULL;
  if (ch == NULL || !chatd_peer_link_check_receipts (ch->link, parsed, g_get_monotonic_time (), counters, statuses,
                                                     &n, &error))
    {
      c->n_refused++;
      g_message ("PEER_RECEIPTS dropped: %s", error ? error->message : "no peer session on its connection");
      return;
    }
  receipts_checked (ch, parsed->fields[PB_SESSION].data, counters, statuses, n);
}

static void
handle_receipt (ChatdPeerChannels *c, ChatdConnection *connection, GBytes *bytes)
{
  Channel *ch = channel_of_connection (c, connection);
  guint8 session_id[CHATD_PEER_SESSION_ID_LEN];
  guint64 counter = 0;
  guint8 status = 0;
  g_autoptr(GError) error = NULL;
  if (ch == NULL || !chatd_peer_message_session_id (bytes, session_id, &error) ||
      !chatd_peer_link_check_receipt (ch->link, bytes, g_get_monotonic_time (), &counter, &status, &error))
    {
      c->n_refused++;
      g_message ("PEER_RECEIPT dropped: %s", error ? error->message : "no peer session on its connection");
      return;
    }
  receipts_checked (ch, session_id, &counter, &status, 1);
}

void
chatd_peer_channels_handle (ChatdPeerChannels *c, ChatdConnection *connection, const ChatdAuthMessage *parsed,
                            GBytes *bytes)
{
  switch (parsed->type)
    {
    case CHATD_MSG_PEER_INIT:
      handle_init (c, connection, bytes);
      break;
    case CHATD_MSG_PEER_RESPONSE:
      handle_handshake_reply (c, connection, bytes, TRUE);
      break;
    case CHATD_MSG_PEER_FINISH:
      handle_handshake_reply (c, connection, bytes, FALSE);
      break;
    case CHATD_MSG_PEER_MESSAGE:
      handle_message (c, connection, parsed);
      break;
    case CHATD_MSG_PEER_RECEIPT:
      handle_receipt (c, connection, bytes);
      break;
    case CHATD_MSG_PEER_RECEIPTS:
      handle_receipts (c, connection, parsed);
      break;
    default:
      c->n_refused++;
      break;
    }
}

void
chatd_peer_channels_reset (ChatdPeerChannels *c, const char *why)
{
  g_autoptr(GError) error = g_error_new (CHATD_ERROR, CHATD_ERROR_FAILED, "%s: retry", why);
  GHashTableIter iter;
  gpointer value;
  g_hash_table_iter_init (&iter, c->channels);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    {
      Channel *ch = value;
      /* the peer hears at once that this node left (CLOSE), instead of
       * after its dead-peer timeout */
      if (ch->connection != NULL && chatd_connection_is_alive (ch->connection))
        chatd_transport_close_connection (c->transport, ch->connection, 0, why);
      drop_handshake (ch);
      drop_sessions (ch);
      fail_waiting (ch, error);
    }
}

gboolean
chatd_peer_channels_has_session (ChatdPeerChannels *c, const char *peer)
{
  Channel *ch = channel_get (c, peer, FALSE);
  return ch != NULL && ch->connection != NULL && chatd_connection_is_alive (ch->connection) &&
         chatd_peer_link_current (ch->link) != NULL;
}

gboolean
chatd_peer_channels_lost (ChatdPeerChannels *c, const char *peer)
{
  Channel *ch = channel_get (c, peer, FALSE);
  return ch != NULL && ch->has_address && !handshake_running (ch) && !chatd_peer_channels_has_session (c, peer);
}

GVariant *
chatd_peer_channels_describe (ChatdPeerChannels *c)
{
  GVariantBuilder b;
  g_variant_builder_init (&b, G_VARIANT_TYPE ("aa{sv}"));
  g_autoptr(GList) keys = g_list_sort (g_hash_table_get_keys (c->channels), (GCompareFunc) strcmp);
  for (GList *l = keys; l != NULL; l = l->next)
    {
      Channel *ch = g_hash_table_lookup (c->channels, l->data);
      gboolean session = chatd_peer_channels_has_session (c, ch->name);
      g_variant_builder_open (&b, G_VARIANT_TYPE_VARDICT);
      g_variant_builder_add (&b, "{sv}", "peer", g_variant_new_string (ch->name));
      g_variant_builder_add (&b, "{sv}", "session", g_variant_new_boolean (session));
      g_variant_builder_add (&b, "{sv}", "since", g_variant_new_int64 (session ? ch->since : 0));
      g_variant_builder_add (&b, "{sv}", "sent", g_variant_new_uint64 (ch->n_sent));
      g_variant_builder_add (&b, "{sv}", "received", g_variant_new_uint64 (ch->n_received));
      g_variant_builder_add (&b, "{sv}", "handshakes", g_variant_new_uint64 (ch->n_handshakes));
      g_variant_builder_add (&b, "{sv}", "waiting", g_variant_new_uint32 (g_queue_get_length (&ch->waiting)));
      g_variant_builder_add (&b, "{sv}", "in-flight", g_variant_new_uint32 (g_hash_table_size (ch->inflight)));
      g_variant_builder_close (&b);
    }
  return g_variant_builder_end (&b);
}

void
chatd_peer_channels_foreach_counter (ChatdPeerChannels *c, void (*visit) (const char *, guint64, gpointer),
                                     gpointer data)
{
  visit ("handshakes", c->n_handshakes, data);
  visit ("handshake-failures", c->n_handshake_failures, data);
  visit ("transport-key-updates", c->n_key_updates, data);
  visit ("inits-dropped", c->n_inits_dropped, data);
  visit ("sent", c->n_sent, data);
  visit ("received", c->n_received, data);
  visit ("receipts", c->n_receipts, data);
  visit ("refused", c->n_refused, data);
}

ChatdPeerChannels *
chatd_peer_channels_new (ChatdTransport *transport, ChatdRegistry *registry, const ChatdSuite *suite,
                         const char *own_name, const ChatdPeerChannelConfig *config,
                         const ChatdPeerChannelCallbacks *callbacks, gpointer data)
{
  ChatdPeerChannels *c = g_new0 (ChatdPeerChannels, 1);
  c->transport = transport;
  c->registry = registry;
  c->suite = suite;
  c->own_name = g_strdup (own_name);
  c->own_folded = g_ascii_strdown (own_name, -1);
  if (config != NULL)
    c->config = *config;
  c->callbacks = *callbacks;
  c->data = data;
  c->budget = chatd_peer_skip_budget_new (CHATD_PEER_SKIPPED_BUDGET_DEFAULT);
  c->channels = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, (GDestroyNotify) channel_free);
  c->by_connection = g_hash_table_new (g_direct_hash, g_direct_equal);
  g_queue_init (&c->finished);
  c->init_tokens = CHATD_PEER_CHANNEL_INITS_PER_S;
  c->init_tokens_at = g_get_monotonic_time ();
  return c;
}

void
chatd_peer_channels_free (ChatdPeerChannels *c)
{
  if (c == NULL)
    return;
  g_clear_pointer (&c->channels, g_hash_table_unref);
  g_clear_pointer (&c->by_connection, g_hash_table_unref);
  if (c->finish_source != 0)
    g_source_remove (c->finish_source);
  if (c->receipts_source != 0)
    g_source_remove (c->receipts_source);
  if (c->pump_source != 0)
    g_source_remove (c->pump_source);
  /* no callbacks any more: the messenger is going */
  Finished *f;
  while ((f = g_queue_pop_head (&c->finished)) != NULL)
    {
      g_clear_error (&f->error);
      g_free (f);
    }
  chatd_peer_skip_budget_unref (c->budget);
  g_free (c->own_name);
  g_free (c->own_folded);
  g_free (c);
}
