/* server-role.c: the server node at work (doc/protocol.md, "Login" and
 * "Session"). */
#define G_LOG_DOMAIN "chatd-server"
#include "server-role.h"
#include "auth-message.h"
#include "chatd-transport.h"
#include "directory.h"
#include "directory-service.h"
#include "enroll-server.h"
#include "key-record.h"
#include "login-server.h"
#include "manifest.h"
#include "node.h"
#include "offline-queue.h"
#include "session-protocol.h"

#include <gcrypt.h>
#include <string.h>

typedef struct {
  char            *folded;       /* presence key */
  char            *name;         /* as registered */
  char            *suite;
  GBytes          *public_key;
  char            *address;      /* where peers reach the node; "" until it says */
  gint64           since;        /* unix seconds */
  gint64           last_seen_us;
  ChatdConnection *connection;   /* its session */
  /* the hand-over of queued envelopes in this session */
  gboolean         handover;       /* started (after presence) */
  gint64           handed_seq;     /* the last queue entry sent */
  guint            in_flight;      /* sent, no receipt yet */
  gint64           progress_us;    /* last hand-over or receipt */
} Presence;

struct _ChatdServerRole {
  ChatdNode        *node;
  ChatdTransport   *transport;
  ChatdLoginServer *login;        /* made once the server has an identity (after seed) */
  ChatdEnrollServer *enroll;      /* likewise */
  GHashTable       *online;       /* folded name -> Presence* */
  GHashTable       *unsettled;    /* ChatdConnection* (a ref) -> gint64* accepted at: no session yet */
  gint64            login_deadline_us;
  guint64           n_unsettled_closed;
  guint             sweep_source;
  ChatdOfflineQueue *queue;
  guint             queue_sweep_source;
  guint64           n_queue_stored, n_queue_delivered, n_queue_expired, n_queue_refused, n_notices_dropped;
  guint64           n_sessions_replaced, n_presence_expired, n_session_requests, n_dropped;
  guint64           n_enrolled, n_passwd, n_sessions_ended;
  guint             counter_providers[3];
};

static void
presence_free (Presence *p)
{
  g_free (p->folded);
  g_free (p->name);
  g_free (p->suite);
  g_clear_pointer (&p->public_key, g_bytes_unref);
  g_free (p->address);
  g_clear_pointer (&p->connection, chatd_connection_unref);
  g_free (p);
}

static const ChatdSuite *
lookup_suite (gpointer user_data, const char *name)
{
  ChatdServerRole *role = user_data;
  return chatd_registry_lookup_suite (role->node->registry, name);
}

static gboolean
lookup_record (gpointer user_data, const char *name, ChatdLoginRecord **ret_record, GError **error)
{
  ChatdServerRole *role = user_data;
  return chatd_directory_login_record (role->node->directory, name, ret_record, error);
}

/* the login needs the server key: it exists once `seed` has run */
static ChatdLoginServer *
login_server (ChatdServerRole *role, GError **error)
{
  if (role->login != NULL)
    return role->login;
  const ChatdKey *key = chatd_directory_get_server_key (role->node->directory);
  if (key == NULL)
    {
      g_set_error (error, CHATD_ERROR, CHATD_ERROR_NOT_SUPPORTED,
                   "the server has no identity yet (run chatctl seed)");
      return NULL;
    }
  const ChatdNodeOptions *o = role->node->options;
  ChatdLoginServerConfig config = {
    .channel_suite = chatd_registry_lookup_suite (role->node->registry, CHATD_CHANNEL_SUITE),
    .server_key = key,
    .server_secret = chatd_directory_get_server_secret (role->node->directory),
    .pow_bits = o->pow_bits > 0 ? (guint) o->pow_bits : CHATD_POW_BITS_DEFAULT,
    .pow_bits_max = MAX (o->pow_bits > 0 ? (guint) o->pow_bits : 0, CHATD_POW_BITS_LOADED_MAX),
    .hellos_per_second_before_raise = 200,
    .attempts_per_minute_per_name = 30,
    .attempts_per_minute_per_address = 60,
    .lookup = lookup_record,
    .suite_lookup = lookup_suite,
    .user_data = role,
  };
  if (config.channel_suite == NULL)
    {
      g_set_error (error, CHATD_ERROR, CHATD_ERROR_NOT_SUPPORTED,
                   "the channel suite '%s' is not loaded", CHATD_CHANNEL_SUITE);
      return NULL;
    }
  role->login = chatd_login_server_new (&config, error);
  return role->login;
}

static void
send_on (ChatdServerRole *role, ChatdConnection *connection, GBytes *message)
{
  if (message != NULL)
    chatd_transport_send_on (role->transport, connection, message, NULL, NULL);
}

static GVariant *
presence_event_data (const Presence *p)
{
  g_auto(GVariantBuilder) b = G_VARIANT_BUILDER_INIT (G_VARIANT_TYPE_VARDICT);
  g_variant_builder_add (&b, "{sv}", "name", g_variant_new_string (p->name));
  g_variant_builder_add (&b, "{sv}", "address", g_variant_new_string (p->address));
  return g_variant_builder_end (&b);
}

static void
drop_presence (ChatdServerRole *role, Presence *p, const char *why)
{
  g_message ("%s is offline (%s)", p->name, why);
  g_autofree char *text = g_strdup_printf ("%s is offline (%s)", p->name, why);
  chatd_event_hub_emit (role->node->events, "peer-offline", presence_event_data (p), text);
  g_hash_table_remove (role->online, p->folded);
}

