/* user-role.c: a user's node at work (doc/protocol.md, "Login", "Session"). */
#define G_LOG_DOMAIN "chatd-user"
#include "user-role.h"
#include "auth-message.h"
#include "chatd-transport.h"
#include "enroll-client.h"
#include "enroll.h"
#include "key-record.h"
#include "login-client.h"
#include "manifest.h"
#include "node.h"
#include "messenger.h"
#include "password.h"
#include "session-protocol.h"

#include <gcrypt.h>
#include <glib/gstdio.h>
#include <string.h>

typedef enum { REQUEST_LIST, REQUEST_USERS, REQUEST_PRESENCE, REQUEST_KEY_RECORD, REQUEST_PASSWD,
               REQUEST_QUEUE } RequestKind;

typedef struct {
  ChatdUserRole   *role;
  guint64          id;
  RequestKind      kind;
  const ChatdHost *host;
  ChatdCall       *call;          /* NULL for the node's own requests */
  ChatdManifestReply   manifest_reply;     /* the node's own list and key-record requests */
  ChatdKeyRecordReply  record_reply;
  ChatdQueueReply      queue_reply;
  gpointer             reply_data;
  guint8           nonce[CHATD_MANIFEST_NONCE_LEN];
  guint            timeout;
  ChatdSecret     *new_password;  /* passwd: becomes the node's password once stored */
} Request;

struct _ChatdUserRole {
  ChatdNode        *node;
  ChatdTransport   *transport;
  ChatdAddress      server;
  char             *server_text;
  char             *advertise;
  ChatdSecret      *password;
  GBytes           *pinned_server_key;   /* --server-key, or the one trusted on first use */
  char             *pin_path;            /* where the first-use key is kept */
  gboolean          pin_from_option;
  ChatdLoginClient *login;
  ChatdEnrollClient *enroll;             /* --enroll: until the server registered us */
  char             *enroll_token;
  ChatdKdfParams    kdf_params;          /* the wrapped key's */
  ChatdConnection  *connection;          /* to the server */
  ChatdKey         *server_key;          /* verified, for signed answers */
  ChatdLoginState   state;
  char             *state_reason;
  gint64            online_since;
  guint             backoff_s;
  guint             retry_source;
  guint             heartbeat_source;
  guint64           heartbeat_seq;
  guint64           next_request_id;
  GHashTable       *requests;            /* id -> Request* */
  gboolean          reported;            /* readiness told to the node */
  gboolean          closing;             /* being freed: callbacks do nothing */
  ChatdKey         *user_key;            /* unwrapped at login (secure memory); freed when the session ends */
  guint             counter_provider;
  ChatdMessenger   *messenger;
  guint64           n_logins, n_login_failures;
};

static void start_login (ChatdUserRole *role);
static void start_enrol (ChatdUserRole *role);

static const ChatdSuite *
lookup_suite (gpointer user_data, const char *name)
{
  ChatdUserRole *role = user_data;
  return chatd_registry_lookup_suite (role->node->registry, name);
}

static const char *
state_name (ChatdLoginState state)
{
  switch (state)
    {
    case CHATD_LOGIN_STATE_LOGGING_IN: return "logging in";
    case CHATD_LOGIN_STATE_ONLINE: return "online";
    case CHATD_LOGIN_STATE_RETRYING: return "retrying";
    case CHATD_LOGIN_STATE_REFUSED: return "refused";
    case CHATD_LOGIN_STATE_REPLACED: return "replaced";
    case CHATD_LOGIN_STATE_LOGGED_OUT: return "logged out";
    case CHATD_LOGIN_STATE_ENDED: return "ended";
    default: return "?";
    }
}

static void
set_state (ChatdUserRole *role, ChatdLoginState state, const char *reason)
{
  role->state = state;
  g_free (role->state_reason);
  role->state_reason = g_strdup (reason ? reason : "");
  g_message ("login state: %s%s%s", state_name (state), reason ? ": " : "", reason ? reason : "");
  if (!role->reported && state != CHATD_LOGIN_STATE_LOGGING_IN &&
      (state == CHATD_LOGIN_STATE_ONLINE || state == CHATD_LOGIN_STATE_REFUSED))
    {
      role->reported = TRUE;
      g_autofree char *message = g_strdup_printf ("%s %s: %s", role->enroll_token != NULL ? "enrolment" : "login",
                                                  state == CHATD_LOGIN_STATE_ONLINE ? "succeeded" : "refused",
                                                  reason ? reason : "");
      chatd_node_report_ready (role->node, state == CHATD_LOGIN_STATE_ONLINE, message);
    }
}

static void
fail_request (Request *r, const char *format, ...) G_GNUC_PRINTF (2, 3);

static void
request_free (Request *r)
{
  if (r->timeout != 0)
    g_source_remove (r->timeout);
  chatd_secret_free (r->new_password);
  g_free (r);
}

static void
fail_request (Request *r, const char *format, ...)
{
  va_list args;
  va_start (args, format);
  g_autofree char *message = g_strdup_vprintf (format, args);
  va_end (args);
  g_autoptr(GError) error = g_error_new_literal (CHATD_ERROR, CHATD_ERROR_FAILED, message);
  if (r->manifest_reply != NULL)
    g_steal_pointer (&r->manifest_reply) (NULL, error, r->reply_data);
  if (r->record_reply != NULL)
    g_steal_pointer (&r->record_reply) (NULL, error, r->reply_data);
  if (r->queue_reply != NULL)
    g_steal_pointer (&r->queue_reply) (FALSE, error, r->reply_data);
  if (r->call == NULL)
    return;
  r->host->call_fail (r->call, error);
  r->call = NULL;
}

