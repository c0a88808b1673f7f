/* test-server.c: the server's directory commands with real processes:
 * seed, users (people and --json), useradd (token, exists, bad name,
 * --password-stdin), userdel, seed --force, a damaged key file.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "node-harness.h"

#include <json-glib/json-glib.h>
#include <glib/gstdio.h>
#include <string.h>
#include <sys/stat.h>

#define FINGERPRINT_RE "[0-9a-f]{4}( [0-9a-f]{4}){15}"

/* A server with cheap Argon2id parameters (the tests' time budget). */
static TestNode *
start_server (void)
{
  TestNode *node = test_node_new ();
  g_autofree char *config = g_build_filename (node->root, "chatd.conf", NULL);
  g_assert_true (g_file_set_contents (config, "[server]\nkdf-memory-kib=64\nkdf-passes=1\n", -1, NULL));
  test_node_start_server (node, CHATD_ARGS ("--config", config));
  return node;
}

static char *
match (const char *pattern, const char *text, int group)
{
  g_autoptr(GRegex) regex = g_regex_new (pattern, G_REGEX_MULTILINE, 0, NULL);
  g_autoptr(GMatchInfo) info = NULL;
  if (!g_regex_match (regex, text, 0, &info))
    return NULL;
  return g_match_info_fetch (info, group);
}

static JsonNode *
parse_json (const char *text)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) error = NULL;
  g_assert_true (json_parser_load_from_data (parser, text, -1, &error));
  g_assert_no_error (error);
  return json_node_copy (json_parser_get_root (parser));
}

static void
assert_fails (TestNode *node, const char *const *args, int status, const char *reason)
{
  g_autofree char *out = NULL, *err = NULL;
  g_assert_cmpint (test_run_chatctl (node, args, &out, &err), ==, status);
  g_assert_true (test_is_one_line (err));
  g_assert_nonnull (strstr (err, reason));
  g_assert_cmpstr (out, ==, "");
}

