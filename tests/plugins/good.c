/* good.c: a well-formed test plugin that adds the command "test-good". */
#include <chatd/chatd-plugin.h>
#include <gmodule.h>

static void
good_run (const ChatdHost *host, ChatdCall *call, GVariant *args)
{
  host->call_return (call, g_variant_new_array (G_VARIANT_TYPE ("{sv}"), NULL, 0));
}

static const ChatdCommand good_command = {
  .name = "test-good", .summary = "a test command", .roles = CHATD_ROLE_ANY, .run = good_run,
};

static gboolean
good_register (const ChatdHost *host, ChatdPlugin *plugin, GError **error)
{
  return host->add_command (plugin, &good_command, error);
}

CHATD_PLUGIN_DEFINE (good_register)
