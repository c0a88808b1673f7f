/* test-enroll.c: enrolment, passwd and userdel with real processes: a new
 * user enrols from their own node with a one-time token and logs in; wrong,
 * reused and malformed tokens, a taken name and a changed server key are
 * refused with a clear reason (and a log line at the server) and store
 * nothing; passwd makes the old password fail and the new one work; userdel
 * of an online user ends its session for good. */
#include "chat-net.h"

#include <string.h>

static char *
server_log (Net *net)
{
  g_autofree char *path = g_build_filename (net->server->root, "chatd.log", NULL);
  char *log = NULL;
  g_file_get_contents (path, &log, NULL, NULL);
  return log ? log : g_strdup ("");
}

/* waits (at most 5 s) for the server's log to hold needle */
static gboolean
server_logged (Net *net, const char *needle)
{
  for (int i = 0; i < 50; i++)
    {
      g_autofree char *log = server_log (net);
      if (strstr (log, needle) != NULL)
        return TRUE;
      g_usleep (100000);
    }
  return FALSE;
}

/* a fresh user node with --daemon; its exit status, stderr in ret_err.  The
 * node is kept (and stopped at the end) whether it started or not. */
static int
start_new_user (Net *net, const char *user, const char *password, const char *const *extra,
                TestNode **ret_node, char **ret_err)
{
  TestNode *node = test_node_new ();
  g_ptr_array_add (net->users, node);
  if (ret_node != NULL)
    *ret_node = node;
  return start_user (net, node, user, password, extra, ret_err);
}

static char *
useradd_token (Net *net, const char *name)
{
  g_autoptr(JsonNode) root = json_of (net->server, CHATD_ARGS ("useradd", name));
  return g_strdup (json_object_get_string_member (json_node_get_object (root), "token"));
}

/* the server's `users` line of a name: "registered SUITE" or "pending", NULL if absent */
static char *
directory_entry (Net *net, const char *name)
{
  g_autofree char *out = NULL;
  g_assert_cmpint (test_run_chatctl (net->server, CHATD_ARGS ("users"), &out, NULL), ==, 0);
  g_auto(GStrv) lines = g_strsplit (out, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++)
    {
      g_auto(GStrv) words = g_strsplit_set (lines[i], " ", -1);
      if (g_strcmp0 (words[0], name) == 0)
        return g_strdup (lines[i]);
    }
  return NULL;
}

static void
test_enrol_then_login (void)
{
  Net net = { 0 };
  net_start (&net);
  g_autofree char *token = useradd_token (&net, "Dave");
  g_assert_nonnull (token);
  TestNode *dave = NULL;
  g_assert_cmpint (start_new_user (&net, "Dave", "dave's secret", CHATD_ARGS ("--enroll", token), &dave, NULL), ==, 0);
  g_assert_true (wait_until (dave, (gpointer) list_has, "Dave", 5));
  g_assert_true (login_state_is (dave, "online"));
  /* registered with the key made on Dave's node; the server key trusted on first use */
  g_autofree char *entry = directory_entry (&net, "Dave");
  g_test_message ("directory: %s", entry);
  g_assert_nonnull (entry);
  g_assert_null (strstr (entry, "pending"));
  g_assert_nonnull (strstr (entry, "25519"));
  g_autofree char *pin = g_build_filename (dave->state_dir, "server.pub", NULL);
  g_assert_true (g_file_test (pin, G_FILE_TEST_IS_REGULAR));
  g_assert_true (server_logged (&net, "Dave enrolled from"));
  /* the password never reached the server */
  g_autofree char *log = server_log (&net);
  g_assert_null (strstr (log, "dave's secret"));

  /* later starts log in normally; a wrong password is refused */
  g_ptr_array_remove (net.users, dave);
  g_autofree char *err = NULL;
  g_assert_cmpint (start_new_user (&net, "dave", "wrong", NULL, NULL, &err), ==, 3);
  g_assert_nonnull (strstr (err, "login failed"));
  TestNode *again = NULL;
  g_assert_cmpint (start_new_user (&net, "dave", "dave's secret", NULL, &again, NULL), ==, 0);
  g_assert_true (wait_until (again, (gpointer) list_has, "Dave", 5));
  net_stop (&net);
}

static void
expect_enrol_refused (Net *net, const char *user, const char *token, const char *const *extra,
                      const char *needle)
{
  g_autofree char *err = NULL;
  g_autoptr(GPtrArray) args = g_ptr_array_new ();
  g_ptr_array_add (args, (gpointer) "--enroll");
  g_ptr_array_add (args, (gpointer) token);
  for (guint i = 0; extra != NULL && extra[i] != NULL; i++)
    g_ptr_array_add (args, (gpointer) extra[i]);
  g_ptr_array_add (args, NULL);
  g_assert_cmpint (start_new_user (net, user, "pw", (const char *const *) args->pdata, NULL, &err), ==, 3);
  g_assert_true (test_is_one_line (err));
  g_assert_nonnull (strstr (err, needle));
}

