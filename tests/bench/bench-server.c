/* bench-server.c: a real `chatd --server` for benchmarks (bench-server.h).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "bench-server.h"

#include <errno.h>
#include <signal.h>
#include <glib/gstdio.h>
#include <string.h>
#include <unistd.h>

#define START_WAIT_US   (10 * G_USEC_PER_SEC)
#define STOP_WAIT_US    (10 * G_USEC_PER_SEC)

char *
bench_user_name (const char *prefix, guint index)
{
  return g_strdup_printf ("%s%04u", prefix, index);
}

char *
bench_user_password (const char *name)
{
  return g_strdup_printf ("pw-%s", name);
}

static GSubprocessLauncher *
launcher_for (BenchServer *server, GSubprocessFlags flags)
{
  GSubprocessLauncher *launcher = g_subprocess_launcher_new (flags);
  g_subprocess_launcher_setenv (launcher, "XDG_RUNTIME_DIR", server->runtime_dir, TRUE);
  g_autofree char *state_home = g_build_filename (server->root, "state-home", NULL);
  g_subprocess_launcher_setenv (launcher, "XDG_STATE_HOME", state_home, TRUE);
  g_subprocess_launcher_unsetenv (launcher, "CHATD_PLUGIN_PATH");
  g_subprocess_launcher_unsetenv (launcher, "CHATD_SOCKET");
  g_subprocess_launcher_unsetenv (launcher, "CHATD_NODE");
  g_subprocess_launcher_unsetenv (launcher, "CHATD_PASSWORD");
  return launcher;
}

static GPtrArray *
ctl_argv_at (BenchServer *server, const char *socket_path, const char *const *argv)
{
  GPtrArray *args = g_ptr_array_new ();
  g_ptr_array_add (args, (gpointer) server->config->chatctl);
  g_ptr_array_add (args, (gpointer) "--socket");
  g_ptr_array_add (args, (gpointer) socket_path);
  g_ptr_array_add (args, (gpointer) "--json");
  for (guint i = 0; argv[i] != NULL; i++)
    g_ptr_array_add (args, (gpointer) argv[i]);
  g_ptr_array_add (args, NULL);
  return args;
}

static GPtrArray *
ctl_argv (BenchServer *server, const char *const *argv)
{
  return ctl_argv_at (server, server->socket_path, argv);
}

gboolean
bench_server_ctl (BenchServer *server, const char *const *argv, const char *input,
                  JsonNode **ret_json, GError **error)
{
  return bench_ctl_at (server, server->socket_path, argv, input, ret_json, error);
}

gboolean
bench_ctl_at (BenchServer *server, const char *socket_path, const char *const *argv, const char *input,
              JsonNode **ret_json, GError **error)
{
  g_autoptr(GSubprocessLauncher) launcher =
    launcher_for (server, G_SUBPROCESS_FLAGS_STDIN_PIPE | G_SUBPROCESS_FLAGS_STDOUT_PIPE |
                          G_SUBPROCESS_FLAGS_STDERR_PIPE);
  g_autoptr(GPtrArray) args = ctl_argv_at (server, socket_path, argv);
  g_autoptr(GSubprocess) process = g_subprocess_launcher_spawnv (launcher, (const char *const *) args->pdata,
                                                                 error);
  g_autofree char *out = NULL, *err = NULL;
  if (process == NULL || !g_subprocess_communicate_utf8 (process, input, NULL, &out, &err, error))
    return FALSE;
  if (!g_subprocess_get_if_exited (process) || g_subprocess_get_exit_status (process) != 0)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "chatctl %s failed: %s", argv[0],
                   err ? g_strstrip (err) : "");
      return FALSE;
    }
  if (ret_json == NULL)
    return TRUE;
  g_autoptr(JsonParser) parser = json_parser_new ();
  if (!json_parser_load_from_data (parser, out, -1, error))
    {
      g_prefix_error (error, "chatctl %s printed no JSON: ", argv[0]);
      return FALSE;
    }
  *ret_json = json_node_copy (json_parser_get_root (parser));
  return TRUE;
}

static gboolean
status_member (JsonNode *status, const char *member, JsonNode **ret_node, GError **error)
{
  JsonObject *object = JSON_NODE_HOLDS_OBJECT (status) ? json_node_get_object (status) : NULL;
  JsonNode *node = object ? json_object_get_member (object, member) : NULL;
  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "no '%s' in chatctl's output", member);
      return FALSE;
    }
  *ret_node = node;
  return TRUE;
}

gboolean
bench_server_status_int (BenchServer *server, const char *member, gint64 *ret_value, GError **error)
{
  g_autoptr(JsonNode) status = NULL;
  JsonNode *node = NULL;
  if (!bench_server_ctl (server, (const char *const []) { "status", NULL }, NULL, &status, error) ||
      !status_member (status, member, &node, error))
    return FALSE;
  *ret_value = json_node_get_int (node);
  return TRUE;
}

gboolean
bench_server_counter (BenchServer *server, const char *name, guint64 *ret_value, GError **error)
{
  g_autoptr(JsonNode) stats = NULL;
  JsonNode *node = NULL;
  if (!bench_server_ctl (server, (const char *const []) { "stats", NULL }, NULL, &stats, error))
    return FALSE;
  /* the server role's own counters carry "server." in front (login.*, online...) */
  g_autofree char *server_name = g_strconcat ("server.", name, NULL);
  if (!status_member (stats, server_name, &node, NULL) && !status_member (stats, name, &node, error))
    return FALSE;
  *ret_value = (guint64) json_node_get_int (node);
  return TRUE;
}

