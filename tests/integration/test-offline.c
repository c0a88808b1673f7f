/* test-offline.c: the offline queue at the server and the outbox on the
 * user node, with real nodes: a message to a user who never logged in is
 * queued and handed over at her login (the sender gets `delivery`); a full
 * queue refuses with a clear error and leaves nothing behind; a short time
 * to live expires a message (`expired` at the sender, outbox empty); a
 * sender killed with a message still "sending" resends it after its
 * restart; kill -9 of the recipient in the middle of a stream of sends
 * loses nothing and doubles nothing; one message to two recipients of
 * different suites, one online and one not; kill -9 of the server with
 * messages in its queue. */
#include "chat-net.h"
#include "crypto-init.h"
#include "directory-private.h"
#include "suite-25519.h"
#include "suite-check.h"
#include "suite-rsa.h"

#include <signal.h>
#include <string.h>

/* `send` with --json: the status of the one result ("delivered", "queued"),
 * its id in ret_id; or the stderr line of a failure (exit 3) */
static char *
send_one (TestNode *from, const char *to, const char *text, int *ret_exit, char **ret_id)
{
  g_autofree char *out = NULL, *err = NULL;
  *ret_exit = test_run_chatctl (from, CHATD_ARGS ("--json", "send", to, text), &out, &err);
  if (*ret_exit != 0)
    return g_steal_pointer (&err);
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_assert_true (json_parser_load_from_data (parser, out, -1, NULL));
  JsonArray *a = json_node_get_array (json_parser_get_root (parser));
  g_assert_cmpuint (json_array_get_length (a), ==, 1);
  JsonObject *r = json_array_get_object_element (a, 0);
  if (ret_id != NULL)
    *ret_id = g_strdup (json_object_get_string_member (r, "id"));
  return g_strdup (json_object_get_string_member (r, "status"));
}

/* the texts in node's inbox, in arrival order */
static GPtrArray *
inbox_texts (TestNode *node, GPtrArray **ret_ids)
{
  g_autoptr(JsonNode) root = json_of (node, CHATD_ARGS ("recv"));
  JsonArray *a = json_node_get_array (root);
  GPtrArray *texts = g_ptr_array_new_with_free_func (g_free);
  GPtrArray *ids = g_ptr_array_new_with_free_func (g_free);
  for (guint i = 0; i < json_array_get_length (a); i++)
    {
      JsonObject *m = json_array_get_object_element (a, i);
      g_ptr_array_add (texts, g_strdup (json_object_get_string_member (m, "text")));
      g_ptr_array_add (ids, g_strdup (json_object_get_string_member (m, "id")));
    }
  if (ret_ids != NULL)
    *ret_ids = ids;
  else
    g_ptr_array_unref (ids);
  return texts;
}

/* the held events of node as "kind id" lines (events --since 0 replays them) */
static char *
events_of (TestNode *node)
{
  g_autoptr(GSubprocessLauncher) launcher = test_node_launcher (node);
  g_autoptr(GError) error = NULL;
  g_autoptr(GSubprocess) p = g_subprocess_launcher_spawn (launcher, &error, g_getenv ("CHATCTL"), "--socket",
                                                          node->socket_path, "--json", "events", "--since", "0", NULL);
  g_assert_no_error (error);
  g_usleep (500000);
  g_subprocess_send_signal (p, SIGINT);
  g_autofree char *out = NULL;
  g_subprocess_communicate_utf8 (p, NULL, NULL, &out, NULL, &error);
  g_assert_no_error (error);
  GString *lines = g_string_new (NULL);
  g_auto(GStrv) items = g_strsplit (out ? out : "", "\n", -1);
  for (guint i = 0; items[i] != NULL; i++)
    {
      g_autoptr(JsonParser) parser = json_parser_new ();
      if (items[i][0] == '\0' || !json_parser_load_from_data (parser, items[i], -1, NULL))
        continue;
      JsonObject *o = json_node_get_object (json_parser_get_root (parser));
      if (!json_object_has_member (o, "kind"))
        continue;
      JsonObject *data = json_object_get_object_member (o, "data");
      const char *id = data != NULL && json_object_has_member (data, "id") ? json_object_get_string_member (data, "id") : "";
      g_string_append_printf (lines, "%s %s\n", json_object_get_string_member (o, "kind"), id);
    }
  return g_string_free (lines, FALSE);
}

