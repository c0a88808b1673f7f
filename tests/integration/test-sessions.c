/* test-sessions.c: forward-secret peer sessions between real user nodes
 * (issue 8): used whenever both nodes advertise them (counters prove that no
 * envelope went between them), never a downgrade (dropped handshakes, a key
 * record that stops advertising them), re-keys during a stream of 10,000
 * messages, and 10,000 messages through the netsim relay at 20% loss, each
 * stored exactly once. */
#include "chat-net.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static char *
send_text (TestNode *from, const char *to, const char *text, int *ret_status)
{
  g_autofree char *out = NULL, *err = NULL;
  *ret_status = test_run_chatctl (from, CHATD_ARGS ("send", to, text), &out, &err);
  return *ret_status == 0 ? g_steal_pointer (&out) : g_steal_pointer (&err);
}

/* Bob's inbox: how many messages, and whether every id is distinct */
static guint
inbox_count (TestNode *node, gboolean *ret_distinct)
{
  JsonNode *root = json_of (node, CHATD_ARGS ("recv"));
  JsonArray *a = json_node_get_array (root);
  g_autoptr(GHashTable) ids = g_hash_table_new (g_str_hash, g_str_equal);
  gboolean distinct = TRUE;
  guint n = json_array_get_length (a);
  for (guint i = 0; i < n; i++)
    distinct &= g_hash_table_add (ids, (gpointer) json_object_get_string_member (json_array_get_object_element (a, i),
                                                                                   "id"));
  json_node_unref (root);
  if (ret_distinct != NULL)
    *ret_distinct = distinct;
  return n;
}

/* the ids of a node's inbox begin with their send time (unix ms, 6 bytes):
 * all within [from_ms, to_ms], increasing in arrival order (sent one by one) */
static void
assert_ids_in_time_order (TestNode *node, gint64 from_ms, gint64 to_ms)
{
  JsonNode *root = json_of (node, CHATD_ARGS ("recv"));
  JsonArray *a = json_node_get_array (root);
  gint64 previous = 0;
  for (guint i = 0; i < json_array_get_length (a); i++)
    {
      const char *id = json_object_get_string_member (json_array_get_object_element (a, i), "id");
      g_assert_cmpuint (strlen (id), ==, 32);
      g_autofree char *head = g_strndup (id, 12);
      gint64 ms = (gint64) g_ascii_strtoull (head, NULL, 16);
      g_assert_cmpint (ms, >=, from_ms);
      g_assert_cmpint (ms, <=, to_ms);
      g_assert_cmpint (ms, >=, previous);
      previous = ms;
    }
  json_node_unref (root);
}

static guint16
free_udp_port (void)
{
  int fd = socket (AF_INET, SOCK_DGRAM, 0);
  struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl (INADDR_LOOPBACK) };
  socklen_t len = sizeof a;
  g_assert_no_errno (bind (fd, (struct sockaddr *) &a, sizeof a));
  g_assert_no_errno (getsockname (fd, (struct sockaddr *) &a, &len));
  close (fd);
  return ntohs (a.sin_port);
}

/* the netsim relay at listen (NULL: any port) in front of upstream; returns
 * its address */
static GSubprocess *
start_relay (const char *listen, const char *upstream, const char *loss, char **ret_address)
{
  g_autofree char *listen_arg = g_strdup_printf ("--listen=%s", listen ? listen : "127.0.0.1:0");
  g_autofree char *upstream_arg = g_strdup_printf ("--upstream=%s", upstream);
  g_autofree char *loss_arg = g_strdup_printf ("--loss=%s", loss);
  g_autoptr(GError) error = NULL;
  GSubprocess *relay = g_subprocess_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_SILENCE, &error,
                                         g_getenv ("NETSIM_RELAY"), listen_arg, upstream_arg, loss_arg, "--seed=11",
                                         "--duration=300", NULL);
  g_assert_no_error (error);
  g_autoptr(GDataInputStream) out = g_data_input_stream_new (g_subprocess_get_stdout_pipe (relay));
  g_autofree char *line = g_data_input_stream_read_line (out, NULL, NULL, &error);
  g_assert_true (line != NULL && g_str_has_prefix (line, "LISTEN "));
  *ret_address = g_strdup (line + strlen ("LISTEN "));
  return relay;
}

