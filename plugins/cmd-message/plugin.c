/* plugin.c: cmd-message registers the messaging commands. */
#include "cmd-message.h"

#include <gmodule.h>

static const ChatdCommand *const message_commands[] = { &chatd_cmd_send, &chatd_cmd_recv, &chatd_cmd_verify,
                                                         &chatd_cmd_outbox };

static gboolean
cmd_message_register (const ChatdHost *host, ChatdPlugin *plugin, GError **error)
{
  for (guint i = 0; i < G_N_ELEMENTS (message_commands); i++)
    if (!host->add_command (plugin, message_commands[i], error))
      return FALSE;
  return TRUE;
}

CHATD_PLUGIN_DEFINE (cmd_message_register)

const ChatdMessagingService *
cmd_message_service (const ChatdHost *host, ChatdCall *call)
{
  const ChatdMessagingService *service = host->get_service (host, CHATD_SERVICE_MESSAGING);
  if (service == NULL)
    {
      g_autoptr(GError) error = g_error_new (CHATD_ERROR, CHATD_ERROR_NOT_SUPPORTED,
                                             "this node does not do messaging");
      host->call_fail (call, error);
    }
  return service;
}

char *
cmd_message_render_one (GVariant *message)
{
  const char *time = "", *from = "", *text = "";
  g_variant_lookup (message, "time", "&s", &time);
  g_variant_lookup (message, "from", "&s", &from);
  g_variant_lookup (message, "text", "&s", &text);
  return g_strdup_printf ("[%s] %s: %s", time, from, text);
}