static Presence *
presence_for_connection (ChatdServerRole *role, ChatdConnection *connection)
{
  GHashTableIter iter;
  gpointer value;
  g_hash_table_iter_init (&iter, role->online);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    if (((Presence *) value)->connection == connection)
      return value;
  return NULL;
}

static ChatdManifest *
current_manifest (ChatdServerRole *role, const guint8 *nonce)
{
  ChatdManifest *manifest = chatd_manifest_new (g_get_real_time () / G_USEC_PER_SEC,
                                                CHATD_MANIFEST_LIFETIME_S, nonce);
  guint n = 0;
  g_autofree const char **names = (const char **) g_hash_table_get_keys_as_array (role->online, &n);
  for (guint i = 0; i < n; i++)
    {
      const Presence *p = g_hash_table_lookup (role->online, names[i]);
      if (p->address[0] != '\0')
        chatd_manifest_add (manifest, p->name, p->address, p->suite, p->public_key, p->since);
    }
  return manifest;
}

static void respond (ChatdServerRole *role, ChatdConnection *connection, const ChatdAuthMessage *request,
                     gboolean ok, GBytes *body, GBytes *signature);
static void respond_error (ChatdServerRole *role, ChatdConnection *connection,
                           const ChatdAuthMessage *request, const char *text);

/* --- the offline queue: hand-over and notices --- */

typedef struct {
  ChatdServerRole *role;
  gint64           seq;
} NoticeTag;

/* a notice the sender's node acknowledged is no longer kept */
static void
on_notice_sent (ChatdEndpoint *endpoint, ChatdConnection *connection, const GError *error, gpointer user_data)
{
  NoticeTag *tag = user_data;
  if (error == NULL && tag->role->queue != NULL)
    chatd_offline_queue_delete_notice (tag->role->queue, tag->seq, NULL);
  g_free (tag);
}

static void
send_notice (ChatdServerRole *role, Presence *p, gint64 seq, GBytes *message)
{
  NoticeTag *tag = g_new0 (NoticeTag, 1);
  tag->role = role;
  tag->seq = seq;
  chatd_transport_send_on (role->transport, p->connection, message, on_notice_sent, tag);
}

/* a RECEIPT or EXPIRED for user: kept until their node acknowledges it,
 * sent at once if they are online */
static void
notify (ChatdServerRole *role, const char *user, GBytes *message)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *folded = chatd_directory_fold_name (user);
  Presence *p = g_hash_table_lookup (role->online, folded);
  gint64 seq = 0;
  if (!chatd_offline_queue_add_notice (role->queue, user, message, g_get_real_time () / G_USEC_PER_SEC, &seq, &error))
    {
      role->n_notices_dropped++;
      g_message ("notice for %s not kept: %s", user, error->message);
      if (p != NULL && p->handover)
        send_on (role, p->connection, message);
      return;
    }
  if (p != NULL && p->handover)
    send_notice (role, p, seq, message);
}

static void
deliver_notices (ChatdServerRole *role, Presence *p)
{
  g_autoptr(GArray) seqs = NULL;
  g_autoptr(GPtrArray) messages = NULL;
  chatd_offline_queue_notices (role->queue, p->name, chatd_offline_queue_get_config (role->queue)->notices_limit,
                               &seqs, &messages);
  for (guint i = 0; i < messages->len; i++)
    send_notice (role, p, g_array_index (seqs, gint64, i), messages->pdata[i]);
}

/* queued envelopes to their recipient's session, a bounded number at a time */
static void
handover_pump (ChatdServerRole *role, Presence *p)
{
  while (p->handover && p->in_flight < CHATD_QUEUE_IN_FLIGHT_MAX)
    {
      g_autoptr(ChatdQueueEntry) entry = chatd_offline_queue_next (role->queue, p->name, p->handed_seq);
      if (entry == NULL)
        break;
      p->handed_seq = entry->seq;
      p->in_flight++;
      p->progress_us = g_get_monotonic_time ();
      send_on (role, p->connection, entry->envelope);
    }
}

static void
start_handover (ChatdServerRole *role, Presence *p)
{
  p->handover = TRUE;
  p->progress_us = g_get_monotonic_time ();
  deliver_notices (role, p);
  handover_pump (role, p);
}

static void
handle_queue (ChatdServerRole *role, ChatdConnection *connection, Presence *p, const ChatdAuthMessage *request)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) bytes = request->n_fields > SR_ARGUMENT
    ? g_bytes_new (request->fields[SR_ARGUMENT].data, request->fields[SR_ARGUMENT].len) : g_bytes_new (NULL, 0);
  g_autoptr(ChatdDirectoryUser) user = NULL;
  g_autofree char *recipient = NULL;
  guint8 own_fp[32], id[16], recipient_fp[32];
  gcry_md_hash_buffer (GCRY_MD_SHA256, own_fp, g_bytes_get_data (p->public_key, NULL), g_bytes_get_size (p->public_key));
  gboolean duplicate = FALSE;
  if (chatd_offline_queue_check_envelope (bytes, p->name, own_fp, id, &recipient, recipient_fp, &error))
    {
      if (!chatd_directory_get_user (role->node->directory, recipient, &user, NULL))
        g_set_error (&error, CHATD_ERROR, CHATD_ERROR_NOT_FOUND, "unknown user");
      else if (memcmp (recipient_fp, user->fingerprint, 32) != 0)
        g_set_error (&error, CHATD_ERROR, CHATD_ERROR_REFUSED,
                     "the envelope is sealed to a key that is not %s's registered key", user->name);
      else
        chatd_offline_queue_add (role->queue, id, p->name, user->name, bytes,
                                 g_get_real_time () / G_USEC_PER_SEC, &duplicate, &error);
    }
  if (error != NULL)
    {
      role->n_queue_refused++;
      g_message ("queue request of %s refused: %s", p->name, error->message);
      respond_error (role, connection, request, error->message);
      return;
    }
  if (!duplicate)
    role->n_queue_stored++;
  g_message ("queued a message of %s for %s%s", p->name, user->name, duplicate ? " (again)" : "");
  respond (role, connection, request, TRUE, NULL, NULL);
  /* online but not reachable for the sender: the session may still work */
  g_autofree char *folded = chatd_directory_fold_name (user->name);
  Presence *r = g_hash_table_lookup (role->online, folded);
  if (r != NULL)
    handover_pump (role, r);
}

