/* registry.c: the commands and crypto suites that plugins provide, by name.
 * Names are unique across all plugins; a duplicate is refused. */
#define G_LOG_DOMAIN "chatd-plugins"
#include "registry.h"
#include "command-description.h"
#include "sorted-keys.h"

#include <string.h>

typedef struct {
  const ChatdCommand *command;
  const ChatdSuite   *suite;
  char               *plugin;
} Entry;

struct _ChatdRegistry {
  ChatdSuiteCheck suite_check;
  GHashTable     *commands;   /* name -> GPtrArray of Entry* (one per disjoint set of roles) */
  GHashTable     *suites;     /* name -> Entry* */
};

static void
entry_free (Entry *entry)
{
  g_free (entry->plugin);
  g_free (entry);
}

ChatdRegistry *
chatd_registry_new (ChatdSuiteCheck suite_check)
{
  ChatdRegistry *registry = g_new0 (ChatdRegistry, 1);
  registry->suite_check = suite_check;
  registry->commands = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify) g_ptr_array_unref);
  registry->suites = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, (GDestroyNotify) entry_free);
  return registry;
}

void
chatd_registry_free (ChatdRegistry *registry)
{
  if (registry == NULL)
    return;
  g_hash_table_unref (registry->commands);
  g_hash_table_unref (registry->suites);
  g_free (registry);
}

gboolean
chatd_registry_add_command (ChatdRegistry *registry, const ChatdCommand *command,
                            const char *plugin, GError **error)
{
  if (!chatd_command_description_validate (command, error))
    return FALSE;
  /* one name may have one command per role: `list` on a server and on a
   * user node are different commands, but two for the same role clash */
  const char *owner = NULL;
  if (chatd_registry_lookup_command (registry, command->name, command->roles, &owner) != NULL)
    {
      g_set_error (error, CHATD_ERROR, CHATD_ERROR_DUPLICATE,
                   "command '%s' is already provided by plugin '%s'", command->name, owner);
      return FALSE;
    }
  GPtrArray *entries = g_hash_table_lookup (registry->commands, command->name);
  if (entries == NULL)
    {
      entries = g_ptr_array_new_with_free_func ((GDestroyNotify) entry_free);
      g_hash_table_insert (registry->commands, g_strdup (command->name), entries);
    }
  Entry *entry = g_new0 (Entry, 1);
  entry->command = command;
  entry->plugin = g_strdup (plugin);
  g_ptr_array_add (entries, entry);
  return TRUE;
}

static gboolean
suite_name_is_valid (const char *name)
{
  if (name == NULL || name[0] == '\0' || strlen (name) > 32)
    return FALSE;
  for (const char *p = name; *p != '\0'; p++)
    if (!g_ascii_isalnum (*p) && *p != '-')
      return FALSE;
  return TRUE;
}

gboolean
chatd_registry_add_suite (ChatdRegistry *registry, const ChatdSuite *suite,
                          const char *plugin, GError **error)
{
  const char *name = suite != NULL ? chatd_suite_name (suite) : NULL;
  if (!suite_name_is_valid (name))
    {
      g_set_error (error, CHATD_ERROR, CHATD_ERROR_INVALID_ARGUMENT,
                   "suite name '%s' is not valid", name ? name : "(null)");
      return FALSE;
    }
  Entry *existing = g_hash_table_lookup (registry->suites, name);
  if (existing != NULL)
    {
      g_set_error (error, CHATD_ERROR, CHATD_ERROR_DUPLICATE,
                   "suite '%s' is already provided by plugin '%s'", name, existing->plugin);
      return FALSE;
    }
  if (registry->suite_check == NULL)
    {
      g_set_error (error, CHATD_ERROR, CHATD_ERROR_NOT_SUPPORTED,
                   "suite '%s' refused: this build has no crypto core to check suites", name);
      return FALSE;
    }
  if (!registry->suite_check (suite, error))
    {
      g_prefix_error (error, "suite '%s' failed its checks: ", name);
      return FALSE;
    }
  Entry *entry = g_new0 (Entry, 1);
  entry->suite = suite;
  entry->plugin = g_strdup (plugin);
  g_hash_table_insert (registry->suites, (gpointer) name, entry);
  return TRUE;
}