static void
fail_all_requests (ChatdUserRole *role, const char *why)
{
  GHashTableIter iter;
  gpointer value;
  g_hash_table_iter_init (&iter, role->requests);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    fail_request (value, "%s", why);
  g_hash_table_remove_all (role->requests);
}

static void
stop_session (ChatdUserRole *role)
{
  if (role->messenger != NULL)
    chatd_messenger_session_ended (role->messenger, "the session with the server ended");
  if (role->heartbeat_source != 0)
    {
      g_source_remove (role->heartbeat_source);
      role->heartbeat_source = 0;
    }
  g_clear_pointer (&role->login, chatd_login_client_free);
  g_clear_pointer (&role->enroll, chatd_enroll_client_free);
  g_clear_pointer (&role->user_key, chatd_key_free);
  g_clear_pointer (&role->connection, chatd_connection_unref);
}

static gboolean
retry_now (gpointer user_data)
{
  ChatdUserRole *role = user_data;
  role->retry_source = 0;
  if (role->enroll_token != NULL)
    start_enrol (role);
  else
    start_login (role);
  return G_SOURCE_REMOVE;
}

static void
retry_later (ChatdUserRole *role, const char *why)
{
  stop_session (role);
  fail_all_requests (role, "not logged in");
  g_autofree char *reason = g_strdup_printf ("%s; next try in %u s", why, role->backoff_s);
  set_state (role, CHATD_LOGIN_STATE_RETRYING, reason);
  if (role->retry_source == 0)
    role->retry_source = g_timeout_add_seconds (role->backoff_s, retry_now, role);
  role->backoff_s = MIN (role->backoff_s * 2, CHATD_RELOGIN_BACKOFF_MAX_S);
}

static void
give_up (ChatdUserRole *role, ChatdLoginState state, const char *why)
{
  if (role->connection != NULL)
    chatd_transport_close_connection (role->transport, role->connection, 0, why);
  stop_session (role);
  fail_all_requests (role, why);
  set_state (role, state, why);
}

static void
send_to_server (ChatdUserRole *role, GBytes *message)
{
  if (role->connection != NULL)
    chatd_transport_send_on (role->transport, role->connection, message, NULL, NULL);
}

static gboolean
request_timed_out (gpointer user_data)
{
  Request *r = user_data;
  r->timeout = 0;
  fail_request (r, "the server did not answer within %d s", CHATD_REQUEST_TIMEOUT_S);
  g_hash_table_remove (r->role->requests, &r->id);
  return G_SOURCE_REMOVE;
}

static Request *
send_request (ChatdUserRole *role, RequestKind kind, const char *kind_name, const ChatdHost *host,
              ChatdCall *call, const void *argument, gsize argument_len)
{
  Request *r = g_new0 (Request, 1);
  r->role = role;
  r->id = ++role->next_request_id;
  r->kind = kind;
  r->host = host;
  r->call = call;
  if (kind == REQUEST_LIST)
    {
      gcry_create_nonce (r->nonce, sizeof r->nonce);
      argument = r->nonce;
      argument_len = sizeof r->nonce;
    }
  guint8 id[8];
  chatd_u64_to_be (r->id, id);
  ChatdSlice fields[] = { CHATD_SLICE (id, 8), CHATD_SLICE_STR (kind_name), CHATD_SLICE (argument, argument_len) };
  g_autoptr(GBytes) message = chatd_auth_message_build (CHATD_MSG_REQUEST, fields, argument ? 3 : 2);
  r->timeout = g_timeout_add_seconds (CHATD_REQUEST_TIMEOUT_S, request_timed_out, r);
  g_hash_table_insert (role->requests, &r->id, r);
  send_to_server (role, message);
  return r;
}

static gboolean
send_heartbeat (gpointer user_data)
{
  ChatdUserRole *role = user_data;
  guint8 seq[8];
  chatd_u64_to_be (++role->heartbeat_seq, seq);
  ChatdSlice field = CHATD_SLICE (seq, 8);
  g_autoptr(GBytes) message = chatd_auth_message_build (CHATD_MSG_HEARTBEAT, &field, 1);
  send_to_server (role, message);
  return G_SOURCE_CONTINUE;
}

static void
trust_server_key (ChatdUserRole *role, GBytes *key)
{
  if (role->pinned_server_key != NULL)
    return;
  role->pinned_server_key = g_bytes_ref (key);
  g_autoptr(GError) error = NULL;
  if (!g_file_set_contents_full (role->pin_path, g_bytes_get_data (key, NULL), g_bytes_get_size (key),
                                 G_FILE_SET_CONTENTS_CONSISTENT, 0600, &error))
    g_warning ("cannot store the server's key: %s", error->message);
  else
    g_message ("trusting the server's key on first use (stored in %s)", role->pin_path);
}

