/* test-login.c: the server role and the login with real processes: seed,
 * log in Alice, Bob and Charlie, list on both sides, a vanished node dropped
 * within the bound, wrong password and unknown user alike, one node per user,
 * a changed server key, relogin after a server restart, no password left in
 * the environment. */
#include "chat-net.h"

#include <signal.h>
#include <string.h>

static void
test_three_users (void)
{
  Net net = { 0 };
  net_start (&net);
  TestNode *alice = login (&net, "Alice");
  TestNode *bob = login (&net, "bob");          /* names compare case-insensitively */
  TestNode *charlie = login (&net, "Charlie");
  for (const char *const *n = CHATD_ARGS ("Alice", "Bob", "Charlie"); *n; n++)
    {
      g_assert_true (wait_until (net.server, (gpointer) list_has, *n, 5));
      g_assert_true (wait_until (alice, (gpointer) list_has, *n, 5));
    }
  g_autoptr(JsonNode) list = json_of (bob, CHATD_ARGS ("list"));
  JsonObject *first = json_array_get_object_element (json_node_get_array (list), 0);
  for (const char *const *k = CHATD_ARGS ("name", "suite", "fingerprint", "address", "since"); *k; k++)
    g_assert_true (json_object_has_member (first, *k));
  /* the directory, from signed key records */
  g_autoptr(JsonNode) users = json_of (charlie, CHATD_ARGS ("users"));
  g_assert_cmpuint (json_array_get_length (json_node_get_array (users)), ==, 4);
  /* the server key was trusted on first use and kept */
  g_autofree char *pin = g_build_filename (alice->state_dir, "server.pub", NULL);
  g_assert_true (g_file_test (pin, G_FILE_TEST_IS_REGULAR));
  g_autofree char *alice_key = status_field (alice, "server-key");
  g_autofree char *server_key = status_field (net.server, "server-key");
  g_assert_cmpstr (alice_key, ==, server_key);

  /* the password is not left in the node's environment */
  g_autofree char *environ_path = g_strdup_printf ("/proc/%d/environ", node_pid (alice));
  g_autofree char *environ_text = NULL;
  gsize environ_len = 0;
  g_assert_true (g_file_get_contents (environ_path, &environ_text, &environ_len, NULL));
  for (gsize i = 0; i + 5 <= environ_len; i++)
    g_assert_false (memcmp (environ_text + i, "Alice", 5) == 0 && i > 0 && environ_text[i - 1] == '=');
  g_assert_null (g_strstr_len (environ_text, environ_len, "CHATD_PASSWORD=A"));

  /* Charlie vanishes without a word (kill -9): gone from the list within the bound */
  pid_t charlie_pid = node_pid (charlie);
  g_assert_no_errno (kill (charlie_pid, SIGKILL));
  gint64 t0 = g_get_monotonic_time ();
  g_assert_true (wait_until (net.server, not_listed, "Charlie", 45));
  g_test_message ("Charlie dropped after %.1f s", (g_get_monotonic_time () - t0) / 1e6);
  g_assert_true (list_has (net.server, "Alice"));
  g_ptr_array_remove (net.users, charlie);   /* nothing left to stop */
  net_stop (&net);
}

static void
test_refusals_look_alike (void)
{
  Net net = { 0 };
  net_start (&net);
  g_autoptr(TestNode) wrong = test_node_new ();
  g_autoptr(TestNode) unknown = test_node_new ();
  g_autofree char *wrong_err = NULL, *unknown_err = NULL;
  g_assert_cmpint (start_user (&net, wrong, "Bob", "bob", NULL, &wrong_err), ==, 3);
  g_assert_cmpint (start_user (&net, unknown, "Mallory", "Mallory", NULL, &unknown_err), ==, 3);
  g_assert_true (test_is_one_line (wrong_err));
  g_assert_cmpstr (wrong_err, ==, unknown_err);
  g_assert_nonnull (strstr (wrong_err, "login failed"));
  g_assert_false (list_has (net.server, "Bob"));
  /* the server logged both */
  g_autofree char *log_path = g_build_filename (net.server->root, "chatd.log", NULL);
  g_autofree char *log = NULL;
  for (int i = 0; i < 50; i++)
    {
      g_clear_pointer (&log, g_free);
      g_file_get_contents (log_path, &log, NULL, NULL);
      if (log != NULL && strstr (log, "'mallory'") != NULL && strstr (log, "'bob'") != NULL)
        break;
      g_usleep (100000);
    }
  g_assert_nonnull (strstr (log, "login of 'bob'"));
  g_assert_nonnull (strstr (log, "login of 'mallory'"));
  /* bad user names never reach the server */
  g_autofree char *bad_err = NULL;
  g_autoptr(TestNode) bad = test_node_new ();
  g_assert_cmpint (start_user (&net, bad, "not a name", "x", NULL, &bad_err), ==, 1);
  g_assert_nonnull (strstr (bad_err, "invalid user name"));
  net_stop (&net);
}

