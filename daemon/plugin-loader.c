/* plugin-loader.c: finds plugin modules, checks their ABI and lets them
 * register their commands and suites. */
#define G_LOG_DOMAIN "chatd-plugins"
#include "plugin-loader.h"
#include "host.h"
#include "sorted-keys.h"
#include "chatd-config.h"

#include <gmodule.h>
#include <string.h>
#include <unistd.h>

typedef gboolean (*RegisterFunc) (const ChatdHost *host, ChatdPlugin *plugin, GError **error);

struct _ChatdPluginLoader {
  const ChatdHost *host;
  ChatdRegistry   *registry;
  GPtrArray       *plugins;   /* ChatdLoadedPlugin*, load order */
};

static void
loaded_plugin_free (ChatdLoadedPlugin *plugin)
{
  /* the module stays resident: descriptors point into it */
  g_free (plugin->name);
  g_free (plugin->path);
  g_free (plugin);
}

GStrv
chatd_plugin_search_path (const char *plugin_dir)
{
  g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();
  const char *env = g_getenv ("CHATD_PLUGIN_PATH");
  if (env != NULL && getuid () == geteuid () && getgid () == getegid ())
    {
      g_auto(GStrv) parts = g_strsplit (env, ":", -1);
      for (guint i = 0; parts[i] != NULL; i++)
        if (parts[i][0] != '\0')
          g_strv_builder_add (builder, parts[i]);
    }
  if (plugin_dir != NULL)
    g_strv_builder_add (builder, plugin_dir);
  g_strv_builder_add (builder, CHATD_PLUGINDIR);
  return g_strv_builder_end (builder);
}

ChatdPluginLoader *
chatd_plugin_loader_new (const ChatdHost *host, ChatdRegistry *registry)
{
  ChatdPluginLoader *loader = g_new0 (ChatdPluginLoader, 1);
  loader->host = host;
  loader->registry = registry;
  loader->plugins = g_ptr_array_new_with_free_func ((GDestroyNotify) loaded_plugin_free);
  return loader;
}

void
chatd_plugin_loader_free (ChatdPluginLoader *loader)
{
  if (loader == NULL)
    return;
  g_ptr_array_unref (loader->plugins);
  g_free (loader);
}

static char *
plugin_name_from_path (const char *path)
{
  g_autofree char *base = g_path_get_basename (path);
  const char *suffix = "." G_MODULE_SUFFIX;
  if (!g_str_has_suffix (base, suffix) || strlen (base) == strlen (suffix))
    return NULL;
  return g_strndup (base, strlen (base) - strlen (suffix));
}

static const ChatdLoadedPlugin *
find_loaded (ChatdPluginLoader *loader, const char *name)
{
  for (guint i = 0; i < loader->plugins->len; i++)
    {
      const ChatdLoadedPlugin *p = g_ptr_array_index (loader->plugins, i);
      if (g_str_equal (p->name, name))
        return p;
    }
  return NULL;
}

