/* counter-at-register.c: tries to add a counter inside its register
 * function; that is refused (the module would be unloaded with the counter
 * still pointing into it), so the plugin is refused as a whole. */
#include <chatd/chatd-plugin.h>
#include <gmodule.h>

static guint64 count;

static guint64
read_count (gpointer user_data)
{
  return count;
}

static void
noop_run (const ChatdHost *host, ChatdCall *call, GVariant *args)
{
  host->call_return (call, g_variant_new_array (G_VARIANT_TYPE ("{sv}"), NULL, 0));
}

static const ChatdCommand counted = {
  .name = "test-counted", .summary = "s", .roles = CHATD_ROLE_ANY, .run = noop_run,
};

static gboolean
counter_register (const ChatdHost *host, ChatdPlugin *plugin, GError **error)
{
  return host->add_command (plugin, &counted, error) &&
         host->add_counter (host, "test.count", read_count, NULL, error);
}

CHATD_PLUGIN_DEFINE (counter_register)