static void
test_second_login_replaces (void)
{
  Net net = { 0 };
  net_start (&net);
  TestNode *first = login (&net, "Bob");
  g_autofree char *first_address = status_field (first, "advertise");
  TestNode *second = login (&net, "Bob");
  g_assert_true (wait_until (first, login_state_is, "replaced", 5));
  /* and it stays so: no flapping fight */
  g_usleep (3 * G_USEC_PER_SEC);
  g_assert_true (login_state_is (first, "replaced"));
  g_assert_true (login_state_is (second, "online"));
  g_autoptr(JsonNode) list = json_of (net.server, CHATD_ARGS ("list"));
  JsonArray *a = json_node_get_array (list);
  g_assert_cmpuint (json_array_get_length (a), ==, 1);
  g_autofree char *second_address = status_field (second, "advertise");
  g_assert_cmpstr (json_object_get_string_member (json_array_get_object_element (a, 0), "address"), ==, second_address);
  g_assert_cmpstr (first_address, !=, second_address);
  /* the replaced node tells why, and refuses what needs a session */
  g_autofree char *err = NULL;
  g_assert_cmpint (test_run_chatctl (first, CHATD_ARGS ("list"), NULL, &err), ==, 3);
  g_assert_nonnull (strstr (err, "replaced"));
  net_stop (&net);
}

static void
test_changed_server_key (void)
{
  Net net = { 0 }, other = { 0 };
  net_start (&net);
  net_start (&other);
  /* pin the other server's key, then log in to this one */
  g_autoptr(TestNode) node = test_node_new ();
  g_autofree char *other_key = g_build_filename (other.server->state_dir, "server.pub", NULL);
  g_autofree char *err = NULL;
  g_assert_cmpint (start_user (&net, node, "Alice", "Alice", CHATD_ARGS ("--server-key", other_key), &err), ==, 3);
  g_autofree char *expected = status_field (other.server, "server-key");
  g_autofree char *offered = status_field (net.server, "server-key");
  g_assert_nonnull (strstr (err, "key changed"));
  g_assert_nonnull (strstr (err, expected));
  g_assert_nonnull (strstr (err, offered));
  net_stop (&other);
  net_stop (&net);
}

static void
test_relogin_after_server_restart (void)
{
  Net net = { 0 };
  net_start (&net);
  TestNode *alice = login (&net, "Alice");
  g_autofree char *config = g_build_filename (net.server->root, "server.conf", NULL);
  g_assert_cmpint (test_run_chatctl (net.server, CHATD_ARGS ("shutdown"), NULL, NULL), ==, 0);
  g_assert_cmpint (test_node_wait (net.server), ==, 0);
  g_assert_true (wait_until (alice, login_state_is, "retrying", 20));
  /* the same server comes back on the same port with the same state */
  test_node_start_server (net.server, CHATD_ARGS ("--config", config, "--listen", net.connect));
  g_assert_true (wait_until (alice, login_state_is, "online", 40));
  g_assert_true (wait_until (net.server, (gpointer) list_has, "Alice", 5));
  net_stop (&net);
}

/* the relay between Alice's node and the server drops 20% of the datagrams
 * each way (seeded), and login, list and logout still work */
static void
test_login_through_lossy_relay (void)
{
  Net net = { 0 };
  net_start (&net);
  g_autofree char *upstream = g_strdup_printf ("--upstream=%s", net.connect);
  g_autoptr(GError) error = NULL;
  g_autoptr(GSubprocess) relay = g_subprocess_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_SILENCE,
                                                   &error, g_getenv ("NETSIM_RELAY"), "--listen=127.0.0.1:0",
                                                   upstream, "--loss=20", "--seed=7", "--duration=120", NULL);
  g_assert_no_error (error);
  g_autoptr(GDataInputStream) out = g_data_input_stream_new (g_subprocess_get_stdout_pipe (relay));
  g_autofree char *line = g_data_input_stream_read_line (out, NULL, NULL, &error);
  g_assert_nonnull (line);
  g_assert_true (g_str_has_prefix (line, "LISTEN "));
  g_free (net.connect);
  net.connect = g_strdup (line + strlen ("LISTEN "));   /* Alice connects through the relay */

  gint64 t0 = g_get_monotonic_time ();
  TestNode *alice = login (&net, "Alice");
  g_test_message ("login through 20%% loss took %.2f s", (g_get_monotonic_time () - t0) / 1e6);
  g_assert_true (wait_until (alice, (gpointer) list_has, "Alice", 30));
  g_autoptr(JsonNode) users = json_of (alice, CHATD_ARGS ("users"));
  g_assert_cmpuint (json_array_get_length (json_node_get_array (users)), ==, 4);
  g_subprocess_send_signal (relay, SIGTERM);
  g_subprocess_wait (relay, NULL, NULL);
  net_stop (&net);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/integration/login/three-users", test_three_users);
  g_test_add_func ("/integration/login/refusals-look-alike", test_refusals_look_alike);
  g_test_add_func ("/integration/login/second-login-replaces", test_second_login_replaces);
  g_test_add_func ("/integration/login/changed-server-key", test_changed_server_key);
  g_test_add_func ("/integration/login/relogin-after-server-restart", test_relogin_after_server_restart);
  g_test_add_func ("/integration/login/through-lossy-relay", test_login_through_lossy_relay);
  return g_test_run ();
}