static gboolean
has_event (TestNode *node, const char *kind_and_id)
{
  g_autofree char *events = events_of (node);
  return strstr (events, kind_and_id) != NULL;
}

/* a user who never logged in gets her messages at her first login; a full
 * queue refuses clearly and leaves nothing behind; later sends go direct */
static void
test_queued_then_delivered (void)
{
  Net net = { 0 };
  net_start_with (&net, "queue-limit=2\n");
  TestNode *alice = login (&net, "Alice");
  int exit_status;
  g_autofree char *id1 = NULL, *id2 = NULL;
  g_autofree char *s1 = send_one (alice, "Charlie", "first while away", &exit_status, &id1);
  g_assert_cmpint (exit_status, ==, 0);
  g_assert_cmpstr (s1, ==, "queued");
  g_autofree char *s2 = send_one (alice, "charlie", "second while away", &exit_status, &id2);
  g_assert_cmpstr (s2, ==, "queued");
  /* the people's rendering is `queued ID` */
  g_autofree char *out = NULL, *err = NULL;
  g_assert_cmpint (test_run_chatctl (alice, CHATD_ARGS ("send", "Charlie", "one too many"), &out, &err), ==, 3);
  g_assert_true (test_is_one_line (err));
  g_assert_nonnull (strstr (err, "Charlie's queue at the server is full (2 messages)"));
  /* an unknown user is refused, nothing kept */
  g_clear_pointer (&err, g_free);
  g_assert_cmpint (test_run_chatctl (alice, CHATD_ARGS ("send", "Nobody", "hello?"), NULL, &err), ==, 3);
  g_assert_nonnull (strstr (err, "unknown user"));
  g_assert_cmpuint (outbox_length (alice, "queued"), ==, 2);
  g_assert_cmpuint (outbox_length (alice, NULL), ==, 2);
  g_clear_pointer (&out, g_free);
  g_assert_cmpint (test_run_chatctl (alice, CHATD_ARGS ("outbox"), &out, NULL), ==, 0);
  g_assert_nonnull (strstr (out, id1));
  g_assert_nonnull (strstr (out, "to Charlie: queued"));
  g_autofree char *queued_event = g_strdup_printf ("queued %s", id1);
  g_assert_true (has_event (alice, queued_event));
  g_assert_cmpint (stats_counter (alice, "messages.queued"), ==, 2);
  g_assert_cmpint (stats_counter (net.server, "queue.stored"), ==, 2);
  g_assert_cmpint (stats_counter (net.server, "queue.waiting"), ==, 2);
  g_assert_cmpint (stats_counter (net.server, "queue.refused"), ==, 1);   /* "Nobody" never got that far */

  /* Charlie logs in: both are handed over, once each */
  TestNode *charlie = login (&net, "Charlie");
  g_assert_true (wait_until (charlie, inbox_has, "second while away", 20));
  g_assert_true (wait_until (charlie, inbox_has, "first while away", 20));
  g_autoptr(GPtrArray) texts = inbox_texts (charlie, NULL);
  g_assert_cmpuint (texts->len, ==, 2);
  /* Alice learns it: her outbox empties, with a delivery event for each */
  g_assert_true (wait_until (alice, outbox_empty, NULL, 20));
  g_autofree char *delivery1 = g_strdup_printf ("delivery %s", id1);
  g_autofree char *delivery2 = g_strdup_printf ("delivery %s", id2);
  g_assert_true (has_event (alice, delivery1));
  g_assert_true (has_event (alice, delivery2));
  g_assert_cmpint (stats_counter (net.server, "queue.delivered"), ==, 2);
  g_assert_cmpint (stats_counter (net.server, "queue.waiting"), ==, 0);
  /* and sending again works, directly now */
  g_assert_true (wait_until (alice, list_has, "Charlie", 10));
  g_autofree char *s3 = send_one (alice, "Charlie", "now directly", &exit_status, NULL);
  g_assert_cmpint (exit_status, ==, 0);
  g_assert_cmpstr (s3, ==, "delivered");
  g_assert_true (outbox_empty (alice, NULL));
  net_stop (&net);
}

