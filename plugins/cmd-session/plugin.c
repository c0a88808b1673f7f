/* plugin.c: cmd-session registers the session commands. */
#include "cmd-session.h"

#include <gmodule.h>

static const ChatdCommand *const session_commands[] = {
  &chatd_cmd_list, &chatd_cmd_user_users, &chatd_cmd_logout, &chatd_cmd_passwd,
};

static gboolean
cmd_session_register (const ChatdHost *host, ChatdPlugin *plugin, GError **error)
{
  for (guint i = 0; i < G_N_ELEMENTS (session_commands); i++)
    if (!host->add_command (plugin, session_commands[i], error))
      return FALSE;
  return TRUE;
}

CHATD_PLUGIN_DEFINE (cmd_session_register)

const ChatdSessionService *
cmd_session_service (const ChatdHost *host, ChatdCall *call)
{
  const ChatdSessionService *service = host->get_service (host, CHATD_SERVICE_SESSION);
  if (service == NULL)
    {
      g_autoptr(GError) error = g_error_new (CHATD_ERROR, CHATD_ERROR_NOT_SUPPORTED,
                                             "this node has no session service");
      host->call_fail (call, error);
    }
  return service;
}