/* ---- users, a bounded number of chatctl processes at a time ---- */

typedef struct {
  BenchServer *server;
  const char  *prefix;
  guint        n, next, running, done, parallel;
  GError      *error;
} AddUsers;

static void start_useradd (AddUsers *add);

static void
useradd_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  AddUsers *add = user_data;
  GSubprocess *process = G_SUBPROCESS (source);
  g_autofree char *err = NULL;
  g_autoptr(GError) error = NULL;
  add->running--;
  add->done++;
  if (!g_subprocess_communicate_utf8_finish (process, result, NULL, &err, &error))
    {
      if (add->error == NULL)
        add->error = g_steal_pointer (&error);
    }
  else if (g_subprocess_get_exit_status (process) != 0 && add->error == NULL)
    g_set_error (&add->error, G_IO_ERROR, G_IO_ERROR_FAILED, "chatctl useradd failed: %s",
                 err ? g_strstrip (err) : "");
  g_object_unref (process);
  start_useradd (add);
}

static void
start_useradd (AddUsers *add)
{
  while (add->error == NULL && add->next < add->n && add->running < add->parallel)
    {
      g_autofree char *name = bench_user_name (add->prefix, add->next);
      g_autofree char *password = bench_user_password (name);
      g_autofree char *input = g_strconcat (password, "\n", NULL);
      g_autoptr(GSubprocessLauncher) launcher =
        launcher_for (add->server, G_SUBPROCESS_FLAGS_STDIN_PIPE | G_SUBPROCESS_FLAGS_STDOUT_SILENCE |
                                   G_SUBPROCESS_FLAGS_STDERR_PIPE);
      g_autoptr(GPtrArray) args = ctl_argv (add->server, (const char *const []) {
                                              "useradd", "--password-stdin", name, NULL });
      GSubprocess *process = g_subprocess_launcher_spawnv (launcher, (const char *const *) args->pdata,
                                                           &add->error);
      if (process == NULL)
        return;
      add->next++;
      add->running++;
      g_subprocess_communicate_utf8_async (process, input, NULL, useradd_done, add);
    }
}

gboolean
bench_server_add_users (BenchServer *server, const char *prefix, guint n, guint parallel,
                        GError **error)
{
  AddUsers add = { .server = server, .prefix = prefix, .n = n, .parallel = MAX (parallel, 1) };
  start_useradd (&add);
  while (add.running > 0)
    g_main_context_iteration (NULL, TRUE);
  if (add.error == NULL && add.done < n)
    g_set_error (&add.error, G_IO_ERROR, G_IO_ERROR_FAILED, "only %u of %u users added", add.done, n);
  if (add.error != NULL)
    {
      g_propagate_error (error, add.error);
      return FALSE;
    }
  return TRUE;
}

/* ---- the process ---- */

gboolean
bench_proc_sample (gint pid, BenchProcSample *ret_sample, GError **error)
{
  g_autofree char *stat_path = g_strdup_printf ("/proc/%d/stat", pid);
  g_autofree char *status_path = g_strdup_printf ("/proc/%d/status", pid);
  g_autofree char *stat = NULL, *status = NULL;
  if (!g_file_get_contents (stat_path, &stat, NULL, error) ||
      !g_file_get_contents (status_path, &status, NULL, error))
    return FALSE;
  /* after "(comm)": field 3 is the state; utime and stime are fields 14, 15 */
  const char *after = strrchr (stat, ')');
  g_auto(GStrv) fields = after ? g_strsplit (after + 2, " ", 0) : NULL;
  const char *rss = strstr (status, "\nVmRSS:");
  if (fields == NULL || g_strv_length (fields) < 13 || rss == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "cannot read %s", stat_path);
      return FALSE;
    }
  double ticks = (double) sysconf (_SC_CLK_TCK);
  ret_sample->cpu_s = (g_ascii_strtod (fields[11], NULL) + g_ascii_strtod (fields[12], NULL)) / ticks;
  ret_sample->rss_kib = g_ascii_strtoull (rss + strlen ("\nVmRSS:"), NULL, 10);
  return TRUE;
}