/* a short time to live: the sender hears that the message expired */
static void
test_expiry (void)
{
  Net net = { 0 };
  net_start_with (&net, "queue-ttl=2\n");
  TestNode *alice = login (&net, "Alice");
  int exit_status;
  g_autofree char *id = NULL;
  g_autofree char *s = send_one (alice, "Eve", "you will never read this", &exit_status, &id);
  g_assert_cmpstr (s, ==, "queued");
  g_assert_cmpuint (outbox_length (alice, "queued"), ==, 1);
  g_assert_true (wait_until (alice, outbox_empty, NULL, 20));
  g_autofree char *expired = g_strdup_printf ("expired %s", id);
  g_assert_true (has_event (alice, expired));
  g_assert_cmpint (stats_counter (alice, "messages.expired"), ==, 1);
  g_assert_cmpint (stats_counter (net.server, "queue.expired"), ==, 1);
  /* Eve, logging in later, gets nothing */
  TestNode *eve = login (&net, "Eve");
  g_usleep (1000000);
  g_autoptr(GPtrArray) texts = inbox_texts (eve, NULL);
  g_assert_cmpuint (texts->len, ==, 0);
  net_stop (&net);
}

/* Alice's node is killed -9 with a message to Bob still "sending" (Bob's
 * node stopped, so it never answered); returns with Alice down and Bob
 * still stopped (pid in ret_bob_pid) */
static void
kill_sender_mid_send (TestNode *alice, TestNode *bob, const char *text, pid_t *ret_bob_pid)
{
  pid_t bob_pid = node_pid (bob);
  g_assert_no_errno (kill (bob_pid, SIGSTOP));
  g_autoptr(GSubprocessLauncher) launcher = test_node_launcher (alice);
  g_autoptr(GError) error = NULL;
  g_autoptr(GSubprocess) send = g_subprocess_launcher_spawn (launcher, &error, g_getenv ("CHATCTL"), "--socket",
                                                             alice->socket_path, "send", "Bob", text, NULL);
  g_assert_no_error (error);
  for (int i = 0; i < 50 && outbox_length (alice, "sending") == 0; i++)
    g_usleep (100000);
  g_assert_cmpuint (outbox_length (alice, "sending"), ==, 1);
  g_assert_no_errno (kill (node_pid (alice), SIGKILL));
  alice->killed = TRUE;
  g_subprocess_wait (send, NULL, NULL);
  g_usleep (300000);
  alice->killed = FALSE;
  *ret_bob_pid = bob_pid;
}

static gboolean
state_log_has (TestNode *node, const char *text)
{
  g_autofree char *path = g_build_filename (node->state_dir, "chatd.log", NULL);
  g_autofree char *log = NULL;
  return g_file_get_contents (path, &log, NULL, NULL) && strstr (log, text) != NULL;
}

/* text reaches Bob's inbox, alone and once, and Alice's outbox empties */
static void
assert_delivered_once (TestNode *alice, TestNode *bob, const char *text)
{
  g_assert_true (wait_until (bob, inbox_has, text, 30));
  g_assert_true (wait_until (alice, outbox_empty, NULL, 30));
  g_autoptr(GPtrArray) texts = inbox_texts (bob, NULL);
  g_assert_cmpuint (texts->len, ==, 1);
  g_assert_cmpstr (texts->pdata[0], ==, text);
}

/* the sender dies with a message still "sending": it goes out after the restart */
static void
test_resend_after_restart (void)
{
  Net net = { 0 };
  net_start (&net);
  TestNode *alice = login (&net, "Alice");
  TestNode *bob = login (&net, "Bob");
  g_assert_true (wait_until (alice, list_has, "Bob", 10));
  /* Bob's node stops answering (but stays listed); Alice's dies before any
   * answer; Bob's goes on */
  pid_t bob_pid;
  kill_sender_mid_send (alice, bob, "survives a crash", &bob_pid);
  g_assert_no_errno (kill (bob_pid, SIGCONT));
  g_assert_cmpint (start_user (&net, alice, "Alice", "Alice", NULL, NULL), ==, 0);
  assert_delivered_once (alice, bob, "survives a crash");
  net_stop (&net);
}

