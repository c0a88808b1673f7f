/* outbox.c: `outbox`: the messages sent and not yet stored by their
 * recipient: "sending" (resent after a restart) or "queued" at the server. */
#include "cmd-message.h"

static void
outbox_run (const ChatdHost *host, ChatdCall *call, GVariant *args)
{
  const ChatdMessagingService *service = cmd_message_service (host, call);
  if (service == NULL)
    return;
  if (service->outbox == NULL)
    {
      g_autoptr(GError) error = g_error_new (CHATD_ERROR, CHATD_ERROR_NOT_SUPPORTED,
                                             "this node has no outbox");
      host->call_fail (call, error);
      return;
    }
  service->outbox (host, call);
}

static char *
outbox_render (GVariant *value)
{
  GString *out = g_string_new (NULL);
  gsize n = g_variant_n_children (value);
  for (gsize i = 0; i < n; i++)
    {
      g_autoptr(GVariant) item = g_variant_get_child_value (value, i);
      const char *id = "", *to = "", *time = "", *state = "";
      g_variant_lookup (item, "id", "&s", &id);
      g_variant_lookup (item, "to", "&s", &to);
      g_variant_lookup (item, "time", "&s", &time);
      g_variant_lookup (item, "state", "&s", &state);
      g_string_append_printf (out, "%s[%s] %s to %s: %s", i ? "\n" : "", time, id, to, state);
    }
  return g_string_free (out, FALSE);
}

const ChatdCommand chatd_cmd_outbox = {
  .name = "outbox",
  .summary = "Show sent messages not yet stored by their recipient (sending, or queued at the server)",
  .roles = CHATD_ROLE_USER,
  .run = outbox_run,
  .render = outbox_render,
};
