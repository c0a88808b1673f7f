/* test-node.c: chatd and chatctl as a user sees them: real processes, a real
 * control socket in a temporary directory. */
#include "node-harness.h"

#include <json-glib/json-glib.h>
#include <glib/gstdio.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static void
test_commands (void)
{
  g_autoptr(TestNode) node = test_node_new ();
  test_node_start_server (node, NULL);
  g_autofree char *out = NULL, *err = NULL;

  g_assert_cmpint (test_run_chatctl (node, CHATD_ARGS ("help"), &out, NULL), ==, 0);
  for (const char *const *c = CHATD_ARGS ("help", "plugins", "status", "stats", "shutdown", "events", "hello");
       *c != NULL; c++)
    {
      g_autofree char *line = g_strdup_printf ("\n  %s ", *c);
      g_assert_nonnull (strstr (out, line));
    }
  g_clear_pointer (&out, g_free);

  g_assert_cmpint (test_run_chatctl (node, CHATD_ARGS ("help", "hello"), &out, NULL), ==, 0);
  g_assert_nonnull (strstr (out, "usage: chatctl hello [--greeting TEXT] [--repeat N] NAME"));
  g_clear_pointer (&out, g_free);
  g_assert_cmpint (test_run_chatctl (node, CHATD_ARGS ("hello", "--help"), &out, NULL), ==, 0);
  g_assert_nonnull (strstr (out, "usage: chatctl hello"));
  g_clear_pointer (&out, g_free);

  g_assert_cmpint (test_run_chatctl (node, CHATD_ARGS ("plugins"), &out, NULL), ==, 0);
  g_assert_nonnull (strstr (out, "cmd-core"));
  g_assert_nonnull (strstr (out, "example-hello"));
  g_assert_nonnull (strstr (out, "command hello"));
  g_clear_pointer (&out, g_free);

  g_assert_cmpint (test_run_chatctl (node, CHATD_ARGS ("status"), &out, NULL), ==, 0);
  g_assert_true (g_regex_match_simple ("^role +server$", out, G_REGEX_MULTILINE, 0));
  g_assert_true (g_regex_match_simple ("^node +server$", out, G_REGEX_MULTILINE, 0));
  g_assert_true (g_regex_match_simple ("^uptime +[0-9]+$", out, G_REGEX_MULTILINE, 0));
  g_clear_pointer (&out, g_free);

  /* the example plugin's command, with an option and an argument */
  g_assert_cmpint (test_run_chatctl (node, CHATD_ARGS ("hello", "--greeting", "Hi", "--repeat=2", "Bob"), &out, NULL), ==, 0);
  g_assert_cmpstr (out, ==, "Hi, Bob! Hi, Bob!\n");
  g_clear_pointer (&out, g_free);

  /* refused by the plugin itself: exit 3 with its reason */
  g_assert_cmpint (test_run_chatctl (node, CHATD_ARGS ("hello", "--repeat", "11", "Bob"), NULL, &err), ==, 3);
  g_assert_true (test_is_one_line (err));
  g_assert_nonnull (strstr (err, "--repeat must be 1..10"));
  g_clear_pointer (&err, g_free);

  /* usage errors are caught by chatctl from the description: exit 1 */
  g_assert_cmpint (test_run_chatctl (node, CHATD_ARGS ("hello"), NULL, &err), ==, 1);
  g_assert_true (test_is_one_line (err));
  g_assert_nonnull (strstr (err, "missing NAME"));
  g_clear_pointer (&err, g_free);
  g_assert_cmpint (test_run_chatctl (node, CHATD_ARGS ("hello", "--repeat", "two", "Bob"), NULL, &err), ==, 1);
  g_clear_pointer (&err, g_free);
  g_assert_cmpint (test_run_chatctl (node, CHATD_ARGS ("status", "--colour"), NULL, &err), ==, 1);
  g_assert_nonnull (strstr (err, "unknown option --colour"));
  g_clear_pointer (&err, g_free);

  /* unknown command: the node says so, exit 3 */
  g_assert_cmpint (test_run_chatctl (node, CHATD_ARGS ("frobnicate", "x"), &out, &err), ==, 3);
  g_assert_true (test_is_one_line (err));
  g_assert_nonnull (strstr (err, "unknown command 'frobnicate'"));
  g_assert_cmpstr (out, ==, "");
}

