/* chat-net.c: a server and user nodes for integration tests. */
#include "chat-net.h"

#include <signal.h>
#include <string.h>

JsonNode *
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

char *
status_field (TestNode *node, const char *field)
{
  g_autoptr(JsonNode) root = json_of (node, CHATD_ARGS ("status"));
  JsonObject *o = json_node_get_object (root);
  return json_object_has_member (o, field) ? g_strdup (json_object_get_string_member (o, field)) : NULL;
}

gint64
stats_counter (TestNode *node, const char *name)
{
  g_autoptr(JsonNode) root = json_of (node, CHATD_ARGS ("stats"));
  JsonObject *o = json_node_get_object (root);
  return json_object_has_member (o, name) ? json_object_get_int_member (o, name) : -1;
}

guint
outbox_length (TestNode *node, const char *state)
{
  g_autoptr(JsonNode) root = json_of (node, CHATD_ARGS ("outbox"));
  JsonArray *a = json_node_get_array (root);
  guint n = 0;
  for (guint i = 0; i < json_array_get_length (a); i++)
    if (state == NULL || g_strcmp0 (json_object_get_string_member (json_array_get_object_element (a, i), "state"),
                                    state) == 0)
      n++;
  return n;
}

gboolean
outbox_empty (TestNode *node, const char *unused)
{
  return outbox_length (node, NULL) == 0;
}

gboolean
inbox_has (TestNode *node, const char *text)
{
  g_autoptr(JsonNode) root = json_of (node, CHATD_ARGS ("recv"));
  JsonArray *a = json_node_get_array (root);
  for (guint i = 0; i < json_array_get_length (a); i++)
    if (g_strcmp0 (json_object_get_string_member (json_array_get_object_element (a, i), "text"), text) == 0)
      return TRUE;
  return FALSE;
}

gboolean
list_has (TestNode *node, const char *name)
{
  g_autoptr(JsonNode) root = json_of (node, CHATD_ARGS ("list"));
  JsonArray *a = json_node_get_array (root);
  for (guint i = 0; i < json_array_get_length (a); i++)
    if (g_strcmp0 (json_object_get_string_member (json_array_get_object_element (a, i), "name"), name) == 0)
      return TRUE;
  return FALSE;
}

void
net_start (Net *net)
{
  net_start_with (net, "");
}

void
net_start_with (Net *net, const char *server_options)
{
  net->server = test_node_new ();
  net->users = g_ptr_array_new_with_free_func ((GDestroyNotify) test_node_free);
  g_autofree char *config = g_build_filename (net->server->root, "server.conf", NULL);
  g_autofree char *text = g_strconcat (SERVER_CONFIG, server_options, NULL);
  g_assert_true (g_file_set_contents (config, text, -1, NULL));
  test_node_start_server (net->server, CHATD_ARGS ("--config", config));
  g_autofree char *out = NULL;
  g_assert_cmpint (test_run_chatctl (net->server, CHATD_ARGS ("seed"), &out, NULL), ==, 0);
  g_autofree char *listen = status_field (net->server, "listen");
  g_assert_nonnull (listen);
  net->connect = g_steal_pointer (&listen);
}

void
net_stop (Net *net)
{
  g_ptr_array_unref (net->users);   /* each shut down by test_node_free */
  test_node_free (net->server);
  g_free (net->connect);
}

/* starts a user node with --daemon; returns its exit status, stderr in ret_err */
int
start_user (Net *net, TestNode *node, const char *user, const char *password,
            const char *const *extra, char **ret_err)
{
  g_autoptr(GSubprocessLauncher) launcher = test_node_launcher (node);
  g_subprocess_launcher_setenv (launcher, "CHATD_PASSWORD", password, TRUE);
  /* a test that wants a plugin from outside the build's plugin directory
   * (bench-load) names it here; the harness clears CHATD_PLUGIN_PATH */
  if (g_getenv ("CHAT_NET_PLUGIN_PATH") != NULL)
    g_subprocess_launcher_setenv (launcher, "CHATD_PLUGIN_PATH", g_getenv ("CHAT_NET_PLUGIN_PATH"), TRUE);
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
  if (err != NULL && (strstr (err, "Sanitizer") != NULL || strstr (err, "runtime error") != NULL))
    g_error ("chatd --user %s wrote a sanitizer report:\n%s", user, err);
  if (ret_err != NULL)
    *ret_err = g_steal_pointer (&err);
  return g_subprocess_get_exit_status (p);
}

/* names compare case-insensitively */
static gboolean
listed_any_case (TestNode *node, const char *name)
{
  g_autoptr(JsonNode) root = json_of (node, CHATD_ARGS ("list"));
  JsonArray *a = json_node_get_array (root);
  for (guint i = 0; i < json_array_get_length (a); i++)
    if (g_ascii_strcasecmp (json_object_get_string_member (json_array_get_object_element (a, i), "name"), name) == 0)
      return TRUE;
  return FALSE;
}

/* the demo users' passwords are their names as seeded */
TestNode *
login (Net *net, const char *user)
{
  TestNode *node = test_node_new ();
  g_autofree char *password = g_strdup (user);
  password[0] = g_ascii_toupper (password[0]);
  g_assert_cmpint (start_user (net, node, user, password, NULL, NULL), ==, 0);
  g_ptr_array_add (net->users, node);
  /* listed (the server has its address): a send to it now goes directly,
   * not through the offline queue */
  g_assert_true (wait_until (net->server, listed_any_case, user, 10));
  return node;
}

gboolean
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

gboolean
reachable (TestNode *node, const char *name)
{
  g_autoptr(JsonNode) root = json_of (node, CHATD_ARGS ("list"));
  JsonArray *a = json_node_get_array (root);
  for (guint i = 0; i < json_array_get_length (a); i++)
    {
      JsonObject *o = json_array_get_object_element (a, i);
      if (g_ascii_strcasecmp (json_object_get_string_member (o, "name"), name) == 0)
        return json_object_get_string_member (o, "address")[0] != '\0';
    }
  return FALSE;
}

gboolean
not_listed (TestNode *node, const char *name)
{
  return !list_has (node, name);
}

gboolean
login_state_is (TestNode *node, const char *state)
{
  g_autofree char *s = status_field (node, "login-state");
  return g_strcmp0 (s, state) == 0;
}

pid_t
node_pid (TestNode *node)
{
  g_autoptr(JsonNode) root = json_of (node, CHATD_ARGS ("status"));
  return (pid_t) json_object_get_int_member (json_node_get_object (root), "pid");
}

