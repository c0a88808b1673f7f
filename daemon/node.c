/* node.c: one chatd node: its role, its plugins, its control socket and its
 * main loop. */
#define G_LOG_DOMAIN "chatd"
#include "node.h"
#include "chatd-config.h"
#include "chatd-crypto.h"
#include "command-description.h"
#include "control-server.h"
#include "directory-service.h"
#include "host.h"
#include "node-lock.h"
#include "paths.h"
#include "plugin-loader.h"
#include "server-role.h"
#include "session-service.h"
#include "user-role.h"

#include <glib-unix.h>
#include <unistd.h>


static char *
role_name (ChatdRoles role)
{
  return g_strdup (role == CHATD_ROLE_SERVER ? "server" : "user");
}

ChatdNode *
chatd_node_new (const ChatdNodeOptions *options, GError **error)
{
  g_autoptr(ChatdNode) node = g_new0 (ChatdNode, 1);
  node->options = options;
  node->role = options->role;
  node->name = g_strdup (chatd_node_options_node_name (options));
  node->state_dir = options->state_dir ? g_strdup (options->state_dir)
                                       : chatd_default_state_dir (node->name);
  node->socket_path = options->socket_path ? g_strdup (options->socket_path)
                                           : chatd_default_socket_path (node->name);
  node->started_monotonic = g_get_monotonic_time ();
  node->started_at = g_date_time_new_now_utc ();
  node->loop = g_main_loop_new (NULL, FALSE);
  node->counters = chatd_counters_new ();
  node->events = chatd_event_hub_new (CHATD_EVENT_HUB_DEFAULT_CAPACITY);
  node->registry = chatd_registry_new (chatd_suite_check);
  node->host = chatd_host_new (node);
  node->services = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);

  if (!chatd_ensure_private_dir (node->state_dir, error) ||
      !chatd_check_dir_writable (node->state_dir, error))
    {
      g_prefix_error (error, "state directory: ");
      return NULL;
    }

  return g_steal_pointer (&node);
}

static gboolean
on_signal (gpointer user_data)
{
  ChatdNode *node = user_data;
  g_message ("signal received: shutting down");
  chatd_node_request_shutdown (node);
  return G_SOURCE_CONTINUE;
}

/* The server's directory in its state dir, offered to plugins as "directory". */
static gboolean
start_directory (ChatdNode *node, GError **error)
{
  ChatdDirectoryConfig config;
  chatd_directory_config_init (&config);
  if (node->options->kdf_memory_kib != 0)
    config.kdf.memory_kib = node->options->kdf_memory_kib;
  if (node->options->kdf_passes != 0)
    config.kdf.time_cost = node->options->kdf_passes;
  config.user_suite = node->options->user_suite;
  node->directory = chatd_directory_open (node->state_dir, &config, node->registry, error);
  if (node->directory == NULL)
    return FALSE;
  chatd_node_add_service (node, CHATD_SERVICE_DIRECTORY, chatd_directory_service ());
  return TRUE;
}