static void
test_json (void)
{
  g_autoptr(TestNode) node = test_node_new ();
  test_node_start_server (node, NULL);
  g_autofree char *out = NULL;
  g_assert_cmpint (test_run_chatctl (node, CHATD_ARGS ("--json", "status"), &out, NULL), ==, 0);
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) error = NULL;
  g_assert_true (json_parser_load_from_data (parser, out, -1, &error));
  g_assert_no_error (error);
  JsonObject *status = json_node_get_object (json_parser_get_root (parser));
  g_assert_cmpstr (json_object_get_string_member (status, "role"), ==, "server");
  g_assert_cmpstr (json_object_get_string_member (status, "node"), ==, "server");
  gint64 n_plugins = json_object_get_int_member (status, "plugins");
  g_assert_cmpint (n_plugins, >=, 2);
  g_assert_cmpint (json_object_get_int_member (status, "pid"), ==,
                   atoi (g_subprocess_get_identifier (node->process)));
  g_clear_pointer (&out, g_free);

  g_assert_cmpint (test_run_chatctl (node, CHATD_ARGS ("--json", "plugins"), &out, NULL), ==, 0);
  g_assert_true (json_parser_load_from_data (parser, out, -1, &error));
  JsonArray *plugins = json_node_get_array (json_parser_get_root (parser));
  g_assert_cmpuint (json_array_get_length (plugins), ==, n_plugins);
  JsonObject *first = json_array_get_object_element (plugins, 0);
  g_assert_cmpstr (json_object_get_string_member (first, "name"), ==, "cmd-core");
  g_assert_true (g_path_is_absolute (json_object_get_string_member (first, "file")));
  g_clear_pointer (&out, g_free);

  /* --json may follow the command, like its own options; after `--` it is an argument */
  g_assert_cmpint (test_run_chatctl (node, CHATD_ARGS ("hello", "--json", "Bob"), &out, NULL), ==, 0);
  g_assert_true (json_parser_load_from_data (parser, out, -1, &error));
  g_assert_no_error (error);
  g_clear_pointer (&out, g_free);
  g_assert_cmpint (test_run_chatctl (node, CHATD_ARGS ("hello", "--", "--json"), &out, NULL), ==, 0);
  g_assert_false (json_parser_load_from_data (parser, out, -1, NULL));
  g_assert_nonnull (strstr (out, "--json"));
}

static void
test_no_node (void)
{
  g_autoptr(TestNode) node = test_node_new ();
  g_autofree char *err = NULL;
  g_assert_cmpint (test_run_chatctl (node, CHATD_ARGS ("status"), NULL, &err), ==, 2);
  g_assert_true (test_is_one_line (err));
  g_assert_nonnull (strstr (err, "no node is running"));
  g_clear_pointer (&err, g_free);
  /* nothing given and nothing running in the default place */
  g_assert_cmpint (test_run_chatctl_raw (node, CHATD_ARGS ("status"), NULL, &err), ==, 2);
  g_assert_true (test_is_one_line (err));
  g_assert_nonnull (strstr (err, "no chatd node of yours is running"));
  g_clear_pointer (&err, g_free);
  /* no command at all is a usage error */
  g_assert_cmpint (test_run_chatctl_raw (node, CHATD_ARGS ("--json"), NULL, &err), ==, 1);
}

static void
test_default_socket_found (void)
{
  g_autoptr(TestNode) node = test_node_new ();
  /* default socket: $XDG_RUNTIME_DIR/chatd/server.sock */
  g_free (node->socket_path);
  node->socket_path = g_build_filename (node->runtime_dir, "chatd", "server.sock", NULL);
  test_node_start_server (node, NULL);
  g_autofree char *out = NULL;
  g_assert_cmpint (test_run_chatctl_raw (node, CHATD_ARGS ("status"), &out, NULL), ==, 0);
  g_assert_nonnull (strstr (out, "server"));
  g_clear_pointer (&out, g_free);
  g_assert_cmpint (test_run_chatctl_raw (node, CHATD_ARGS ("--node", "server", "status"), &out, NULL), ==, 0);
  g_clear_pointer (&out, g_free);
  g_assert_cmpint (test_run_chatctl_raw (node, CHATD_ARGS ("--node", "Alice", "status"), NULL, NULL), ==, 2);
  struct stat st;
  g_autofree char *dir = g_path_get_dirname (node->socket_path);
  g_assert_no_errno (stat (dir, &st));
  g_assert_cmpint (st.st_mode & 0777, ==, 0700);
}