static gboolean
make_private_dir (const char *path, GError **error)
{
  if (g_mkdir_with_parents (path, 0700) != 0)
    {
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (errno), "cannot create %s", path);
      return FALSE;
    }
  return TRUE;
}

BenchServer *
bench_server_start (const BenchServerConfig *config, GError **error)
{
  g_autoptr(BenchServer) server = g_new0 (BenchServer, 1);
  server->config = config;
  server->root = g_dir_make_tmp ("chatd-login-bench-XXXXXX", error);
  if (server->root == NULL)
    return NULL;
  server->state_dir = g_build_filename (server->root, "state", NULL);
  server->runtime_dir = g_build_filename (server->root, "run", NULL);
  server->socket_path = g_build_filename (server->runtime_dir, "server.sock", NULL);
  server->log_path = g_build_filename (server->root, "server.log", NULL);
  g_autofree char *config_path = g_build_filename (server->root, "server.conf", NULL);
  g_autofree char *config_text = g_strdup_printf ("[server]\nkdf-memory-kib=%u\nkdf-passes=%u\npow-bits=%u\n%s%s%s",
                                                  config->kdf_memory_kib, config->kdf_passes,
                                                  config->pow_bits, config->user_suite ? "user-suite=" : "",
                                                  config->user_suite ? config->user_suite : "",
                                                  config->user_suite ? "\n" : "");
  if (!make_private_dir (server->state_dir, error) || !make_private_dir (server->runtime_dir, error) ||
      !g_file_set_contents (config_path, config_text, -1, error))
    return NULL;

  g_autoptr(GSubprocessLauncher) launcher = launcher_for (server, G_SUBPROCESS_FLAGS_STDOUT_SILENCE);
  g_subprocess_launcher_set_stderr_file_path (launcher, server->log_path);
  server->process = g_subprocess_launcher_spawnv (launcher, (const char *const []) {
      config->chatd, "--server", "--listen", "127.0.0.1:0", "--config", config_path,
      "--state-dir", server->state_dir, "--socket", server->socket_path,
      "--plugin-dir", config->plugin_dir, NULL }, error);
  if (server->process == NULL)
    return NULL;
  server->pid = (gint) g_ascii_strtoll (g_subprocess_get_identifier (server->process), NULL, 10);

  g_autoptr(JsonNode) status = NULL;
  gint64 deadline = g_get_monotonic_time () + START_WAIT_US;
  for (;;)
    {
      g_autoptr(GError) ctl_error = NULL;
      if (bench_server_ctl (server, (const char *const []) { "status", NULL }, NULL, &status, &ctl_error))
        break;
      if (g_get_monotonic_time () > deadline)
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT,
                       "the server did not answer within 10 s (log: %s): %s", server->log_path,
                       ctl_error->message);
          return NULL;
        }
      g_usleep (50 * 1000);
    }
  JsonNode *listen = NULL;
  if (!status_member (status, "listen", &listen, error) ||
      !bench_server_ctl (server, (const char *const []) { "seed", NULL }, NULL, NULL, error))
    return NULL;
  server->listen = g_strdup (json_node_get_string (listen));
  return g_steal_pointer (&server);
}

static void
wait_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_subprocess_wait_finish (G_SUBPROCESS (source), result, NULL);
  *(gboolean *) user_data = TRUE;
}

/* a crash, a sanitizer report or a critical warning in a node's log */
static gboolean
log_is_clean (const char *what, const char *path, GError **error)
{
  g_autofree char *log = NULL;
  if (!g_file_get_contents (path, &log, NULL, NULL))
    return TRUE;   /* nothing logged */
  if (strstr (log, "Sanitizer") == NULL && strstr (log, "runtime error") == NULL &&
      strstr (log, "CRITICAL") == NULL)
    return TRUE;
  gsize len = strlen (log);
  g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "%s logged a sanitizer report or a critical error (%s):\n%s",
               what, path, log + (len > 4000 ? len - 4000 : 0));
  return FALSE;
}

gboolean
bench_server_stop (BenchServer *server, GError **error)
{
  if (server->process != NULL)
    {
      g_autoptr(GError) ctl_error = NULL;
      if (!bench_server_ctl (server, (const char *const []) { "shutdown", NULL }, NULL, NULL, &ctl_error))
        g_subprocess_force_exit (server->process);
      gboolean exited = FALSE;
      g_subprocess_wait_async (server->process, NULL, wait_done, &exited);
      gint64 deadline = g_get_monotonic_time () + STOP_WAIT_US;
      while (!exited && g_get_monotonic_time () < deadline)
        {
          g_main_context_iteration (NULL, FALSE);
          g_usleep (10 * 1000);
        }
      if (!exited)
        g_subprocess_force_exit (server->process);
      while (!exited)
        g_main_context_iteration (NULL, TRUE);
      g_clear_object (&server->process);
    }
  return log_is_clean ("the server", server->log_path, error);
}

