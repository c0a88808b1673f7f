/* list.c: `list`: who is online (a server: its presence table; a user node:
 * the server's signed list). */
#include "cmd-session.h"

static void
list_run (const ChatdHost *host, ChatdCall *call, GVariant *args)
{
  const ChatdSessionService *service = cmd_session_service (host, call);
  if (service != NULL)
    service->list (host, call);
}

static char *
list_render (GVariant *value)
{
  gsize n = g_variant_n_children (value);
  if (n == 0)
    return g_strdup ("nobody is online");
  GString *out = g_string_new (NULL);
  for (gsize i = 0; i < n; i++)
    {
      g_autoptr(GVariant) item = g_variant_get_child_value (value, i);
      const char *name = "", *address = "", *suite = "", *since = "";
      g_variant_lookup (item, "name", "&s", &name);
      g_variant_lookup (item, "address", "&s", &address);
      g_variant_lookup (item, "suite", "&s", &suite);
      g_variant_lookup (item, "since", "&s", &since);
      gboolean session = FALSE;
      g_variant_lookup (item, "session", "b", &session);
      g_string_append_printf (out, "%s%-12s %-22s %-6s since %s%s", i ? "\n" : "", name, address, suite, since,
                              session ? "  (forward-secret session)" : "");
    }
  return g_string_free (out, FALSE);
}

const ChatdCommand chatd_cmd_list = {
  .name = "list",
  .summary = "Show who is online: name, address, suite, since when, and whether this node has a peer session with them",
  .roles = CHATD_ROLE_ANY,
  .run = list_run,
  .render = list_render,
};