static void
test_second_start_refused (void)
{
  g_autoptr(TestNode) node = test_node_new ();
  test_node_start_server (node, NULL);
  g_autofree char *err = NULL;
  const char *const args[] = { "--server", "--listen", "127.0.0.1:0", "--socket", node->socket_path, "--state-dir", node->state_dir,
                               "--plugin-dir", g_getenv ("CHATD_PLUGIN_DIR"), NULL };
  g_assert_cmpint (test_run_chatd (node, args, NULL, &err), ==, 1);
  g_assert_true (test_is_one_line (err));
  g_assert_nonnull (strstr (err, "already running"));
  /* the first one is untouched */
  g_assert_cmpint (test_run_chatctl (node, CHATD_ARGS ("status"), NULL, NULL), ==, 0);
}

static void
test_stale_socket_replaced (void)
{
  g_autoptr(TestNode) node = test_node_new ();
  g_autofree char *dir = g_path_get_dirname (node->socket_path);
  g_assert_no_errno (g_mkdir (dir, 0700));
  /* a socket file whose node is gone: bound, never listening, closed */
  struct sockaddr_un addr = { .sun_family = AF_UNIX };
  g_strlcpy (addr.sun_path, node->socket_path, sizeof addr.sun_path);
  int fd = socket (AF_UNIX, SOCK_STREAM, 0);
  g_assert_no_errno (bind (fd, (struct sockaddr *) &addr, sizeof addr));
  close (fd);
  g_assert_true (g_file_test (node->socket_path, G_FILE_TEST_EXISTS));

  test_node_start_server (node, NULL);
  g_assert_cmpint (test_run_chatctl (node, CHATD_ARGS ("status"), NULL, NULL), ==, 0);
  g_autofree char *log_path = g_build_filename (node->root, "chatd.log", NULL);
  g_autofree char *log = NULL;
  g_assert_true (g_file_get_contents (log_path, &log, NULL, NULL));
  g_assert_nonnull (strstr (log, "replaced the stale control socket"));
}

static void
test_shutdown (void)
{
  g_autoptr(TestNode) node = test_node_new ();
  test_node_start_server (node, NULL);
  g_autofree char *out = NULL;
  g_assert_cmpint (test_run_chatctl (node, CHATD_ARGS ("shutdown"), &out, NULL), ==, 0);
  g_assert_cmpstr (out, ==, "node shutting down\n");
  g_assert_cmpint (test_node_wait (node), ==, 0);
  g_assert_false (g_file_test (node->socket_path, G_FILE_TEST_EXISTS));

  /* and by signal */
  test_node_start_server (node, NULL);
  g_subprocess_send_signal (node->process, SIGTERM);
  g_assert_cmpint (test_node_wait (node), ==, 0);
  test_node_start_server (node, NULL);
  g_subprocess_send_signal (node->process, SIGINT);
  g_assert_cmpint (test_node_wait (node), ==, 0);
}