gboolean
chatd_node_start (ChatdNode *node, GError **error)
{
  /* before anything answers: a SIGTERM right after the socket appears must
   * stop the node cleanly, not kill it */
  node->signal_sources[0] = g_unix_signal_add (SIGTERM, on_signal, node);
  node->signal_sources[1] = g_unix_signal_add (SIGINT, on_signal, node);
  node->loader = chatd_plugin_loader_new (node->host, node->registry);
  g_auto(GStrv) search_path = chatd_plugin_search_path (node->options->plugin_dir);
  if (!chatd_plugin_loader_load_dirs (node->loader, (const char * const *) search_path,
                                      (const char * const *) node->options->critical_plugins,
                                      (const char * const *) node->options->disabled_plugins, error))
    return FALSE;
  g_autoptr(GPtrArray) commands = chatd_registry_list_commands (node->registry);
  if (commands->len == 0)
    {
      g_autofree char *searched = g_strjoinv (":", search_path);
      g_warning ("no command plugin was loaded (searched: %s): the control socket will "
                 "answer but offer no commands", searched);
    }
  g_autofree char *socket_dir = g_path_get_dirname (node->socket_path);
  if (!chatd_ensure_private_dir (socket_dir, error))
    {
      g_prefix_error (error, "control socket: ");
      return FALSE;
    }
  node->lock = chatd_node_lock_acquire (node->socket_path, error);
  if (node->lock == NULL)
    return FALSE;
  if (node->role == CHATD_ROLE_SERVER && !start_directory (node, error))
    return FALSE;
  /* before the socket exists: whoever sees it may signal us at once */
  node->signal_sources[0] = g_unix_signal_add (SIGTERM, on_signal, node);
  node->signal_sources[1] = g_unix_signal_add (SIGINT, on_signal, node);
  node->control = chatd_control_server_new (node, node->socket_path, error);
  if (node->control == NULL)
    return FALSE;
  if (node->role == CHATD_ROLE_SERVER)
    {
      node->server_role = chatd_server_role_new (node, error);
      if (node->server_role == NULL)
        return FALSE;
      chatd_node_add_service (node, CHATD_SERVICE_SESSION, chatd_session_service_for_server ());
    }
  else
    {
      node->user_role = chatd_user_role_new (node, !node->options->daemonize, error);
      if (node->user_role == NULL)
        return FALSE;
      chatd_node_add_service (node, CHATD_SERVICE_SESSION, chatd_session_service_for_user ());
      chatd_node_add_service (node, CHATD_SERVICE_MESSAGING, chatd_messaging_service_for_user ());
    }
  g_message ("%s node '%s' ready on %s", node->role == CHATD_ROLE_SERVER ? "server" : "user",
             node->name, node->socket_path);
  return TRUE;
}

void
chatd_node_run (ChatdNode *node)
{
  g_main_loop_run (node->loop);
}

static gboolean
quit_loop (gpointer user_data)
{
  g_main_loop_quit (user_data);
  return G_SOURCE_REMOVE;
}

void
chatd_node_request_shutdown (ChatdNode *node)
{
  if (node->shutting_down)
    return;
  node->shutting_down = TRUE;
  /* let the reply to a `shutdown` request go out first */
  g_idle_add_full (G_PRIORITY_LOW, quit_loop, g_main_loop_ref (node->loop),
                   (GDestroyNotify) g_main_loop_unref);
}

void
chatd_node_free (ChatdNode *node)
{
  if (node == NULL)
    return;
  for (guint i = 0; i < G_N_ELEMENTS (node->signal_sources); i++)
    if (node->signal_sources[i] != 0)
      g_source_remove (node->signal_sources[i]);
  g_clear_pointer (&node->user_role, chatd_user_role_free);
  g_clear_pointer (&node->server_role, chatd_server_role_free);
  g_clear_pointer (&node->control, chatd_control_server_free);
  g_clear_pointer (&node->lock, chatd_node_lock_release);
  g_clear_pointer (&node->directory, chatd_directory_free);
  g_clear_pointer (&node->loader, chatd_plugin_loader_free);
  g_clear_pointer (&node->events, chatd_event_hub_free);
  g_clear_pointer (&node->registry, chatd_registry_free);
  g_clear_pointer (&node->counters, chatd_counters_free);
  g_clear_pointer (&node->host, chatd_host_free);
  g_clear_pointer (&node->services, g_hash_table_unref);
  g_clear_pointer (&node->loop, g_main_loop_unref);
  g_clear_pointer (&node->started_at, g_date_time_unref);
  g_free (node->name);
  g_free (node->state_dir);
  g_free (node->socket_path);
  g_free (node);
}

void
chatd_node_set_ready_func (ChatdNode *node, ChatdNodeReadyFunc func, gpointer user_data)
{
  node->ready_func = func;
  node->ready_data = user_data;
}

void
chatd_node_report_ready (ChatdNode *node, gboolean ok, const char *message)
{
  ChatdNodeReadyFunc func = g_steal_pointer (&node->ready_func);
  if (func != NULL)
    func (ok, message, node->ready_data);
}

void
chatd_node_add_service (ChatdNode *node, const char *name, gconstpointer service)
{
  g_hash_table_replace (node->services, g_strdup (name), (gpointer) service);
}

gconstpointer
chatd_node_get_service (ChatdNode *node, const char *name)
{
  return g_hash_table_lookup (node->services, name);
}

