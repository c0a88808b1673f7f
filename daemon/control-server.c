/* control-server.c: the node's control socket: ListCommands, Run, Follow
 * (one Event signal per event, DESIGN section 5), FollowBatched (one Events
 * signal per main-loop iteration) and the Items signal, over peer-to-peer
 * D-Bus with same-UID auth. */
#define G_LOG_DOMAIN "chatd-control"
#include "control-server.h"
#include "call.h"
#include "command-description.h"
#include "node.h"

#include <sys/stat.h>

static const char introspection_xml[] =
  "<node>"
  "  <interface name='" CHATD_CONTROL_INTERFACE "'>"
  "    <method name='ListCommands'>"
  "      <arg type='a(ssa{sv})' name='commands' direction='out'/>"
  "    </method>"
  "    <method name='Run'>"
  "      <arg type='s' name='command' direction='in'/>"
  "      <arg type='a{sv}' name='args' direction='in'/>"
  "      <arg type='v' name='result' direction='out'/>"
  "      <arg type='s' name='text' direction='out'/>"
  "    </method>"
  "    <method name='Follow'>"
  "      <arg type='s' name='since' direction='in'/>"
  "    </method>"
  "    <method name='FollowBatched'>"
  "      <arg type='s' name='since' direction='in'/>"
  "    </method>"
  "    <signal name='Event'>"
  "      <arg type='s' name='kind'/>"
  "      <arg type='a{sv}' name='data'/>"
  "      <arg type='s' name='text'/>"
  "    </signal>"
  "    <signal name='Events'>"
  "      <arg type='" CHATD_EVENT_BATCH_TYPE "' name='events'/>"
  "    </signal>"
  "    <signal name='Items'>"
  "      <arg type='a(a{sv}s)' name='items'/>"
  "    </signal>"
  "  </interface>"
  "</node>";

typedef struct {
  ChatdControlServer *server;
  GDBusConnection    *connection;
  guint               registration;
  guint               subscription;   /* Follow or FollowBatched; 0 if not following */
  GPtrArray          *calls;          /* ChatdCall* in flight (borrowed) */
  gulong              closed_handler;
} Client;

struct _ChatdControlServer {
  ChatdNode     *node;
  GDBusServer   *dbus_server;
  GDBusNodeInfo *introspection;
  GPtrArray     *clients;             /* Client* */
  guint64        n_connections, n_requests, n_failed, n_rejected;
};

static const GDBusErrorEntry chatd_dbus_errors[] = {
  { CHATD_ERROR_FAILED, "org.chatd.Error.Failed" },
  { CHATD_ERROR_INVALID_ARGUMENT, "org.chatd.Error.InvalidArgument" },
  { CHATD_ERROR_NOT_FOUND, "org.chatd.Error.NotFound" },
  { CHATD_ERROR_EXISTS, "org.chatd.Error.Exists" },
  { CHATD_ERROR_UNKNOWN_COMMAND, "org.chatd.Error.UnknownCommand" },
  { CHATD_ERROR_NOT_SUPPORTED, "org.chatd.Error.NotSupported" },
  { CHATD_ERROR_DUPLICATE, "org.chatd.Error.Duplicate" },
  { CHATD_ERROR_ABI, "org.chatd.Error.Abi" },
  { CHATD_ERROR_REFUSED, "org.chatd.Error.Refused" },
  { CHATD_ERROR_UNREACHABLE, "org.chatd.Error.Unreachable" },
  { CHATD_ERROR_TIMED_OUT, "org.chatd.Error.TimedOut" },
};

static void
register_dbus_errors (void)
{
  static gsize registered = 0;
  g_dbus_error_register_error_domain ("chatd-error-quark", &registered,
                                      chatd_dbus_errors, G_N_ELEMENTS (chatd_dbus_errors));
}

static void
client_free (Client *client)
{
  if (client->subscription != 0)
    chatd_event_hub_unsubscribe (client->server->node->events, client->subscription);
  /* calls end later, through their commands, and no longer report to us;
   * detach them all first: cancelling one may end it right away */
  g_autoptr(GPtrArray) calls = g_steal_pointer (&client->calls);
  for (guint i = 0; i < calls->len; i++)
    chatd_call_detach (g_ptr_array_index (calls, i));
  for (guint i = 0; i < calls->len; i++)
    chatd_call_cancel (g_ptr_array_index (calls, i));
  g_signal_handler_disconnect (client->connection, client->closed_handler);
  g_dbus_connection_unregister_object (client->connection, client->registration);
  g_object_unref (client->connection);
  g_free (client);
}

