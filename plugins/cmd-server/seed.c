/* seed.c: `seed [--force]`: the server key if absent and the origin's demo
 * users Alice, Bob, Charlie and Eve (passwords equal to their names). */
#include "cmd-server.h"

static void
seed_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autofree CmdServerPending *pending = user_data;
  GError *error = NULL;
  GVariant *report = pending->directory->seed_finish (pending->host, result, &error);
  cmd_server_finish (pending->host, pending->call, report, error);
}

static void
seed_run (const ChatdHost *host, ChatdCall *call, GVariant *args)
{
  const ChatdDirectoryService *directory = cmd_server_directory (host, call);
  gboolean force = FALSE;
  if (directory == NULL)
    return;
  g_variant_lookup (args, "force", "b", &force);
  directory->seed (host, force, seed_done, cmd_server_pending_new (host, call, directory));
}

static void
append_names (GString *out, GVariant *report, const char *key, const char *label)
{
  g_autofree const char **names = NULL;
  if (!g_variant_lookup (report, key, "^a&s", &names) || names == NULL || names[0] == NULL)
    return;
  g_autofree char *joined = g_strjoinv (", ", (char **) names);
  g_string_append_printf (out, "\nusers %s: %s", label, joined);
}

static char *
seed_render (GVariant *report)
{
  const char *server_key = "", *fingerprint = "";
  g_variant_lookup (report, "server-key", "&s", &server_key);
  g_variant_lookup (report, "server-fingerprint", "&s", &fingerprint);
  GString *out = g_string_new (NULL);
  g_string_append_printf (out, "server key %s: %s", server_key, fingerprint);
  append_names (out, report, "created", "created");
  append_names (out, report, "kept", "kept (seed --force replaces them)");
  append_names (out, report, "replaced", "replaced");
  return g_string_free (out, FALSE);
}

static const ChatdOption seed_options[] = {
  { "force", CHATD_TYPE_BOOL, NULL, "replace the demo users if they exist (never the server key)" },
  { NULL }
};

const ChatdCommand chatd_cmd_seed = {
  .name = "seed",
  .summary = "Create the server key if absent and the demo users Alice, Bob, Charlie and Eve",
  .roles = CHATD_ROLE_SERVER,
  .options = seed_options,
  .run = seed_run,
  .render = seed_render,
};
