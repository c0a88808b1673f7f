/* plugin.c: cmd-core registers the core commands. */
#include "cmd-core.h"

#include <gmodule.h>

static const ChatdCommand *const core_commands[] = {
  &chatd_cmd_help, &chatd_cmd_plugins, &chatd_cmd_status,
  &chatd_cmd_stats, &chatd_cmd_shutdown, &chatd_cmd_events,
};

static gboolean
cmd_core_register (const ChatdHost *host, ChatdPlugin *plugin, GError **error)
{
  for (guint i = 0; i < G_N_ELEMENTS (core_commands); i++)
    if (!host->add_command (plugin, core_commands[i], error))
      return FALSE;
  return TRUE;
}

CHATD_PLUGIN_DEFINE (cmd_core_register)

char *
cmd_core_render_fields (GVariant *dict, const char *const *keys)
{
  GString *out = g_string_new (NULL);
  for (guint i = 0; keys[i] != NULL; i++)
    {
      g_autoptr(GVariant) value = g_variant_lookup_value (dict, keys[i], NULL);
      if (value == NULL)
        continue;
      if (out->len > 0)
        g_string_append_c (out, '\n');
      g_string_append_printf (out, "%-10s ", keys[i]);
      if (g_variant_is_of_type (value, G_VARIANT_TYPE_STRING))
        g_string_append (out, g_variant_get_string (value, NULL));
      else
        {
          g_autofree char *printed = g_variant_print (value, FALSE);
          g_string_append (out, printed);
        }
    }
  return g_string_free (out, FALSE);
}