/* the recipient's node stored a queued envelope: forget it, tell the sender */
static void
handle_receipt (ChatdServerRole *role, Presence *p, const ChatdAuthMessage *receipt)
{
  const guint8 *id = NULL, *hash = NULL;
  g_autofree char *sender = NULL;
  if (!chatd_offline_queue_receipt_key (receipt, &id, &hash, &sender))
    return;
  g_autoptr(ChatdQueueEntry) entry = chatd_offline_queue_take_receipted (role->queue, p->name, id, hash);
  if (entry == NULL)
    {
      g_debug ("a receipt from %s matches no queued message (ignored)", p->name);
      return;
    }
  role->n_queue_delivered++;
  if (p->in_flight > 0)
    p->in_flight--;
  p->progress_us = g_get_monotonic_time ();
  g_message ("%s stored a queued message of %s", p->name, entry->sender);
  notify (role, entry->sender, receipt->bytes);
  handover_pump (role, p);
}

static gboolean
queue_sweep (gpointer user_data)
{
  ChatdServerRole *role = user_data;
  gint64 now = g_get_real_time () / G_USEC_PER_SEC;
  for (;;)
    {
      g_autoptr(GPtrArray) expired = chatd_offline_queue_expire (role->queue, now, 256);
      for (guint i = 0; i < expired->len; i++)
        {
          ChatdQueueEntry *e = expired->pdata[i];
          role->n_queue_expired++;
          g_message ("a message of %s for %s expired in the queue", e->sender, e->recipient);
          ChatdSlice fields[] = { CHATD_SLICE (e->id, 16), CHATD_SLICE_STR (e->recipient) };
          g_autoptr(GBytes) notice = chatd_auth_message_build (CHATD_MSG_EXPIRED, fields, 2);
          notify (role, e->sender, notice);
        }
      if (expired->len < 256)
        break;
    }
  return G_SOURCE_CONTINUE;
}

/* a hand-over without progress (envelopes the recipient refused) moves on;
 * what it skipped waits for the next login */
static void
unstall_handovers (ChatdServerRole *role)
{
  GHashTableIter iter;
  gpointer value;
  gint64 now = g_get_monotonic_time ();
  g_hash_table_iter_init (&iter, role->online);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    {
      Presence *p = value;
      if (p->handover && p->in_flight > 0 && now - p->progress_us > CHATD_QUEUE_STALL_US)
        {
          g_message ("no receipt from %s for %u queued messages in %d s: moving on", p->name, p->in_flight,
                     (int) (CHATD_QUEUE_STALL_US / G_USEC_PER_SEC));
          p->in_flight = 0;
          handover_pump (role, p);
        }
    }
}

static void
login_done (ChatdServerRole *role, ChatdConnection *connection, ChatdLoginResult *result,
            const char *peer)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(ChatdDirectoryUser) user = NULL;
  if (!chatd_directory_get_user (role->node->directory, result->name, &user, &error))
    {
      g_warning ("login of %s from %s: the user vanished meanwhile: %s", result->name, peer, error->message);
      chatd_transport_close_connection (role->transport, connection, 1, "login failed");
      return;
    }
  /* one active node per user: the new login replaces the old one */
  Presence *old = g_hash_table_lookup (role->online, result->name);
  if (old != NULL && old->connection != connection)
    {
      role->n_sessions_replaced++;
      ChatdSlice reason = CHATD_SLICE_STR ("another login of this user replaced this node");
      g_autoptr(GBytes) replaced = chatd_auth_message_build (CHATD_MSG_REPLACED, &reason, 1);
      send_on (role, old->connection, replaced);
      g_message ("%s logged in again from %s: the node at %s is replaced", user->name, peer,
                 old->address[0] ? old->address : "(no address yet)");
      g_hash_table_remove (role->online, result->name);
    }

  g_autoptr(ChatdManifest) manifest = current_manifest (role, result->client_nonce);
  g_autoptr(GBytes) encoded = chatd_manifest_encode (manifest);
  g_autoptr(GBytes) welcome = chatd_login_server_welcome (role->login, result, encoded, &error);
  if (welcome == NULL)
    {
      g_warning ("login of %s from %s: %s", user->name, peer, error->message);
      return;
    }
  send_on (role, connection, welcome);
  ChatdPacketProtector protector = chatd_channel_take_protector (g_steal_pointer (&result->channel));
  if (!chatd_connection_install_protector (connection, &protector, &error))
    {
      protector.free_func (protector.user_data);
      g_warning ("login of %s from %s: %s", user->name, peer, error->message);
      return;
    }
  Presence *p = g_new0 (Presence, 1);
  p->folded = chatd_directory_fold_name (user->name);
  p->name = g_strdup (user->name);
  p->suite = g_strdup (user->suite);
  p->public_key = g_bytes_ref (user->public_key);
  p->address = g_strdup ("");
  p->since = g_get_real_time () / G_USEC_PER_SEC;
  p->last_seen_us = g_get_monotonic_time ();
  p->connection = chatd_connection_ref (connection);
  g_hash_table_replace (role->online, g_strdup (p->folded), p);
  g_hash_table_remove (role->unsettled, connection);   /* a session now: no deadline */
  g_message ("%s logged in from %s", p->name, peer);
  g_autofree char *text = g_strdup_printf ("%s logged in", p->name);
  chatd_event_hub_emit (role->node->events, "login", presence_event_data (p), text);
}


