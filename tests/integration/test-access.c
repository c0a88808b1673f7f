/* test-access.c: access control with real processes (issue 7, part 4):
 * another OS user cannot use a node's control socket; every file and
 * directory a node creates is private (0600 / 0700, even under umask 0);
 * the password never shows in ps, /proc/PID/cmdline or /proc/PID/environ of
 * a running node, whichever way it was given (file, environment, terminal). */
#include "chat-net.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <grp.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define NOBODY_UID 65534
#define NOBODY_GID 65534

/* a password no other text of the test contains */
#define SECRET_PASSWORD "Harden-pw-7f3a91c2-Quartz"

static gboolean
skip_unless_root (void)
{
  if (geteuid () == 0)
    return FALSE;
  g_test_skip ("needs root: the test switches to the user nobody (setuid) to play another OS user");
  return TRUE;
}

static void
become_nobody (gpointer user_data)
{
  /* between fork and exec: async-signal-safe calls only */
  if (setgroups (0, NULL) != 0 || setgid (NOBODY_GID) != 0 || setuid (NOBODY_UID) != 0)
    _exit (127);
}

/* A copy of chatctl that nobody may run: the build tree may sit under a
 * directory only its owner can enter (a clone in /root, say). chatctl needs
 * nothing from the build tree at run time. */
static char *
chatctl_copy_for_nobody (char **ret_dir)
{
  g_autoptr(GError) error = NULL;
  char *dir = g_dir_make_tmp ("chatctl-nobody-XXXXXX", &error);
  g_assert_no_error (error);
  g_assert_no_errno (chmod (dir, 0755));
  g_autofree char *contents = NULL;
  gsize len = 0;
  g_assert_true (g_file_get_contents (g_getenv ("CHATCTL"), &contents, &len, &error));
  char *path = g_build_filename (dir, "chatctl", NULL);
  g_assert_true (g_file_set_contents_full (path, contents, len, G_FILE_SET_CONTENTS_NONE, 0755, &error));
  g_assert_no_error (error);
  *ret_dir = dir;
  return path;
}

/* chatctl --socket PATH status, as the user nobody */
static int
chatctl_as_nobody (const char *socket_path, char **ret_err)
{
  g_autofree char *copy_dir = NULL;
  g_autofree char *chatctl = chatctl_copy_for_nobody (&copy_dir);
  g_autoptr(GSubprocessLauncher) launcher =
    g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_PIPE);
  g_subprocess_launcher_set_child_setup (launcher, become_nobody, NULL, NULL);
  g_subprocess_launcher_unsetenv (launcher, "CHATD_SOCKET");
  g_subprocess_launcher_unsetenv (launcher, "CHATD_NODE");
  g_subprocess_launcher_setenv (launcher, "XDG_RUNTIME_DIR", "/nonexistent", TRUE);
  g_autoptr(GError) error = NULL;
  g_autoptr(GSubprocess) p = g_subprocess_launcher_spawn (launcher, &error, chatctl,
                                                          "--socket", socket_path, "status", NULL);
  g_assert_no_error (error);
  g_autofree char *out = NULL;
  g_subprocess_communicate_utf8 (p, NULL, NULL, &out, ret_err, &error);
  g_assert_no_error (error);
  g_unlink (chatctl);
  g_rmdir (copy_dir);
  g_test_message ("chatctl as nobody -> %d: %s", g_subprocess_get_exit_status (p), *ret_err);
  g_assert_cmpint (g_subprocess_get_exit_status (p), !=, 127);   /* the switch worked */
  g_assert_cmpstr (out, ==, "");
  return g_subprocess_get_exit_status (p);
}

static void
assert_node_unaffected (TestNode *node)
{
  g_autofree char *out = NULL;
  g_assert_cmpint (test_run_chatctl (node, CHATD_ARGS ("status"), &out, NULL), ==, 0);
  g_assert_nonnull (strstr (out, "server"));
  g_assert_cmpuint (stats_counter (node, "control.clients"), ==, 1);      /* only this chatctl */
  g_assert_nonnull (node->process);
  g_assert_nonnull (g_subprocess_get_identifier (node->process));    /* still running */
}