static void
on_call_ended (ChatdCall *call, gboolean failed, gpointer user_data)
{
  ChatdControlServer *server = user_data;
  if (failed)
    server->n_failed++;
  for (guint i = 0; i < server->clients->len; i++)
    {
      Client *client = g_ptr_array_index (server->clients, i);
      if (client->calls != NULL && g_ptr_array_remove_fast (client->calls, call))
        return;
    }
}

static Client *
find_client (ChatdControlServer *server, GDBusConnection *connection)
{
  for (guint i = 0; i < server->clients->len; i++)
    {
      Client *client = g_ptr_array_index (server->clients, i);
      if (client->connection == connection)
        return client;
    }
  return NULL;
}

static void
handle_list_commands (ChatdControlServer *server, GDBusMethodInvocation *invocation)
{
  g_auto(GVariantBuilder) builder = G_VARIANT_BUILDER_INIT (G_VARIANT_TYPE ("a(ssa{sv})"));
  g_autoptr(GPtrArray) commands = chatd_registry_list_commands (server->node->registry);
  for (guint i = 0; i < commands->len; i++)
    {
      const ChatdCommand *command = g_ptr_array_index (commands, i);
      if (!(command->roles & server->node->role))
        continue;
      const char *plugin = chatd_registry_command_plugin (server->node->registry, command);
      g_variant_builder_add (&builder, "(ss@a{sv})", command->name, command->summary,
                             chatd_command_description_new (command, plugin));
    }
  g_dbus_method_invocation_return_value (invocation,
                                         g_variant_new ("(@a(ssa{sv}))", g_variant_builder_end (&builder)));
}

static void
handle_run (ChatdControlServer *server, Client *client, GVariant *parameters,
            GDBusMethodInvocation *invocation)
{
  const char *name;
  g_autoptr(GVariant) args = NULL;
  g_variant_get (parameters, "(&s@a{sv})", &name, &args);
  server->n_requests++;

  const ChatdCommand *command = chatd_registry_lookup_command (server->node->registry, name,
                                                               server->node->role, NULL);
  if (command == NULL)
    command = chatd_registry_lookup_command (server->node->registry, name, CHATD_ROLE_ANY, NULL);
  g_autoptr(GError) error = NULL;
  if (command == NULL)
    g_set_error (&error, CHATD_ERROR, CHATD_ERROR_UNKNOWN_COMMAND,
                 "unknown command '%s' (chatctl help lists them)", name);
  else if (!(command->roles & server->node->role))
    g_set_error (&error, CHATD_ERROR, CHATD_ERROR_NOT_SUPPORTED,
                 "command '%s' is not available on a %s node", name,
                 server->node->role == CHATD_ROLE_SERVER ? "server" : "user");
  else if (server->node->shutting_down)
    g_set_error (&error, CHATD_ERROR, CHATD_ERROR_FAILED, "the node is shutting down");
  else if (client->calls->len >= CHATD_CONTROL_MAX_CALLS_PER_CLIENT)
    g_set_error (&error, CHATD_ERROR, CHATD_ERROR_FAILED,
                 "too many requests in flight on this connection (at most %d)",
                 CHATD_CONTROL_MAX_CALLS_PER_CLIENT);
  else
    chatd_command_check_args (command, args, &error);
  if (error != NULL)
    {
      server->n_failed++;
      g_dbus_method_invocation_return_gerror (invocation, error);
      return;
    }

  g_debug ("run %s", name);
  /* GDBus hands us the invocation; returning a value or an error consumes it */
  ChatdCall *call = chatd_call_new (server->node->host, command, invocation, on_call_ended, server);
  g_ptr_array_add (client->calls, call);
  command->run (server->node->host, call, args);
}

/* Follow: one Event signal per event, its id in the data as event-id */
static void
on_followed_event (const char *id, const char *kind, GVariant *data, const char *text,
                   gpointer user_data)
{
  Client *client = user_data;
  g_auto(GVariantBuilder) builder = G_VARIANT_BUILDER_INIT (G_VARIANT_TYPE_VARDICT);
  GVariantIter iter;
  const char *key;
  GVariant *value;
  g_variant_iter_init (&iter, data);
  while (g_variant_iter_next (&iter, "{&sv}", &key, &value))
    {
      if (!g_str_equal (key, "event-id"))
        g_variant_builder_add (&builder, "{sv}", key, value);
      g_variant_unref (value);
    }
  g_variant_builder_add (&builder, "{sv}", "event-id", g_variant_new_string (id));
  g_dbus_connection_emit_signal (client->connection, NULL, CHATD_CONTROL_PATH,
                                 CHATD_CONTROL_INTERFACE, "Event",
                                 g_variant_new ("(s@a{sv}s)", kind, g_variant_builder_end (&builder), text),
                                 NULL);
}