static void
test_daemon (void)
{
  g_autoptr(TestNode) node = test_node_new ();
  const char *const args[] = { "--server", "--listen", "127.0.0.1:0", "--daemon", "--socket", node->socket_path,
                               "--state-dir", node->state_dir, "--plugin-dir",
                               g_getenv ("CHATD_PLUGIN_DIR"), NULL };
  g_autofree char *out = NULL, *err = NULL;
  g_assert_cmpint (test_run_chatd (node, args, &out, &err), ==, 0);
  g_assert_cmpstr (err, ==, "");
  /* usable the moment --daemon returned: no retry */
  g_clear_pointer (&out, g_free);
  g_assert_cmpint (test_run_chatctl (node, CHATD_ARGS ("--json", "status"), &out, NULL), ==, 0);
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_assert_true (json_parser_load_from_data (parser, out, -1, NULL));
  gint64 pid = json_object_get_int_member (json_node_get_object (json_parser_get_root (parser)), "pid");
  g_assert_cmpint (pid, >, 1);
  g_assert_cmpint (test_run_chatctl (node, CHATD_ARGS ("shutdown"), NULL, NULL), ==, 0);
  for (int i = 0; i < 500 && kill ((pid_t) pid, 0) == 0; i++)
    g_usleep (10000);
  g_assert_cmpint (kill ((pid_t) pid, 0), !=, 0);
  g_autofree char *log_path = g_build_filename (node->state_dir, "chatd.log", NULL);
  g_assert_true (g_file_test (log_path, G_FILE_TEST_EXISTS));

  /* a start-up failure after the fork reaches the caller, exit 1 */
  const char *const second[] = { "--server", "--listen", "127.0.0.1:0", "--daemon", "--socket", node->socket_path,
                                 "--state-dir", "/proc/version/state", NULL };
  g_clear_pointer (&err, g_free);
  g_assert_cmpint (test_run_chatd (node, second, NULL, &err), ==, 1);
  g_assert_true (test_is_one_line (err));
  g_assert_nonnull (strstr (err, "state directory"));
}

static void
test_bad_command_lines (void)
{
  g_autoptr(TestNode) node = test_node_new ();
  g_autofree char *bad_config = g_build_filename (node->root, "bad.conf", NULL);
  g_assert_true (g_file_set_contents (bad_config, "[chatd]\nsevrer=true\n", -1, NULL));
  g_autofree char *critical_config = g_build_filename (node->root, "critical.conf", NULL);
  g_assert_true (g_file_set_contents (critical_config, "[chatd]\nserver=true\n[plugins]\ncritical=suite-nowhere\n", -1, NULL));
  g_autofree char *sock = g_build_filename (node->root, "s", "x.sock", NULL);
  const char *plugins = g_getenv ("CHATD_PLUGIN_DIR");
  const struct { const char *const *args; const char *words; } cases[] = {
    { CHATD_ARGS ("--server", "--frobnicate"), "Unknown option --frobnicate" },
    { CHATD_ARGS ("--server", "--socket"), "Missing argument for --socket" },
    { CHATD_ARGS ("--socket", sock), "choose exactly one role" },
    { CHATD_ARGS ("--server", "--user", "Bob"), "choose exactly one role" },
    { CHATD_ARGS ("--user", "Bob!", "--connect", "127.0.0.1:5000"), "invalid user name" },
    { CHATD_ARGS ("--user", "server", "--connect", "127.0.0.1:5000"), "reserved" },
    { CHATD_ARGS ("--user", "Bob"), "--user needs --connect" },
    { CHATD_ARGS ("--user", "Bob", "--connect", "nowhere"), "HOST:PORT" },
    { CHATD_ARGS ("--server", "--listen", "127.0.0.1:99999"), "HOST:PORT" },
    { CHATD_ARGS ("--server", "--wait", "0"), "--wait" },
    { CHATD_ARGS ("--server", "--wait", "-5"), "--wait" },
    { CHATD_ARGS ("--server", "--config", "/nonexistent/chatd.conf"), "cannot read config file" },
    { CHATD_ARGS ("--config", bad_config), "unknown key 'sevrer'" },
    { CHATD_ARGS ("--config", critical_config, "--socket", sock, "--plugin-dir", plugins,
                  "--state-dir", node->state_dir), "critical plugin 'suite-nowhere'" },
    { CHATD_ARGS ("--server", "--plugin-dir", "/nonexistent/plugins"), "does not exist" },
    { CHATD_ARGS ("--server", "--socket", sock, "--state-dir", "/proc/version/x"), "state directory" },
    { CHATD_ARGS ("--server", "stray"), "unexpected argument 'stray'" },
  };
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *err = NULL;
      g_assert_cmpint (test_run_chatd (node, cases[i].args, NULL, &err), ==, 1);
      if (!test_is_one_line (err) || strstr (err, cases[i].words) == NULL)
        g_error ("case %u: expected one line with '%s', got: %s", i, cases[i].words, err);
    }
  g_autofree char *out = NULL;
  g_assert_cmpint (test_run_chatd (node, CHATD_ARGS ("--version"), &out, NULL), ==, 0);
  g_assert_true (g_str_has_prefix (out, "chatd "));
}

