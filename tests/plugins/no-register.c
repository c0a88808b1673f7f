/* no-register.c: has the ABI symbol but no register function. */
#include <chatd/chatd-plugin.h>
#include <gmodule.h>

G_MODULE_EXPORT const guint32 chatd_plugin_abi_version = CHATD_PLUGIN_ABI_VERSION;
