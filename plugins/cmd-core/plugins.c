/* plugins.c: `plugins`: the loaded plugins, their files and what they provide. */
#include "cmd-core.h"

static void
plugins_run (const ChatdHost *host, ChatdCall *call, GVariant *args)
{
  host->call_return (call, host->list_plugins (host));
}

static char *
plugins_render (GVariant *value)
{
  GString *out = g_string_new (NULL);
  gsize n = g_variant_n_children (value);
  for (gsize i = 0; i < n; i++)
    {
      g_autoptr(GVariant) item = g_variant_get_child_value (value, i);
      const char *name = "", *kind = "", *file = "";
      g_autofree const char **provides = NULL;
      g_variant_lookup (item, "name", "&s", &name);
      g_variant_lookup (item, "kind", "&s", &kind);
      g_variant_lookup (item, "file", "&s", &file);
      g_variant_lookup (item, "provides", "^a&s", &provides);
      g_autofree char *joined = provides ? g_strjoinv (", ", (char **) provides) : g_strdup ("");
      g_string_append_printf (out, "%s%-14s %-9s %s\n  provides: %s", i ? "\n" : "",
                              name, kind, file, joined);
    }
  return g_string_free (out, FALSE);
}

const ChatdCommand chatd_cmd_plugins = {
  .name = "plugins",
  .summary = "List the loaded plugins: name, kind, file and what each provides",
  .roles = CHATD_ROLE_ANY,
  .run = plugins_run,
  .render = plugins_render,
};