static void
test_seed_and_users (void)
{
  g_autoptr(TestNode) node = start_server ();
  g_autofree char *out = NULL, *err = NULL;

  g_assert_cmpint (test_run_chatctl (node, CHATD_ARGS ("users"), &out, NULL), ==, 0);
  g_assert_nonnull (strstr (out, "no users"));
  g_clear_pointer (&out, g_free);
  g_assert_cmpint (test_run_chatctl (node, CHATD_ARGS ("status"), &out, NULL), ==, 0);
  g_assert_true (g_regex_match_simple ("^server-key +none yet", out, G_REGEX_MULTILINE, 0));
  g_clear_pointer (&out, g_free);

  g_assert_cmpint (test_run_chatctl (node, CHATD_ARGS ("seed"), &out, NULL), ==, 0);
  g_autofree char *server_fp = match ("^server key created: (" FINGERPRINT_RE ")$", out, 1);
  g_assert_nonnull (server_fp);
  g_assert_nonnull (strstr (out, "\nusers created: Alice, Bob, Charlie, Eve"));
  g_clear_pointer (&out, g_free);

  /* status shows the key to pin */
  g_assert_cmpint (test_run_chatctl (node, CHATD_ARGS ("--json", "status"), &out, NULL), ==, 0);
  g_autoptr(JsonNode) status = parse_json (out);
  g_assert_cmpstr (json_object_get_string_member (json_node_get_object (status), "server-key"),
                   ==, server_fp);
  g_clear_pointer (&out, g_free);

  /* key files and the database are private */
  const char *private_files[] = { "server.key", "server.secret", "directory.db" };
  for (guint i = 0; i < G_N_ELEMENTS (private_files); i++)
    {
      g_autofree char *path = g_build_filename (node->state_dir, private_files[i], NULL);
      struct stat st;
      g_assert_no_errno (stat (path, &st));
      g_assert_cmpint (st.st_mode & 0777, ==, 0600);
    }

  /* people: one line per user with suite and fingerprint */
  g_assert_cmpint (test_run_chatctl (node, CHATD_ARGS ("users"), &out, NULL), ==, 0);
  g_auto(GStrv) lines = g_strsplit (g_strchomp (out), "\n", -1);
  g_assert_cmpuint (g_strv_length (lines), ==, 4);
  const char *names[] = { "Alice", "Bob", "Charlie", "Eve" };
  g_autofree char *alice_fp = NULL;
  for (guint i = 0; i < 4; i++)
    {
      g_autofree char *pattern = g_strdup_printf ("^%s +25519 +(" FINGERPRINT_RE ")$", names[i]);
      g_autofree char *fp = match (pattern, lines[i], 1);
      g_assert_nonnull (fp);
      if (i == 0)
        alice_fp = g_steal_pointer (&fp);
    }
  g_clear_pointer (&out, g_free);

  /* --json: an array of objects with name, suite, fingerprint */
  g_assert_cmpint (test_run_chatctl (node, CHATD_ARGS ("--json", "users"), &out, NULL), ==, 0);
  g_autoptr(JsonNode) root = parse_json (out);
  JsonArray *users = json_node_get_array (root);
  g_assert_cmpuint (json_array_get_length (users), ==, 4);
  for (guint i = 0; i < 4; i++)
    {
      JsonObject *user = json_array_get_object_element (users, i);
      g_assert_cmpstr (json_object_get_string_member (user, "name"), ==, names[i]);
      g_assert_cmpstr (json_object_get_string_member (user, "suite"), ==, "25519");
      g_assert_true (g_regex_match_simple ("^" FINGERPRINT_RE "$",
                                           json_object_get_string_member (user, "fingerprint"), 0, 0));
      g_assert_true (g_regex_match_simple ("^[0-9]{4}-[0-9]{2}-[0-9]{2}T",
                                           json_object_get_string_member (user, "created"), 0, 0));
    }
  g_assert_cmpstr (json_object_get_string_member (json_array_get_object_element (users, 0), "fingerprint"),
                   ==, alice_fp);
  g_clear_pointer (&out, g_free);

  /* twice: everything kept, the same keys */
  g_assert_cmpint (test_run_chatctl (node, CHATD_ARGS ("seed"), &out, NULL), ==, 0);
  g_autofree char *kept_fp = match ("^server key kept: (" FINGERPRINT_RE ")$", out, 1);
  g_assert_cmpstr (kept_fp, ==, server_fp);
  g_assert_nonnull (strstr (out, "users kept (seed --force replaces them): Alice, Bob, Charlie, Eve"));
  g_clear_pointer (&out, g_free);
  g_assert_cmpint (test_run_chatctl (node, CHATD_ARGS ("users"), &out, NULL), ==, 0);
  g_assert_nonnull (strstr (out, alice_fp));
  g_clear_pointer (&out, g_free);

  /* --force: users replaced, the server key kept */
  g_assert_cmpint (test_run_chatctl (node, CHATD_ARGS ("--json", "seed", "--force"), &out, NULL), ==, 0);
  g_autoptr(JsonNode) forced = parse_json (out);
  JsonObject *report = json_node_get_object (forced);
  g_assert_cmpstr (json_object_get_string_member (report, "server-key"), ==, "kept");
  g_assert_cmpstr (json_object_get_string_member (report, "server-fingerprint"), ==, server_fp);
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (report, "replaced")), ==, 4);
  g_clear_pointer (&out, g_free);
  g_assert_cmpint (test_run_chatctl (node, CHATD_ARGS ("users"), &out, NULL), ==, 0);
  g_assert_null (strstr (out, alice_fp));
  g_clear_pointer (&out, g_free);
  (void) err;
}