/* FollowBatched: one Events signal per batch (doc/protocol.md) */
static void
on_followed_events (GVariant *batch, gpointer user_data)
{
  Client *client = user_data;
  g_dbus_connection_emit_signal (client->connection, NULL, CHATD_CONTROL_PATH,
                                 CHATD_CONTROL_INTERFACE, "Events",
                                 g_variant_new_tuple (&batch, 1), NULL);
}

static void
handle_follow (ChatdControlServer *server, Client *client, GVariant *parameters,
               GDBusMethodInvocation *invocation, gboolean batched)
{
  const char *since;
  g_variant_get (parameters, "(&s)", &since);
  if (client->subscription != 0)
    {
      chatd_event_hub_unsubscribe (server->node->events, client->subscription);
      client->subscription = 0;
    }
  /* the reply goes out first, so the client sees it before replayed events */
  g_autoptr(GError) error = NULL;
  if (since[0] != '\0' && !g_ascii_string_to_unsigned (since, 10, 0, G_MAXUINT64, NULL, &error))
    {
      g_dbus_method_invocation_return_error (invocation, CHATD_ERROR, CHATD_ERROR_INVALID_ARGUMENT,
                                             "since must be an event id (a decimal number), not '%s'",
                                             since);
      return;
    }
  g_autofree char *since_copy = g_strdup (since);
  g_dbus_method_invocation_return_value (invocation, NULL);
  client->subscription = batched
    ? chatd_event_hub_subscribe_batched (server->node->events, since_copy, on_followed_events, client, NULL, &error)
    : chatd_event_hub_subscribe (server->node->events, since_copy, on_followed_event, client, NULL, &error);
}

static void
handle_method_call (GDBusConnection *connection, const char *sender, const char *object_path,
                    const char *interface_name, const char *method_name, GVariant *parameters,
                    GDBusMethodInvocation *invocation, gpointer user_data)
{
  ChatdControlServer *server = user_data;
  Client *client = find_client (server, connection);
  if (client == NULL)
    {
      g_dbus_method_invocation_return_error (invocation, CHATD_ERROR, CHATD_ERROR_FAILED,
                                             "connection is not registered");
      return;
    }
  if (g_str_equal (method_name, "ListCommands"))
    handle_list_commands (server, invocation);
  else if (g_str_equal (method_name, "Run"))
    handle_run (server, client, parameters, invocation);
  else if (g_str_equal (method_name, "Follow"))
    handle_follow (server, client, parameters, invocation, FALSE);
  else if (g_str_equal (method_name, "FollowBatched"))
    handle_follow (server, client, parameters, invocation, TRUE);
  else
    g_dbus_method_invocation_return_error (invocation, G_DBUS_ERROR, G_DBUS_ERROR_UNKNOWN_METHOD,
                                           "unknown method %s", method_name);
}

static const GDBusInterfaceVTable control_vtable = { handle_method_call, NULL, NULL, { 0 } };

static void
on_connection_closed (GDBusConnection *connection, gboolean remote_peer_vanished,
                      GError *error, gpointer user_data)
{
  ChatdControlServer *server = user_data;
  Client *client = find_client (server, connection);
  if (client == NULL)
    return;
  g_debug ("control client gone%s%s", error ? ": " : "", error ? error->message : "");
  g_ptr_array_remove (server->clients, client);
}

static gboolean
on_new_connection (GDBusServer *dbus_server, GDBusConnection *connection, gpointer user_data)
{
  ChatdControlServer *server = user_data;
  if (server->clients->len >= CHATD_CONTROL_MAX_CLIENTS || server->node->shutting_down)
    {
      server->n_rejected++;
      g_message ("control client refused: %u clients already connected", server->clients->len);
      return FALSE;   /* the connection is closed */
    }
  g_autoptr(GError) error = NULL;
  guint registration = g_dbus_connection_register_object (connection, CHATD_CONTROL_PATH,
                                                          server->introspection->interfaces[0],
                                                          &control_vtable, server, NULL, &error);
  if (registration == 0)
    {
      g_warning ("cannot serve a control client: %s", error->message);
      return FALSE;
    }
  Client *client = g_new0 (Client, 1);
  client->server = server;
  client->connection = g_object_ref (connection);
  client->registration = registration;
  client->calls = g_ptr_array_new ();
  client->closed_handler = g_signal_connect (connection, "closed",
                                             G_CALLBACK (on_connection_closed), server);
  g_ptr_array_add (server->clients, client);
  server->n_connections++;
  return TRUE;
}

