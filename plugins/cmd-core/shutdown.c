/* shutdown.c: `shutdown`: stop the node cleanly. */
#include "cmd-core.h"

static void
shutdown_run (const ChatdHost *host, ChatdCall *call, GVariant *args)
{
  /* the reply goes out before the main loop stops */
  host->request_shutdown (host);
  g_auto(GVariantBuilder) b = G_VARIANT_BUILDER_INIT (G_VARIANT_TYPE_VARDICT);
  g_variant_builder_add (&b, "{sv}", "status", g_variant_new_string ("shutting down"));
  host->call_return (call, g_variant_builder_end (&b));
}

static char *
shutdown_render (GVariant *value)
{
  return g_strdup ("node shutting down");
}

const ChatdCommand chatd_cmd_shutdown = {
  .name = "shutdown",
  .summary = "Stop the node cleanly",
  .roles = CHATD_ROLE_ANY,
  .run = shutdown_run,
  .render = shutdown_render,
};