/* a key blob names its suite; the suite that takes it is the right one */
static ChatdKey *
import_public_key (ChatdUserRole *role, GBytes *blob)
{
  g_autoptr(GPtrArray) suites = chatd_registry_list_suites (role->node->registry);
  for (guint i = 0; i < suites->len; i++)
    {
      const ChatdSuite *suite = suites->pdata[i];
      ChatdKey *key = suite->import_public (suite, g_bytes_get_data (blob, NULL), g_bytes_get_size (blob), NULL);
      if (key != NULL)
        return key;
    }
  return NULL;
}

static void
login_succeeded (ChatdUserRole *role)
{
  g_autoptr(GError) error = NULL;
  ChatdChannel *channel = chatd_login_client_take_channel (role->login);
  ChatdPacketProtector protector = chatd_channel_take_protector (channel);
  if (!chatd_connection_install_protector (role->connection, &protector, &error))
    {
      protector.free_func (protector.user_data);
      retry_later (role, error->message);
      return;
    }
  GBytes *server_key = chatd_login_client_get_server_key (role->login);
  trust_server_key (role, server_key);
  g_clear_pointer (&role->server_key, chatd_key_free);
  role->server_key = import_public_key (role, server_key);
  g_clear_pointer (&role->user_key, chatd_key_free);
  role->user_key = chatd_login_client_take_user_key (role->login);
  g_autoptr(ChatdManifest) manifest = chatd_login_client_take_manifest (role->login);
  role->kdf_params = chatd_login_client_get_kdf_params (role->login);
  g_clear_pointer (&role->login, chatd_login_client_free);
  role->n_logins++;
  role->backoff_s = CHATD_RELOGIN_BACKOFF_MIN_S;
  role->online_since = g_get_real_time () / G_USEC_PER_SEC;
  /* where peers reach us, and what we speak (signed into our key record) */
  g_autofree char *presence = chatd_messenger_speaks_sessions (role->messenger)
    ? g_strdup_printf ("%s %s", role->advertise, CHATD_FEATURE_PEER_SESSION) : g_strdup (role->advertise);
  send_request (role, REQUEST_PRESENCE, CHATD_REQUEST_PRESENCE, NULL, NULL, presence, strlen (presence));
  role->heartbeat_source = g_timeout_add_seconds (CHATD_HEARTBEAT_INTERVAL_S, send_heartbeat, role);
  g_autofree char *text = g_strdup_printf ("logged in to %s as %s (%u online)", role->server_text,
                                           role->node->name, manifest ? manifest->entries->len : 0);
  g_auto(GVariantBuilder) b = G_VARIANT_BUILDER_INIT (G_VARIANT_TYPE_VARDICT);
  g_variant_builder_add (&b, "{sv}", "server", g_variant_new_string (role->server_text));
  chatd_event_hub_emit (role->node->events, "login", g_variant_builder_end (&b), text);
  set_state (role, CHATD_LOGIN_STATE_ONLINE, text);
  /* the outbox: what a restart or a lost session left unsent goes out again */
  chatd_messenger_session_started (role->messenger);
}

/* refusals a retry cannot mend */
static gboolean
is_final (const GError *error)
{
  return g_error_matches (error, CHATD_ERROR, CHATD_ERROR_REFUSED) ||
         g_error_matches (error, CHATD_ERROR, CHATD_ERROR_NOT_SUPPORTED);
}

/* the login or enrolment client gave up on this exchange */
static void
client_failed (ChatdUserRole *role, const ChatdAuthMessage *message, GBytes *reply, const GError *error)
{
  role->n_login_failures++;
  if (reply != NULL)
    send_to_server (role, reply);
  /* the server's own temporary refusals are worth another try */
  if (message->type == CHATD_MSG_FAILED &&
      (strstr (error->message, "retry") != NULL || strstr (error->message, "not ready") != NULL))
    retry_later (role, error->message);
  else if (is_final (error))
    give_up (role, CHATD_LOGIN_STATE_REFUSED, error->message);
  else
    retry_later (role, error->message);
}

static void
handle_login_message (ChatdUserRole *role, const ChatdAuthMessage *message)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) reply = NULL;
  switch (chatd_login_client_handle (role->login, message, &reply, &error))
    {
    case CHATD_LOGIN_CLIENT_SEND:
      send_to_server (role, reply);
      break;
    case CHATD_LOGIN_CLIENT_DONE:
      login_succeeded (role);
      break;
    case CHATD_LOGIN_CLIENT_FAILED:
      client_failed (role, message, reply, error);
      break;
    }
}

static void
enrol_succeeded (ChatdUserRole *role)
{
  trust_server_key (role, chatd_enroll_client_get_server_key (role->enroll));
  g_autofree char *text = g_strdup_printf ("enrolled at %s as %s; logging in",
                                           role->server_text, chatd_enroll_client_get_registered_name (role->enroll));
  g_message ("%s", text);
  g_auto(GVariantBuilder) b = G_VARIANT_BUILDER_INIT (G_VARIANT_TYPE_VARDICT);
  g_variant_builder_add (&b, "{sv}", "server", g_variant_new_string (role->server_text));
  chatd_event_hub_emit (role->node->events, "enrolled", g_variant_builder_end (&b), text);
  chatd_wipe (role->enroll_token, strlen (role->enroll_token));
  g_clear_pointer (&role->enroll_token, g_free);
  g_clear_pointer (&role->enroll, chatd_enroll_client_free);
  start_login (role);
}