static void
test_useradd_userdel (void)
{
  g_autoptr(TestNode) node = start_server ();
  g_autofree char *out = NULL, *err = NULL;
  g_assert_cmpint (test_run_chatctl (node, CHATD_ARGS ("seed"), NULL, NULL), ==, 0);

  /* a one-time token */
  g_assert_cmpint (test_run_chatctl (node, CHATD_ARGS ("useradd", "Dave"), &out, NULL), ==, 0);
  g_autofree char *token = match ("^Dave: enrolment token ([0-9a-f]{32}) ", out, 1);
  g_assert_nonnull (token);
  g_assert_nonnull (strstr (out, "--enroll"));
  g_clear_pointer (&out, g_free);
  g_assert_cmpint (test_run_chatctl (node, CHATD_ARGS ("--json", "useradd", "Erin"), &out, NULL), ==, 0);
  g_autoptr(JsonNode) erin = parse_json (out);
  const char *erin_token = json_object_get_string_member (json_node_get_object (erin), "token");
  g_assert_true (g_regex_match_simple ("^[0-9a-f]{32}$", erin_token, 0, 0));
  g_assert_cmpstr (erin_token, !=, token);
  g_clear_pointer (&out, g_free);
  g_assert_cmpint (test_run_chatctl (node, CHATD_ARGS ("users"), &out, NULL), ==, 0);
  g_assert_true (g_regex_match_simple ("^Dave +pending enrolment until ", out, G_REGEX_MULTILINE, 0));
  g_clear_pointer (&out, g_free);

  /* refused: exists (any case), pending, bad names; exit 3 with the reason */
  assert_fails (node, CHATD_ARGS ("useradd", "Eve"), 3, "user 'Eve' already exists");
  assert_fails (node, CHATD_ARGS ("useradd", "eVE"), 3, "already exists");
  assert_fails (node, CHATD_ARGS ("useradd", "Dave"), 3, "not used yet");
  assert_fails (node, CHATD_ARGS ("useradd", "bad name"), 3, "invalid user name 'bad name'");
  assert_fails (node, CHATD_ARGS ("useradd", "server"), 3, "reserved");
  assert_fails (node, CHATD_ARGS ("useradd", "abcdefghijklmnopqrstuvwxyz0123456"), 3, "invalid user name");
  assert_fails (node, CHATD_ARGS ("userdel", "bad/name"), 3, "invalid user name");

  /* userdel: a pending enrolment, then a user; twice is an error */
  g_assert_cmpint (test_run_chatctl (node, CHATD_ARGS ("userdel", "Dave"), &out, NULL), ==, 0);
  g_assert_cmpstr (out, ==, "Dave: deleted\n");
  g_clear_pointer (&out, g_free);
  assert_fails (node, CHATD_ARGS ("userdel", "Dave"), 3, "no user 'Dave'");
  g_assert_cmpint (test_run_chatctl (node, CHATD_ARGS ("userdel", "charlie"), NULL, NULL), ==, 0);
  g_assert_cmpint (test_run_chatctl (node, CHATD_ARGS ("users"), &out, NULL), ==, 0);
  g_assert_null (strstr (out, "Dave"));
  g_assert_null (strstr (out, "Charlie"));
  g_clear_pointer (&out, g_free);

  /* --password-stdin: keys made by the server, the password from stdin only */
  g_assert_cmpint (test_run_chatctl_input (node, CHATD_ARGS ("useradd", "--password-stdin", "Frank"),
                                           "frank's password\n", &out, &err), ==, 0);
  g_assert_true (g_regex_match_simple ("^Frank: added with keys made by the server, suite 25519, "
                                       "fingerprint " FINGERPRINT_RE "$", out, G_REGEX_MULTILINE, 0));
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);
  g_assert_cmpint (test_run_chatctl (node, CHATD_ARGS ("--json", "users"), &out, NULL), ==, 0);
  g_autoptr(JsonNode) root = parse_json (out);
  JsonArray *users = json_node_get_array (root);
  gboolean found = FALSE;
  for (guint i = 0; i < json_array_get_length (users); i++)
    {
      JsonObject *user = json_array_get_object_element (users, i);
      if (g_str_equal (json_object_get_string_member (user, "name"), "Frank"))
        found = g_str_equal (json_object_get_string_member (user, "suite"), "25519");
    }
  g_assert_true (found);
  g_clear_pointer (&out, g_free);

  /* a password on the command line is never taken: usage error, exit 1 */
  assert_fails (node, CHATD_ARGS ("useradd", "Gina", "secret"), 1, "unexpected argument 'secret'");
  assert_fails (node, CHATD_ARGS ("useradd", "--password-stdin", "Gina", "secret"), 1,
                "unexpected argument");
  /* an empty password, an existing name */
  g_assert_cmpint (test_run_chatctl_input (node, CHATD_ARGS ("useradd", "--password-stdin", "Gina"),
                                           "", NULL, &err), ==, 3);
  g_assert_true (test_is_one_line (err));
  g_clear_pointer (&err, g_free);
  g_assert_cmpint (test_run_chatctl_input (node, CHATD_ARGS ("useradd", "--password-stdin", "frank"),
                                           "pw", NULL, &err), ==, 3);
  g_assert_nonnull (strstr (err, "already exists"));
  g_clear_pointer (&err, g_free);

  /* help says where the password comes from */
  g_assert_cmpint (test_run_chatctl (node, CHATD_ARGS ("help", "useradd"), &out, NULL), ==, 0);
  g_assert_nonnull (strstr (out, "usage: chatctl useradd [--password-stdin] NAME"));
  g_assert_nonnull (strstr (out, "standard input only"));
}

static gboolean
process_running (GSubprocess *process)
{
  /* not yet exited: /proc/PID/stat exists and its state is not Z (zombie) */
  g_autofree char *path = g_strdup_printf ("/proc/%s/stat", g_subprocess_get_identifier (process));
  g_autofree char *stat = NULL;
  if (!g_file_get_contents (path, &stat, NULL, NULL))
    return FALSE;
  const char *close = strrchr (stat, ')');
  return close != NULL && close[1] == ' ' && close[2] != 'Z';
}