static void
stop_relay (GSubprocess *relay)
{
  g_subprocess_send_signal (relay, SIGTERM);
  g_subprocess_wait (relay, NULL, NULL);
  g_object_unref (relay);
}

/* Bob's node on a known port, advertising the relay's address */
static TestNode *
bob_behind (Net *net, const char *listen, const char *relay_address)
{
  TestNode *bob = test_node_new ();
  g_ptr_array_add (net->users, bob);
  g_assert_cmpint (start_user (net, bob, "Bob", "Bob", CHATD_ARGS ("--listen", listen, "--advertise", relay_address),
                               NULL), ==, 0);
  return bob;
}

static gboolean
has_session_with (TestNode *node, const char *peer)
{
  JsonNode *root = json_of (node, CHATD_ARGS ("status"));
  JsonObject *o = json_node_get_object (root);
  gboolean found = FALSE;
  if (json_object_has_member (o, "sessions"))
    {
      JsonArray *a = json_object_get_array_member (o, "sessions");
      for (guint i = 0; i < json_array_get_length (a); i++)
        {
          JsonObject *s = json_array_get_object_element (a, i);
          found |= g_ascii_strcasecmp (json_object_get_string_member (s, "peer"), peer) == 0 &&
                   json_object_get_boolean_member (s, "session");
        }
    }
  json_node_unref (root);
  return found;
}

static gboolean
listed_with_session (TestNode *node, const char *peer)
{
  JsonNode *root = json_of (node, CHATD_ARGS ("list"));
  JsonArray *a = json_node_get_array (root);
  gboolean found = FALSE;
  for (guint i = 0; i < json_array_get_length (a); i++)
    {
      JsonObject *e = json_array_get_object_element (a, i);
      found |= g_strcmp0 (json_object_get_string_member (e, "name"), peer) == 0 &&
               json_object_get_boolean_member (e, "session");
    }
  json_node_unref (root);
  return found;
}

static void
test_session_used (void)
{
  Net net = { 0 };
  net_start (&net);
  TestNode *alice = login (&net, "Alice");
  TestNode *bob = login (&net, "Bob");
  g_assert_true (wait_until (alice, list_has, "Bob", 10));
  int status;
  gint64 start_ms = g_get_real_time () / 1000;
  for (int i = 0; i < 5; i++)
    {
      g_autofree char *out = send_text (alice, "Bob", "in a session", &status);
      g_assert_cmpint (status, ==, 0);
      g_assert_true (g_str_has_prefix (out, "delivered "));
      g_autofree char *back = send_text (bob, "alice", "back in the session", &status);
      g_assert_cmpint (status, ==, 0);
      g_assert_true (g_str_has_prefix (back, "delivered "));
    }
  g_assert_cmpuint (inbox_count (bob, NULL), ==, 5);
  g_assert_cmpuint (inbox_count (alice, NULL), ==, 5);
  assert_ids_in_time_order (bob, start_ms, g_get_real_time () / 1000);
  assert_ids_in_time_order (alice, start_ms, g_get_real_time () / 1000);
  /* no envelope went between them, either way: all in the session */
  g_assert_cmpint (stats_counter (alice, "messages.envelopes-direct"), ==, 0);
  g_assert_cmpint (stats_counter (bob, "messages.envelopes-direct"), ==, 0);
  g_assert_cmpint (stats_counter (alice, "messages.envelopes-received"), ==, 0);
  g_assert_cmpint (stats_counter (bob, "messages.envelopes-received"), ==, 0);
  g_assert_cmpint (stats_counter (alice, "messages.session-sent"), ==, 5);
  g_assert_cmpint (stats_counter (bob, "messages.session-received"), ==, 5);
  g_assert_cmpint (stats_counter (alice, "messages.queued"), ==, 0);
  /* one handshake for the pair (the second direction uses the same session) */
  g_assert_cmpint (stats_counter (alice, "sessions.handshakes") + stats_counter (bob, "sessions.handshakes"), <=, 2);
  /* status and list show it */
  g_assert_true (has_session_with (alice, "Bob"));
  g_assert_true (has_session_with (bob, "Alice"));
  g_assert_true (listed_with_session (alice, "Bob"));
  g_assert_false (listed_with_session (alice, "Alice"));
  net_stop (&net);
}

