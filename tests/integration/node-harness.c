/* node-harness.c: real chatd processes and the real chatctl, for
 * integration tests. */
#include "node-harness.h"

#include <glib/gstdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static const char *
required_env (const char *name)
{
  const char *value = g_getenv (name);
  if (value == NULL)
    g_error ("%s is not set: run the tests with meson test", name);
  return value;
}

TestNode *
test_node_new (void)
{
  TestNode *node = g_new0 (TestNode, 1);
  g_autoptr(GError) error = NULL;
  node->root = g_dir_make_tmp ("chatd-it-XXXXXX", &error);
  g_assert_no_error (error);
  node->runtime_dir = g_build_filename (node->root, "run", NULL);
  node->state_home = g_build_filename (node->root, "state-home", NULL);
  node->socket_path = g_build_filename (node->root, "sock", "server.sock", NULL);
  node->state_dir = g_build_filename (node->root, "state", NULL);
  g_assert_no_errno (g_mkdir (node->runtime_dir, 0700));
  return node;
}

GSubprocessLauncher *
test_node_launcher (TestNode *node)
{
  GSubprocessLauncher *launcher =
    g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_PIPE);
  g_subprocess_launcher_setenv (launcher, "XDG_RUNTIME_DIR", node->runtime_dir, TRUE);
  g_subprocess_launcher_setenv (launcher, "XDG_STATE_HOME", node->state_home, TRUE);
  g_subprocess_launcher_unsetenv (launcher, "CHATD_SOCKET");
  g_subprocess_launcher_unsetenv (launcher, "CHATD_NODE");
  g_subprocess_launcher_unsetenv (launcher, "CHATD_PLUGIN_PATH");
  return launcher;
}

static GPtrArray *
argv_new (const char *program, const char *const *first, const char *const *second)
{
  GPtrArray *argv = g_ptr_array_new ();
  g_ptr_array_add (argv, (gpointer) program);
  for (guint i = 0; first != NULL && first[i] != NULL; i++)
    g_ptr_array_add (argv, (gpointer) first[i]);
  for (guint i = 0; second != NULL && second[i] != NULL; i++)
    g_ptr_array_add (argv, (gpointer) second[i]);
  g_ptr_array_add (argv, NULL);
  return argv;
}

static gboolean
wait_for_socket (const char *path, GSubprocess *process)
{
  for (int i = 0; i < 1000; i++)
    {
      struct sockaddr_un addr = { .sun_family = AF_UNIX };
      g_strlcpy (addr.sun_path, path, sizeof addr.sun_path);
      int fd = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
      gboolean ok = connect (fd, (struct sockaddr *) &addr, sizeof addr) == 0;
      close (fd);
      if (ok)
        return TRUE;
      if (process != NULL && g_subprocess_get_identifier (process) == NULL)   /* reaped: it exited */
        return FALSE;
      g_usleep (10000);
    }
  return FALSE;
}

void
test_node_start_server (TestNode *node, const char *const *extra)
{
  const char *const base[] = {
    "--server", "--listen", "127.0.0.1:0", "--socket", node->socket_path, "--state-dir", node->state_dir,
    "--plugin-dir", required_env ("CHATD_PLUGIN_DIR"), NULL };
  g_autoptr(GSubprocessLauncher) launcher =
    g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDERR_MERGE | G_SUBPROCESS_FLAGS_STDOUT_SILENCE);
  g_subprocess_launcher_setenv (launcher, "XDG_RUNTIME_DIR", node->runtime_dir, TRUE);
  g_subprocess_launcher_setenv (launcher, "XDG_STATE_HOME", node->state_home, TRUE);
  g_subprocess_launcher_unsetenv (launcher, "CHATD_PLUGIN_PATH");
  g_autofree char *log = g_build_filename (node->root, "chatd.log", NULL);
  g_subprocess_launcher_set_flags (launcher, G_SUBPROCESS_FLAGS_NONE);
  g_subprocess_launcher_set_stderr_file_path (launcher, log);
  g_subprocess_launcher_set_stdout_file_path (launcher, log);
  g_autoptr(GPtrArray) argv = argv_new (required_env ("CHATD"), base, extra);
  g_autoptr(GError) error = NULL;
  node->process = g_subprocess_launcher_spawnv (launcher, (const char * const *) argv->pdata, &error);
  g_assert_no_error (error);
  if (!wait_for_socket (node->socket_path, node->process))
    {
      g_autofree char *contents = NULL;
      g_file_get_contents (log, &contents, NULL, NULL);
      g_error ("chatd did not start: %s", contents ? contents : "(no log)");
    }
}