static void
on_flushed (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_dbus_connection_flush_finish (G_DBUS_CONNECTION (source), result, NULL);
  (*(guint *) user_data)--;
}

static guint64 read_u64 (gpointer p) { return *(guint64 *) p; }

static guint64
read_clients (gpointer p)
{
  return ((ChatdControlServer *) p)->clients->len;
}

ChatdControlServer *
chatd_control_server_new (ChatdNode *node, const char *socket_path, GError **error)
{
  register_dbus_errors ();
  g_autoptr(GDBusNodeInfo) introspection = g_dbus_node_info_new_for_xml (introspection_xml, error);
  if (introspection == NULL)
    return NULL;

  g_autofree char *escaped = g_dbus_address_escape_value (socket_path);
  g_autofree char *address = g_strdup_printf ("unix:path=%s", escaped);
  g_autofree char *guid = g_dbus_generate_guid ();
  /* sockets are created with the umask: make sure it is private even before chmod */
  mode_t old_umask = umask (0077);
  GDBusServer *dbus_server = g_dbus_server_new_sync (address,
                                                     G_DBUS_SERVER_FLAGS_AUTHENTICATION_REQUIRE_SAME_USER,
                                                     guid, NULL, NULL, error);
  umask (old_umask);
  if (dbus_server == NULL)
    {
      g_prefix_error (error, "cannot listen on %s: ", socket_path);
      return NULL;
    }

  ChatdControlServer *server = g_new0 (ChatdControlServer, 1);
  server->node = node;
  server->dbus_server = dbus_server;
  server->introspection = g_steal_pointer (&introspection);
  server->clients = g_ptr_array_new_with_free_func ((GDestroyNotify) client_free);
  g_signal_connect (dbus_server, "new-connection", G_CALLBACK (on_new_connection), server);
  g_dbus_server_start (dbus_server);

  chatd_counters_add (node->counters, "control.clients", read_clients, server, NULL);
  chatd_counters_add (node->counters, "control.connections", read_u64, &server->n_connections, NULL);
  chatd_counters_add (node->counters, "control.requests", read_u64, &server->n_requests, NULL);
  chatd_counters_add (node->counters, "control.requests-failed", read_u64, &server->n_failed, NULL);
  chatd_counters_add (node->counters, "control.clients-refused", read_u64, &server->n_rejected, NULL);
  return server;
}

guint
chatd_control_server_n_clients (ChatdControlServer *server)
{
  return server->clients->len;
}

void
chatd_control_server_free (ChatdControlServer *server)
{
  if (server == NULL)
    return;
  g_dbus_server_stop (server->dbus_server);
  /* batched events emitted so far go out with the rest */
  chatd_event_hub_flush (server->node->events);
  for (guint i = 0; i < server->clients->len; i++)
    {
      Client *client = g_ptr_array_index (server->clients, i);
      for (guint j = 0; j < client->calls->len; j++)
        chatd_call_flush_items (g_ptr_array_index (client->calls, j));
    }
  /* the last replies (to `shutdown`, say) go out, but a stalled client
   * cannot hold the node up for more than CHATD_CONTROL_FLUSH_TIMEOUT_MS */
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  guint pending = 0;
  for (guint i = 0; i < server->clients->len; i++)
    {
      Client *client = g_ptr_array_index (server->clients, i);
      g_dbus_connection_flush (client->connection, cancellable, on_flushed, &pending);
      pending++;
    }
  gint64 deadline = g_get_monotonic_time () + CHATD_CONTROL_FLUSH_TIMEOUT_MS * 1000;
  while (pending > 0 && g_get_monotonic_time () < deadline)
    if (!g_main_context_iteration (NULL, FALSE))
      g_usleep (1000);
  g_cancellable_cancel (cancellable);
  while (pending > 0)
    g_main_context_iteration (NULL, TRUE);
  for (guint i = 0; i < server->clients->len; i++)
    g_dbus_connection_close (((Client *) g_ptr_array_index (server->clients, i))->connection,
                             NULL, NULL, NULL);
  g_ptr_array_unref (server->clients);
  g_object_unref (server->dbus_server);
  g_dbus_node_info_unref (server->introspection);
  g_free (server);
}
