/* duplicate-help.c: adds a command "test-extra", then a second "help" (which
 * cmd-core already provides): the whole plugin must be refused and its
 * "test-extra" withdrawn. */
#include <chatd/chatd-plugin.h>
#include <gmodule.h>

static void
dup_run (const ChatdHost *host, ChatdCall *call, GVariant *args)
{
  host->call_return (call, g_variant_new_array (G_VARIANT_TYPE ("{sv}"), NULL, 0));
}

static const ChatdCommand extra_command = {
  .name = "test-extra", .summary = "withdrawn with its plugin", .roles = CHATD_ROLE_ANY, .run = dup_run,
};
static const ChatdCommand help_again = {
  .name = "help", .summary = "a second help", .roles = CHATD_ROLE_ANY, .run = dup_run,
};

static gboolean
dup_register (const ChatdHost *host, ChatdPlugin *plugin, GError **error)
{
  return host->add_command (plugin, &extra_command, error) &&
         host->add_command (plugin, &help_again, error);
}

CHATD_PLUGIN_DEFINE (dup_register)
