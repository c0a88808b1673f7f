/* plugin.c: cmd-server registers the directory commands of the server role. */
#include "cmd-server.h"

#include <gmodule.h>

static const ChatdCommand *const server_commands[] = {
  &chatd_cmd_seed, &chatd_cmd_useradd, &chatd_cmd_userdel, &chatd_cmd_users,
};

static gboolean
cmd_server_register (const ChatdHost *host, ChatdPlugin *plugin, GError **error)
{
  for (guint i = 0; i < G_N_ELEMENTS (server_commands); i++)
    if (!host->add_command (plugin, server_commands[i], error))
      return FALSE;
  return TRUE;
}

CHATD_PLUGIN_DEFINE (cmd_server_register)

const ChatdDirectoryService *
cmd_server_directory (const ChatdHost *host, ChatdCall *call)
{
  const ChatdDirectoryService *directory = host->size > G_STRUCT_OFFSET (ChatdHost, get_service)
    ? host->get_service (host, CHATD_SERVICE_DIRECTORY) : NULL;
  if (directory == NULL || directory->size < sizeof (ChatdDirectoryService))
    {
      g_autoptr(GError) error = g_error_new (CHATD_ERROR, CHATD_ERROR_NOT_SUPPORTED,
                                             "this node has no user directory (run it with chatd --server)");
      host->call_fail (call, error);
      return NULL;
    }
  return directory;
}

void
cmd_server_finish (const ChatdHost *host, ChatdCall *call, GVariant *result, GError *error)
{
  if (result == NULL)
    {
      host->call_fail (call, error);
      g_clear_error (&error);
      return;
    }
  host->call_return (call, result);
}

CmdServerPending *
cmd_server_pending_new (const ChatdHost *host, ChatdCall *call,
                        const ChatdDirectoryService *directory)
{
  CmdServerPending *pending = g_new0 (CmdServerPending, 1);
  pending->host = host;
  pending->call = call;
  pending->directory = directory;
  return pending;
}