static void
handle_login_message (ChatdServerRole *role, ChatdConnection *connection, const char *peer,
                      const ChatdAuthMessage *message)
{
  g_autoptr(GError) error = NULL;
  ChatdLoginServer *login = login_server (role, &error);
  if (login == NULL)
    {
      ChatdSlice reason = CHATD_SLICE_STR ("the server is not ready (no identity yet)");
      g_autoptr(GBytes) failed = chatd_auth_message_build (CHATD_MSG_FAILED, &reason, 1);
      send_on (role, connection, failed);
      g_message ("login from %s refused: %s", peer, error->message);
      return;
    }
  g_autoptr(GBytes) reply = NULL;
  g_autoptr(ChatdLoginResult) result = NULL;
  switch (chatd_login_server_handle (login, chatd_connection_get_id (connection), peer,
                                     g_get_monotonic_time (), message, &reply, &result, &error))
    {
    case CHATD_LOGIN_SERVER_REPLY:
      send_on (role, connection, reply);
      break;
    case CHATD_LOGIN_SERVER_DONE:
      login_done (role, connection, result, peer);
      break;
    case CHATD_LOGIN_SERVER_REFUSED:
      send_on (role, connection, reply);
      g_message ("%s", error->message);
      break;
    }
}

static void
respond (ChatdServerRole *role, ChatdConnection *connection, const ChatdAuthMessage *request,
         gboolean ok, GBytes *body, GBytes *signature)
{
  guint8 status = ok ? 0 : 1;
  gsize body_len = body ? g_bytes_get_size (body) : 0;
  ChatdSlice fields[4] = { request->fields[SR_ID], CHATD_SLICE (&status, 1),
                           CHATD_SLICE (body ? g_bytes_get_data (body, NULL) : "", body_len) };
  guint n = 3;
  if (signature != NULL)
    fields[n++] = CHATD_SLICE (g_bytes_get_data (signature, NULL), g_bytes_get_size (signature));
  g_autoptr(GBytes) response = chatd_auth_message_build (CHATD_MSG_RESPONSE, fields, n);
  send_on (role, connection, response);
}

static void
respond_error (ChatdServerRole *role, ChatdConnection *connection, const ChatdAuthMessage *request,
               const char *text)
{
  g_autoptr(GBytes) body = g_bytes_new (text, strlen (text));
  respond (role, connection, request, FALSE, body, NULL);
}

static ChatdEnrollServer *
enroll_server (ChatdServerRole *role, GError **error)
{
  if (role->enroll != NULL)
    return role->enroll;
  const ChatdKey *key = chatd_directory_get_server_key (role->node->directory);
  if (key == NULL)
    {
      g_set_error (error, CHATD_ERROR, CHATD_ERROR_NOT_SUPPORTED,
                   "the server has no identity yet (run chatctl seed)");
      return NULL;
    }
  ChatdEnrollServerConfig config = {
    .server_key = key,
    .server_secret = chatd_directory_get_server_secret (role->node->directory),
    .kdf = chatd_directory_get_config (role->node->directory)->kdf,
  };
  role->enroll = chatd_enroll_server_new (&config, error);
  return role->enroll;
}

/* Why a registration was refused, in words for the client.  Only the holder
 * of the name's own token learns more than the one message for all (so
 * names cannot be probed by enrolling). */
static char *
enrolment_refusal (ChatdServerRole *role, const ChatdEnrollPayload *payload, const GError *error)
{
  if (!g_error_matches (error, CHATD_ERROR, CHATD_ERROR_REFUSED) &&
      !g_error_matches (error, CHATD_ERROR, CHATD_ERROR_EXISTS))
    return g_strdup_printf ("%s", error->message);
  ChatdTokenState state = CHATD_TOKEN_NONE;
  gint64 expires = 0;
  gint64 now = g_get_real_time () / G_USEC_PER_SEC;
  g_autoptr(ChatdDirectoryUser) user = NULL;
  gboolean registered = chatd_directory_get_user (role->node->directory, payload->name, &user, NULL);
  if (!chatd_directory_token_state (role->node->directory, payload->name, payload->token, now,
                                    &state, &expires, NULL))
    state = CHATD_TOKEN_NONE;
  if (registered && (state == CHATD_TOKEN_USED || state == CHATD_TOKEN_VALID))
    return g_strdup_printf ("'%s' is already registered%s", user->name,
                            state == CHATD_TOKEN_USED ? " (this token has been used)" : "");
  if (state == CHATD_TOKEN_USED)
    return g_strdup ("this token has already been used");
  if (state == CHATD_TOKEN_EXPIRED)
    {
      g_autofree char *when = chatd_directory_format_time (expires);
      return g_strdup_printf ("this token expired at %s (ask for a new one)", when);
    }
  return g_strdup_printf ("no valid token for '%s' (the token is wrong, used or "
                          "expired, or the name is taken)", payload->name);
}