static void
test_other_user_refused (void)
{
  if (skip_unless_root ())
    return;
  g_autoptr(TestNode) node = test_node_new ();
  /* the test's own directories are opened to everyone, so that the only
   * barriers left are the ones the node itself puts up */
  g_assert_no_errno (g_chmod (node->root, 0755));
  test_node_start_server (node, NULL);
  g_autofree char *sock_dir = g_path_get_dirname (node->socket_path);
  g_autofree char *lock = g_strconcat (node->socket_path, ".lock", NULL);
  struct stat st;
  g_assert_no_errno (stat (sock_dir, &st));
  g_assert_cmpint (st.st_mode & 07777, ==, 0700);
  g_assert_no_errno (stat (node->socket_path, &st));
  g_assert_true (S_ISSOCK (st.st_mode));
  g_assert_cmpint (st.st_mode & 077, ==, 0);
  g_assert_no_errno (stat (lock, &st));
  g_assert_cmpint (st.st_mode & 07777, ==, 0600);

  /* 1. as the node made it: the 0700 directory stops nobody */
  g_autofree char *err = NULL;
  g_assert_cmpint (chatctl_as_nobody (node->socket_path, &err), ==, 2);
  g_assert_true (test_is_one_line (err));
  g_assert_nonnull (strstr (err, "permission denied"));
  assert_node_unaffected (node);
  g_clear_pointer (&err, g_free);

  /* 2. someone opened the directory: the socket's own mode stops nobody */
  g_assert_no_errno (g_chmod (sock_dir, 0755));
  g_assert_cmpint (chatctl_as_nobody (node->socket_path, &err), ==, 2);
  g_assert_true (test_is_one_line (err));
  g_assert_nonnull (strstr (err, "belongs to another user (uid 0)"));
  assert_node_unaffected (node);
  g_clear_pointer (&err, g_free);

  /* 3. and the socket too: the D-Bus authentication (same user only) refuses */
  g_assert_no_errno (g_chmod (node->socket_path, 0777));
  guint64 connections_before = stats_counter (node, "control.connections");
  g_assert_cmpint (chatctl_as_nobody (node->socket_path, &err), ==, 2);
  g_assert_true (test_is_one_line (err));
  g_assert_nonnull (strstr (err, "refused: the node belongs to another user (uid 0)"));
  assert_node_unaffected (node);
  /* the refused client never became a control client: only the two chatctl
   * runs of assert_node_unaffected and this one were */
  g_assert_cmpuint (stats_counter (node, "control.connections"), ==, connections_before + 3);
  g_assert_cmpuint (stats_counter (node, "control.requests-failed"), ==, 0);
}

/* ---- file modes ---- */

/* Every directory 0700 and every file 0600 (no bit for group or others,
 * nothing executable); public keys (*.pub) may be world-readable, never
 * writable.  Returns the number of entries checked; violations in ret_bad. */
static guint
check_tree (const char *path, GString *bad, GString *seen)
{
  struct stat st;
  g_assert_no_errno (lstat (path, &st));
  guint n = 1;
  mode_t mode = st.st_mode & 07777;
  g_string_append_printf (seen, " %s=%o", path, (unsigned) mode);
  if (S_ISDIR (st.st_mode))
    {
      if (mode != 0700)
        g_string_append_printf (bad, "\n  directory %s is %o, not 700", path, (unsigned) mode);
      g_autoptr(GDir) dir = g_dir_open (path, 0, NULL);
      g_assert_nonnull (dir);
      const char *name;
      while ((name = g_dir_read_name (dir)) != NULL)
        {
          g_autofree char *child = g_build_filename (path, name, NULL);
          n += check_tree (child, bad, seen);
        }
    }
  else if (S_ISREG (st.st_mode) && g_str_has_suffix (path, ".pub"))
    {
      if ((mode & 0133) != 0 || (mode & 0600) != 0600)
        g_string_append_printf (bad, "\n  public key %s is %o", path, (unsigned) mode);
    }
  else if (S_ISREG (st.st_mode))
    {
      if (mode != 0600)
        g_string_append_printf (bad, "\n  file %s is %o, not 600", path, (unsigned) mode);
    }
  else if (S_ISSOCK (st.st_mode))
    {
      if ((mode & 077) != 0)
        g_string_append_printf (bad, "\n  socket %s is %o", path, (unsigned) mode);
    }
  else
    g_string_append_printf (bad, "\n  %s is neither a file nor a directory", path);
  return n;
}

static void
assert_private (const char *path, const char *const *must_exist)
{
  for (guint i = 0; must_exist != NULL && must_exist[i] != NULL; i++)
    {
      g_autofree char *f = g_build_filename (path, must_exist[i], NULL);
      if (!g_file_test (f, G_FILE_TEST_EXISTS))
        g_error ("%s was expected after a login and a message exchange", f);
    }
  g_autoptr(GString) bad = g_string_new (NULL);
  g_autoptr(GString) seen = g_string_new (NULL);
  guint n = check_tree (path, bad, seen);
  g_test_message ("%u entries checked:%s", n, seen->str);
  if (bad->len > 0)
    g_error ("not private:%s", bad->str);
}

