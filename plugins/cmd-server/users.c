/* users.c: `users`: the registered users with suite and fingerprint, and
 * pending enrolments. */
#include "cmd-server.h"

static void
users_run (const ChatdHost *host, ChatdCall *call, GVariant *args)
{
  const ChatdDirectoryService *directory = cmd_server_directory (host, call);
  if (directory == NULL)
    return;
  GError *error = NULL;
  GVariant *users = directory->list_users (host, &error);
  cmd_server_finish (host, call, users, error);
}

static char *
users_render (GVariant *users)
{
  gsize n = g_variant_n_children (users);
  if (n == 0)
    return g_strdup ("no users (chatctl seed makes the demo users, chatctl useradd NAME adds one)");
  GString *out = g_string_new (NULL);
  for (gsize i = 0; i < n; i++)
    {
      g_autoptr(GVariant) user = g_variant_get_child_value (users, i);
      const char *name = "", *suite = "", *fingerprint = "", *status = "", *expires = "";
      g_variant_lookup (user, "name", "&s", &name);
      g_variant_lookup (user, "suite", "&s", &suite);
      g_variant_lookup (user, "fingerprint", "&s", &fingerprint);
      g_variant_lookup (user, "status", "&s", &status);
      g_variant_lookup (user, "expires", "&s", &expires);
      if (i > 0)
        g_string_append_c (out, '\n');
      if (g_str_equal (status, "pending"))
        g_string_append_printf (out, "%-16s pending enrolment until %s", name, expires);
      else
        g_string_append_printf (out, "%-16s %-8s %s", name, suite, fingerprint);
    }
  return g_string_free (out, FALSE);
}

const ChatdCommand chatd_cmd_users = {
  .name = "users",
  .summary = "List the registered users with their suite and key fingerprint",
  .roles = CHATD_ROLE_SERVER,
  .run = users_run,
  .render = users_render,
};