static GSubprocess *
send_async (TestNode *from, const char *to, const char *text)
{
  g_autoptr(GSubprocessLauncher) launcher = test_node_launcher (from);
  g_subprocess_launcher_set_flags (launcher, G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_PIPE);
  g_autoptr(GError) error = NULL;
  GSubprocess *p = g_subprocess_launcher_spawn (launcher, &error, g_getenv ("CHATCTL"), "--socket", from->socket_path,
                                                "send", to, text, NULL);
  g_assert_no_error (error);
  return p;
}

/* both nodes start a handshake at once (crossing PEER_INITs): one wins,
 * both messages are delivered in sessions, each stored once */
static void
test_crossing_inits (void)
{
  Net net = { 0 };
  net_start (&net);
  TestNode *alice = login (&net, "Alice");
  TestNode *bob = login (&net, "Bob");
  g_assert_true (wait_until (alice, list_has, "Bob", 10));
  g_assert_true (wait_until (bob, list_has, "Alice", 10));
  for (int round = 0; round < 3; round++)
    {
      g_autoptr(GSubprocess) a = send_async (alice, "Bob", "crossing from Alice");
      g_autoptr(GSubprocess) b = send_async (bob, "Alice", "crossing from Bob");
      g_autofree char *a_out = NULL, *b_out = NULL, *a_err = NULL, *b_err = NULL;
      g_assert_true (g_subprocess_communicate_utf8 (a, NULL, NULL, &a_out, &a_err, NULL));
      g_assert_true (g_subprocess_communicate_utf8 (b, NULL, NULL, &b_out, &b_err, NULL));
      g_test_message ("round %d: Alice: %s%s Bob: %s%s", round, a_out, a_err, b_out, b_err);
      g_assert_true (g_str_has_prefix (a_out, "delivered "));
      g_assert_true (g_str_has_prefix (b_out, "delivered "));
    }
  gboolean distinct = FALSE;
  g_assert_cmpuint (inbox_count (bob, &distinct), ==, 3);
  g_assert_true (distinct);
  g_assert_cmpuint (inbox_count (alice, &distinct), ==, 3);
  g_assert_true (distinct);
  g_assert_cmpint (stats_counter (alice, "messages.envelopes-direct") + stats_counter (bob, "messages.envelopes-direct"), ==, 0);
  net_stop (&net);
}

/* The packets between Alice's and Bob's nodes are all dropped (the relay
 * in front of Bob at 100% loss) while the server lists Bob online: the send
 * fails with a reason to retry, and no envelope goes anywhere (not to Bob,
 * not to the server's queue).  Once the packets flow again, the session
 * works. */