static void
test_file_modes (void)
{
  /* chatd must not rely on the caller's umask */
  mode_t saved_umask = umask (0);
  Net net = { 0 };
  net_start (&net);
  TestNode *alice = login (&net, "Alice");
  TestNode *bob = login (&net, "Bob");
  /* and a user enrolled from its own node */
  g_autoptr(JsonNode) added = json_of (net.server, CHATD_ARGS ("useradd", "Dave"));
  const char *token = json_object_get_string_member (json_node_get_object (added), "token");
  TestNode *dave = test_node_new ();
  g_ptr_array_add (net.users, dave);
  g_assert_cmpint (start_user (&net, dave, "Dave", "dave-pw", CHATD_ARGS ("--enroll", token), NULL), ==, 0);
  for (const char *const *n = CHATD_ARGS ("Alice", "Bob", "Dave"); *n; n++)
    g_assert_true (wait_until (alice, reachable, *n, 20));
  g_autofree char *out = NULL;
  g_assert_cmpint (test_run_chatctl (alice, CHATD_ARGS ("send", "Bob,Dave", "hello"), &out, NULL), ==, 0);
  g_clear_pointer (&out, g_free);
  g_assert_cmpint (test_run_chatctl (dave, CHATD_ARGS ("send", "Alice", "hi"), &out, NULL), ==, 0);
  g_clear_pointer (&out, g_free);
  g_assert_cmpint (test_run_chatctl (bob, CHATD_ARGS ("send", "Alice", "hi"), &out, NULL), ==, 0);

  assert_private (net.server->state_dir, CHATD_ARGS ("directory.db", "server.key"));
  for (TestNode **n = (TestNode *[]) { alice, bob, dave, NULL }; *n; n++)
    {
      assert_private ((*n)->state_dir, CHATD_ARGS ("mailbox.db", "server.pub", "chatd.log"));
      g_autofree char *sock_dir = g_path_get_dirname ((*n)->socket_path);
      assert_private (sock_dir, NULL);
    }
  g_autofree char *server_sock_dir = g_path_get_dirname (net.server->socket_path);
  assert_private (server_sock_dir, NULL);
  /* (an enrolled node keeps no key file: its key pair comes back wrapped
   * at every login, like a seeded user's) */
  net_stop (&net);
  umask (saved_umask);
}

/* ---- the password is never visible ---- */

static void
assert_not_in_file (const char *path, const char *secret)
{
  g_autofree char *text = NULL;
  gsize len = 0;
  g_autoptr(GError) error = NULL;
  if (!g_file_get_contents (path, &text, &len, &error))
    g_error ("cannot read %s: %s", path, error->message);
  /* NUL-separated strings: memmem, not strstr */
  if (memmem (text, len, secret, strlen (secret)) != NULL)
    g_error ("the password shows in %s", path);
  /* nor its variable with any value: wiped to zeros, never a readable text */
  const char *var = memmem (text, len, "CHATD_PASSWORD=", strlen ("CHATD_PASSWORD="));
  if (var != NULL && var + strlen ("CHATD_PASSWORD=") < text + len && var[strlen ("CHATD_PASSWORD=")] != '\0')
    g_error ("%s holds a non-empty CHATD_PASSWORD", path);
}

static void
assert_password_hidden (pid_t pid, const char *secret)
{
  g_assert_cmpint (pid, >, 1);
  g_assert_cmpint (kill (pid, 0), ==, 0);
  for (const char *const *f = CHATD_ARGS ("cmdline", "environ"); *f; f++)
    {
      g_autofree char *path = g_strdup_printf ("/proc/%d/%s", (int) pid, *f);
      assert_not_in_file (path, secret);
    }
  /* and what ps shows of every process, with environments (BSD e) */
  g_autofree char *ps = NULL;
  g_autoptr(GError) error = NULL;
  int wait_status = 0;
  g_assert_true (g_spawn_command_line_sync ("ps axeww", &ps, NULL, &wait_status, &error));
  g_assert_no_error (error);
  g_autofree char *pid_text = g_strdup_printf ("%d", (int) pid);
  g_assert_nonnull (strstr (ps, pid_text));
  const char *shown = strstr (ps, secret);
  if (shown != NULL)
    {
      const char *line = shown;
      while (line > ps && line[-1] != '\n')
        line--;
      g_error ("the password shows in ps (checking pid %d): %.120s", (int) pid, line);
    }
}

