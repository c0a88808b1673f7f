/* stats.c: `stats`: the counters that the node's modules register. */
#include "cmd-core.h"

static void
stats_run (const ChatdHost *host, ChatdCall *call, GVariant *args)
{
  host->call_return (call, host->read_counters (host));
}

static char *
stats_render (GVariant *value)
{
  GString *out = g_string_new (NULL);
  GVariantIter iter;
  const char *name;
  GVariant *boxed;
  g_variant_iter_init (&iter, value);
  while (g_variant_iter_next (&iter, "{&sv}", &name, &boxed))
    {
      guint64 count = g_variant_is_of_type (boxed, G_VARIANT_TYPE_UINT64) ? g_variant_get_uint64 (boxed) : 0;
      g_string_append_printf (out, "%s%-32s %" G_GUINT64_FORMAT, out->len ? "\n" : "", name, count);
      g_variant_unref (boxed);
    }
  return g_string_free (out, FALSE);
}

const ChatdCommand chatd_cmd_stats = {
  .name = "stats",
  .summary = "Show the node's counters (control socket, transport, ...)",
  .roles = CHATD_ROLE_ANY,
  .run = stats_run,
  .render = stats_render,
};