static void
test_downgrade_by_dropping_refused (void)
{
  Net net = { 0 };
  net_start (&net);
  g_setenv ("CHATD_PEER_HANDSHAKE_TIMEOUT_MS", "2000", TRUE);
  TestNode *alice = login (&net, "Alice");
  g_unsetenv ("CHATD_PEER_HANDSHAKE_TIMEOUT_MS");
  g_autofree char *listen = g_strdup_printf ("127.0.0.1:%u", free_udp_port ());
  g_autofree char *relay_address = NULL;
  GSubprocess *relay = start_relay (NULL, listen, "100", &relay_address);
  TestNode *bob = bob_behind (&net, listen, relay_address);
  g_assert_true (wait_until (alice, list_has, "Bob", 10));
  int status;
  gint64 t0 = g_get_monotonic_time ();
  g_autofree char *err = send_text (alice, "Bob", "not without a session", &status);
  g_test_message ("with every packet dropped: %s after %.1f s", err, (g_get_monotonic_time () - t0) / 1e6);
  g_assert_cmpint (status, ==, 3);
  g_assert_nonnull (strstr (err, "retry"));
  g_assert_nonnull (strstr (err, "session"));
  g_assert_cmpint (stats_counter (alice, "messages.envelopes-direct"), ==, 0);
  g_assert_cmpint (stats_counter (alice, "messages.queued"), ==, 0);
  g_assert_cmpint (stats_counter (alice, "sessions.handshake-failures"), >=, 1);
  g_assert_cmpuint (inbox_count (bob, NULL), ==, 0);
  JsonNode *outbox = json_of (alice, CHATD_ARGS ("outbox"));
  g_assert_cmpuint (json_array_get_length (json_node_get_array (outbox)), ==, 0);   /* nothing left behind */
  json_node_unref (outbox);
  /* the path heals: the next send goes through in a session */
  stop_relay (relay);
  g_autofree char *again = NULL;
  relay = start_relay (relay_address, listen, "0", &again);
  g_assert_cmpstr (again, ==, relay_address);
  g_autofree char *out = send_text (alice, "Bob", "now in a session", &status);
  g_assert_cmpint (status, ==, 0);
  g_assert_true (g_str_has_prefix (out, "delivered "));
  g_assert_cmpuint (inbox_count (bob, NULL), ==, 1);
  g_assert_cmpint (stats_counter (alice, "messages.envelopes-direct"), ==, 0);
  g_assert_cmpint (stats_counter (bob, "messages.envelopes-received"), ==, 0);
  stop_relay (relay);
  net_stop (&net);
}

/* Bob's node came back without session support (his key record no longer
 * advertises it): Alice, who had sessions with him, refuses to send rather
 * than fall back to envelopes. */
static void
test_record_downgrade_refused (void)
{
  Net net = { 0 };
  net_start (&net);
  TestNode *alice = login (&net, "Alice");
  TestNode *bob = login (&net, "Bob");
  int status;
  g_autofree char *out = send_text (alice, "Bob", "first, in a session", &status);
  g_assert_cmpint (status, ==, 0);
  g_assert_true (g_str_has_prefix (out, "delivered "));
  /* Bob's node again, speaking no sessions */
  g_assert_cmpint (test_run_chatctl (bob, CHATD_ARGS ("shutdown"), NULL, NULL), ==, 0);
  g_assert_true (wait_until (alice, not_listed, "Bob", 40));
  g_setenv ("CHATD_PEER_SESSIONS", "0", TRUE);
  TestNode *old_bob = login (&net, "Bob");
  g_unsetenv ("CHATD_PEER_SESSIONS");
  g_autofree char *err = send_text (alice, "Bob", "must not go as an envelope", &status);
  g_test_message ("to a node that stopped advertising sessions: %s", err);
  g_assert_cmpint (status, ==, 3);
  g_assert_nonnull (strstr (err, "downgrade"));
  g_assert_cmpint (stats_counter (alice, "messages.downgrades-refused"), ==, 1);
  g_assert_cmpint (stats_counter (alice, "messages.envelopes-direct"), ==, 0);
  g_assert_cmpint (stats_counter (old_bob, "messages.envelopes-received"), ==, 0);
  /* a user who never advertised sessions still gets envelopes */
  g_setenv ("CHATD_PEER_SESSIONS", "0", TRUE);
  TestNode *charlie = login (&net, "Charlie");
  g_unsetenv ("CHATD_PEER_SESSIONS");
  g_autofree char *to_charlie = send_text (alice, "Charlie", "an envelope", &status);
  g_assert_cmpint (status, ==, 0);
  g_assert_true (g_str_has_prefix (to_charlie, "delivered "));
  g_assert_cmpint (stats_counter (alice, "messages.envelopes-direct"), ==, 1);
  g_assert_cmpint (stats_counter (charlie, "messages.envelopes-received"), ==, 1);
  net_stop (&net);
}

