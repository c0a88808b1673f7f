/* plugin-loader.h: finds plugin modules, checks their ABI and lets them
 * register their commands and suites. */
#pragma once
#include <chatd/chatd-plugin.h>
#include "registry.h"

typedef struct {
  char    *name;        /* file name without G_MODULE_SUFFIX */
  char    *path;
  GModule *module;      /* resident */
} ChatdLoadedPlugin;

typedef struct _ChatdPluginLoader ChatdPluginLoader;

/* The search path: CHATD_PLUGIN_PATH (ignored when setuid), then plugin_dir,
 * then the installed directory.  Directories that do not exist are skipped. */
GStrv              chatd_plugin_search_path (const char *plugin_dir);

ChatdPluginLoader *chatd_plugin_loader_new  (const ChatdHost *host, ChatdRegistry *registry);
void               chatd_plugin_loader_free (ChatdPluginLoader *loader);
/* Loads every plugin found in dirs, in sorted order of name; the first
 * directory that has a given name wins and later ones are refused with a log
 * line.  A plugin that fails is skipped with a warning, unless its name is in
 * critical (then this fails); names in disabled are not loaded. */
gboolean           chatd_plugin_loader_load_dirs (ChatdPluginLoader *loader,
                                                  const char *const *dirs,
                                                  const char *const *critical,
                                                  const char *const *disabled,
                                                  GError **error);
/* Loads one module file; fails with a clear error (not a plugin, ABI
 * mismatch, register failed, duplicate). */
gboolean           chatd_plugin_loader_load_file (ChatdPluginLoader *loader, const char *path,
                                                  GError **error);
/* Loaded plugins in load order (borrowed ChatdLoadedPlugin*). */
GPtrArray         *chatd_plugin_loader_get_plugins (ChatdPluginLoader *loader);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (ChatdPluginLoader, chatd_plugin_loader_free)