static void
handle_enrol_message (ChatdUserRole *role, const ChatdAuthMessage *message)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) reply = NULL;
  switch (chatd_enroll_client_handle (role->enroll, message, &reply, &error))
    {
    case CHATD_ENROLL_CLIENT_SEND:
      send_to_server (role, reply);
      break;
    case CHATD_ENROLL_CLIENT_DONE:
      enrol_succeeded (role);
      break;
    case CHATD_ENROLL_CLIENT_FAILED:
      client_failed (role, message, reply, error);
      break;
    }
}

static ChatdManifest *
verify_list (ChatdUserRole *role, Request *r, const ChatdAuthMessage *response, GError **error)
{
  if (response->n_fields <= SP_SIGNATURE ||
      !chatd_domain_verify (role->server_key, CHATD_PURPOSE_MANIFEST_LIST, &response->fields[SP_BODY], 1,
                            response->fields[SP_SIGNATURE].data, response->fields[SP_SIGNATURE].len, error))
    {
      g_prefix_error (error, "the list is not signed by the server: ");
      return NULL;
    }
  g_autoptr(ChatdManifest) manifest = chatd_manifest_decode (response->fields[SP_BODY].data,
                                                             response->fields[SP_BODY].len, error);
  if (manifest == NULL)
    return NULL;
  gint64 now = g_get_real_time () / G_USEC_PER_SEC;
  if (memcmp (manifest->nonce, r->nonce, sizeof r->nonce) != 0 || manifest->expires_at < now)
    {
      g_set_error (error, CHATD_ERROR, CHATD_ERROR_REFUSED, "the list is stale or was made for another request");
      return NULL;
    }
  return g_steal_pointer (&manifest);
}

static gboolean
verify_users (ChatdUserRole *role, const ChatdAuthMessage *response, GVariant **ret, GError **error)
{
  g_auto(GVariantBuilder) b = G_VARIANT_BUILDER_INIT (G_VARIANT_TYPE ("aa{sv}"));
  gint64 now = g_get_real_time () / G_USEC_PER_SEC;
  g_autoptr(GPtrArray) records = NULL;
  if (!chatd_key_record_list_verify (role->server_key, response->fields[SP_BODY].data,
                                     response->fields[SP_BODY].len, now, &records, error))
    {
      g_prefix_error (error, "a key record from the server does not verify: ");
      return FALSE;
    }
  for (guint i = 0; i < records->len; i++)
    {
      const ChatdKeyRecord *record = records->pdata[i];
      guint8 fp[CHATD_FINGERPRINT_LEN];
      gcry_md_hash_buffer (GCRY_MD_SHA256, fp, g_bytes_get_data (record->public_key, NULL),
                           g_bytes_get_size (record->public_key));
      g_autofree char *fingerprint = chatd_fingerprint_to_string (fp);
      g_variant_builder_open (&b, G_VARIANT_TYPE_VARDICT);
      g_variant_builder_add (&b, "{sv}", "name", g_variant_new_string (record->name));
      g_variant_builder_add (&b, "{sv}", "suite", g_variant_new_string (record->suite));
      g_variant_builder_add (&b, "{sv}", "fingerprint", g_variant_new_string (fingerprint));
      g_variant_builder_close (&b);
    }
  *ret = g_variant_builder_end (&b);
  return TRUE;
}

static void
handle_response (ChatdUserRole *role, const ChatdAuthMessage *response)
{
  guint64 id = 0;
  chatd_auth_field_u64 (response, SP_ID, &id);
  Request *r = g_hash_table_lookup (role->requests, &id);
  if (r == NULL)
    return;   /* timed out already */
  guint8 status = ((const guint8 *) response->fields[SP_STATUS].data)[0];
  g_autoptr(GError) error = NULL;
  GVariant *result = NULL;
  if (r->kind == REQUEST_QUEUE && r->queue_reply != NULL)
    {
      if (status != 0)
        {
          g_autofree char *text = chatd_session_refusal_text (response->fields[SP_BODY].data,
                                                              response->fields[SP_BODY].len);
          error = g_error_new (CHATD_ERROR, CHATD_ERROR_REFUSED, "%s", text);
        }
      g_steal_pointer (&r->queue_reply) (status != 0, error, r->reply_data);
    }
  else if (status != 0)
    {
      g_autofree char *text = chatd_session_refusal_text (response->fields[SP_BODY].data, response->fields[SP_BODY].len);
      if (r->kind == REQUEST_PRESENCE)
        g_warning ("the server refused our address %s: %s", role->advertise, text);
      fail_request (r, "the server refused: %s", text);
    }
  else if (r->kind == REQUEST_PASSWD)
    {
      /* from now on the node logs in again with the new password */
      chatd_secret_free (role->password);
      role->password = g_steal_pointer (&r->new_password);
      g_message ("password changed");
      g_auto(GVariantBuilder) b = G_VARIANT_BUILDER_INIT (G_VARIANT_TYPE_VARDICT);
      g_variant_builder_add (&b, "{sv}", "status", g_variant_new_string ("password changed"));
      if (r->call != NULL)
        r->host->call_return (r->call, g_variant_builder_end (&b));
      r->call = NULL;
    }
  else if (r->kind == REQUEST_LIST)
    {
      g_autoptr(ChatdManifest) manifest = verify_list (role, r, response, &error);
      if (manifest == NULL)
        fail_request (r, "%s", error->message);
      else if (r->manifest_reply != NULL)
        g_steal_pointer (&r->manifest_reply) (manifest, NULL, r->reply_data);
      else if (r->call != NULL)
        {
          chatd_messenger_manifest_seen (role->messenger, manifest);   /* the freshest list serves sends too */
          r->host->call_return (g_steal_pointer (&r->call),
                                chatd_messenger_mark_sessions (role->messenger, chatd_manifest_to_variant (manifest)));
        }
    }
  else if (r->kind == REQUEST_QUEUE)
    ;
  else if (r->kind == REQUEST_KEY_RECORD)
    {
      g_autoptr(ChatdKeyRecord) record = NULL;
      if (!chatd_key_record_verify (role->server_key, response->fields[SP_BODY].data,
                                    response->fields[SP_BODY].len, g_get_real_time () / G_USEC_PER_SEC,
                                    &record, &error))
        fail_request (r, "the key record from the server does not verify: %s", error->message);
      else if (r->record_reply != NULL)
        g_steal_pointer (&r->record_reply) (record, NULL, r->reply_data);
    }
  else if (r->kind == REQUEST_USERS ? verify_users (role, response, &result, &error) : TRUE)
    {
      if (r->call != NULL)
        r->host->call_return (r->call, result);
      r->call = NULL;
    }
  else
    {
      g_warning ("%s", error->message);
      fail_request (r, "%s", error->message);
    }
  g_hash_table_remove (role->requests, &id);
}