static void
register_enrolment (ChatdServerRole *role, ChatdConnection *connection, const char *peer,
                    ChatdEnrollRequest *request)
{
  const ChatdEnrollPayload *payload = &request->payload;
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) answer = NULL;
  g_autoptr(ChatdDirectoryUser) user = NULL;
  if (chatd_directory_enroll (role->node->directory, payload->name, payload->token, payload->suite,
                              payload->public_key, payload->wrapped_key,
                              g_get_real_time () / G_USEC_PER_SEC, &error) &&
      chatd_directory_get_user (role->node->directory, payload->name, &user, &error))
    {
      answer = chatd_enroll_server_enrolled (role->enroll, request, user->name, &error);
      if (answer != NULL)
        {
          role->n_enrolled++;
          g_autofree char *fingerprint = chatd_fingerprint_to_string (user->fingerprint);
          g_message ("%s enrolled from %s (suite %s, fingerprint %s)", user->name, peer, user->suite,
                     fingerprint);
          g_autofree char *text = g_strdup_printf ("%s enrolled", user->name);
          g_auto(GVariantBuilder) b = G_VARIANT_BUILDER_INIT (G_VARIANT_TYPE_VARDICT);
          g_variant_builder_add (&b, "{sv}", "name", g_variant_new_string (user->name));
          chatd_event_hub_emit (role->node->events, "enrolled", g_variant_builder_end (&b), text);
          send_on (role, connection, answer);
          return;
        }
    }
  g_autofree char *reason = enrolment_refusal (role, payload, error);
  g_message ("enrolment of '%s' from %s refused: %s", payload->name, peer, error->message);
  g_autoptr(GBytes) failed = chatd_enroll_failed_message (reason);
  send_on (role, connection, failed);
}

static void
handle_enroll_message (ChatdServerRole *role, ChatdConnection *connection, const char *peer,
                       const ChatdAuthMessage *message)
{
  g_autoptr(GError) error = NULL;
  ChatdEnrollServer *enroll = enroll_server (role, &error);
  if (enroll == NULL)
    {
      g_autoptr(GBytes) failed = chatd_enroll_failed_message ("the server is not ready (no identity yet)");
      send_on (role, connection, failed);
      g_message ("enrolment from %s refused: %s", peer, error->message);
      return;
    }
  g_autoptr(GBytes) reply = NULL;
  g_autoptr(ChatdEnrollRequest) request = NULL;
  switch (chatd_enroll_server_handle (enroll, peer, g_get_real_time (), message, &reply, &request, &error))
    {
    case CHATD_ENROLL_SERVER_REPLY:
      send_on (role, connection, reply);
      break;
    case CHATD_ENROLL_SERVER_REQUEST:
      register_enrolment (role, connection, peer, request);
      break;
    case CHATD_ENROLL_SERVER_REFUSED:
      send_on (role, connection, reply);
      g_message ("%s", error->message);
      break;
    }
}

/* passwd: the new wrapped key, signed by the user's registered key */
static void
handle_passwd (ChatdServerRole *role, ChatdConnection *connection, Presence *p,
               const ChatdAuthMessage *request)
{
  ChatdSlice wrapped_s, signature_s;
  if (request->n_fields <= SR_ARGUMENT)
    {
      respond_error (role, connection, request, "passwd needs the new wrapped key");
      return;
    }
  if (!chatd_passwd_argument_parse (request->fields[SR_ARGUMENT].data, request->fields[SR_ARGUMENT].len,
                                    &wrapped_s, &signature_s))
    {
      g_message ("passwd of %s: malformed request (refused)", p->name);
      respond_error (role, connection, request, "malformed passwd request");
      return;
    }
  const guint8 *wrapped = wrapped_s.data, *signature = signature_s.data;
  gsize wrapped_len = wrapped_s.len, signature_len = signature_s.len;
  g_autoptr(GError) error = NULL;
  const ChatdSuite *suite = chatd_registry_lookup_suite (role->node->registry, p->suite);
  g_autoptr(ChatdKey) key = suite != NULL
    ? suite->import_public (suite, g_bytes_get_data (p->public_key, NULL), g_bytes_get_size (p->public_key), &error)
    : NULL;
  guint8 digest[32];
  ChatdSlice fields[CHATD_PASSWD_FIELDS];
  chatd_passwd_fields (p->folded, wrapped, wrapped_len, digest, fields);
  if (key == NULL ||
      !chatd_domain_verify (key, CHATD_PURPOSE_PASSWD, fields, CHATD_PASSWD_FIELDS, signature, signature_len, &error))
    {
      g_message ("passwd of %s refused: the new key blob is not signed by the user's key", p->name);
      respond_error (role, connection, request, "the new key blob is not signed by your registered key");
      return;
    }
  g_autoptr(GBytes) blob = g_bytes_new (wrapped, wrapped_len);
  if (!chatd_directory_set_wrapped_key (role->node->directory, p->name, blob, &error))
    {
      g_message ("passwd of %s refused: %s", p->name, error->message);
      g_autofree char *text = g_strdup_printf ("passwd refused: %s", error->message);
      respond_error (role, connection, request, text);
      return;
    }
  role->n_passwd++;
  g_message ("%s changed their password", p->name);
  respond (role, connection, request, TRUE, NULL, NULL);
}

