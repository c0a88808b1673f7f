/* counters.c: named counters that modules register and `stats` reads. */
#define G_LOG_DOMAIN "chatd-stats"
#include "counters.h"
#include "sorted-keys.h"

#include <string.h>

#define COUNTER_NAME_MAX 64

typedef struct {
  ChatdCounterRead read;
  gpointer         user_data;
} Counter;

struct _ChatdCounters {
  GHashTable *by_name;   /* char* -> Counter* */
};

ChatdCounters *
chatd_counters_new (void)
{
  ChatdCounters *counters = g_new0 (ChatdCounters, 1);
  counters->by_name = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  return counters;
}

void
chatd_counters_free (ChatdCounters *counters)
{
  if (counters == NULL)
    return;
  g_hash_table_unref (counters->by_name);
  g_free (counters);
}

static gboolean
counter_name_is_valid (const char *name)
{
  gsize len = strlen (name);
  if (len == 0 || len > COUNTER_NAME_MAX || !g_ascii_islower (name[0]))
    return FALSE;
  for (const char *p = name; *p != '\0'; p++)
    if (!g_ascii_islower (*p) && !g_ascii_isdigit (*p) && *p != '.' && *p != '-' && *p != '_')
      return FALSE;
  return TRUE;
}

gboolean
chatd_counters_add (ChatdCounters *counters, const char *name,
                    ChatdCounterRead read, gpointer user_data, GError **error)
{
  if (name == NULL || !counter_name_is_valid (name) || read == NULL)
    {
      g_set_error (error, CHATD_ERROR, CHATD_ERROR_INVALID_ARGUMENT,
                   "invalid counter name '%s'", name ? name : "(null)");
      return FALSE;
    }
  if (g_hash_table_contains (counters->by_name, name))
    {
      g_set_error (error, CHATD_ERROR, CHATD_ERROR_DUPLICATE,
                   "counter '%s' is already registered", name);
      return FALSE;
    }
  Counter *counter = g_new0 (Counter, 1);
  counter->read = read;
  counter->user_data = user_data;
  g_hash_table_insert (counters->by_name, g_strdup (name), counter);
  return TRUE;
}

GVariant *
chatd_counters_snapshot (ChatdCounters *counters)
{
  guint n = 0;
  g_autofree const char **names = chatd_sorted_keys (counters->by_name, &n);
  g_auto(GVariantBuilder) builder = G_VARIANT_BUILDER_INIT (G_VARIANT_TYPE_VARDICT);
  for (guint i = 0; i < n; i++)
    {
      Counter *counter = g_hash_table_lookup (counters->by_name, names[i]);
      g_variant_builder_add (&builder, "{sv}", names[i],
                             g_variant_new_uint64 (counter->read (counter->user_data)));
    }
  return g_variant_builder_end (&builder);
}
