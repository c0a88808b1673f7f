/* users.c: `users` on a user node: the directory, from the server's signed
 * key records (a server node has its own `users`, in cmd-server). */
#include "cmd-session.h"

static void
users_run (const ChatdHost *host, ChatdCall *call, GVariant *args)
{
  const ChatdSessionService *service = cmd_session_service (host, call);
  if (service != NULL)
    service->users (host, call);
}

static char *
users_render (GVariant *value)
{
  GString *out = g_string_new (NULL);
  gsize n = g_variant_n_children (value);
  for (gsize i = 0; i < n; i++)
    {
      g_autoptr(GVariant) item = g_variant_get_child_value (value, i);
      const char *name = "", *suite = "", *fingerprint = "";
      g_variant_lookup (item, "name", "&s", &name);
      g_variant_lookup (item, "suite", "&s", &suite);
      g_variant_lookup (item, "fingerprint", "&s", &fingerprint);
      g_string_append_printf (out, "%s%-12s %-6s %s", i ? "\n" : "", name, suite, fingerprint);
    }
  return g_string_free (out, FALSE);
}

const ChatdCommand chatd_cmd_user_users = {
  .name = "users",
  .summary = "Show the registered users with their suites and key fingerprints",
  .roles = CHATD_ROLE_USER,
  .run = users_run,
  .render = users_render,
};
