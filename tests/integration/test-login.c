/* test-login.c: the server role and the login with real processes: seed,
 * log in Alice, Bob and Charlie, list on both sides, a vanished node dropped
 * within the bound, wrong password and unknown user alike, one node per user,
 * a changed server key, relogin after a server restart, no password left in
 * the environment. */
#include "node-harness.h"

#include <json-glib/json-glib.h>
#include <signal.h>
#include <string.h>

#define SERVER_CONFIG "[chatd]\nserver=true\n[server]\nkdf-memory-kib=256\nkdf-passes=1\npow-bits=6\n"

typedef struct {
  TestNode *server;
  char     *connect;     /* 127.0.0.1:PORT */
  GPtrArray *users;      /* TestNode* of user nodes, stopped at the end */
} Net;

static JsonNode *
json_of (TestNode *node, const char *const *args)
{
  g_autofree char *out = NULL;
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  g_ptr_array_add (argv, (gpointer) "--json");
  for (guint i = 0; args[i] != NULL; i++)
    g_ptr_array_add (argv, (gpointer) args[i]);
  g_ptr_array_add (argv, NULL);
  g_assert_cmpint (test_run_chatctl (node, (const char *const *) argv->pdata, &out, NULL), ==, 0);
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_assert_true (json_parser_load_from_data (parser, out, -1, NULL));
  return json_node_copy (json_parser_get_root (parser));
}

static char *
status_field (TestNode *node, const char *field)
{
  g_autoptr(JsonNode) root = json_of (node, CHATD_ARGS ("status"));
  JsonObject *o = json_node_get_object (root);
  return json_object_has_member (o, field) ? g_strdup (json_object_get_string_member (o, field)) : NULL;
}

static gboolean
list_has (TestNode *node, const char *name)
{
  g_autoptr(JsonNode) root = json_of (node, CHATD_ARGS ("list"));
  JsonArray *a = json_node_get_array (root);
  for (guint i = 0; i < json_array_get_length (a); i++)
    if (g_strcmp0 (json_object_get_string_member (json_array_get_object_element (a, i), "name"), name) == 0)
      return TRUE;
  return FALSE;
}

static void
net_start (Net *net)
{
  net->server = test_node_new ();
  net->users = g_ptr_array_new_with_free_func ((GDestroyNotify) test_node_free);
  g_autofree char *config = g_build_filename (net->server->root, "server.conf", NULL);
  g_assert_true (g_file_set_contents (config, SERVER_CONFIG, -1, NULL));
  test_node_start_server (net->server, CHATD_ARGS ("--config", config));
  g_autofree char *out = NULL;
  g_assert_cmpint (test_run_chatctl (net->server, CHATD_ARGS ("seed"), &out, NULL), ==, 0);
  g_autofree char *listen = status_field (net->server, "listen");
  g_assert_nonnull (listen);
  net->connect = g_steal_pointer (&listen);
}

static void
net_stop (Net *net)
{
  g_ptr_array_unref (net->users);   /* each shut down by test_node_free */
  test_node_free (net->server);
  g_free (net->connect);
}

/* starts a user node with --daemon; returns its exit status, stderr in ret_err */
static int
start_user (Net *net, TestNode *node, const char *user, const char *password,
            const char *const *extra, char **ret_err)
{
  g_autoptr(GSubprocessLauncher) launcher = test_node_launcher (node);
  g_subprocess_launcher_setenv (launcher, "CHATD_PASSWORD", password, TRUE);
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  const char *const base[] = { g_getenv ("CHATD"), "--user", user, "--connect", net->connect,
                               "--listen", "127.0.0.1:0", "--daemon", "--wait", "20",
                               "--socket", node->socket_path, "--state-dir", node->state_dir,
                               "--plugin-dir", g_getenv ("CHATD_PLUGIN_DIR"), NULL };
  for (guint i = 0; base[i] != NULL; i++)
    g_ptr_array_add (argv, (gpointer) base[i]);
  for (guint i = 0; extra != NULL && extra[i] != NULL; i++)
    g_ptr_array_add (argv, (gpointer) extra[i]);
  g_ptr_array_add (argv, NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(GSubprocess) p = g_subprocess_launcher_spawnv (launcher, (const char *const *) argv->pdata, &error);
  g_assert_no_error (error);
  g_autofree char *err = NULL;
  g_subprocess_communicate_utf8 (p, NULL, NULL, NULL, &err, &error);
  g_assert_no_error (error);
  g_test_message ("chatd --user %s -> %d: %s", user, g_subprocess_get_exit_status (p), err);
  if (ret_err != NULL)
    *ret_err = g_steal_pointer (&err);
  return g_subprocess_get_exit_status (p);
}

/* the demo users' passwords are their names as seeded */
static TestNode *
login (Net *net, const char *user)
{
  TestNode *node = test_node_new ();
  g_autofree char *password = g_strdup (user);
  password[0] = g_ascii_toupper (password[0]);
  g_assert_cmpint (start_user (net, node, user, password, NULL, NULL), ==, 0);
  g_ptr_array_add (net->users, node);
  return node;
}

static gboolean
wait_until (TestNode *node, gboolean (*check) (TestNode *, const char *), const char *arg, int seconds)
{
  for (int i = 0; i < seconds * 10; i++)
    {
      if (check (node, arg))
        return TRUE;
      g_usleep (100000);
    }
  return FALSE;
}

static gboolean
not_listed (TestNode *node, const char *name)
{
  return !list_has (node, name);
}

static gboolean
login_state_is (TestNode *node, const char *state)
{
  g_autofree char *s = status_field (node, "login-state");
  return g_strcmp0 (s, state) == 0;
}

static pid_t
node_pid (TestNode *node)
{
  g_autoptr(JsonNode) root = json_of (node, CHATD_ARGS ("status"));
  return (pid_t) json_object_get_int_member (json_node_get_object (root), "pid");
}

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

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/integration/login/three-users", test_three_users);
  g_test_add_func ("/integration/login/refusals-look-alike", test_refusals_look_alike);
  g_test_add_func ("/integration/login/second-login-replaces", test_second_login_replaces);
  g_test_add_func ("/integration/login/changed-server-key", test_changed_server_key);
  g_test_add_func ("/integration/login/relogin-after-server-restart", test_relogin_after_server_restart);
  return g_test_run ();
}