static void
on_message (ChatdEndpoint *endpoint, ChatdConnection *connection, const ChatdAddress *from,
            GBytes *bytes, gpointer user_data)
{
  ChatdUserRole *role = user_data;
  if (!chatd_address_equal (from, &role->server) || connection != role->connection)
    {
      if (role->messenger != NULL)
        chatd_messenger_handle (role->messenger, connection, from, bytes);
      return;
    }
  g_autoptr(GError) error = NULL;
  g_autoptr(ChatdAuthMessage) message = chatd_auth_message_parse (bytes, &error);
  if (message == NULL)
    {
      g_message ("from the server: %s (dropped)", error->message);
      return;
    }
  if (role->state == CHATD_LOGIN_STATE_LOGGING_IN && role->enroll != NULL)
    {
      handle_enrol_message (role, message);
      return;
    }
  if (role->state == CHATD_LOGIN_STATE_LOGGING_IN && role->login != NULL)
    {
      handle_login_message (role, message);
      return;
    }
  if (role->state != CHATD_LOGIN_STATE_ONLINE || !chatd_connection_is_protected (connection))
    {
      g_message ("from the server: %s outside the protected session (dropped)",
                 chatd_auth_message_type_name (message->type));
      return;
    }
  switch (message->type)
    {
    case CHATD_MSG_RESPONSE:
      handle_response (role, message);
      break;
    case CHATD_MSG_ENVELOPE:   /* queued for us; the receipt goes back to the server */
    case CHATD_MSG_RECEIPT:    /* for a queued envelope of ours */
    case CHATD_MSG_EXPIRED:
      chatd_messenger_handle_from_server (role->messenger, connection, from, bytes);
      break;
    case CHATD_MSG_REPLACED:
      {
        g_autofree char *why = chatd_auth_field_string (message, 0);
        g_autoptr(GVariantBuilder) b = g_variant_builder_new (G_VARIANT_TYPE_VARDICT);
        chatd_event_hub_emit (role->node->events, "logout", g_variant_builder_end (b),
                              "replaced by another login of this user");
        give_up (role, CHATD_LOGIN_STATE_REPLACED, why ? why : "replaced by another login");
      }
      break;
    case CHATD_MSG_ENDED:
      {
        g_autofree char *why = chatd_auth_field_string (message, 0);
        g_autofree char *text = g_strdup_printf ("the server ended the session: %s", why ? why : "no reason given");
        g_autoptr(GVariantBuilder) b = g_variant_builder_new (G_VARIANT_TYPE_VARDICT);
        chatd_event_hub_emit (role->node->events, "logout", g_variant_builder_end (b), text);
        give_up (role, CHATD_LOGIN_STATE_ENDED, text);
      }
      break;
    default:
      g_message ("from the server: unexpected %s (dropped)", chatd_auth_message_type_name (message->type));
      break;
    }
}

static void
on_connection (ChatdEndpoint *endpoint, ChatdConnection *connection, ChatdConnectionEvent event,
               const GError *error, gpointer user_data)
{
  ChatdUserRole *role = user_data;
  if (event != CHATD_CONNECTION_EVENT_CLOSED || connection != role->connection)
    return;
  if (role->state == CHATD_LOGIN_STATE_LOGGING_IN || role->state == CHATD_LOGIN_STATE_ONLINE)
    {
      g_autofree char *why = g_strdup_printf ("lost the server: %s", error ? error->message : "closed");
      retry_later (role, why);
    }
}

static void
on_hello_sent (ChatdEndpoint *endpoint, ChatdConnection *connection, const GError *error,
               gpointer user_data)
{
  ChatdUserRole *role = user_data;
  if (error != NULL && !role->closing && role->state == CHATD_LOGIN_STATE_LOGGING_IN)
    {
      g_autofree char *why = g_strdup_printf ("cannot reach the server at %s: %s", role->server_text, error->message);
      retry_later (role, why);
    }
}