/* the message left "sending" by the crash finds its recipient offline at
 * the sender's restart (the server restarted meanwhile and Bob's node is
 * gone): it goes to the server's queue and reaches Bob at his next login,
 * without another login of Alice (this once waited for one) */
static void
test_resend_to_offline_recipient (void)
{
  Net net = { 0 };
  net_start (&net);
  TestNode *alice = login (&net, "Alice");
  TestNode *bob = login (&net, "Bob");
  g_assert_true (wait_until (alice, reachable, "Bob", 10));
  pid_t bob_pid;
  kill_sender_mid_send (alice, bob, "to the queue after all", &bob_pid);
  g_assert_no_errno (kill (bob_pid, SIGKILL));
  bob->killed = TRUE;
  g_subprocess_send_signal (net.server->process, SIGKILL);
  test_node_wait (net.server);
  g_autofree char *config = g_build_filename (net.server->root, "server.conf", NULL);
  test_node_start_server (net.server, CHATD_ARGS ("--config", config, "--listen", net.connect));
  g_usleep (300000);
  bob->killed = FALSE;
  g_assert_cmpint (start_user (&net, alice, "Alice", "Alice", NULL, NULL), ==, 0);
  for (int i = 0; i < 100 && outbox_length (alice, "queued") == 0; i++)
    g_usleep (100000);
  g_assert_cmpuint (outbox_length (alice, "queued"), ==, 1);
  g_assert_cmpint (stats_counter (net.server, "queue.stored"), ==, 1);
  g_assert_cmpint (start_user (&net, bob, "Bob", "Bob", NULL, NULL), ==, 0);
  assert_delivered_once (alice, bob, "to the queue after all");
  net_stop (&net);
}

/* the resend after the restart fails (Bob's node, still listed, does not
 * answer); the row stays, and is tried again while Alice stays online: it
 * arrives once Bob's node answers again, with no new login of Alice */
static void
test_resend_retried_while_online (void)
{
  Net net = { 0 };
  net_start (&net);
  TestNode *alice = login (&net, "Alice");
  TestNode *bob = login (&net, "Bob");
  g_assert_true (wait_until (alice, reachable, "Bob", 10));
  pid_t bob_pid;
  kill_sender_mid_send (alice, bob, "tried again", &bob_pid);
  g_setenv ("CHATD_PEER_HANDSHAKE_TIMEOUT_MS", "2000", TRUE);
  int started = start_user (&net, alice, "Alice", "Alice", NULL, NULL);
  g_unsetenv ("CHATD_PEER_HANDSHAKE_TIMEOUT_MS");
  g_assert_cmpint (started, ==, 0);
  g_assert_true (wait_until (alice, state_log_has, "to Bob: failed", 20));
  g_assert_cmpuint (outbox_length (alice, "sending"), ==, 1);
  g_assert_no_errno (kill (bob_pid, SIGCONT));
  assert_delivered_once (alice, bob, "tried again");
  /* Alice logged in once after her restart */
  g_autofree char *log_path = g_build_filename (alice->state_dir, "chatd.log", NULL);
  g_autofree char *log = NULL;
  g_assert_true (g_file_get_contents (log_path, &log, NULL, NULL));
  g_auto(GStrv) logins = g_strsplit (log, "login state: online", -1);
  g_assert_cmpuint (g_strv_length (logins) - 1, ==, 2);
  net_stop (&net);
}

typedef struct {
  TestNode    *alice;
  guint        n;
  char       **ids;
  char       **statuses;
  gint         sent;     /* atomic */
} Stream;

static gpointer
send_stream (gpointer data)
{
  Stream *s = data;
  for (guint i = 0; i < s->n; i++)
    {
      g_autofree char *text = g_strdup_printf ("stream %03u", i);
      int exit_status;
      s->statuses[i] = send_one (s->alice, "Bob", text, &exit_status, &s->ids[i]);
      g_atomic_int_inc (&s->sent);
    }
  return NULL;
}

/* kill -9 of the recipient in the middle of a stream: everything Alice saw
 * delivered is in Bob's inbox after his restart, the rest arrives through
 * the queue, nothing twice */
