/* status.c: `status`: role, node name, uptime, version, plugins. */
#include "cmd-core.h"

static void
status_run (const ChatdHost *host, ChatdCall *call, GVariant *args)
{
  host->call_return (call, host->node_status (host));
}

static char *
status_render (GVariant *value)
{
  static const char *const keys[] = {
    "node", "role", "version", "pid", "started", "uptime", "plugins", "socket",
    "state-dir", "listen", "online", "server-key", "login", "server", "advertise", "peer-sessions", NULL };
  g_autofree char *fields = cmd_core_render_fields (value, keys);
  /* a user node: the peers it has a forward-secret session with */
  g_autoptr(GVariant) sessions = g_variant_lookup_value (value, "sessions", G_VARIANT_TYPE ("aa{sv}"));
  if (sessions == NULL)
    return g_steal_pointer (&fields);
  GString *out = g_string_new (fields);
  g_string_append_printf (out, "\n%-10s ", "sessions");
  guint shown = 0;
  gsize n = g_variant_n_children (sessions);
  for (gsize i = 0; i < n; i++)
    {
      g_autoptr(GVariant) s = g_variant_get_child_value (sessions, i);
      const char *peer = "";
      gboolean up = FALSE;
      guint64 sent = 0, received = 0;
      g_variant_lookup (s, "peer", "&s", &peer);
      g_variant_lookup (s, "session", "b", &up);
      g_variant_lookup (s, "sent", "t", &sent);
      g_variant_lookup (s, "received", "t", &received);
      if (!up)
        continue;
      g_string_append_printf (out, "%s%s (%" G_GUINT64_FORMAT " sent, %" G_GUINT64_FORMAT " received)",
                              shown++ ? ", " : "", peer, sent, received);
    }
  if (shown == 0)
    g_string_append (out, "none");
  return g_string_free (out, FALSE);
}

const ChatdCommand chatd_cmd_status = {
  .name = "status",
  .summary = "Show the node's role, name, version, uptime and state",
  .roles = CHATD_ROLE_ANY,
  .run = status_run,
  .render = status_render,
};