static void
handle_request (ChatdServerRole *role, ChatdConnection *connection, Presence *p,
                const ChatdAuthMessage *request)
{
  role->n_session_requests++;
  g_autofree char *kind = chatd_auth_field_string (request, SR_KIND);
  gboolean binary = g_strcmp0 (kind, CHATD_REQUEST_QUEUE) == 0 || g_strcmp0 (kind, CHATD_REQUEST_PASSWD) == 0;
  g_autofree char *argument = request->n_fields > SR_ARGUMENT && !binary
    ? chatd_auth_field_string (request, SR_ARGUMENT) : NULL;
  g_autoptr(GError) error = NULL;
  const ChatdKey *server_key = chatd_directory_get_server_key (role->node->directory);
  if (g_strcmp0 (kind, CHATD_REQUEST_PRESENCE) == 0)
    {
      /* "HOST:PORT" or "HOST:PORT FEATURE..." (what the node speaks, signed
       * into its key records: doc/protocol.md, "Key records") */
      char *space = argument != NULL ? strchr (argument, ' ') : NULL;
      const char *features = "";
      if (space != NULL)
        {
          *space = '\0';
          features = space + 1;
        }
      if (argument == NULL || !chatd_parse_host_port (argument, FALSE, NULL, NULL, &error))
        {
          respond_error (role, connection, request, "not an address (HOST:PORT)");
          return;
        }
      if (!chatd_directory_set_features (role->node->directory, p->name, features, &error))
        {
          respond_error (role, connection, request, error->message);
          return;
        }
      gboolean first = p->address[0] == '\0';
      g_free (p->address);
      p->address = g_steal_pointer (&argument);
      respond (role, connection, request, TRUE, NULL, NULL);
      if (first)
        {
          g_autofree char *text = g_strdup_printf ("%s is online at %s", p->name, p->address);
          chatd_event_hub_emit (role->node->events, "peer-online", presence_event_data (p), text);
          start_handover (role, p);
        }
    }
  else if (g_strcmp0 (kind, CHATD_REQUEST_LIST) == 0)
    {
      if (request->n_fields <= SR_ARGUMENT || request->fields[SR_ARGUMENT].len != CHATD_MANIFEST_NONCE_LEN)
        {
          respond_error (role, connection, request, "list needs a 32-byte nonce");
          return;
        }
      g_autoptr(ChatdManifest) manifest = current_manifest (role, request->fields[SR_ARGUMENT].data);
      g_autoptr(GBytes) encoded = chatd_manifest_encode (manifest);
      ChatdSlice field = CHATD_SLICE (g_bytes_get_data (encoded, NULL), g_bytes_get_size (encoded));
      g_autoptr(GBytes) signature = NULL;
      if (!chatd_domain_sign (server_key, CHATD_PURPOSE_MANIFEST_LIST, &field, 1, &signature, &error))
        respond_error (role, connection, request, "cannot sign");
      else
        respond (role, connection, request, TRUE, encoded, signature);
    }
  else if (g_strcmp0 (kind, CHATD_REQUEST_USERS) == 0)
    {
      g_autoptr(GPtrArray) users = chatd_directory_list_users (role->node->directory, &error);
      g_autoptr(GByteArray) body = g_byte_array_new ();
      for (guint i = 0; users != NULL && i < users->len; i++)
        {
          ChatdDirectoryUser *u = users->pdata[i];
          g_autoptr(GBytes) record = NULL;
          if (!chatd_directory_key_record (role->node->directory, u->name, g_get_real_time () / G_USEC_PER_SEC,
                                           &record, NULL))
            continue;
          chatd_session_append_field (body, g_bytes_get_data (record, NULL), g_bytes_get_size (record));
        }
      g_autoptr(GBytes) bytes = g_byte_array_free_to_bytes (g_steal_pointer (&body));
      respond (role, connection, request, TRUE, bytes, NULL);
    }
  else if (g_strcmp0 (kind, CHATD_REQUEST_KEY_RECORD) == 0)
    {
      g_autoptr(GBytes) record = NULL;
      if (argument == NULL ||
          !chatd_directory_key_record (role->node->directory, argument, g_get_real_time () / G_USEC_PER_SEC,
                                       &record, &error))
        respond_error (role, connection, request, "no such user");
      else
        respond (role, connection, request, TRUE, record, NULL);
    }
  else if (g_strcmp0 (kind, CHATD_REQUEST_PASSWD) == 0)
    handle_passwd (role, connection, p, request);
  else if (g_strcmp0 (kind, CHATD_REQUEST_QUEUE) == 0)
    handle_queue (role, connection, p, request);
  else
    respond_error (role, connection, request, "unknown request");
}

static void
on_message (ChatdEndpoint *endpoint, ChatdConnection *connection, const ChatdAddress *from,
            GBytes *bytes, gpointer user_data)
{
  ChatdServerRole *role = user_data;
  g_autofree char *peer = chatd_address_to_string (from);
  g_autoptr(GError) error = NULL;
  g_autoptr(ChatdAuthMessage) message = chatd_auth_message_parse (bytes, &error);
  if (message == NULL)
    {
      role->n_dropped++;
      g_message ("from %s: %s (dropped)", peer, error->message);
      return;
    }
  Presence *p = presence_for_connection (role, connection);
  if (message->type < CHATD_MSG_HEARTBEAT)
    {
      if (p != NULL)
        {
          role->n_dropped++;
          g_message ("from %s: a login message inside %s's session (dropped)", peer, p->name);
          return;
        }
      if (message->type == CHATD_MSG_ENROLL_QUERY || message->type == CHATD_MSG_ENROLL)
        handle_enroll_message (role, connection, peer, message);
      else
        handle_login_message (role, connection, peer, message);
      return;
    }
  /* session messages only inside a session, only in protected packets */
  if (p == NULL || !chatd_connection_is_protected (connection))
    {
      role->n_dropped++;
      g_message ("from %s: %s outside a protected session (dropped)", peer,
                 chatd_auth_message_type_name (message->type));
      return;
    }
  p->last_seen_us = g_get_monotonic_time ();
  switch (message->type)
    {
    case CHATD_MSG_HEARTBEAT:
      break;
    case CHATD_MSG_REQUEST:
      handle_request (role, connection, p, message);
      break;
    case CHATD_MSG_RECEIPT:
      handle_receipt (role, p, message);
      break;
    case CHATD_MSG_LOGOUT:
      drop_presence (role, p, "logged out");
      chatd_transport_close_connection (role->transport, connection, 0, "logged out");
      break;
    default:
      role->n_dropped++;
      g_message ("from %s: unexpected %s (dropped)", peer, chatd_auth_message_type_name (message->type));
      break;
    }
}

