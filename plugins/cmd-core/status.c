/* status.c: `status`: role, node name, uptime, version, plugins. */
#include "cmd-core.h"

static void
status_run (const ChatdHost *host, ChatdCall *call, GVariant *args)
{
  host->call_return (call, host->node_status (host));
}

static char *
status_render (GVariant *value)
{
  static const char *const keys[] = {
    "node", "role", "version", "pid", "started", "uptime", "plugins", "socket",
    "state-dir", "listen", "online", "server-key", "login", "server", "advertise", NULL };
  return cmd_core_render_fields (value, keys);
}

const ChatdCommand chatd_cmd_status = {
  .name = "status",
  .summary = "Show the node's role, name, version, uptime and state",
  .roles = CHATD_ROLE_ANY,
  .run = status_run,
  .render = status_render,
};
