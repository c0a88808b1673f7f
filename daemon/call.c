/* call.c: one control-socket request in flight. */
#define G_LOG_DOMAIN "chatd-control"
#include "call.h"
#include "render.h"

#include <string.h>

struct _ChatdCall {
  const ChatdHost       *host;
  const ChatdCommand    *command;
  GDBusMethodInvocation *invocation;
  GDBusConnection       *connection;
  GCancellable          *cancellable;
  ChatdCallEnded         ended;
  gpointer               ended_data;
  /* internal calls (no invocation, no connection, no command) */
  char                  *label;
  ChatdCallDone          done;
  gpointer               done_data;
  /* streamed items not yet sent: one Items signal per main-loop iteration */
  GPtrArray             *items;      /* (a{sv}s) */
  gsize                  items_bytes;
  GSource               *flush_source;
};

/* an Items signal carries at most this many items or (roughly) bytes */
#define ITEMS_MAX 256
#define ITEMS_MAX_BYTES (256 * 1024)

ChatdCall *
chatd_call_new (const ChatdHost *host, const ChatdCommand *command,
                GDBusMethodInvocation *invocation, ChatdCallEnded ended, gpointer user_data)
{
  ChatdCall *call = g_new0 (ChatdCall, 1);
  call->host = host;
  call->command = command;
  call->invocation = invocation;
  call->connection = g_object_ref (g_dbus_method_invocation_get_connection (invocation));
  call->cancellable = g_cancellable_new ();
  call->ended = ended;
  call->ended_data = user_data;
  return call;
}

ChatdCall *
chatd_call_new_internal (const ChatdHost *host, const char *label, ChatdCallDone done, gpointer user_data)
{
  ChatdCall *call = g_new0 (ChatdCall, 1);
  call->host = host;
  call->cancellable = g_cancellable_new ();
  call->label = g_strdup (label != NULL ? label : "internal");
  call->done = done;
  call->done_data = user_data;
  return call;
}

static void
cancel_flush (ChatdCall *call)
{
  if (call->flush_source == NULL)
    return;
  g_source_destroy (call->flush_source);
  g_clear_pointer (&call->flush_source, g_source_unref);
}

void
chatd_call_flush_items (ChatdCall *call)
{
  cancel_flush (call);
  g_autoptr(GPtrArray) items = g_steal_pointer (&call->items);
  call->items_bytes = 0;
  if (items == NULL || items->len == 0 || call->connection == NULL ||
      g_dbus_connection_is_closed (call->connection))
    return;
  GVariant *array = g_variant_new_array (NULL, (GVariant **) items->pdata, items->len);
  g_ptr_array_set_free_func (items, NULL);   /* the array took the floating tuples */
  g_dbus_connection_emit_signal (call->connection, NULL, CHATD_CONTROL_PATH,
                                 CHATD_CONTROL_INTERFACE, "Items",
                                 g_variant_new_tuple (&array, 1), NULL);
}

static gboolean
flush_items_now (gpointer user_data)
{
  ChatdCall *call = user_data;
  g_clear_pointer (&call->flush_source, g_source_unref);
  chatd_call_flush_items (call);
  return G_SOURCE_REMOVE;
}

static void
call_end (ChatdCall *call, gboolean failed)
{
  cancel_flush (call);
  g_clear_pointer (&call->items, g_ptr_array_unref);
  if (call->ended != NULL)
    call->ended (call, failed, call->ended_data);
  g_clear_object (&call->connection);
  g_object_unref (call->cancellable);
  g_free (call->label);
  g_free (call);
}

static const char *
call_name (ChatdCall *call)
{
  return call->command != NULL ? call->command->name : call->label;
}

static char *
render (const ChatdCommand *command, GVariant *value)
{
  return command->render != NULL ? command->render (value) : chatd_render_generic (value);
}

void
chatd_call_return (ChatdCall *call, GVariant *result)
{
  g_autoptr(GVariant) owned = g_variant_take_ref (result);
  chatd_call_flush_items (call);   /* a stream's items come before its end */
  if (!g_variant_is_of_type (owned, G_VARIANT_TYPE_VARDICT) &&
      !g_variant_is_of_type (owned, G_VARIANT_TYPE ("aa{sv}")))
    {
      g_critical ("command '%s' returned a %s, not a{sv} or aa{sv}",
                  call_name (call), g_variant_get_type_string (owned));
      g_autoptr(GError) error = g_error_new (CHATD_ERROR, CHATD_ERROR_FAILED,
                                             "internal error: command '%s' returned a bad result",
                                             call_name (call));
      if (call->invocation != NULL)
        g_dbus_method_invocation_return_gerror (call->invocation, error);
      else
        call->done (NULL, error, call->done_data);
      call_end (call, TRUE);
      return;
    }
  if (call->invocation == NULL)
    {
      call->done (owned, NULL, call->done_data);
      call_end (call, FALSE);
      return;
    }
  g_autofree char *text = render (call->command, owned);
  g_dbus_method_invocation_return_value (call->invocation,
                                         g_variant_new ("(vs)", owned, text ? text : ""));
  call_end (call, FALSE);
}

void
chatd_call_fail (ChatdCall *call, const GError *error)
{
  g_debug ("command '%s' failed: %s", call_name (call), error->message);
  chatd_call_flush_items (call);
  if (call->invocation != NULL)
    g_dbus_method_invocation_return_gerror (call->invocation, error);
  else
    call->done (NULL, error, call->done_data);
  call_end (call, TRUE);
}

void
chatd_call_emit (ChatdCall *call, GVariant *item)
{
  g_autoptr(GVariant) owned = g_variant_take_ref (item);
  g_return_if_fail (g_variant_is_of_type (owned, G_VARIANT_TYPE_VARDICT));
  if (call->connection == NULL || g_dbus_connection_is_closed (call->connection))
    return;
  g_autofree char *text = render (call->command, owned);
  GVariant *members[2] = { owned, g_variant_new_string (text ? text : "") };
  GVariant *tuple = g_variant_new_tuple (members, 2);   /* floating, taken by the Items array */
  if (call->items == NULL)
    call->items = g_ptr_array_new_full (16, (GDestroyNotify) g_variant_unref);
  g_ptr_array_add (call->items, tuple);
  call->items_bytes += g_variant_get_size (owned) + (text ? strlen (text) : 0) + 16;
  if (call->items->len >= ITEMS_MAX || call->items_bytes >= ITEMS_MAX_BYTES)
    chatd_call_flush_items (call);
  else if (call->flush_source == NULL)
    {
      call->flush_source = g_idle_source_new ();
      /* before anything else in the next iteration: no added latency */
      g_source_set_priority (call->flush_source, G_PRIORITY_HIGH);
      g_source_set_callback (call->flush_source, flush_items_now, call, NULL);
      g_source_set_static_name (call->flush_source, "chatd stream items");
      g_source_attach (call->flush_source, g_main_context_get_thread_default ());
    }
}

GCancellable *
chatd_call_get_cancellable (ChatdCall *call)
{
  return call->cancellable;
}

const ChatdHost *
chatd_call_get_host (ChatdCall *call)
{
  return call->host;
}

GDBusConnection *
chatd_call_get_connection (ChatdCall *call)
{
  return call->connection;
}

void
chatd_call_detach (ChatdCall *call)
{
  call->ended = NULL;
  call->ended_data = NULL;
}

void
chatd_call_cancel (ChatdCall *call)
{
  g_cancellable_cancel (call->cancellable);
}