void
bench_server_free (BenchServer *server)
{
  if (server == NULL)
    return;
  bench_server_stop (server, NULL);
  if (server->root != NULL && g_getenv ("LOGIN_BENCH_KEEP") == NULL)
    {
      const char *rm[] = { "rm", "-rf", server->root, NULL };
      g_spawn_sync (NULL, (char **) rm, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, NULL, NULL, NULL, NULL);
    }
  g_free (server->root);
  g_free (server->state_dir);
  g_free (server->runtime_dir);
  g_free (server->socket_path);
  g_free (server->log_path);
  g_free (server->listen);
  g_free (server);
}

/* ---- user nodes ---- */

/* a --daemon node is not our child: it has exited once /proc has no entry
 * for it or shows it as a zombie (its new parent reaps it when it gets to it) */
static gboolean
process_running (gint pid)
{
  g_autofree char *path = g_strdup_printf ("/proc/%d/stat", pid);
  g_autofree char *stat = NULL;
  if (!g_file_get_contents (path, &stat, NULL, NULL))
    return FALSE;
  const char *after = strrchr (stat, ')');
  return after != NULL && after[1] == ' ' && after[2] != 'Z' && after[2] != 'X';
}

BenchUser *
bench_user_start (BenchServer *server, const char *name, const char *password, const char *plugin_path,
                  GError **error)
{
  BenchUser *user = g_new0 (BenchUser, 1);
  user->name = g_strdup (name);
  user->state_dir = g_build_filename (server->root, name, NULL);
  user->socket_path = g_strdup_printf ("%s/%s.sock", server->runtime_dir, name);
  g_autoptr(GSubprocessLauncher) launcher =
    launcher_for (server, G_SUBPROCESS_FLAGS_STDOUT_SILENCE | G_SUBPROCESS_FLAGS_STDERR_PIPE);
  g_subprocess_launcher_setenv (launcher, "CHATD_PASSWORD", password, TRUE);
  if (plugin_path != NULL)
    g_subprocess_launcher_setenv (launcher, "CHATD_PLUGIN_PATH", plugin_path, TRUE);
  g_autoptr(GSubprocess) process = g_subprocess_launcher_spawnv (launcher, (const char *const []) {
      server->config->chatd, "--user", name, "--connect", server->listen, "--listen", "127.0.0.1:0",
      "--daemon", "--wait", "30", "--state-dir", user->state_dir, "--socket", user->socket_path,
      "--plugin-dir", server->config->plugin_dir, NULL }, error);
  g_autofree char *err = NULL;
  g_autoptr(JsonNode) status = NULL;
  JsonNode *pid = NULL;
  if (process == NULL || !g_subprocess_communicate_utf8 (process, NULL, NULL, NULL, &err, error))
    goto fail;
  if (!g_subprocess_get_if_exited (process) || g_subprocess_get_exit_status (process) != 0)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "chatd --user %s did not start: %s", name,
                   err ? g_strstrip (err) : "");
      goto fail;
    }
  if (!bench_ctl_at (server, user->socket_path, (const char *const []) { "status", NULL }, NULL, &status, error) ||
      !status_member (status, "pid", &pid, error))
    goto fail;
  user->pid = (gint) json_node_get_int (pid);
  return user;

fail:
  g_prefix_error (error, "user node %s: ", name);
  bench_user_stop (server, user, NULL);
  return NULL;
}

gboolean
bench_user_stop (BenchServer *server, BenchUser *user, GError **error)
{
  if (user == NULL)
    return TRUE;
  if (user->pid > 0 &&
      bench_ctl_at (server, user->socket_path, (const char *const []) { "shutdown", NULL }, NULL, NULL, NULL))
    {
      gint64 deadline = g_get_monotonic_time () + STOP_WAIT_US;
      while (process_running (user->pid) && g_get_monotonic_time () < deadline)
        g_usleep (10 * 1000);
      if (process_running (user->pid))
        kill (user->pid, SIGKILL);
    }
  g_autofree char *what = g_strdup_printf ("user node %s", user->name);
  g_autofree char *log_path = g_build_filename (user->state_dir, "chatd.log", NULL);
  gboolean clean = log_is_clean (what, log_path, error);
  g_free (user->name);
  g_free (user->state_dir);
  g_free (user->socket_path);
  g_free (user);
  return clean;
}
