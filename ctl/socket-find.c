/* socket-find.c: which node chatctl talks to. */
#include "socket-find.h"
#include "paths.h"

#include <string.h>

G_DEFINE_QUARK (chatctl-find-error-quark, chatctl_find_error)

/* NODE is a user name or "server": never a path */
static char *
node_socket_path (const char *node, const char *origin, GError **error)
{
  gboolean ok = node[0] != '\0' && strlen (node) <= 32 && g_ascii_isalnum (node[0]);
  for (const char *p = node; ok && *p != '\0'; p++)
    ok = g_ascii_isalnum (*p) || *p == '_' || *p == '.' || *p == '-';
  if (!ok || strstr (node, "..") != NULL)
    {
      g_set_error (error, CHATCTL_FIND_ERROR, CHATCTL_FIND_AMBIGUOUS,
                   "%s: '%s' is not a node name (a user name or 'server')", origin, node);
      return NULL;
    }
  return chatd_default_socket_path (node);
}

char *
chatctl_find_socket (const char *socket_option, const char *node_option, GError **error)
{
  if (socket_option != NULL)
    return g_strdup (socket_option);
  if (node_option != NULL)
    return node_socket_path (node_option, "--node", error);
  const char *env = g_getenv ("CHATD_SOCKET");
  if (env != NULL && env[0] != '\0')
    return g_strdup (env);
  env = g_getenv ("CHATD_NODE");
  if (env != NULL && env[0] != '\0')
    return node_socket_path (env, "CHATD_NODE", error);

  g_autofree char *dir_path = chatd_default_socket_dir ();
  g_autoptr(GDir) dir = g_dir_open (dir_path, 0, NULL);
  g_autoptr(GPtrArray) live = g_ptr_array_new_with_free_func (g_free);
  const char *name;
  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    {
      if (!g_str_has_suffix (name, ".sock"))
        continue;
      g_autofree char *path = g_build_filename (dir_path, name, NULL);
      if (chatd_unix_socket_answers (path))
        g_ptr_array_add (live, g_steal_pointer (&path));
    }
  if (live->len == 1)
    return g_strdup (g_ptr_array_index (live, 0));
  if (live->len == 0)
    {
      g_set_error (error, CHATCTL_FIND_ERROR, CHATCTL_FIND_NONE,
                   "no chatd node of yours is running (looked in %s); start one, "
                   "or name it with --node NAME or --socket PATH", dir_path);
      return NULL;
    }
  g_autoptr(GString) names = g_string_new (NULL);
  for (guint i = 0; i < live->len; i++)
    {
      g_autofree char *base = g_path_get_basename (g_ptr_array_index (live, i));
      base[strlen (base) - strlen (".sock")] = '\0';
      g_string_append_printf (names, "%s%s", i ? ", " : "", base);
    }
  g_set_error (error, CHATCTL_FIND_ERROR, CHATCTL_FIND_AMBIGUOUS,
               "several nodes are running (%s): choose one with --node NAME", names->str);
  return NULL;
}