/* Follow: events reach the subscribed connection and no other. */
typedef struct {
  GPtrArray *kinds;
} EventLog;

static void
on_event (GDBusConnection *connection, const char *sender, const char *path, const char *interface,
          const char *signal, GVariant *parameters, gpointer user_data)
{
  EventLog *log = user_data;
  const char *kind;
  g_variant_get (parameters, "(&s@a{sv}&s)", &kind, NULL, NULL);
  g_ptr_array_add (log->kinds, g_strdup (kind));
}

static GDBusConnection *
connect_control (TestNode *node)
{
  g_autofree char *address = g_strdup_printf ("unix:path=%s", node->socket_path);
  g_autoptr(GError) error = NULL;
  GDBusConnection *connection = g_dbus_connection_new_for_address_sync (address,
                                    G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT, NULL, NULL, &error);
  g_assert_no_error (error);
  return connection;
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
test_follow (void)
{
  g_autoptr(TestNode) node = test_node_new ();
  test_node_start_server (node, NULL);
  g_autoptr(GDBusConnection) follower = connect_control (node);
  g_autoptr(GDBusConnection) bystander = connect_control (node);
  EventLog followed = { g_ptr_array_new_with_free_func (g_free) };
  EventLog unfollowed = { g_ptr_array_new_with_free_func (g_free) };
  g_dbus_connection_signal_subscribe (follower, NULL, "org.chatd.Control1", "Event", NULL, NULL,
                                      G_DBUS_SIGNAL_FLAGS_NONE, on_event, &followed, NULL);
  g_dbus_connection_signal_subscribe (bystander, NULL, "org.chatd.Control1", "Event", NULL, NULL,
                                      G_DBUS_SIGNAL_FLAGS_NONE, on_event, &unfollowed, NULL);

  g_assert_cmpint (test_run_chatctl (node, CHATD_ARGS ("hello", "Before"), NULL, NULL), ==, 0);
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) reply = g_dbus_connection_call_sync (follower, NULL, "/org/chatd/Control",
                                                           "org.chatd.Control1", "Follow",
                                                           g_variant_new ("(s)", ""), NULL,
                                                           G_DBUS_CALL_FLAGS_NONE, 5000, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (test_run_chatctl (node, CHATD_ARGS ("hello", "After"), NULL, NULL), ==, 0);
  for (int i = 0; i < 200 && followed.kinds->len == 0; i++)
    spin (10);
  spin (300);
  g_assert_cmpuint (followed.kinds->len, ==, 1);     /* live only: not the earlier one */
  g_assert_cmpstr (followed.kinds->pdata[0], ==, "hello");
  g_assert_cmpuint (unfollowed.kinds->len, ==, 0);

  /* Follow("0") replays what the node holds, then continues live */
  g_clear_pointer (&reply, g_variant_unref);
  reply = g_dbus_connection_call_sync (bystander, NULL, "/org/chatd/Control", "org.chatd.Control1",
                                       "Follow", g_variant_new ("(s)", "0"), NULL,
                                       G_DBUS_CALL_FLAGS_NONE, 5000, NULL, &error);
  g_assert_no_error (error);
  for (int i = 0; i < 200 && unfollowed.kinds->len < 2; i++)
    spin (10);
  g_assert_cmpuint (unfollowed.kinds->len, ==, 2);

  /* a malformed since is refused */
  g_clear_pointer (&reply, g_variant_unref);
  reply = g_dbus_connection_call_sync (bystander, NULL, "/org/chatd/Control", "org.chatd.Control1",
                                       "Follow", g_variant_new ("(s)", "yesterday"), NULL,
                                       G_DBUS_CALL_FLAGS_NONE, 5000, NULL, &error);
  g_assert_null (reply);
  g_assert_nonnull (error);
  g_ptr_array_unref (followed.kinds);
  g_ptr_array_unref (unfollowed.kinds);
}

static void
test_events_stream (void)
{
  g_autoptr(TestNode) node = test_node_new ();
  test_node_start_server (node, NULL);
  g_autoptr(GSubprocessLauncher) launcher = test_node_launcher (node);
  g_autoptr(GError) error = NULL;
  g_autoptr(GSubprocess) stream = g_subprocess_launcher_spawn (launcher, &error, g_getenv ("CHATCTL"),
                                                               "--socket", node->socket_path, "--json",
                                                               "events", NULL);
  g_assert_no_error (error);
  spin (300);
  /* a slow, streaming request does not block others */
  g_assert_cmpint (test_run_chatctl (node, CHATD_ARGS ("hello", "Streamed"), NULL, NULL), ==, 0);
  spin (300);
  g_subprocess_send_signal (stream, SIGINT);
  g_autofree char *out = NULL;
  g_subprocess_communicate_utf8 (stream, NULL, NULL, &out, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (g_subprocess_get_exit_status (stream), ==, 0);
  g_auto(GStrv) lines = g_strsplit (g_strstrip (out), "\n", -1);
  g_assert_cmpuint (g_strv_length (lines), ==, 1);
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_assert_true (json_parser_load_from_data (parser, lines[0], -1, NULL));
  JsonObject *event = json_node_get_object (json_parser_get_root (parser));
  g_assert_cmpstr (json_object_get_string_member (event, "kind"), ==, "hello");
}

static void
test_garbage_on_socket (void)
{
  g_autoptr(TestNode) node = test_node_new ();
  test_node_start_server (node, NULL);
  struct sockaddr_un addr = { .sun_family = AF_UNIX };
  g_strlcpy (addr.sun_path, node->socket_path, sizeof addr.sun_path);

  /* random bytes */
  g_autoptr(GRand) rand = g_rand_new_with_seed (7);
  for (int round = 0; round < 5; round++)
    {
      int fd = socket (AF_UNIX, SOCK_STREAM, 0);
      g_assert_no_errno (connect (fd, (struct sockaddr *) &addr, sizeof addr));
      guint8 junk[4096];
      for (guint i = 0; i < sizeof junk; i++)
        junk[i] = g_rand_int (rand);
      (void) !write (fd, junk, g_rand_int_range (rand, 1, sizeof junk));
      close (fd);
    }
  /* a half handshake that stays open */
  int half = socket (AF_UNIX, SOCK_STREAM, 0);
  g_assert_no_errno (connect (half, (struct sockaddr *) &addr, sizeof addr));
  const char partial[] = "\0AUTH EXTERNAL 30";
  (void) !write (half, partial, sizeof partial - 1);

  /* a client that drops the connection in the middle of a call */
  {
    g_autoptr(GDBusConnection) dropper = connect_control (node);
    g_dbus_connection_call (dropper, NULL, "/org/chatd/Control", "org.chatd.Control1", "Run",
                            g_variant_new_parsed ("('events', @a{sv} {})"), NULL,
                            G_DBUS_CALL_FLAGS_NONE, -1, NULL, NULL, NULL);
    g_dbus_connection_flush_sync (dropper, NULL, NULL);
    spin (100);
    g_dbus_connection_close_sync (dropper, NULL, NULL);
  }
  /* a D-Bus client sending wrong types and unknown methods */
  {
    g_autoptr(GDBusConnection) wrong = connect_control (node);
    g_autoptr(GError) error = NULL;
    g_autoptr(GVariant) reply = g_dbus_connection_call_sync (wrong, NULL, "/org/chatd/Control",
                                    "org.chatd.Control1", "Run",
                                    g_variant_new_parsed ("('hello', {'name': <int32 5>})"),
                                    NULL, G_DBUS_CALL_FLAGS_NONE, 5000, NULL, &error);
    g_assert_null (reply);
    g_assert_nonnull (strstr (error->message, "must be of type s"));
    g_clear_error (&error);
    reply = g_dbus_connection_call_sync (wrong, NULL, "/org/chatd/Control", "org.chatd.Control1",
                                         "Explode", NULL, NULL, G_DBUS_CALL_FLAGS_NONE, 5000, NULL, &error);
    g_assert_null (reply);
    g_assert_nonnull (error);
  }
  spin (100);
  g_autofree char *out = NULL;
  g_assert_cmpint (test_run_chatctl (node, CHATD_ARGS ("status"), &out, NULL), ==, 0);
  g_assert_nonnull (strstr (out, "server"));
  /* the dropped and the wrong clients are gone: only this chatctl is connected */
  g_clear_pointer (&out, g_free);
  g_assert_cmpint (test_run_chatctl (node, CHATD_ARGS ("--json", "stats"), &out, NULL), ==, 0);
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_assert_true (json_parser_load_from_data (parser, out, -1, NULL));
  JsonObject *stats = json_node_get_object (json_parser_get_root (parser));
  g_assert_cmpint (json_object_get_int_member (stats, "control.clients"), ==, 1);
  close (half);
  /* and the node stops cleanly (exit 0, nothing critical logged): test_node_free */
}

/* --- a burst larger than a batch: Events (FollowBatched) to a follower and the events
 * stream of chatctl each get every event once, in order --- */

typedef struct {
  GArray *ids;      /* guint64, in arrival order */
  guint   hellos;
} BurstLog;

static void
on_burst_events (GDBusConnection *connection, const char *sender, const char *path, const char *interface,
                 const char *signal, GVariant *parameters, gpointer user_data)
{
  BurstLog *log = user_data;
  g_assert_true (g_variant_is_of_type (parameters, G_VARIANT_TYPE ("(a(ssa{sv}s))")));
  g_autoptr(GVariant) events = g_variant_get_child_value (parameters, 0);
  g_assert_cmpuint (g_variant_n_children (events), >, 0);
  g_assert_cmpuint (g_variant_n_children (events), <=, 256);
  GVariantIter iter;
  const char *id, *kind;
  g_variant_iter_init (&iter, events);
  while (g_variant_iter_next (&iter, "(&s&s@a{sv}&s)", &id, &kind, NULL, NULL))
    {
      guint64 value = g_ascii_strtoull (id, NULL, 10);
      g_array_append_val (log->ids, value);
      log->hellos += g_str_equal (kind, "hello");
    }
}

static void
on_hello_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) reply = g_dbus_connection_call_finish (G_DBUS_CONNECTION (source), result, &error);
  g_assert_no_error (error);
  (*(guint *) user_data)--;
}