static void
start_login (ChatdUserRole *role)
{
  stop_session (role);
  ChatdLoginClientConfig config = {
    .user = role->node->name,
    .password = role->password->data,
    .password_len = role->password->len,
    .channel_suite = chatd_registry_lookup_suite (role->node->registry, CHATD_CHANNEL_SUITE),
    .suite_lookup = lookup_suite,
    .user_data = role,
    .pinned_server_key = role->pinned_server_key,
  };
  g_autoptr(GError) error = NULL;
  role->login = config.channel_suite ? chatd_login_client_new (&config, &error) : NULL;
  if (role->login == NULL)
    {
      give_up (role, CHATD_LOGIN_STATE_REFUSED, error ? error->message : "no channel suite loaded");
      return;
    }
  set_state (role, CHATD_LOGIN_STATE_LOGGING_IN, NULL);
  g_autoptr(GBytes) hello = chatd_login_client_hello (role->login);
  /* a fresh connection for every attempt: a failed one is forgotten */
  chatd_transport_send (role->transport, &role->server, hello, on_hello_sent, role);
  ChatdConnection *connection = chatd_endpoint_lookup (chatd_transport_get_endpoint (role->transport), &role->server);
  role->connection = connection ? chatd_connection_ref (connection) : NULL;
}

/* --enroll: register the keys made here, then log in */
static void
start_enrol (ChatdUserRole *role)
{
  stop_session (role);
  const char *suite_name = CHATD_ENROLL_DEFAULT_SUITE;
  ChatdEnrollClientConfig config = {
    .user = role->node->name,
    .token = role->enroll_token,
    .password = role->password->data,
    .password_len = role->password->len,
    .key_suite = chatd_registry_lookup_suite (role->node->registry, suite_name),
    .channel_suite = chatd_registry_lookup_suite (role->node->registry, CHATD_CHANNEL_SUITE),
    .suite_lookup = lookup_suite,
    .user_data = role,
    .pinned_server_key = role->pinned_server_key,
  };
  g_autoptr(GError) error = NULL;
  role->enroll = config.channel_suite && config.key_suite ? chatd_enroll_client_new (&config, &error) : NULL;
  if (role->enroll == NULL)
    {
      g_autofree char *why = error ? g_strdup (error->message)
                                   : g_strdup_printf ("the suite '%s' is not loaded", suite_name);
      give_up (role, CHATD_LOGIN_STATE_REFUSED, why);
      return;
    }
  set_state (role, CHATD_LOGIN_STATE_LOGGING_IN, "enrolling");
  g_autoptr(GBytes) query = chatd_enroll_client_start (role->enroll);
  chatd_transport_send (role->transport, &role->server, query, on_hello_sent, role);
  ChatdConnection *connection = chatd_endpoint_lookup (chatd_transport_get_endpoint (role->transport), &role->server);
  role->connection = connection ? chatd_connection_ref (connection) : NULL;
}

static gboolean
resolve (const char *host, guint16 port, ChatdAddress *ret, GError **error)
{
  if (chatd_address_parse (host, port, ret, NULL))
    return TRUE;
  g_autoptr(GResolver) resolver = g_resolver_get_default ();
  g_autolist(GInetAddress) addresses = g_resolver_lookup_by_name (resolver, host, NULL, error);
  if (addresses == NULL)
    return FALSE;
  g_autofree char *ip = g_inet_address_to_string (addresses->data);
  return chatd_address_parse (ip, port, ret, error);
}

static void
provide_transport_counters (gpointer data, ChatdCounterVisit visit, gpointer visit_data)
{
  ChatdUserRole *role = data;
  chatd_transport_foreach_counter (role->transport, visit, visit_data);
}

ChatdUserRole *
chatd_user_role_new (ChatdNode *node, gboolean may_prompt, GError **error)
{
  const ChatdNodeOptions *o = node->options;
  g_autoptr(ChatdUserRole) role = g_new0 (ChatdUserRole, 1);
  role->node = node;
  role->backoff_s = CHATD_RELOGIN_BACKOFF_MIN_S;
  role->requests = g_hash_table_new_full (g_int64_hash, g_int64_equal, NULL, (GDestroyNotify) request_free);
  role->state_reason = g_strdup ("");
  g_autofree char *server_host = NULL, *listen_host = NULL;
  guint16 server_port = 0, listen_port = 0;
  if (!chatd_parse_host_port (o->connect, FALSE, &server_host, &server_port, error) ||
      !resolve (server_host, server_port, &role->server, error) ||
      !chatd_parse_host_port (o->listen, TRUE, &listen_host, &listen_port, error))
    return NULL;
  role->server_text = g_strdup (o->connect);
  role->password = chatd_password_obtain (o->password_file, node->name, may_prompt, error);
  if (role->password == NULL)
    return NULL;

  role->pin_path = g_build_filename (node->state_dir, "server.pub", NULL);
  const char *pin_source = o->server_key ? o->server_key : role->pin_path;
  role->pin_from_option = o->server_key != NULL;
  char *contents = NULL;
  gsize len = 0;
  if (g_file_get_contents (pin_source, &contents, &len, NULL))
    role->pinned_server_key = g_bytes_new_take (contents, len);
  else if (o->server_key != NULL)
    {
      g_set_error (error, CHATD_ERROR, CHATD_ERROR_NOT_FOUND, "cannot read the server key %s", o->server_key);
      return NULL;
    }

  role->transport = chatd_transport_new (listen_host, listen_port, NULL, NULL, error);
  if (role->transport == NULL)
    {
      g_prefix_error (error, "cannot listen on %s: ", o->listen);
      return NULL;
    }
  chatd_transport_set_message_callback (role->transport, on_message, role);
  chatd_transport_set_connection_callback (role->transport, on_connection, role);
  if (o->advertise != NULL)
    role->advertise = g_strdup (o->advertise);
  else
    role->advertise = chatd_address_to_string (chatd_transport_get_local_address (role->transport));
  role->counter_provider = chatd_counters_add_provider (node->counters, "transport.",
                                                        provide_transport_counters, role);
  role->messenger = chatd_messenger_new (role, node, role->transport, error);
  if (role->messenger == NULL)
    return NULL;
  if (o->enroll_token != NULL)
    {
      role->enroll_token = g_strdup (o->enroll_token);
      start_enrol (role);
    }
  else
    start_login (role);
  return g_steal_pointer (&role);
}