static void
on_connection (ChatdEndpoint *endpoint, ChatdConnection *connection, ChatdConnectionEvent event,
               const GError *error, gpointer user_data)
{
  ChatdServerRole *role = user_data;
  if (event == CHATD_CONNECTION_EVENT_ESTABLISHED && !chatd_connection_is_client (connection))
    {
      gint64 *accepted_at = g_new (gint64, 1);
      *accepted_at = g_get_monotonic_time ();
      g_hash_table_replace (role->unsettled, chatd_connection_ref (connection), accepted_at);
      return;
    }
  if (event != CHATD_CONNECTION_EVENT_CLOSED)
    return;
  g_hash_table_remove (role->unsettled, connection);
  g_autofree char *abandoned = role->login != NULL
    ? chatd_login_server_forget (role->login, chatd_connection_get_id (connection)) : NULL;
  if (abandoned != NULL)
    {
      g_autofree char *peer = chatd_address_to_string (chatd_connection_get_peer (connection));
      g_message ("login of '%s' from %s abandoned after the key blob was sent "
                 "(wrong password or unknown user)", abandoned, peer);
    }
  Presence *p = presence_for_connection (role, connection);
  if (p != NULL)
    drop_presence (role, p, error ? error->message : "connection closed");
}

/* connections that started no session within the login deadline */
static void
close_unsettled (ChatdServerRole *role, gint64 now)
{
  g_autoptr(GPtrArray) late = g_ptr_array_new_with_free_func ((GDestroyNotify) chatd_connection_unref);
  GHashTableIter iter;
  gpointer key, value;
  g_hash_table_iter_init (&iter, role->unsettled);
  while (g_hash_table_iter_next (&iter, &key, &value))
    if (now - *(gint64 *) value > role->login_deadline_us && presence_for_connection (role, key) == NULL)
      g_ptr_array_add (late, chatd_connection_ref (key));
  for (guint i = 0; i < late->len; i++)
    {
      ChatdConnection *connection = late->pdata[i];
      g_hash_table_remove (role->unsettled, connection);
      role->n_unsettled_closed++;
      chatd_transport_close_connection (role->transport, connection, 0, "no session within the login deadline");
    }
  if (late->len > 0)
    g_message ("closed %u connection%s that started no session within %" G_GINT64_FORMAT " s",
               late->len, late->len == 1 ? "" : "s", role->login_deadline_us / G_USEC_PER_SEC);
}

static gboolean
sweep (gpointer user_data)
{
  ChatdServerRole *role = user_data;
  gint64 now = g_get_monotonic_time ();
  g_autoptr(GPtrArray) stale = g_ptr_array_new ();
  GHashTableIter iter;
  gpointer value;
  g_hash_table_iter_init (&iter, role->online);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    if (now - ((Presence *) value)->last_seen_us > CHATD_PRESENCE_TIMEOUT_US)
      g_ptr_array_add (stale, value);
  for (guint i = 0; i < stale->len; i++)
    {
      Presence *p = stale->pdata[i];
      role->n_presence_expired++;
      ChatdConnection *connection = chatd_connection_ref (p->connection);
      drop_presence (role, p, "no heartbeat");
      chatd_transport_close_connection (role->transport, connection, 0, "no heartbeat");
      chatd_connection_unref (connection);
    }
  unstall_handovers (role);
  close_unsettled (role, now);
  return G_SOURCE_CONTINUE;
}

static void
provide_transport_counters (gpointer data, ChatdCounterVisit visit, gpointer visit_data)
{
  chatd_transport_foreach_counter (((ChatdServerRole *) data)->transport, visit, visit_data);
}

static void
provide_login_counters (gpointer data, ChatdCounterVisit visit, gpointer visit_data)
{
  ChatdServerRole *role = data;
  if (role->login != NULL)
    chatd_login_server_foreach_counter (role->login, visit, visit_data);
  if (role->enroll != NULL)
    chatd_enroll_server_foreach_counter (role->enroll, visit, visit_data);
  visit ("enrolled", role->n_enrolled, visit_data);
  visit ("passwd", role->n_passwd, visit_data);
  visit ("sessions-ended", role->n_sessions_ended, visit_data);
  visit ("sessions-replaced", role->n_sessions_replaced, visit_data);
  visit ("presence-expired", role->n_presence_expired, visit_data);
  visit ("session-requests", role->n_session_requests, visit_data);
  visit ("dropped", role->n_dropped, visit_data);
  visit ("unsettled", g_hash_table_size (role->unsettled), visit_data);
  visit ("unsettled-closed", role->n_unsettled_closed, visit_data);
  visit ("online", g_hash_table_size (role->online), visit_data);
}