/* chatd --user Frank --daemon with extra arguments; the password in the
 * environment only when env_password is set */
static GSubprocess *
spawn_user (Net *net, TestNode *node, const char *env_password, const char *const *extra,
            GSubprocessFlags flags)
{
  g_autoptr(GSubprocessLauncher) launcher = test_node_launcher (node);
  g_subprocess_launcher_set_flags (launcher, flags);
  g_subprocess_launcher_unsetenv (launcher, "CHATD_PASSWORD");
  if (env_password != NULL)
    g_subprocess_launcher_setenv (launcher, "CHATD_PASSWORD", env_password, TRUE);
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  const char *const base[] = { g_getenv ("CHATD"), "--user", "Frank", "--connect", net->connect,
                               "--listen", "127.0.0.1:0", "--socket", node->socket_path,
                               "--state-dir", node->state_dir, "--plugin-dir", g_getenv ("CHATD_PLUGIN_DIR"),
                               NULL };
  for (guint i = 0; base[i] != NULL; i++)
    g_ptr_array_add (argv, (gpointer) base[i]);
  for (guint i = 0; extra != NULL && extra[i] != NULL; i++)
    g_ptr_array_add (argv, (gpointer) extra[i]);
  g_ptr_array_add (argv, NULL);
  g_autoptr(GError) error = NULL;
  GSubprocess *p = g_subprocess_launcher_spawnv (launcher, (const char *const *) argv->pdata, &error);
  g_assert_no_error (error);
  return p;
}

static int
run_daemon_user (Net *net, TestNode *node, const char *env_password, const char *const *extra)
{
  g_autoptr(GSubprocess) p = spawn_user (net, node, env_password, extra, G_SUBPROCESS_FLAGS_STDERR_PIPE);
  g_autofree char *err = NULL;
  g_autoptr(GError) error = NULL;
  g_subprocess_communicate_utf8 (p, NULL, NULL, NULL, &err, &error);
  g_assert_no_error (error);
  g_test_message ("chatd --user Frank %s -> %d: %s", extra[0], g_subprocess_get_exit_status (p), err);
  return g_subprocess_get_exit_status (p);
}

static pid_t
pid_from_lock (TestNode *node)
{
  g_autofree char *lock = g_strconcat (node->socket_path, ".lock", NULL);
  for (int i = 0; i < 100; i++)
    {
      g_autofree char *text = NULL;
      if (g_file_get_contents (lock, &text, NULL, NULL) && atoi (text) > 1)
        return atoi (text);
      g_usleep (50000);
    }
  g_error ("no pid in %s", lock);
}

/* reads what the terminal shows until `until` appears (or 20 s pass) */
static void
read_pty (int master, GString *seen, const char *until)
{
  gint64 deadline = g_get_monotonic_time () + 20 * G_USEC_PER_SEC;
  while (g_get_monotonic_time () < deadline && (until == NULL || strstr (seen->str, until) == NULL))
    {
      struct pollfd pfd = { .fd = master, .events = POLLIN };
      if (poll (&pfd, 1, until == NULL ? 0 : 100) <= 0)
        {
          if (until == NULL)
            return;
          continue;
        }
      char buf[4096];
      ssize_t n = read (master, buf, sizeof buf);
      if (n <= 0)
        return;
      g_string_append_len (seen, buf, n);
    }
}