/* COUNT messages of 100 B with bench-send inside Alice's node; the result */
static JsonObject *
bench_send (TestNode *alice, guint count, guint inflight, JsonNode **ret_root)
{
  g_autofree char *n = g_strdup_printf ("%u", count);
  g_autofree char *k = g_strdup_printf ("%u", inflight);
  *ret_root = json_of (alice, CHATD_ARGS ("bench-send", "Bob", n, "100", k));
  return json_node_get_object (*ret_root);
}

static TestNode *
login_with_bench_load (Net *net, const char *user)
{
  g_setenv ("CHAT_NET_PLUGIN_PATH", g_getenv ("BENCH_LOAD_DIR"), TRUE);
  TestNode *node = login (net, user);
  g_unsetenv ("CHAT_NET_PLUGIN_PATH");
  return node;
}

#define STREAM_MESSAGES 10000

/* re-keys every 300 messages: nothing lost, nothing doubled */
static void
test_rekeys_during_stream (void)
{
  Net net = { 0 };
  net_start (&net);
  g_setenv ("CHATD_PEER_REKEY_MESSAGES", "300", TRUE);
  TestNode *alice = login_with_bench_load (&net, "Alice");
  TestNode *bob = login (&net, "Bob");
  g_unsetenv ("CHATD_PEER_REKEY_MESSAGES");
  g_assert_true (wait_until (alice, list_has, "Bob", 10));
  gint64 t0 = g_get_monotonic_time ();
  JsonNode *root = NULL;
  JsonObject *r = bench_send (alice, STREAM_MESSAGES, 128, &root);
  g_test_message ("%d messages with re-keys every 300: %.1f s, %" G_GINT64_FORMAT " handshakes", STREAM_MESSAGES,
                  (g_get_monotonic_time () - t0) / 1e6, stats_counter (alice, "sessions.handshakes"));
  g_assert_cmpint (json_object_get_int_member (r, "delivered"), ==, STREAM_MESSAGES);
  g_assert_cmpint (json_object_get_int_member (r, "failed"), ==, 0);
  json_node_unref (root);
  gboolean distinct = FALSE;
  g_assert_cmpuint (inbox_count (bob, &distinct), ==, STREAM_MESSAGES);
  g_assert_true (distinct);
  g_assert_cmpint (stats_counter (bob, "messages.duplicates"), ==, 0);
  /* 10,000 / 300: at least 20 new sessions (each side counts its own) */
  g_assert_cmpint (stats_counter (alice, "sessions.handshakes"), >=, STREAM_MESSAGES / 300 / 2);
  g_assert_cmpint (stats_counter (alice, "messages.envelopes-direct"), ==, 0);
  g_assert_cmpint (stats_counter (bob, "messages.envelopes-received"), ==, 0);
  /* the re-keys moved the connection's packets to the new sessions'
   * transport keys (key update), on both nodes, and no packet was lost to
   * it (M2) */
  gint64 updates_a = stats_counter (alice, "transport.conn.key_updates");
  gint64 updates_b = stats_counter (bob, "transport.conn.key_updates");
  g_test_message ("transport key updates: Alice %" G_GINT64_FORMAT ", Bob %" G_GINT64_FORMAT
                  " (started as responder: %" G_GINT64_FORMAT " + %" G_GINT64_FORMAT "); "
                  "dropped: key phase %" G_GINT64_FORMAT " + %" G_GINT64_FORMAT ", auth %" G_GINT64_FORMAT " + %" G_GINT64_FORMAT,
                  updates_a, updates_b, stats_counter (alice, "sessions.transport-key-updates"),
                  stats_counter (bob, "sessions.transport-key-updates"),
                  stats_counter (alice, "transport.conn.dropped_key_phase"),
                  stats_counter (bob, "transport.conn.dropped_key_phase"),
                  stats_counter (alice, "transport.conn.dropped_auth_failed"),
                  stats_counter (bob, "transport.conn.dropped_auth_failed"));
  g_assert_cmpint (updates_a, >=, STREAM_MESSAGES / 300 / 2);
  g_assert_cmpint (updates_b, >=, STREAM_MESSAGES / 300 / 2);
  g_assert_cmpint (stats_counter (alice, "sessions.transport-key-updates") +
                   stats_counter (bob, "sessions.transport-key-updates"), >=, updates_a);
  g_assert_cmpint (stats_counter (alice, "transport.conn.old_keys_wiped"), >=, 1);
  JsonNode *outbox = json_of (alice, CHATD_ARGS ("outbox"));
  g_assert_cmpuint (json_array_get_length (json_node_get_array (outbox)), ==, 0);
  json_node_unref (outbox);
  net_stop (&net);
}

