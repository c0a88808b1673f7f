/* host.c: the host table that plugins receive.  Plugins reach the daemon
 * only through these entry points. */
#define G_LOG_DOMAIN "chatd-plugins"
#include "host.h"
#include "call.h"
#include "node.h"

struct _ChatdPlugin {
  char          *name;
  ChatdRegistry *registry;
  guint          n_added;
  gboolean       closed;
};

typedef struct {
  ChatdHost  table;    /* first: a ChatdHost* is a HostImpl* */
  ChatdNode *node;
  gboolean   registering;   /* inside a plugin's register function */
} HostImpl;

ChatdPlugin *
chatd_plugin_new (const char *name, ChatdRegistry *registry)
{
  ChatdPlugin *plugin = g_new0 (ChatdPlugin, 1);
  plugin->name = g_strdup (name);
  plugin->registry = registry;
  return plugin;
}

void
chatd_plugin_free (ChatdPlugin *plugin)
{
  if (plugin == NULL)
    return;
  g_free (plugin->name);
  g_free (plugin);
}

gboolean
chatd_plugin_finish_registration (ChatdPlugin *plugin, GError **error)
{
  plugin->closed = TRUE;
  if (plugin->n_added == 0)
    {
      g_set_error (error, CHATD_ERROR, CHATD_ERROR_INVALID_ARGUMENT,
                   "it registered no command and no suite");
      return FALSE;
    }
  return TRUE;
}

static gboolean
registration_open (ChatdPlugin *plugin, GError **error)
{
  if (plugin == NULL || plugin->closed)
    {
      g_set_error (error, CHATD_ERROR, CHATD_ERROR_FAILED,
                   "registration is only possible inside chatd_plugin_register");
      return FALSE;
    }
  return TRUE;
}

static gboolean
host_add_command (ChatdPlugin *plugin, const ChatdCommand *command, GError **error)
{
  if (!registration_open (plugin, error) ||
      !chatd_registry_add_command (plugin->registry, command, plugin->name, error))
    return FALSE;
  plugin->n_added++;
  return TRUE;
}

static gboolean
host_add_suite (ChatdPlugin *plugin, const ChatdSuite *suite, GError **error)
{
  if (!registration_open (plugin, error) ||
      !chatd_registry_add_suite (plugin->registry, suite, plugin->name, error))
    return FALSE;
  plugin->n_added++;
  return TRUE;
}

void
chatd_host_set_registering (const ChatdHost *host, gboolean registering)
{
  ((HostImpl *) host)->registering = registering;
}

ChatdNode *
chatd_host_get_node (const ChatdHost *host)
{
  return ((const HostImpl *) host)->node;
}

static GVariant *
host_node_status (const ChatdHost *host)
{
  return chatd_node_status (chatd_host_get_node (host));
}

static GVariant *
host_list_plugins (const ChatdHost *host)
{
  return chatd_node_list_plugins (chatd_host_get_node (host));
}

static GVariant *
host_list_commands (const ChatdHost *host)
{
  return chatd_node_list_commands (chatd_host_get_node (host));
}

static GVariant *
host_read_counters (const ChatdHost *host)
{
  return chatd_counters_snapshot (chatd_host_get_node (host)->counters);
}

static void
host_request_shutdown (const ChatdHost *host)
{
  chatd_node_request_shutdown (chatd_host_get_node (host));
}

/* A plugin whose registration fails is unloaded: nothing it set up may
 * outlive that, so counters and subscriptions wait until it is loaded. */
static gboolean
refuse_while_registering (const ChatdHost *host, const char *what, GError **error)
{
  const HostImpl *impl = (const HostImpl *) host;
  if (!impl->registering && impl->node != NULL)
    return FALSE;
  g_set_error (error, CHATD_ERROR, CHATD_ERROR_FAILED,
               "%s is not possible inside chatd_plugin_register (only once loaded)", what);
  return TRUE;
}

static gboolean
host_add_counter (const ChatdHost *host, const char *name, ChatdCounterRead read,
                  gpointer user_data, GError **error)
{
  if (refuse_while_registering (host, "add_counter", error))
    return FALSE;
  return chatd_counters_add (chatd_host_get_node (host)->counters, name, read, user_data, error);
}

static void
host_emit_event (const ChatdHost *host, const char *kind, GVariant *data, const char *text)
{
  if (refuse_while_registering (host, "emit_event", NULL))
    {
      if (data != NULL)
        g_variant_unref (g_variant_take_ref (data));
      return;
    }
  chatd_event_hub_emit (chatd_host_get_node (host)->events, kind, data, text);
}

static guint
host_subscribe (const ChatdHost *host, const char *since, ChatdEventFunc func,
                gpointer user_data, GDestroyNotify destroy)
{
  g_autoptr(GError) error = NULL;
  if (refuse_while_registering (host, "subscribe", &error))
    {
      g_warning ("a plugin's subscription was refused: %s", error->message);
      return 0;
    }
  guint id = chatd_event_hub_subscribe (chatd_host_get_node (host)->events, since,
                                        func, user_data, destroy, &error);
  if (id == 0)
    g_warning ("a plugin's subscription failed: %s", error->message);
  return id;
}

static void
host_unsubscribe (const ChatdHost *host, guint subscription)
{
  chatd_event_hub_unsubscribe (chatd_host_get_node (host)->events, subscription);
}

static gconstpointer
host_get_service (const ChatdHost *host, const char *name)
{
  ChatdNode *node = chatd_host_get_node (host);
  return node != NULL ? chatd_node_get_service (node, name) : NULL;
}

const ChatdHost *
chatd_host_new (ChatdNode *node)
{
  HostImpl *impl = g_new0 (HostImpl, 1);
  impl->node = node;
  impl->table = (ChatdHost) {
    .abi_version = CHATD_PLUGIN_ABI_VERSION,
    .size = sizeof (ChatdHost),
    .add_command = host_add_command,
    .add_suite = host_add_suite,
    .call_return = chatd_call_return,
    .call_fail = chatd_call_fail,
    .call_emit = chatd_call_emit,
    .call_get_cancellable = chatd_call_get_cancellable,
    .call_get_host = chatd_call_get_host,
    .node_status = host_node_status,
    .list_plugins = host_list_plugins,
    .list_commands = host_list_commands,
    .read_counters = host_read_counters,
    .request_shutdown = host_request_shutdown,
    .add_counter = host_add_counter,
    .emit_event = host_emit_event,
    .subscribe = host_subscribe,
    .unsubscribe = host_unsubscribe,
    .get_service = host_get_service,
    .call_new_internal = chatd_call_new_internal,
  };
  return &impl->table;
}

void
chatd_host_free (const ChatdHost *host)
{
  g_free ((HostImpl *) host);
}