GVariant *
chatd_node_status (ChatdNode *node)
{
  g_autofree char *role = role_name (node->role);
  g_autofree char *started = g_date_time_format_iso8601 (node->started_at);
  gint64 uptime = (g_get_monotonic_time () - node->started_monotonic) / G_USEC_PER_SEC;
  g_auto(GVariantBuilder) b = G_VARIANT_BUILDER_INIT (G_VARIANT_TYPE_VARDICT);
  g_variant_builder_add (&b, "{sv}", "role", g_variant_new_string (role));
  g_variant_builder_add (&b, "{sv}", "node", g_variant_new_string (node->name));
  g_variant_builder_add (&b, "{sv}", "version", g_variant_new_string (CHATD_VERSION));
  g_variant_builder_add (&b, "{sv}", "pid", g_variant_new_int64 (getpid ()));
  g_variant_builder_add (&b, "{sv}", "started", g_variant_new_string (started));
  g_variant_builder_add (&b, "{sv}", "uptime", g_variant_new_int64 (uptime));
  g_variant_builder_add (&b, "{sv}", "plugins",
                         g_variant_new_int64 (chatd_plugin_loader_get_plugins (node->loader)->len));
  g_variant_builder_add (&b, "{sv}", "socket", g_variant_new_string (node->socket_path));
  g_variant_builder_add (&b, "{sv}", "state-dir", g_variant_new_string (node->state_dir));
  if (node->server_role != NULL)
    chatd_server_role_status (node->server_role, &b);
  if (node->user_role != NULL)
    chatd_user_role_status (node->user_role, &b);
  return g_variant_builder_end (&b);
}

GVariant *
chatd_node_list_plugins (ChatdNode *node)
{
  g_auto(GVariantBuilder) b = G_VARIANT_BUILDER_INIT (G_VARIANT_TYPE ("aa{sv}"));
  GPtrArray *plugins = chatd_plugin_loader_get_plugins (node->loader);
  for (guint i = 0; i < plugins->len; i++)
    {
      const ChatdLoadedPlugin *p = g_ptr_array_index (plugins, i);
      g_auto(GStrv) provides = chatd_registry_plugin_provides (node->registry, p->name);
      gboolean commands = FALSE, suites = FALSE;
      for (guint j = 0; provides[j] != NULL; j++)
        {
          commands |= g_str_has_prefix (provides[j], "command ");
          suites |= g_str_has_prefix (provides[j], "suite ");
        }
      g_variant_builder_open (&b, G_VARIANT_TYPE_VARDICT);
      g_variant_builder_add (&b, "{sv}", "name", g_variant_new_string (p->name));
      g_variant_builder_add (&b, "{sv}", "kind",
                             g_variant_new_string (commands && suites ? "commands+suites"
                                                   : suites ? "suites" : "commands"));
      g_variant_builder_add (&b, "{sv}", "file", g_variant_new_string (p->path));
      g_variant_builder_add (&b, "{sv}", "provides", g_variant_new_strv ((const char * const *) provides, -1));
      g_variant_builder_close (&b);
    }
  return g_variant_builder_end (&b);
}

GVariant *
chatd_node_list_commands (ChatdNode *node)
{
  g_auto(GVariantBuilder) b = G_VARIANT_BUILDER_INIT (G_VARIANT_TYPE ("aa{sv}"));
  g_autoptr(GPtrArray) commands = chatd_registry_list_commands (node->registry);
  for (guint i = 0; i < commands->len; i++)
    {
      const ChatdCommand *command = g_ptr_array_index (commands, i);
      if (!(command->roles & node->role))
        continue;
      const char *plugin = chatd_registry_command_plugin (node->registry, command);
      g_autoptr(GVariant) description = g_variant_ref_sink (chatd_command_description_new (command, plugin));
      g_variant_builder_open (&b, G_VARIANT_TYPE_VARDICT);
      g_variant_builder_add (&b, "{sv}", "name", g_variant_new_string (command->name));
      g_variant_builder_add (&b, "{sv}", "summary", g_variant_new_string (command->summary));
      GVariantIter iter;
      const char *key;
      GVariant *value;
      g_variant_iter_init (&iter, description);
      while (g_variant_iter_next (&iter, "{&sv}", &key, &value))
        {
          g_variant_builder_add (&b, "{sv}", key, value);
          g_variant_unref (value);
        }
      g_variant_builder_close (&b);
    }
  return g_variant_builder_end (&b);
}