static void
test_recipient_killed_mid_stream (void)
{
  Net net = { 0 };
  net_start (&net);
  TestNode *alice = login (&net, "Alice");
  TestNode *bob = login (&net, "Bob");
  g_assert_true (wait_until (alice, list_has, "Bob", 10));
  Stream s = { .alice = alice, .n = 100 };
  s.ids = g_new0 (char *, s.n + 1);
  s.statuses = g_new0 (char *, s.n + 1);
  GThread *thread = g_thread_new ("send-stream", send_stream, &s);
  for (int i = 0; i < 300 && g_atomic_int_get (&s.sent) < 30; i++)
    g_usleep (50000);
  g_assert_no_errno (kill (node_pid (bob), SIGKILL));
  bob->killed = TRUE;
  g_usleep (200000);
  bob->killed = FALSE;
  g_assert_cmpint (start_user (&net, bob, "Bob", "Bob", NULL, NULL), ==, 0);
  g_thread_join (thread);
  guint delivered = 0, queued = 0;
  for (guint i = 0; i < s.n; i++)
    {
      g_assert_nonnull (s.ids[i]);
      if (g_strcmp0 (s.statuses[i], "delivered") == 0)
        delivered++;
      else if (g_strcmp0 (s.statuses[i], "queued") == 0)
        queued++;
      else
        g_error ("send %u: %s", i, s.statuses[i]);
    }
  g_test_message ("kill -9 mid-stream: %u delivered directly, %u queued", delivered, queued);
  g_assert_true (wait_until (alice, outbox_empty, NULL, 60));
  g_autoptr(GPtrArray) ids = NULL;
  g_autoptr(GPtrArray) texts = inbox_texts (bob, &ids);
  g_assert_cmpuint (texts->len, ==, s.n);
  g_autoptr(GHashTable) seen = g_hash_table_new (g_str_hash, g_str_equal);
  for (guint i = 0; i < ids->len; i++)
    g_assert_true (g_hash_table_add (seen, ids->pdata[i]));   /* none twice */
  for (guint i = 0; i < s.n; i++)
    g_assert_true (g_hash_table_contains (seen, s.ids[i]));     /* every one, delivered or queued */
  g_strfreev (s.ids);
  g_strfreev (s.statuses);
  net_stop (&net);
}

/* kill -9 of the server: what it acknowledged (queued) survives, and the
 * receipts reach the sender after both come back */
static void
test_server_killed (void)
{
  Net net = { 0 };
  net_start (&net);
  TestNode *alice = login (&net, "Alice");
  int exit_status;
  for (int i = 0; i < 3; i++)
    {
      g_autofree char *text = g_strdup_printf ("before the crash %d", i);
      g_autofree char *status = send_one (alice, "Charlie", text, &exit_status, NULL);
      g_assert_cmpstr (status, ==, "queued");
    }
  g_subprocess_send_signal (net.server->process, SIGKILL);
  test_node_wait (net.server);
  g_assert_true (wait_until (alice, login_state_is, "retrying", 20));
  g_autofree char *config = g_build_filename (net.server->root, "server.conf", NULL);
  test_node_start_server (net.server, CHATD_ARGS ("--config", config, "--listen", net.connect));
  g_assert_true (wait_until (alice, login_state_is, "online", 40));
  TestNode *charlie = login (&net, "Charlie");
  for (int i = 0; i < 3; i++)
    {
      g_autofree char *text = g_strdup_printf ("before the crash %d", i);
      g_assert_true (wait_until (charlie, inbox_has, text, 20));
    }
  g_assert_true (wait_until (alice, outbox_empty, NULL, 20));
  g_autoptr(GPtrArray) texts = inbox_texts (charlie, NULL);
  g_assert_cmpuint (texts->len, ==, 3);
  net_stop (&net);
}

/* A user with an RSA key, written into the running server's directory the
 * way seeding writes server-made users (the server's commands make 25519
 * keys only); password: the name. */