static gboolean
entry_is_from_plugin (gpointer key, gpointer value, gpointer plugin)
{
  return g_strcmp0 (((Entry *) value)->plugin, plugin) == 0;
}

static gboolean
command_entries_emptied (gpointer key, gpointer value, gpointer plugin)
{
  GPtrArray *entries = value;
  for (guint i = entries->len; i > 0; i--)
    if (g_strcmp0 (((Entry *) entries->pdata[i - 1])->plugin, plugin) == 0)
      g_ptr_array_remove_index (entries, i - 1);
  return entries->len == 0;
}

void
chatd_registry_remove_plugin (ChatdRegistry *registry, const char *plugin)
{
  g_hash_table_foreach_remove (registry->commands, command_entries_emptied, (gpointer) plugin);
  g_hash_table_foreach_remove (registry->suites, entry_is_from_plugin, (gpointer) plugin);
}

const ChatdCommand *
chatd_registry_lookup_command (ChatdRegistry *registry, const char *name, ChatdRoles roles,
                               const char **ret_plugin)
{
  GPtrArray *entries = g_hash_table_lookup (registry->commands, name);
  for (guint i = 0; entries != NULL && i < entries->len; i++)
    {
      Entry *entry = entries->pdata[i];
      if ((entry->command->roles & roles) == 0)
        continue;
      if (ret_plugin != NULL)
        *ret_plugin = entry->plugin;
      return entry->command;
    }
  return NULL;
}

const ChatdSuite *
chatd_registry_lookup_suite (ChatdRegistry *registry, const char *name)
{
  Entry *entry = g_hash_table_lookup (registry->suites, name);
  return entry != NULL ? entry->suite : NULL;
}

GPtrArray *
chatd_registry_list_commands (ChatdRegistry *registry)
{
  guint n = 0;
  g_autofree const char **keys = chatd_sorted_keys (registry->commands, &n);
  GPtrArray *values = g_ptr_array_sized_new (n);
  for (guint i = 0; i < n; i++)
    {
      GPtrArray *entries = g_hash_table_lookup (registry->commands, keys[i]);
      for (guint j = 0; j < entries->len; j++)
        g_ptr_array_add (values, (gpointer) ((Entry *) entries->pdata[j])->command);
    }
  return values;
}

GPtrArray *
chatd_registry_list_suites (ChatdRegistry *registry)
{
  guint n = 0;
  g_autofree const char **keys = chatd_sorted_keys (registry->suites, &n);
  GPtrArray *values = g_ptr_array_sized_new (n);
  for (guint i = 0; i < n; i++)
    g_ptr_array_add (values, (gpointer) ((Entry *) g_hash_table_lookup (registry->suites, keys[i]))->suite);
  return values;
}

const char *
chatd_registry_command_plugin (ChatdRegistry *registry, const ChatdCommand *command)
{
  const char *plugin = NULL;
  chatd_registry_lookup_command (registry, command->name, command->roles, &plugin);
  return plugin;
}

GStrv
chatd_registry_plugin_provides (ChatdRegistry *registry, const char *plugin)
{
  g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();
  g_autoptr(GPtrArray) commands = chatd_registry_list_commands (registry);
  for (guint i = 0; i < commands->len; i++)
    {
      const ChatdCommand *command = g_ptr_array_index (commands, i);
      if (g_strcmp0 (chatd_registry_command_plugin (registry, command), plugin) == 0)
        {
          g_autofree char *item = g_strdup_printf ("command %s", command->name);
          g_strv_builder_add (builder, item);
        }
    }
  g_autoptr(GPtrArray) suites = chatd_registry_list_suites (registry);
  for (guint i = 0; i < suites->len; i++)
    {
      const char *name = chatd_suite_name (g_ptr_array_index (suites, i));
      Entry *entry = g_hash_table_lookup (registry->suites, name);
      if (g_strcmp0 (entry->plugin, plugin) == 0)
        {
          g_autofree char *item = g_strdup_printf ("suite %s", name);
          g_strv_builder_add (builder, item);
        }
    }
  return g_strv_builder_end (builder);
}
