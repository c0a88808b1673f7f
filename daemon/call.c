/* call.c: one control-socket request in flight. */
#define G_LOG_DOMAIN "chatd-control"
#include "call.h"
#include "render.h"

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
};

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
call_end (ChatdCall *call, gboolean failed)
{
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
  g_dbus_connection_emit_signal (call->connection, NULL, CHATD_CONTROL_PATH,
                                 CHATD_CONTROL_INTERFACE, "Item",
                                 g_variant_new ("(@a{sv}s)", owned, text ? text : ""), NULL);
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