static void
add_rsa_user (Net *net, const char *name)
{
  g_autoptr(GError) error = NULL;
  g_assert_true (chatd_crypto_init (&error));
  ChatdRegistry *registry = chatd_registry_new (chatd_suite_check);
  g_assert_true (chatd_registry_add_suite (registry, &chatd_suite_25519, "suite-25519", &error));
  g_assert_true (chatd_registry_add_suite (registry, &chatd_suite_rsa, "suite-rsa", &error));
  ChatdDirectoryConfig config;
  chatd_directory_config_init (&config);
  config.kdf = (ChatdKdfParams) { 1, 256, 1 };   /* SERVER_CONFIG's */
  g_autoptr(ChatdDirectory) directory = chatd_directory_open (net->server->state_dir, &config, registry, &error);
  g_assert_no_error (error);
  g_autoptr(ChatdKey) key = chatd_suite_rsa.generate (&chatd_suite_rsa, 2048, &error);
  g_assert_no_error (error);
  g_autoptr(ChatdDirectoryUser) user = NULL;
  g_assert_true (chatd_directory_user_from_key (name, key, (const guint8 *) name, strlen (name), &config.kdf,
                                                g_get_real_time () / G_USEC_PER_SEC, &user, &error));
  g_assert_true (chatd_directory_store_user (directory, user, FALSE, &error));
  g_assert_no_error (error);
  g_clear_pointer (&directory, chatd_directory_free);
  chatd_registry_free (registry);
}

/* one send to an online 25519 user and an offline RSA user */
static void
test_two_suites (void)
{
  Net net = { 0 };
  net_start (&net);
  add_rsa_user (&net, "Dora");
  TestNode *alice = login (&net, "Alice");
  TestNode *bob = login (&net, "Bob");
  g_assert_true (wait_until (alice, list_has, "Bob", 10));
  g_autofree char *out = NULL;
  g_assert_cmpint (test_run_chatctl (alice, CHATD_ARGS ("--json", "send", "Bob,Dora", "to both suites"), &out, NULL), ==, 0);
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_assert_true (json_parser_load_from_data (parser, out, -1, NULL));
  JsonArray *a = json_node_get_array (json_parser_get_root (parser));
  g_assert_cmpuint (json_array_get_length (a), ==, 2);
  for (guint i = 0; i < 2; i++)
    {
      JsonObject *r = json_array_get_object_element (a, i);
      const char *to = json_object_get_string_member (r, "to");
      g_assert_cmpstr (json_object_get_string_member (r, "status"), ==, g_str_equal (to, "Bob") ? "delivered" : "queued");
    }
  g_assert_true (inbox_has (bob, "to both suites"));
  TestNode *dora = login (&net, "Dora");
  g_assert_true (wait_until (dora, inbox_has, "to both suites", 20));
  g_assert_true (wait_until (alice, outbox_empty, NULL, 20));
  g_autoptr(JsonNode) users = json_of (net.server, CHATD_ARGS ("users"));
  gboolean rsa = FALSE;
  JsonArray *u = json_node_get_array (users);
  for (guint i = 0; i < json_array_get_length (u); i++)
    {
      JsonObject *o = json_array_get_object_element (u, i);
      rsa |= g_str_equal (json_object_get_string_member (o, "name"), "Dora") &&
             g_str_equal (json_object_get_string_member (o, "suite"), "rsa");
    }
  g_assert_true (rsa);
  /* and back, from the RSA user to the 25519 one */
  g_assert_true (wait_until (dora, list_has, "Alice", 10));
  int exit_status;
  g_autofree char *back = send_one (dora, "Alice", "from rsa", &exit_status, NULL);
  g_assert_cmpstr (back, ==, "delivered");
  g_assert_true (inbox_has (alice, "from rsa"));
  net_stop (&net);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/integration/offline/queued-then-delivered", test_queued_then_delivered);
  g_test_add_func ("/integration/offline/expiry", test_expiry);
  g_test_add_func ("/integration/offline/resend-after-restart", test_resend_after_restart);
  g_test_add_func ("/integration/offline/resend-to-offline-recipient", test_resend_to_offline_recipient);
  g_test_add_func ("/integration/offline/resend-retried-while-online", test_resend_retried_while_online);
  g_test_add_func ("/integration/offline/recipient-killed-mid-stream", test_recipient_killed_mid_stream);
  g_test_add_func ("/integration/offline/two-suites", test_two_suites);
  g_test_add_func ("/integration/offline/server-killed", test_server_killed);
  return g_test_run ();
}
