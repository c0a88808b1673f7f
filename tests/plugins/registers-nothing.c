/* registers-nothing.c: a register function that adds nothing. */
#include <chatd/chatd-plugin.h>
#include <gmodule.h>

static gboolean
nothing_register (const ChatdHost *host, ChatdPlugin *plugin, GError **error)
{
  return TRUE;
}

CHATD_PLUGIN_DEFINE (nothing_register)