/* 20% of the datagrams between the nodes dropped: every message arrives,
 * exactly once */
static void
test_lossy_relay_exactly_once (void)
{
  Net net = { 0 };
  net_start (&net);
  /* re-keys (and so transport key updates) with packets lost around them */
  g_setenv ("CHATD_PEER_REKEY_MESSAGES", "2000", TRUE);
  TestNode *alice = login_with_bench_load (&net, "Alice");
  g_autofree char *listen = g_strdup_printf ("127.0.0.1:%u", free_udp_port ());
  g_autofree char *relay_address = NULL;
  GSubprocess *relay = start_relay (NULL, listen, "20", &relay_address);
  TestNode *bob = bob_behind (&net, listen, relay_address);
  g_unsetenv ("CHATD_PEER_REKEY_MESSAGES");
  g_assert_true (wait_until (alice, list_has, "Bob", 10));
  gint64 t0 = g_get_monotonic_time ();
  JsonNode *root = NULL;
  JsonObject *r = bench_send (alice, STREAM_MESSAGES, 128, &root);
  g_test_message ("%d messages through 20%% loss: %.1f s", STREAM_MESSAGES, (g_get_monotonic_time () - t0) / 1e6);
  g_assert_cmpint (json_object_get_int_member (r, "delivered"), ==, STREAM_MESSAGES);
  json_node_unref (root);
  gboolean distinct = FALSE;
  g_assert_cmpuint (inbox_count (bob, &distinct), ==, STREAM_MESSAGES);
  g_assert_true (distinct);
  g_assert_cmpint (stats_counter (alice, "messages.envelopes-direct"), ==, 0);
  g_assert_cmpint (stats_counter (alice, "messages.queued"), ==, 0);
  g_test_message ("transport key updates through the lossy relay: Alice %" G_GINT64_FORMAT ", Bob %" G_GINT64_FORMAT,
                  stats_counter (alice, "transport.conn.key_updates"), stats_counter (bob, "transport.conn.key_updates"));
  g_assert_cmpint (stats_counter (alice, "transport.conn.key_updates"), >=, 1);
  g_assert_cmpint (stats_counter (bob, "transport.conn.key_updates"), >=, 1);
  stop_relay (relay);
  net_stop (&net);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/integration/sessions/used", test_session_used);
  g_test_add_func ("/integration/sessions/crossing-inits", test_crossing_inits);
  g_test_add_func ("/integration/sessions/downgrade-by-dropping-refused", test_downgrade_by_dropping_refused);
  g_test_add_func ("/integration/sessions/record-downgrade-refused", test_record_downgrade_refused);
  g_test_add_func ("/integration/sessions/rekeys-during-10000", test_rekeys_during_stream);
  g_test_add_func ("/integration/sessions/lossy-relay-10000-exactly-once", test_lossy_relay_exactly_once);
  return g_test_run ();
}