static void
test_password_hidden (void)
{
  Net net = { 0 };
  net_start (&net);
  g_autofree char *out = NULL;
  g_assert_cmpint (test_run_chatctl_input (net.server, CHATD_ARGS ("useradd", "Frank", "--password-stdin"),
                                           SECRET_PASSWORD "\n", &out, NULL), ==, 0);

  /* 1. from the environment, --daemon: the running node */
  {
    g_autoptr(TestNode) node = test_node_new ();
    g_assert_cmpint (run_daemon_user (&net, node, SECRET_PASSWORD, CHATD_ARGS ("--daemon")), ==, 0);
    g_assert_true (login_state_is (node, "online"));
    assert_password_hidden (node_pid (node), SECRET_PASSWORD);
  }
  /* 2. from the environment, --daemon, while the parent still waits (the
   * server does not answer: this port has no server) */
  {
    g_autoptr(TestNode) node = test_node_new ();
    Net nowhere = net;
    g_autoptr(GSocket) s = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_DATAGRAM, 0, NULL);
    g_autoptr(GInetAddress) lo = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
    g_autoptr(GSocketAddress) any = g_inet_socket_address_new (lo, 0);
    g_assert_true (g_socket_bind (s, any, FALSE, NULL));      /* held, never answers */
    g_autoptr(GSocketAddress) bound = g_socket_get_local_address (s, NULL);
    nowhere.connect = g_strdup_printf ("127.0.0.1:%u",
                                       g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound)));
    g_autoptr(GSubprocess) parent = spawn_user (&nowhere, node, SECRET_PASSWORD,
                                                CHATD_ARGS ("--daemon", "--wait", "60"),
                                                G_SUBPROCESS_FLAGS_STDERR_PIPE);
    pid_t node_process = pid_from_lock (node);
    /* the node answers its socket once it is set up, the password read */
    int answered = 2;
    for (int i = 0; i < 200 && answered != 0; i++)
      {
        answered = test_run_chatctl (node, CHATD_ARGS ("status"), NULL, NULL);
        if (answered != 0)
          g_usleep (100000);
      }
    g_assert_cmpint (answered, ==, 0);
    g_assert_true (login_state_is (node, "retrying") || login_state_is (node, "logging in"));
    pid_t parent_pid = atoi (g_subprocess_get_identifier (parent));
    assert_password_hidden (parent_pid, SECRET_PASSWORD);      /* still waiting */
    assert_password_hidden (node_process, SECRET_PASSWORD);
    g_subprocess_force_exit (parent);
    g_subprocess_wait (parent, NULL, NULL);
    g_free (nowhere.connect);
    g_assert_cmpint (test_run_chatctl (node, CHATD_ARGS ("shutdown"), NULL, NULL), ==, 0);
  }
  /* 3. from a file */
  {
    g_autoptr(TestNode) node = test_node_new ();
    g_autofree char *file = g_build_filename (node->root, "password", NULL);
    g_assert_true (g_file_set_contents (file, SECRET_PASSWORD "\n", -1, NULL));
    g_assert_cmpint (run_daemon_user (&net, node, NULL, CHATD_ARGS ("--daemon", "--password-file", file)), ==, 0);
    assert_password_hidden (node_pid (node), SECRET_PASSWORD);
  }
  /* 4. typed on the terminal, to a node in the foreground */
  {
    g_autoptr(TestNode) node = test_node_new ();
    int master = -1;
    pid_t child = forkpty (&master, NULL, NULL, NULL);
    g_assert_cmpint (child, >=, 0);
    if (child == 0)
      {
        g_setenv ("XDG_RUNTIME_DIR", node->runtime_dir, TRUE);
        g_setenv ("XDG_STATE_HOME", node->state_home, TRUE);
        g_unsetenv ("CHATD_PASSWORD");
        execl (g_getenv ("CHATD"), "chatd", "--user", "Frank", "--connect", net.connect,
               "--listen", "127.0.0.1:0", "--socket", node->socket_path, "--state-dir", node->state_dir,
               "--plugin-dir", g_getenv ("CHATD_PLUGIN_DIR"), NULL);
        _exit (127);
      }
    g_autoptr(GString) screen = g_string_new (NULL);
    read_pty (master, screen, "Password for Frank: ");
    g_assert_nonnull (strstr (screen->str, "Password for Frank: "));
    g_assert_cmpint (write (master, SECRET_PASSWORD "\n", strlen (SECRET_PASSWORD) + 1), ==,
                     (ssize_t) strlen (SECRET_PASSWORD) + 1);
    gboolean online = FALSE;
    for (int i = 0; i < 200 && !online; i++)
      {
        read_pty (master, screen, NULL);     /* keep the terminal drained */
        online = g_file_test (node->socket_path, G_FILE_TEST_EXISTS) && login_state_is (node, "online");
        if (!online)
          g_usleep (100000);
      }
    g_assert_true (online);
    assert_password_hidden (child, SECRET_PASSWORD);
    g_assert_cmpint (test_run_chatctl (node, CHATD_ARGS ("shutdown"), NULL, NULL), ==, 0);
    int status = 0;
    for (int i = 0; i < 200 && waitpid (child, &status, WNOHANG) == 0; i++)
      {
        read_pty (master, screen, NULL);
        g_usleep (50000);
      }
    read_pty (master, screen, NULL);
    close (master);
    g_assert_true (WIFEXITED (status));
    g_assert_cmpint (WEXITSTATUS (status), ==, 0);
    /* the terminal did not echo it */
    g_assert_null (strstr (screen->str, SECRET_PASSWORD));
  }
  net_stop (&net);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/integration/access/other-user-refused", test_other_user_refused);
  g_test_add_func ("/integration/access/file-modes", test_file_modes);
  g_test_add_func ("/integration/access/password-hidden", test_password_hidden);
  return g_test_run ();
}
