/* send.c: `send USER[,USER...] [MESSAGE...]`: end to end, directly to each
 * recipient's node; returns once each has stored it and signed a receipt. */
#include "cmd-message.h"

static void
send_run (const ChatdHost *host, ChatdCall *call, GVariant *args)
{
  const ChatdMessagingService *service = cmd_message_service (host, call);
  const char *to = NULL, *text = "";
  g_variant_lookup (args, "user", "&s", &to);
  g_variant_lookup (args, "message", "&s", &text);
  if (service != NULL)
    service->send (host, call, to, text);
}

static char *
send_render (GVariant *value)
{
  GString *out = g_string_new (NULL);
  gsize n = g_variant_n_children (value);
  for (gsize i = 0; i < n; i++)
    {
      g_autoptr(GVariant) item = g_variant_get_child_value (value, i);
      const char *to = "", *id = "", *status = "";
      g_variant_lookup (item, "to", "&s", &to);
      g_variant_lookup (item, "id", "&s", &id);
      g_variant_lookup (item, "status", "&s", &status);
      g_string_append_printf (out, "%s%s %s%s%s", i ? "\n" : "", status, id, n > 1 ? " to " : "", n > 1 ? to : "");
      const char *warning = NULL;
      if (g_variant_lookup (item, "warning", "&s", &warning))
        g_string_append_printf (out, "\nwarning: %s", warning);
    }
  return g_string_free (out, FALSE);
}

static const ChatdArgument send_arguments[] = {
  { "user", CHATD_TYPE_STRING, "the recipient, or several separated by commas", CHATD_ARG_REQUIRED },
  { "message", CHATD_TYPE_STRING, "the text (UTF-8, at most 1 MiB); '-' or nothing reads standard input",
    CHATD_ARG_OPTIONAL | CHATD_ARG_REST | CHATD_ARG_STDIN },
  { NULL }
};

const ChatdCommand chatd_cmd_send = {
  .name = "send",
  .summary = "Send a message, end to end, to one or more users",
  .roles = CHATD_ROLE_USER,
  .arguments = send_arguments,
  .run = send_run,
  .render = send_render,
};