void
chatd_user_role_fetch_manifest (ChatdUserRole *role, ChatdManifestReply reply, gpointer data)
{
  if (role->state != CHATD_LOGIN_STATE_ONLINE || role->server_key == NULL)
    {
      g_autoptr(GError) error = g_error_new (CHATD_ERROR, CHATD_ERROR_FAILED, "not logged in (%s)",
                                             state_name (role->state));
      reply (NULL, error, data);
      return;
    }
  Request *r = send_request (role, REQUEST_LIST, CHATD_REQUEST_LIST, NULL, NULL, NULL, 0);
  r->manifest_reply = reply;
  r->reply_data = data;
}

void
chatd_user_role_fetch_key_record (ChatdUserRole *role, const char *name, ChatdKeyRecordReply reply,
                                  gpointer data)
{
  if (role->state != CHATD_LOGIN_STATE_ONLINE || role->server_key == NULL)
    {
      g_autoptr(GError) error = g_error_new (CHATD_ERROR, CHATD_ERROR_FAILED, "not logged in (%s)",
                                             state_name (role->state));
      reply (NULL, error, data);
      return;
    }
  Request *r = send_request (role, REQUEST_KEY_RECORD, CHATD_REQUEST_KEY_RECORD, NULL, NULL, name, strlen (name));
  r->record_reply = reply;
  r->reply_data = data;
}

void
chatd_user_role_queue_envelope (ChatdUserRole *role, GBytes *envelope, ChatdQueueReply reply, gpointer data)
{
  if (role->state != CHATD_LOGIN_STATE_ONLINE || role->server_key == NULL || role->closing ||
      role->connection == NULL)
    {
      g_autoptr(GError) error = g_error_new (CHATD_ERROR, CHATD_ERROR_FAILED, "not logged in (%s)",
                                             state_name (role->state));
      reply (FALSE, error, data);
      return;
    }
  Request *r = send_request (role, REQUEST_QUEUE, CHATD_REQUEST_QUEUE, NULL, NULL, g_bytes_get_data (envelope, NULL),
                             g_bytes_get_size (envelope));
  r->queue_reply = reply;
  r->reply_data = data;
}

const ChatdKey *
chatd_user_role_get_user_key (ChatdUserRole *role)
{
  return role->state == CHATD_LOGIN_STATE_ONLINE ? role->user_key : NULL;
}

ChatdMessenger *
chatd_user_role_get_messenger (ChatdUserRole *role)
{
  return role->messenger;
}

void
chatd_user_role_free (ChatdUserRole *role)
{
  if (role == NULL)
    return;
  if (role->retry_source != 0)
    g_source_remove (role->retry_source);
  if (role->state == CHATD_LOGIN_STATE_ONLINE && role->connection != NULL)
    {
      g_autoptr(GBytes) logout = chatd_auth_message_build (CHATD_MSG_LOGOUT, NULL, 0);
      send_to_server (role, logout);
    }
  role->closing = TRUE;
  if (role->counter_provider != 0)
    chatd_counters_remove_provider (role->node->counters, role->counter_provider);
  if (role->transport != NULL)
    {
      chatd_transport_set_message_callback (role->transport, NULL, NULL);
      chatd_transport_set_connection_callback (role->transport, NULL, NULL);
    }
  fail_all_requests (role, "the node is shutting down");
  stop_session (role);
  g_clear_pointer (&role->transport, chatd_transport_free);
  g_clear_pointer (&role->messenger, chatd_messenger_free);
  g_clear_pointer (&role->requests, g_hash_table_unref);
  g_clear_pointer (&role->server_key, chatd_key_free);
  g_clear_pointer (&role->user_key, chatd_key_free);
  g_clear_pointer (&role->password, chatd_secret_free);
  g_clear_pointer (&role->pinned_server_key, g_bytes_unref);
  if (role->enroll_token != NULL)
    chatd_wipe (role->enroll_token, strlen (role->enroll_token));
  g_free (role->enroll_token);
  g_free (role->server_text);
  g_free (role->advertise);
  g_free (role->pin_path);
  g_free (role->state_reason);
  g_free (role);
}

