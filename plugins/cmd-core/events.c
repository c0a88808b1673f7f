/* events.c: `events [--since ID]`: stream the node's events as they happen. */
#include "cmd-core.h"

typedef struct {
  const ChatdHost *host;
  ChatdCall       *call;
  guint            subscription;
  gulong           cancelled_handler;
} EventsStream;

static void
on_event (const char *id, const char *kind, GVariant *data, const char *text, gpointer user_data)
{
  EventsStream *stream = user_data;
  g_auto(GVariantBuilder) b = G_VARIANT_BUILDER_INIT (G_VARIANT_TYPE_VARDICT);
  g_variant_builder_add (&b, "{sv}", "event-id", g_variant_new_string (id));
  g_variant_builder_add (&b, "{sv}", "kind", g_variant_new_string (kind));
  g_variant_builder_add (&b, "{sv}", "text", g_variant_new_string (text));
  g_variant_builder_add (&b, "{sv}", "data", g_variant_new_variant (data));
  stream->host->call_emit (stream->call, g_variant_builder_end (&b));
}

static gboolean
end_stream (gpointer user_data)
{
  EventsStream *stream = user_data;
  GCancellable *cancellable = stream->host->call_get_cancellable (stream->call);
  g_cancellable_disconnect (cancellable, stream->cancelled_handler);
  stream->host->unsubscribe (stream->host, stream->subscription);
  g_auto(GVariantBuilder) b = G_VARIANT_BUILDER_INIT (G_VARIANT_TYPE_VARDICT);
  g_variant_builder_add (&b, "{sv}", "status", g_variant_new_string ("ended"));
  stream->host->call_return (stream->call, g_variant_builder_end (&b));
  g_free (stream);
  return G_SOURCE_REMOVE;
}

static void
on_cancelled (GCancellable *cancellable, gpointer user_data)
{
  /* not from inside the cancellable's own signal emission */
  g_idle_add (end_stream, user_data);
}

static void
events_run (const ChatdHost *host, ChatdCall *call, GVariant *args)
{
  const char *since = "";
  g_variant_lookup (args, "since", "&s", &since);
  for (const char *p = since; *p != '\0'; p++)
    if (!g_ascii_isdigit (*p))
      {
        g_autoptr(GError) error = g_error_new (CHATD_ERROR, CHATD_ERROR_INVALID_ARGUMENT,
                                               "--since takes an event id (a number), not '%s'", since);
        host->call_fail (call, error);
        return;
      }
  EventsStream *stream = g_new0 (EventsStream, 1);
  stream->host = host;
  stream->call = call;
  stream->subscription = host->subscribe (host, since, on_event, stream, NULL);
  stream->cancelled_handler = g_cancellable_connect (host->call_get_cancellable (call),
                                                     G_CALLBACK (on_cancelled), stream, NULL);
}

static char *
events_render (GVariant *value)
{
  const char *id = NULL, *kind = NULL, *text = "";
  if (!g_variant_lookup (value, "kind", "&s", &kind))
    return g_strdup ("");
  g_variant_lookup (value, "event-id", "&s", &id);
  g_variant_lookup (value, "text", "&s", &text);
  return g_strdup_printf ("[%s] %s: %s", id ? id : "?", kind, text);
}

static const ChatdOption events_options[] = {
  { "since", CHATD_TYPE_STRING, "ID", "first replay the held events after event ID" },
  { NULL }
};

const ChatdCommand chatd_cmd_events = {
  .name = "events",
  .summary = "Print the node's events as they happen (until interrupted)",
  .roles = CHATD_ROLE_ANY,
  .options = events_options,
  .flags = CHATD_COMMAND_STREAMING,
  .run = events_run,
  .render = events_render,
};
