/* recv.c: `recv [--since ID] [--from USER] [--follow]`: the stored messages
 * in arrival order; with --follow, then every new one as it arrives. */
#include "cmd-message.h"

static void
recv_run (const ChatdHost *host, ChatdCall *call, GVariant *args)
{
  const ChatdMessagingService *service = cmd_message_service (host, call);
  const char *since = NULL, *from = NULL;
  gboolean follow = FALSE;
  g_variant_lookup (args, "since", "&s", &since);
  g_variant_lookup (args, "from", "&s", &from);
  g_variant_lookup (args, "follow", "b", &follow);
  if (service != NULL)
    service->recv (host, call, since, from, follow);
}

static char *
recv_render (GVariant *value)
{
  if (g_variant_is_of_type (value, G_VARIANT_TYPE_VARDICT))
    return g_variant_lookup (value, "text", "&s", NULL) ? cmd_message_render_one (value) : g_strdup ("");
  GString *out = g_string_new (NULL);
  gsize n = g_variant_n_children (value);
  for (gsize i = 0; i < n; i++)
    {
      g_autoptr(GVariant) item = g_variant_get_child_value (value, i);
      g_autofree char *line = cmd_message_render_one (item);
      g_string_append_printf (out, "%s%s", i ? "\n" : "", line);
    }
  return g_string_free (out, FALSE);
}

static const ChatdOption recv_options[] = {
  { "since", CHATD_TYPE_STRING, "ID", "only messages that arrived after message ID" },
  { "from", CHATD_TYPE_STRING, "USER", "only messages from USER" },
  { "follow", CHATD_TYPE_BOOL, NULL, "then print new messages as they arrive (until interrupted)" },
  { NULL }
};

const ChatdCommand chatd_cmd_recv = {
  .name = "recv",
  .summary = "Show received messages in arrival order (--follow: and new ones as they come)",
  .roles = CHATD_ROLE_USER,
  .options = recv_options,
  .flags = CHATD_COMMAND_STREAMING,
  .stream_option = "follow",
  .run = recv_run,
  .render = recv_render,
};