static void
provide_queue_counters (gpointer data, ChatdCounterVisit visit, gpointer visit_data)
{
  ChatdServerRole *role = data;
  visit ("stored", role->n_queue_stored, visit_data);
  visit ("delivered", role->n_queue_delivered, visit_data);
  visit ("expired", role->n_queue_expired, visit_data);
  visit ("refused", role->n_queue_refused, visit_data);
  visit ("notices-dropped", role->n_notices_dropped, visit_data);
  guint64 envelopes = 0, notices = 0;
  chatd_offline_queue_totals (role->queue, &envelopes, &notices);
  visit ("waiting", envelopes, visit_data);
  visit ("notices-waiting", notices, visit_data);
}

ChatdServerRole *
chatd_server_role_new (ChatdNode *node, GError **error)
{
  g_autofree char *host = NULL;
  guint16 port = 0;
  if (!chatd_parse_host_port (node->options->listen, TRUE, &host, &port, error))
    return NULL;
  g_autoptr(ChatdServerRole) role = g_new0 (ChatdServerRole, 1);
  role->node = node;
  role->online = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify) presence_free);
  role->unsettled = g_hash_table_new_full (g_direct_hash, g_direct_equal,
                                           (GDestroyNotify) chatd_connection_unref, g_free);
  guint deadline_s = node->options->login_deadline_s > 0 ? node->options->login_deadline_s
                                                         : CHATD_LOGIN_DEADLINE_S_DEFAULT;
  role->login_deadline_us = (gint64) MIN (deadline_s, CHATD_LOGIN_DEADLINE_S_MAX) * G_USEC_PER_SEC;
  role->transport = chatd_transport_new (host, port, NULL, NULL, error);
  if (role->transport == NULL)
    {
      g_prefix_error (error, "cannot listen on %s: ", node->options->listen);
      return NULL;
    }
  chatd_transport_set_message_callback (role->transport, on_message, role);
  chatd_transport_set_connection_callback (role->transport, on_connection, role);
  role->sweep_source = g_timeout_add_seconds (5, sweep, role);
  const ChatdNodeOptions *o = node->options;
  ChatdOfflineQueueConfig queue_config;
  chatd_offline_queue_config_init (&queue_config);
  if (o->queue_limit > 0)
    queue_config.limit = o->queue_limit;
  if (o->queue_bytes > 0)
    queue_config.bytes_limit = o->queue_bytes;
  if (o->queue_ttl > 0)
    queue_config.ttl_s = MIN (o->queue_ttl, CHATD_QUEUE_TTL_MAX);
  role->queue = chatd_offline_queue_new (chatd_directory_get_store (node->directory), &queue_config);
  queue_sweep (role);
  role->queue_sweep_source = g_timeout_add_seconds ((guint) CLAMP (queue_config.ttl_s / 4, 1, 60), queue_sweep, role);
  role->counter_providers[0] = chatd_counters_add_provider (node->counters, "transport.",
                                                             provide_transport_counters, role);
  role->counter_providers[1] = chatd_counters_add_provider (node->counters, "server.",
                                                             provide_login_counters, role);
  role->counter_providers[2] = chatd_counters_add_provider (node->counters, "queue.",
                                                             provide_queue_counters, role);
  return g_steal_pointer (&role);
}

void
chatd_server_role_free (ChatdServerRole *role)
{
  if (role == NULL)
    return;
  if (role->sweep_source != 0)
    g_source_remove (role->sweep_source);
  if (role->queue_sweep_source != 0)
    g_source_remove (role->queue_sweep_source);
  for (guint i = 0; i < G_N_ELEMENTS (role->counter_providers); i++)
    if (role->counter_providers[i] != 0)
      chatd_counters_remove_provider (role->node->counters, role->counter_providers[i]);
  /* the transport goes first: closing its connections calls back into us */
  if (role->transport != NULL)
    {
      chatd_transport_set_message_callback (role->transport, NULL, NULL);
      chatd_transport_set_connection_callback (role->transport, NULL, NULL);
    }
  g_clear_pointer (&role->transport, chatd_transport_free);
  g_clear_pointer (&role->queue, chatd_offline_queue_free);
  g_clear_pointer (&role->online, g_hash_table_unref);
  g_clear_pointer (&role->unsettled, g_hash_table_unref);
  g_clear_pointer (&role->login, chatd_login_server_free);
  g_clear_pointer (&role->enroll, chatd_enroll_server_free);
  g_free (role);
}

void
chatd_server_role_status (ChatdServerRole *role, GVariantBuilder *b)
{
  g_autofree char *listen = chatd_address_to_string (chatd_transport_get_local_address (role->transport));
  g_autofree char *fingerprint = chatd_directory_get_server_fingerprint (role->node->directory);
  g_variant_builder_add (b, "{sv}", "listen", g_variant_new_string (listen));
  g_variant_builder_add (b, "{sv}", "online", g_variant_new_int64 (g_hash_table_size (role->online)));
  g_variant_builder_add (b, "{sv}", "server-key",
                         g_variant_new_string (fingerprint ? fingerprint : "none yet (run chatctl seed)"));
}

GVariant *
chatd_server_role_list (ChatdServerRole *role)
{
  g_autoptr(ChatdManifest) manifest = current_manifest (role, NULL);
  return chatd_manifest_to_variant (manifest);
}

gboolean
chatd_server_role_end_session (ChatdServerRole *role, const char *name, const char *why)
{
  g_autofree char *folded = chatd_directory_fold_name (name);
  Presence *p = g_hash_table_lookup (role->online, folded);
  if (p == NULL)
    return FALSE;
  role->n_sessions_ended++;
  ChatdSlice reason = CHATD_SLICE_STR (why);
  g_autoptr(GBytes) ended = chatd_auth_message_build (CHATD_MSG_ENDED, &reason, 1);
  send_on (role, p->connection, ended);
  drop_presence (role, p, why);
  return TRUE;
}
