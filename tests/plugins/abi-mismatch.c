/* abi-mismatch.c: a plugin built for another ABI version. */
#include <chatd/chatd-plugin.h>
#include <gmodule.h>

G_MODULE_EXPORT const guint32 chatd_plugin_abi_version = CHATD_PLUGIN_ABI_VERSION + 41;
G_MODULE_EXPORT gboolean chatd_plugin_register (const ChatdHost *host, ChatdPlugin *plugin, GError **error);

gboolean
chatd_plugin_register (const ChatdHost *host, ChatdPlugin *plugin, GError **error)
{
  g_error ("the loader must not call a plugin of another ABI");
  return FALSE;
}
