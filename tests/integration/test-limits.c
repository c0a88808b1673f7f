/* test-limits.c: limits a client or peer has a say in, at the edge, with
 * real processes (issue 7, part 5; doc/limits.md): control-socket clients
 * connected at once, requests in flight per client, message size at send,
 * and the server's login deadline for connections that start no session.
 * The limit itself is accepted, one more is refused with a clear reason and
 * counted, and the node goes on serving. */
#include "chat-net.h"
#include "chatd-transport.h"

#include <gcrypt.h>
#include <string.h>

/* daemon/control-server.h */
#define MAX_CLIENTS          64
#define MAX_CALLS_PER_CLIENT 64
/* daemon/messaging/envelope.h */
#define MESSAGE_TEXT_MAX     (1024 * 1024)

static GDBusConnection *
connect_control (TestNode *node, GError **error)
{
  g_autofree char *address = g_strdup_printf ("unix:path=%s", node->socket_path);
  return g_dbus_connection_new_for_address_sync (address, G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT,
                                                 NULL, NULL, error);
}

static GVariant *
call (GDBusConnection *connection, const char *method, GVariant *args, GError **error)
{
  return g_dbus_connection_call_sync (connection, NULL, "/org/chatd/Control", "org.chatd.Control1", method,
                                      args, NULL, G_DBUS_CALL_FLAGS_NONE, 10000, NULL, error);
}

static void
spin (guint ms)
{
  gint64 until = g_get_monotonic_time () + ms * 1000;
  while (g_get_monotonic_time () < until)
    {
      g_main_context_iteration (NULL, FALSE);
      g_usleep (2000);
    }
}

static void
test_control_clients (void)
{
  g_autoptr(TestNode) node = test_node_new ();
  test_node_start_server (node, NULL);
  g_autoptr(GPtrArray) clients = g_ptr_array_new_with_free_func (g_object_unref);
  /* MAX_CLIENTS - 1 held open, and chatctl is the limit-th: served */
  for (int i = 0; i < MAX_CLIENTS - 1; i++)
    {
      g_autoptr(GError) error = NULL;
      GDBusConnection *c = connect_control (node, &error);
      g_assert_no_error (error);
      g_autoptr(GVariant) reply = call (c, "ListCommands", NULL, &error);
      g_assert_no_error (error);
      g_assert_nonnull (reply);   /* served: it is one of the node's clients */
      g_ptr_array_add (clients, c);
    }
  g_assert_cmpint (stats_counter (node, "control.clients"), ==, MAX_CLIENTS);
  g_assert_cmpint (stats_counter (node, "control.clients-refused"), ==, 0);
  /* one more held open: now chatctl is the limit+1-th, refused */
  {
    g_autoptr(GError) error = NULL;
    GDBusConnection *c = connect_control (node, &error);
    g_assert_no_error (error);
    g_autoptr(GVariant) reply = call (c, "ListCommands", NULL, &error);
    g_assert_no_error (error);
    g_assert_nonnull (reply);
    g_ptr_array_add (clients, c);
  }
  g_autofree char *err = NULL;
  g_assert_cmpint (test_run_chatctl (node, CHATD_ARGS ("status"), NULL, &err), ==, 2);
  g_assert_true (test_is_one_line (err));
  g_assert_nonnull (strstr (err, "does not answer"));
  /* one goes: served again, and the refusal was counted */
  g_ptr_array_remove_index (clients, 0);
  spin (200);
  g_assert_cmpint (stats_counter (node, "control.clients-refused"), ==, 1);
  g_assert_cmpint (stats_counter (node, "control.clients"), ==, MAX_CLIENTS);
  g_autofree char *log_path = g_build_filename (node->root, "chatd.log", NULL);
  g_autofree char *log = NULL;
  g_assert_true (g_file_get_contents (log_path, &log, NULL, NULL));
  g_assert_nonnull (strstr (log, "control client refused: 64 clients already connected"));
}