/* Seeding with the default Argon2id cost (64 MiB, 3 passes, four users)
 * takes most of a second; the node keeps answering meanwhile. */
static void
test_seed_does_not_block (void)
{
  g_autoptr(TestNode) node = test_node_new ();
  test_node_start_server (node, NULL);
  g_autoptr(GSubprocessLauncher) launcher = test_node_launcher (node);
  g_autoptr(GError) error = NULL;
  g_autoptr(GSubprocess) seed = g_subprocess_launcher_spawn (launcher, &error, g_getenv ("CHATCTL"),
                                                             "--socket", node->socket_path, "seed", NULL);
  g_assert_no_error (error);
  guint answered = 0;
  for (guint i = 0; i < 200 && process_running (seed); i++)
    {
      g_assert_cmpint (test_run_chatctl (node, CHATD_ARGS ("status"), NULL, NULL), ==, 0);
      if (process_running (seed))
        answered++;
    }
  g_autofree char *out = NULL;
  g_assert_true (g_subprocess_communicate_utf8 (seed, NULL, NULL, &out, NULL, &error));
  g_assert_true (g_subprocess_get_if_exited (seed));
  g_assert_cmpint (g_subprocess_get_exit_status (seed), ==, 0);
  g_assert_nonnull (strstr (out, "users created: Alice, Bob, Charlie, Eve"));
  g_test_message ("status answered %u times while seed was running", answered);
  g_assert_cmpuint (answered, >=, 3);
}

/* A damaged or unprotected key file: the server refuses to start and says why. */
static void
test_damaged_key_refused (void)
{
  g_autoptr(TestNode) node = start_server ();
  g_autofree char *err = NULL;
  g_assert_cmpint (test_run_chatctl (node, CHATD_ARGS ("seed"), NULL, NULL), ==, 0);
  g_assert_cmpint (test_run_chatctl (node, CHATD_ARGS ("shutdown"), NULL, NULL), ==, 0);
  g_assert_cmpint (test_node_wait (node), ==, 0);

  g_autofree char *key_path = g_build_filename (node->state_dir, "server.key", NULL);
  g_autofree char *key = NULL;
  gsize key_len = 0;
  g_assert_true (g_file_get_contents (key_path, &key, &key_len, NULL));
  const char *const args[] = {
    "--server", "--socket", node->socket_path, "--state-dir", node->state_dir,
    "--plugin-dir", g_getenv ("CHATD_PLUGIN_DIR"), NULL };

  g_assert_true (g_file_set_contents (key_path, key, key_len - 3, NULL));
  g_assert_no_errno (g_chmod (key_path, 0600));
  g_assert_cmpint (test_run_chatd (node, args, NULL, &err), ==, 1);
  g_assert_nonnull (strstr (err, "server.key is damaged"));
  g_clear_pointer (&err, g_free);

  g_assert_true (g_file_set_contents (key_path, key, key_len, NULL));
  g_assert_no_errno (g_chmod (key_path, 0644));
  g_assert_cmpint (test_run_chatd (node, args, NULL, &err), ==, 1);
  g_assert_nonnull (strstr (err, "readable by others"));
  g_clear_pointer (&err, g_free);

  /* the key is still the one it was: nothing replaced it */
  g_autofree char *after = NULL;
  gsize after_len = 0;
  g_assert_true (g_file_get_contents (key_path, &after, &after_len, NULL));
  g_assert_cmpmem (after, after_len, key, key_len);

  /* unknown keys in [server] are refused */
  g_autofree char *config = g_build_filename (node->root, "bad.conf", NULL);
  g_assert_true (g_file_set_contents (config, "[server]\nkdf-memory=64\n", -1, NULL));
  const char *const bad_config[] = {
    "--server", "--socket", node->socket_path, "--state-dir", node->state_dir,
    "--config", config, NULL };
  g_assert_cmpint (test_run_chatd (node, bad_config, NULL, &err), ==, 1);
  g_assert_nonnull (strstr (err, "unknown key 'kdf-memory' in [server]"));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/integration/server/seed-and-users", test_seed_and_users);
  g_test_add_func ("/integration/server/useradd-userdel", test_useradd_userdel);
  g_test_add_func ("/integration/server/damaged-key-refused", test_damaged_key_refused);
  g_test_add_func ("/integration/server/seed-does-not-block", test_seed_does_not_block);
  return g_test_run ();
}