static void
assert_consecutive (GArray *ids)
{
  for (guint i = 1; i < ids->len; i++)
    g_assert_cmpuint (g_array_index (ids, guint64, i), ==, g_array_index (ids, guint64, i - 1) + 1);
}

static guint
count_lines_with (const char *path, const char *needle)
{
  g_autofree char *text = NULL;
  if (!g_file_get_contents (path, &text, NULL, NULL))
    return 0;
  guint n = 0;
  for (const char *p = strstr (text, needle); p != NULL; p = strstr (p + 1, needle))
    n++;
  return n;
}

static void
test_events_burst (void)
{
  const guint n = 600;   /* more than two batches */
  g_autoptr(TestNode) node = test_node_new ();
  test_node_start_server (node, NULL);
  g_autoptr(GDBusConnection) caller = connect_control (node);
  g_autoptr(GDBusConnection) follower = connect_control (node);
  BurstLog live = { g_array_new (FALSE, FALSE, sizeof (guint64)) };
  g_dbus_connection_signal_subscribe (follower, NULL, "org.chatd.Control1", "Events", NULL, NULL,
                                      G_DBUS_SIGNAL_FLAGS_NONE, on_burst_events, &live, NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) reply = g_dbus_connection_call_sync (follower, NULL, "/org/chatd/Control",
                                                           "org.chatd.Control1", "FollowBatched",
                                                           g_variant_new ("(s)", ""), NULL,
                                                           G_DBUS_CALL_FLAGS_NONE, 5000, NULL, &error);
  g_assert_no_error (error);

  /* 32 calls in flight: many events per main-loop iteration of the node */
  guint in_flight = 0;
  for (guint sent = 0; sent < n || in_flight > 0;)
    {
      while (in_flight < 32 && sent < n)
        {
          g_auto(GVariantBuilder) args = G_VARIANT_BUILDER_INIT (G_VARIANT_TYPE_VARDICT);
          g_variant_builder_add (&args, "{sv}", "name", g_variant_new_string ("Burst"));
          g_dbus_connection_call (caller, NULL, "/org/chatd/Control", "org.chatd.Control1", "Run",
                                  g_variant_new ("(s@a{sv})", "hello", g_variant_builder_end (&args)),
                                  NULL, G_DBUS_CALL_FLAGS_NONE, 20000, NULL, on_hello_done, &in_flight);
          in_flight++;
          sent++;
        }
      g_main_context_iteration (NULL, TRUE);
    }
  for (int i = 0; i < 1000 && live.hellos < n; i++)
    spin (10);
  g_assert_cmpuint (live.hellos, ==, n);
  assert_consecutive (live.ids);

  /* chatctl's events stream replays them all (Items batches), in order */
  g_autoptr(GSubprocessLauncher) launcher = test_node_launcher (node);
  g_autofree char *out_path = g_build_filename (node->runtime_dir, "events.out", NULL);
  g_subprocess_launcher_set_flags (launcher, G_SUBPROCESS_FLAGS_NONE);
  g_subprocess_launcher_set_stdout_file_path (launcher, out_path);
  g_autoptr(GSubprocess) stream = g_subprocess_launcher_spawn (launcher, &error, g_getenv ("CHATCTL"),
                                                               "--socket", node->socket_path, "--json",
                                                               "events", "--since", "0", NULL);
  g_assert_no_error (error);
  for (int i = 0; i < 1000 && count_lines_with (out_path, "\"hello\"") < n; i++)
    spin (10);
  g_subprocess_send_signal (stream, SIGINT);
  g_assert_true (g_subprocess_wait (stream, NULL, &error));
  g_assert_no_error (error);
  g_autofree char *out = NULL;
  g_assert_true (g_file_get_contents (out_path, &out, NULL, NULL));
  g_auto(GStrv) lines = g_strsplit (g_strstrip (out), "\n", -1);
  g_autoptr(GArray) replayed = g_array_new (FALSE, FALSE, sizeof (guint64));
  guint hellos = 0;
  for (guint i = 0; lines[i] != NULL; i++)
    {
      g_autoptr(JsonParser) parser = json_parser_new ();
      g_assert_true (json_parser_load_from_data (parser, lines[i], -1, NULL));
      JsonObject *event = json_node_get_object (json_parser_get_root (parser));
      guint64 id = g_ascii_strtoull (json_object_get_string_member (event, "event-id"), NULL, 10);
      g_array_append_val (replayed, id);
      hellos += g_str_equal (json_object_get_string_member (event, "kind"), "hello");
    }
  g_assert_cmpuint (hellos, ==, n);
  g_assert_cmpuint (g_array_index (replayed, guint64, 0), ==, 1);
  assert_consecutive (replayed);
  g_array_unref (live.ids);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/integration/node/commands", test_commands);
  g_test_add_func ("/integration/node/json", test_json);
  g_test_add_func ("/integration/node/no-node", test_no_node);
  g_test_add_func ("/integration/node/default-socket-found", test_default_socket_found);
  g_test_add_func ("/integration/node/second-start-refused", test_second_start_refused);
  g_test_add_func ("/integration/node/stale-socket-replaced", test_stale_socket_replaced);
  g_test_add_func ("/integration/node/shutdown", test_shutdown);
  g_test_add_func ("/integration/node/daemon", test_daemon);
  g_test_add_func ("/integration/node/bad-command-lines", test_bad_command_lines);
  g_test_add_func ("/integration/node/follow", test_follow);
  g_test_add_func ("/integration/node/events-stream", test_events_stream);
  g_test_add_func ("/integration/node/events-burst", test_events_burst);
  g_test_add_func ("/integration/node/garbage-on-socket", test_garbage_on_socket);
  return g_test_run ();
}