static void
test_enrol_refused (void)
{
  Net net = { 0 };
  net_start (&net);
  g_autofree char *token = useradd_token (&net, "Erin");
  /* a wrong token: refused, logged, nothing stored, the real token still good */
  expect_enrol_refused (&net, "Erin", "00112233445566778899aabbccddeeff", NULL, "no valid token for 'erin'");
  g_assert_true (server_logged (&net, "enrolment of 'erin' from"));
  g_autofree char *pending = directory_entry (&net, "Erin");
  g_assert_nonnull (strstr (pending, "pending"));
  /* not a token at all: refused by the node itself */
  expect_enrol_refused (&net, "Erin", "1234", NULL, "32 hex digits");
  /* a name that is taken (seeded), with someone else's token */
  expect_enrol_refused (&net, "Alice", token, NULL, "no valid token for 'alice'");
  /* a server key other than the pinned one: refused before anything is sent */
  g_autofree char *fake_pub = g_build_filename (net.server->root, "other.pub", NULL);
  g_assert_true (g_file_set_contents (fake_pub, "not the server's key", -1, NULL));
  expect_enrol_refused (&net, "Erin", token, CHATD_ARGS ("--server-key", fake_pub), "key changed");
  g_autofree char *still_pending = directory_entry (&net, "Erin");
  g_assert_nonnull (strstr (still_pending, "pending"));

  /* the right token works once; used again: the name is registered */
  g_assert_cmpint (start_new_user (&net, "Erin", "erin-pw", CHATD_ARGS ("--enroll", token), NULL, NULL), ==, 0);
  expect_enrol_refused (&net, "Erin", token, NULL, "'Erin' is already registered (this token has been used)");
  g_assert_true (server_logged (&net, "enrolment of 'erin' from"));
  net_stop (&net);
}

static void
test_passwd (void)
{
  Net net = { 0 };
  net_start (&net);
  TestNode *alice = NULL;
  g_assert_cmpint (start_new_user (&net, "Alice", "Alice", NULL, &alice, NULL), ==, 0);
  g_autofree char *out = NULL, *err = NULL;
  /* never from argv */
  g_assert_cmpint (test_run_chatctl (alice, CHATD_ARGS ("passwd", "Wonderland"), NULL, &err), ==, 1);
  g_assert_cmpint (test_run_chatctl_input (alice, CHATD_ARGS ("passwd"), "Wonderland\n", &out, NULL), ==, 0);
  g_assert_nonnull (strstr (out, "password changed"));
  g_assert_true (server_logged (&net, "Alice changed their password"));
  g_assert_true (login_state_is (alice, "online"));
  g_ptr_array_remove (net.users, alice);

  g_clear_pointer (&err, g_free);
  g_assert_cmpint (start_new_user (&net, "Alice", "Alice", NULL, NULL, &err), ==, 3);
  g_assert_nonnull (strstr (err, "login failed"));
  TestNode *again = NULL;
  g_assert_cmpint (start_new_user (&net, "Alice", "Wonderland", NULL, &again, NULL), ==, 0);
  g_assert_true (login_state_is (again, "online"));
  net_stop (&net);
}

static void
test_userdel_ends_session (void)
{
  Net net = { 0 };
  net_start (&net);
  TestNode *bob = NULL;
  g_assert_cmpint (start_new_user (&net, "Bob", "Bob", NULL, &bob, NULL), ==, 0);
  g_assert_true (wait_until (net.server, (gpointer) list_has, "Bob", 5));
  g_assert_cmpint (test_run_chatctl (net.server, CHATD_ARGS ("userdel", "Bob"), NULL, NULL), ==, 0);
  g_assert_true (wait_until (bob, login_state_is, "ended", 5));
  g_autofree char *login = status_field (bob, "login");
  g_assert_nonnull (strstr (login, "deleted"));
  g_assert_false (list_has (net.server, "Bob"));
  g_assert_true (server_logged (&net, "the session of 'Bob' was ended"));
  /* it does not try again by itself */
  g_usleep (2 * G_USEC_PER_SEC);
  g_assert_true (login_state_is (bob, "ended"));
  net_stop (&net);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/integration/enroll/then-login", test_enrol_then_login);
  g_test_add_func ("/integration/enroll/refused", test_enrol_refused);
  g_test_add_func ("/integration/enroll/passwd", test_passwd);
  g_test_add_func ("/integration/enroll/userdel-ends-session", test_userdel_ends_session);
  return g_test_run ();
}