void
chatd_user_role_status (ChatdUserRole *role, GVariantBuilder *b)
{
  g_autofree char *listen = chatd_address_to_string (chatd_transport_get_local_address (role->transport));
  g_autofree char *login = g_strdup_printf ("%s%s%s", state_name (role->state),
                                            role->state_reason[0] ? ": " : "", role->state_reason);
  g_variant_builder_add (b, "{sv}", "login", g_variant_new_string (login));
  g_variant_builder_add (b, "{sv}", "login-state", g_variant_new_string (state_name (role->state)));
  g_variant_builder_add (b, "{sv}", "server", g_variant_new_string (role->server_text));
  g_variant_builder_add (b, "{sv}", "listen", g_variant_new_string (listen));
  g_variant_builder_add (b, "{sv}", "advertise", g_variant_new_string (role->advertise));
  if (role->pinned_server_key != NULL)
    {
      guint8 fp[CHATD_FINGERPRINT_LEN];
      gcry_md_hash_buffer (GCRY_MD_SHA256, fp, g_bytes_get_data (role->pinned_server_key, NULL),
                           g_bytes_get_size (role->pinned_server_key));
      g_autofree char *fingerprint = chatd_fingerprint_to_string (fp);
      g_variant_builder_add (b, "{sv}", "server-key", g_variant_new_string (fingerprint));
    }
  if (role->messenger != NULL)
    chatd_messenger_status (role->messenger, b);
}

static gboolean
require_online (ChatdUserRole *role, const ChatdHost *host, ChatdCall *call)
{
  if (role->state == CHATD_LOGIN_STATE_ONLINE && role->server_key != NULL)
    return TRUE;
  g_autoptr(GError) error = g_error_new (CHATD_ERROR, CHATD_ERROR_FAILED, "not logged in (%s%s%s)",
                                         state_name (role->state), role->state_reason[0] ? ": " : "",
                                         role->state_reason);
  host->call_fail (call, error);
  return FALSE;
}

void
chatd_user_role_list (ChatdUserRole *role, const ChatdHost *host, ChatdCall *call)
{
  if (require_online (role, host, call))
    send_request (role, REQUEST_LIST, CHATD_REQUEST_LIST, host, call, NULL, 0);
}

void
chatd_user_role_users (ChatdUserRole *role, const ChatdHost *host, ChatdCall *call)
{
  if (require_online (role, host, call))
    send_request (role, REQUEST_USERS, CHATD_REQUEST_USERS, host, call, NULL, 0);
}

void
chatd_user_role_logout (ChatdUserRole *role, const ChatdHost *host, ChatdCall *call)
{
  if (!require_online (role, host, call))
    return;
  g_autoptr(GBytes) logout = chatd_auth_message_build (CHATD_MSG_LOGOUT, NULL, 0);
  send_to_server (role, logout);
  stop_session (role);
  fail_all_requests (role, "logged out");
  set_state (role, CHATD_LOGIN_STATE_LOGGED_OUT, "by request");
  g_auto(GVariantBuilder) b = G_VARIANT_BUILDER_INIT (G_VARIANT_TYPE_VARDICT);
  g_variant_builder_add (&b, "{sv}", "status", g_variant_new_string ("logged out"));
  host->call_return (call, g_variant_builder_end (&b));
}

void
chatd_user_role_passwd (ChatdUserRole *role, const ChatdHost *host, ChatdCall *call,
                        const char *new_password)
{
  if (!require_online (role, host, call))
    return;
  g_autoptr(GError) error = NULL;
  gsize len = new_password ? strlen (new_password) : 0;
  if (role->user_key == NULL || len == 0)
    {
      error = g_error_new_literal (CHATD_ERROR, len == 0 ? CHATD_ERROR_INVALID_ARGUMENT : CHATD_ERROR_FAILED,
                                   len == 0 ? "passwd: the new password is empty"
                                            : "passwd: the node does not hold the unwrapped key");
      host->call_fail (call, error);
      return;
    }
  g_autoptr(ChatdSecret) password = chatd_secret_new_from (new_password, len);
  g_autofree char *folded = g_ascii_strdown (role->node->name, -1);
  g_autoptr(GBytes) wrapped = NULL;
  g_autoptr(GBytes) signature = NULL;
  guint8 digest[32];
  ChatdSlice fields[CHATD_PASSWD_FIELDS];
  if (!chatd_password_wrap_key (folded, role->user_key, password->data, password->len, &role->kdf_params,
                                &wrapped, &error) ||
      (chatd_passwd_fields (folded, g_bytes_get_data (wrapped, NULL), g_bytes_get_size (wrapped), digest, fields),
       !chatd_domain_sign (role->user_key, CHATD_PURPOSE_PASSWD, fields, CHATD_PASSWD_FIELDS, &signature, &error)))
    {
      g_prefix_error (&error, "passwd: ");
      host->call_fail (call, error);
      return;
    }
  g_autoptr(GByteArray) argument = g_byte_array_new ();
  chatd_session_append_field (argument, g_bytes_get_data (wrapped, NULL), g_bytes_get_size (wrapped));
  chatd_session_append_field (argument, g_bytes_get_data (signature, NULL), g_bytes_get_size (signature));
  Request *r = send_request (role, REQUEST_PASSWD, CHATD_REQUEST_PASSWD, host, call, argument->data, argument->len);
  r->new_password = g_steal_pointer (&password);
}