gboolean
chatd_plugin_loader_load_file (ChatdPluginLoader *loader, const char *path, GError **error)
{
  g_autofree char *name = plugin_name_from_path (path);
  if (name == NULL)
    {
      g_set_error (error, CHATD_ERROR, CHATD_ERROR_INVALID_ARGUMENT,
                   "%s is not a module file (*.%s)", path, G_MODULE_SUFFIX);
      return FALSE;
    }
  const ChatdLoadedPlugin *existing = find_loaded (loader, name);
  if (existing != NULL)
    {
      g_set_error (error, CHATD_ERROR, CHATD_ERROR_DUPLICATE,
                   "plugin '%s' from %s refused: already loaded from %s", name, path, existing->path);
      return FALSE;
    }

  GModule *module = g_module_open (path, G_MODULE_BIND_LAZY | G_MODULE_BIND_LOCAL);
  if (module == NULL)
    {
      g_set_error (error, CHATD_ERROR, CHATD_ERROR_FAILED,
                   "cannot load plugin '%s': %s", name, g_module_error ());
      return FALSE;
    }
  const guint32 *abi_version = NULL;
  RegisterFunc register_func = NULL;
  if (!g_module_symbol (module, "chatd_plugin_abi_version", (gpointer *) &abi_version) ||
      abi_version == NULL)
    {
      g_set_error (error, CHATD_ERROR, CHATD_ERROR_ABI,
                   "%s is not a chatd plugin (no chatd_plugin_abi_version symbol)", path);
      g_module_close (module);
      return FALSE;
    }
  if (*abi_version != CHATD_PLUGIN_ABI_VERSION)
    {
      g_set_error (error, CHATD_ERROR, CHATD_ERROR_ABI,
                   "plugin '%s' was built for plugin ABI %u, this chatd has ABI %u",
                   name, *abi_version, CHATD_PLUGIN_ABI_VERSION);
      g_module_close (module);
      return FALSE;
    }
  if (!g_module_symbol (module, "chatd_plugin_register", (gpointer *) &register_func) ||
      register_func == NULL)
    {
      g_set_error (error, CHATD_ERROR, CHATD_ERROR_ABI,
                   "plugin '%s' has no chatd_plugin_register function", name);
      g_module_close (module);
      return FALSE;
    }

  g_autoptr(ChatdPlugin) plugin = chatd_plugin_new (name, loader->registry);
  chatd_host_set_registering (loader->host, TRUE);
  gboolean registered = register_func (loader->host, plugin, error);
  chatd_host_set_registering (loader->host, FALSE);
  if (!registered || !chatd_plugin_finish_registration (plugin, error))
    {
      chatd_registry_remove_plugin (loader->registry, name);
      if (error != NULL && *error == NULL)
        g_set_error (error, CHATD_ERROR, CHATD_ERROR_FAILED, "registration failed without a reason");
      g_prefix_error (error, "plugin '%s' refused: ", name);
      g_module_close (module);
      return FALSE;
    }

  g_module_make_resident (module);
  ChatdLoadedPlugin *loaded = g_new0 (ChatdLoadedPlugin, 1);
  loaded->name = g_steal_pointer (&name);
  loaded->path = g_strdup (path);
  loaded->module = module;
  g_ptr_array_add (loader->plugins, loaded);
  g_debug ("loaded plugin '%s' from %s", loaded->name, path);
  return TRUE;
}

gboolean
chatd_plugin_loader_load_dirs (ChatdPluginLoader *loader, const char *const *dirs,
                               const char *const *critical, const char *const *disabled,
                               GError **error)
{
  /* name -> path: the first directory in search order wins */
  g_autoptr(GHashTable) candidates = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  for (guint d = 0; dirs != NULL && dirs[d] != NULL; d++)
    {
      g_autoptr(GError) dir_error = NULL;
      g_autoptr(GDir) dir = g_dir_open (dirs[d], 0, &dir_error);
      if (dir == NULL)
        {
          g_debug ("plugin directory %s skipped: %s", dirs[d], dir_error->message);
          continue;
        }
      const char *entry;
      while ((entry = g_dir_read_name (dir)) != NULL)
        {
          g_autofree char *relative = g_build_filename (dirs[d], entry, NULL);
          g_autofree char *path = g_canonicalize_filename (relative, NULL);
          g_autofree char *name = plugin_name_from_path (path);
          if (name == NULL || !g_file_test (path, G_FILE_TEST_IS_REGULAR))
            {
              g_debug ("%s ignored: not a module file", path);
              continue;
            }
          const char *earlier = g_hash_table_lookup (candidates, name);
          if (earlier != NULL)
            {
              g_message ("plugin '%s' in %s ignored: %s comes first in the search path",
                         name, path, earlier);
              continue;
            }
          g_hash_table_insert (candidates, g_steal_pointer (&name), g_steal_pointer (&path));
        }
    }

  guint n = 0;
  g_autofree const char **names = chatd_sorted_keys (candidates, &n);
  for (guint i = 0; i < n; i++)
    {
      const char *name = names[i];
      if (disabled != NULL && g_strv_contains (disabled, name))
        {
          g_message ("plugin '%s' is disabled in the config", name);
          continue;
        }
      g_autoptr(GError) load_error = NULL;
      if (chatd_plugin_loader_load_file (loader, g_hash_table_lookup (candidates, name), &load_error))
        continue;
      if (critical != NULL && g_strv_contains (critical, name))
        {
          g_propagate_prefixed_error (error, g_steal_pointer (&load_error), "critical plugin: ");
          return FALSE;
        }
      g_warning ("%s; skipped", load_error->message);
    }

  for (guint i = 0; critical != NULL && critical[i] != NULL; i++)
    if (find_loaded (loader, critical[i]) == NULL &&
        !(disabled != NULL && g_strv_contains (disabled, critical[i])))
      {
        g_set_error (error, CHATD_ERROR, CHATD_ERROR_NOT_FOUND,
                     "critical plugin '%s' was not found in the plugin search path", critical[i]);
        return FALSE;
      }
  return TRUE;
}

GPtrArray *
chatd_plugin_loader_get_plugins (ChatdPluginLoader *loader)
{
  return loader->plugins;
}