/* input: what the process reads on stdin (NULL: it inherits ours) */
static int
run_input (TestNode *node, const char *program, const char *const *first, const char *const *second,
           const char *input, char **ret_stdout, char **ret_stderr)
{
  g_autoptr(GSubprocessLauncher) launcher = test_node_launcher (node);
  if (input != NULL)
    g_subprocess_launcher_set_flags (launcher, G_SUBPROCESS_FLAGS_STDIN_PIPE |
                                     G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_PIPE);
  g_autoptr(GPtrArray) argv = argv_new (program, first, second);
  g_autoptr(GError) error = NULL;
  g_autoptr(GSubprocess) process = g_subprocess_launcher_spawnv (launcher,
                                                                 (const char * const *) argv->pdata, &error);
  g_assert_no_error (error);
  g_autofree char *out = NULL, *err = NULL;
  g_subprocess_communicate_utf8 (process, input, NULL, &out, &err, &error);
  g_assert_no_error (error);
{
    /* short, one line each: the TAP stream must stay parseable */
    g_autofree char *o = g_strndup (out ? out : "", 200), *e = g_strndup (err ? err : "", 300);
    g_strdelimit (o, "\n", ' ');
    g_strdelimit (e, "\n", ' ');
    g_test_message ("%s ... -> %d; stdout: %s; stderr: %s", program,
                    g_subprocess_get_exit_status (process), o, e);
  }
  if (ret_stdout != NULL)
    *ret_stdout = g_steal_pointer (&out);
  if (ret_stderr != NULL)
    *ret_stderr = g_steal_pointer (&err);
  g_assert_true (g_subprocess_get_if_exited (process));
  return g_subprocess_get_exit_status (process);
}

static int
run (TestNode *node, const char *program, const char *const *first, const char *const *second,
     char **ret_stdout, char **ret_stderr)
{
  return run_input (node, program, first, second, NULL, ret_stdout, ret_stderr);
}

int
test_run_chatctl_input (TestNode *node, const char *const *args, const char *input,
                        char **ret_stdout, char **ret_stderr)
{
  const char *const socket_args[] = { "--socket", node->socket_path, NULL };
  return run_input (node, required_env ("CHATCTL"), socket_args, args, input, ret_stdout, ret_stderr);
}

int
test_run_chatd (TestNode *node, const char *const *args, char **ret_stdout, char **ret_stderr)
{
  return run (node, required_env ("CHATD"), args, NULL, ret_stdout, ret_stderr);
}

int
test_run_chatctl (TestNode *node, const char *const *args, char **ret_stdout, char **ret_stderr)
{
  const char *const socket_args[] = { "--socket", node->socket_path, NULL };
  return run (node, required_env ("CHATCTL"), socket_args, args, ret_stdout, ret_stderr);
}

int
test_run_chatctl_raw (TestNode *node, const char *const *args, char **ret_stdout, char **ret_stderr)
{
  return run (node, required_env ("CHATCTL"), args, NULL, ret_stdout, ret_stderr);
}

static gboolean
on_timeout (gpointer user_data)
{
  *(gboolean *) user_data = TRUE;
  return G_SOURCE_REMOVE;
}

static void
on_waited (GObject *source, GAsyncResult *result, gpointer user_data)
{
  *(gboolean *) user_data = TRUE;
}

int
test_node_wait (TestNode *node)
{
  g_assert_nonnull (node->process);
  gboolean timed_out = FALSE, exited = FALSE;
  g_subprocess_wait_async (node->process, NULL, on_waited, &exited);
  guint timeout = g_timeout_add_seconds (10, on_timeout, &timed_out);
  while (!timed_out && !exited)
    g_main_context_iteration (NULL, TRUE);
  if (!timed_out)
    g_source_remove (timeout);
  g_assert_false (timed_out);
  int status = g_subprocess_get_if_exited (node->process) ? g_subprocess_get_exit_status (node->process)
                                                          : 128 + g_subprocess_get_term_sig (node->process);
  g_clear_object (&node->process);
  return status;
}

static void
remove_tree (const char *path)
{
  g_autoptr(GFile) file = g_file_new_for_path (path);
  g_autoptr(GFileEnumerator) children = g_file_enumerate_children (file, G_FILE_ATTRIBUTE_STANDARD_NAME,
                                                                   G_FILE_QUERY_INFO_NOFOLLOW_SYMLINKS,
                                                                   NULL, NULL);
  if (children != NULL)
    {
      GFileInfo *info;
      while ((info = g_file_enumerator_next_file (children, NULL, NULL)) != NULL)
        {
          g_autofree char *child = g_build_filename (path, g_file_info_get_name (info), NULL);
          remove_tree (child);
          g_object_unref (info);
        }
    }
  g_remove (path);
}

void
test_node_free (TestNode *node)
{
  if (node == NULL)
    return;
  if (node->process != NULL)
    {
      /* a node that crashes or fails to stop cleanly fails the test */
      g_subprocess_send_signal (node->process, SIGTERM);
      g_assert_cmpint (test_node_wait (node), ==, 0);
    }
  g_autofree char *log_path = g_build_filename (node->root, "chatd.log", NULL);
  g_autofree char *log = NULL;
  if (g_file_get_contents (log_path, &log, NULL, NULL) &&
      (strstr (log, "CRITICAL") != NULL || strstr (log, "Sanitizer") != NULL ||
       strstr (log, "runtime error") != NULL))
    g_error ("the node logged a critical error or a sanitizer report:\n%s", log);
  remove_tree (node->root);
  g_free (node->root);
  g_free (node->runtime_dir);
  g_free (node->state_home);
  g_free (node->socket_path);
  g_free (node->state_dir);
  g_free (node);
}

gboolean
test_is_one_line (const char *text)
{
  if (text == NULL || text[0] == '\0')
    return FALSE;
  const char *newline = strchr (text, '\n');
  return newline != NULL && newline[1] == '\0';
}