static void
test_calls_per_client (void)
{
  g_autoptr(TestNode) node = test_node_new ();
  test_node_start_server (node, NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(GDBusConnection) c = connect_control (node, &error);
  g_assert_no_error (error);
  /* `events` runs until the client goes: MAX_CALLS_PER_CLIENT of them stay in flight */
  for (int i = 0; i < MAX_CALLS_PER_CLIENT; i++)
    g_dbus_connection_call (c, NULL, "/org/chatd/Control", "org.chatd.Control1", "Run",
                            g_variant_new_parsed ("('events', @a{sv} {})"), NULL,
                            G_DBUS_CALL_FLAGS_NONE, -1, NULL, NULL, NULL);
  /* the limit-th was accepted: a quick call behind them still fails only
   * because of the limit, with the reason */
  g_autoptr(GVariant) refused = call (c, "Run", g_variant_new_parsed ("('status', @a{sv} {})"), &error);
  g_assert_null (refused);
  g_assert_nonnull (error);
  g_assert_nonnull (strstr (error->message, "too many requests in flight on this connection (at most 64)"));
  g_clear_error (&error);
  g_assert_cmpint (stats_counter (node, "control.requests-failed"), ==, 1);
  /* other clients are served meanwhile */
  g_autofree char *out = NULL;
  g_assert_cmpint (test_run_chatctl (node, CHATD_ARGS ("status"), &out, NULL), ==, 0);
  /* with one fewer in flight the same connection is served: 63 + this one */
  g_autoptr(GDBusConnection) d = connect_control (node, &error);
  g_assert_no_error (error);
  for (int i = 0; i < MAX_CALLS_PER_CLIENT - 1; i++)
    g_dbus_connection_call (d, NULL, "/org/chatd/Control", "org.chatd.Control1", "Run",
                            g_variant_new_parsed ("('events', @a{sv} {})"), NULL,
                            G_DBUS_CALL_FLAGS_NONE, -1, NULL, NULL, NULL);
  g_autoptr(GVariant) served = call (d, "Run", g_variant_new_parsed ("('status', @a{sv} {})"), &error);
  g_assert_no_error (error);
  g_assert_nonnull (served);
  g_dbus_connection_close_sync (c, NULL, NULL);
  g_dbus_connection_close_sync (d, NULL, NULL);
  spin (200);
  g_assert_cmpint (stats_counter (node, "control.clients"), ==, 1);
}

static char *
text_of (gsize size)
{
  char *text = g_malloc (size + 1);
  for (gsize i = 0; i < size; i++)
    text[i] = 'a' + i % 26;
  text[size] = '\0';
  return text;
}

static void
test_message_size (void)
{
  Net net = { 0 };
  net_start (&net);
  TestNode *alice = login (&net, "Alice");
  TestNode *bob = login (&net, "Bob");
  g_assert_true (wait_until (alice, reachable, "Bob", 20));
  /* exactly the limit, from stdin: delivered */
  g_autofree char *at_limit = text_of (MESSAGE_TEXT_MAX - 1);
  g_autofree char *at = g_strconcat (at_limit, "!", NULL);
  g_assert_cmpuint (strlen (at), ==, MESSAGE_TEXT_MAX);
  g_autofree char *out = NULL, *err = NULL;
  g_assert_cmpint (test_run_chatctl_input (alice, CHATD_ARGS ("send", "Bob", "-"), at, &out, NULL), ==, 0);
  g_assert_true (g_str_has_prefix (out, "delivered "));
  /* one byte more: refused before anything is sent, with the reason */
  g_autofree char *over = g_strconcat (at, "!", NULL);
  g_clear_pointer (&out, g_free);
  g_assert_cmpint (test_run_chatctl_input (alice, CHATD_ARGS ("send", "Bob", "-"), over, &out, &err), ==, 3);
  g_assert_true (test_is_one_line (err));
  g_assert_nonnull (strstr (err, "message too large (1048577 bytes; at most 1 MiB)"));
  g_autoptr(JsonNode) inbox = json_of (bob, CHATD_ARGS ("recv"));
  JsonArray *a = json_node_get_array (inbox);
  g_assert_cmpuint (json_array_get_length (a), ==, 1);
  g_assert_cmpuint (strlen (json_object_get_string_member (json_array_get_object_element (a, 0), "text")), ==,
                    MESSAGE_TEXT_MAX);
  net_stop (&net);
}

/* ---- the login deadline ---- */

typedef struct {
  gboolean sent, closed;
  GError  *close_error;
  gint64   closed_at;
} Probe;

static void
on_probe_sent (ChatdEndpoint *endpoint, ChatdConnection *connection, const GError *error, gpointer user_data)
{
  Probe *probe = user_data;
  g_assert_no_error (error);
  probe->sent = TRUE;
}

static void
on_probe_connection (ChatdEndpoint *endpoint, ChatdConnection *connection, ChatdConnectionEvent event,
                     const GError *error, gpointer user_data)
{
  Probe *probe = user_data;
  if (event != CHATD_CONNECTION_EVENT_CLOSED)
    return;
  probe->closed = TRUE;
  probe->closed_at = g_get_monotonic_time ();
  probe->close_error = error ? g_error_copy (error) : NULL;
}

static void
iterate_until (gboolean *flag, int seconds)
{
  gint64 until = g_get_monotonic_time () + (gint64) seconds * G_USEC_PER_SEC;
  while (!*flag && g_get_monotonic_time () < until)
    if (!g_main_context_iteration (NULL, FALSE))
      g_usleep (1000);
}

/* A peer completes the transport handshake, sends something that is not a
 * login and keeps its connection alive: the server closes it once the login
 * deadline (2 s here) has passed, and counts it; a logged-in user's session,
 * older than the deadline by then, stays. */
static void
test_login_deadline (void)
{
  Net net = { 0 };
  net.server = test_node_new ();
  net.users = g_ptr_array_new_with_free_func ((GDestroyNotify) test_node_free);
  g_autofree char *config = g_build_filename (net.server->root, "server.conf", NULL);
  g_assert_true (g_file_set_contents (config, SERVER_CONFIG "login-deadline=2\n", -1, NULL));
  test_node_start_server (net.server, CHATD_ARGS ("--config", config));
  g_assert_cmpint (test_run_chatctl (net.server, CHATD_ARGS ("seed"), NULL, NULL), ==, 0);
  net.connect = status_field (net.server, "listen");
  TestNode *alice = login (&net, "Alice");

  g_autoptr(GError) error = NULL;
  g_autoptr(ChatdTransport) transport = chatd_transport_new ("127.0.0.1", 0, NULL, NULL, &error);
  g_assert_no_error (error);
  Probe probe = { 0 };
  chatd_transport_set_connection_callback (transport, on_probe_connection, &probe);
  ChatdAddress server;
  const char *colon = strrchr (net.connect, ':');
  g_autofree char *host = g_strndup (net.connect, colon - net.connect);
  g_assert_true (chatd_address_parse (host, (guint16) atoi (colon + 1), &server, NULL));
  g_autoptr(GBytes) junk = g_bytes_new_static ("not a login message", 19);
  gint64 t0 = g_get_monotonic_time ();
  chatd_transport_send (transport, &server, junk, on_probe_sent, &probe);
  iterate_until (&probe.sent, 5);
  g_assert_true (probe.sent);                    /* the server's transport took it */
  g_autoptr(JsonNode) before = json_of (net.server, CHATD_ARGS ("stats"));
  g_assert_cmpint (json_object_get_int_member (json_node_get_object (before), "server.unsettled"), ==, 1);
  iterate_until (&probe.closed, 15);             /* deadline + the 5 s sweep + slack */
  g_assert_true (probe.closed);
  g_test_message ("closed by the server after %.1f s", (probe.closed_at - t0) / 1e6);
  g_assert_cmpint (probe.closed_at - t0, >=, 2 * G_USEC_PER_SEC);   /* not before the deadline */
  g_assert_error (probe.close_error, CHATD_TRANSPORT_ERROR, CHATD_TRANSPORT_ERROR_CLOSED);
  g_clear_error (&probe.close_error);
  g_autoptr(JsonNode) after = json_of (net.server, CHATD_ARGS ("stats"));
  JsonObject *stats = json_node_get_object (after);
  g_assert_cmpint (json_object_get_int_member (stats, "server.unsettled-closed"), ==, 1);
  g_assert_cmpint (json_object_get_int_member (stats, "server.unsettled"), ==, 0);
  /* Alice's session is older than the deadline and untouched */
  g_assert_true (login_state_is (alice, "online"));
  g_assert_true (list_has (net.server, "Alice"));
  g_assert_cmpint (json_object_get_int_member (stats, "server.sessions-replaced"), ==, 0);
  net_stop (&net);
}

int
main (int argc, char **argv)
{
  gcry_check_version (NULL);
  gcry_control (GCRYCTL_INITIALIZATION_FINISHED, 0);
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/integration/limits/control-clients", test_control_clients);
  g_test_add_func ("/integration/limits/calls-per-client", test_calls_per_client);
  g_test_add_func ("/integration/limits/message-size", test_message_size);
  g_test_add_func ("/integration/limits/login-deadline", test_login_deadline);
  return g_test_run ();
}
