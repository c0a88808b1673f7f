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

typedef struct {
  guint                id;
  char                *prefix;
  ChatdCounterProvider provider;
  gpointer             data;
} Provider;

struct _ChatdCounters {
  GHashTable *by_name;   /* char* -> Counter* */
  GPtrArray  *providers; /* Provider* */
  guint       next_provider;
};

static void
provider_free (Provider *p)
{
  g_free (p->prefix);
  g_free (p);
}

ChatdCounters *
chatd_counters_new (void)
{
  ChatdCounters *counters = g_new0 (ChatdCounters, 1);
  counters->by_name = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  counters->providers = g_ptr_array_new_with_free_func ((GDestroyNotify) provider_free);
  return counters;
}

void
chatd_counters_free (ChatdCounters *counters)
{
  if (counters == NULL)
    return;
  g_hash_table_unref (counters->by_name);
  g_ptr_array_unref (counters->providers);
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

guint
chatd_counters_add_provider (ChatdCounters *counters, const char *prefix, ChatdCounterProvider provider,
                             gpointer provider_data)
{
  Provider *p = g_new0 (Provider, 1);
  p->id = ++counters->next_provider;
  p->prefix = g_strdup (prefix);
  p->provider = provider;
  p->data = provider_data;
  g_ptr_array_add (counters->providers, p);
  return p->id;
}

void
chatd_counters_remove_provider (ChatdCounters *counters, guint id)
{
  for (guint i = 0; i < counters->providers->len; i++)
    if (((Provider *) counters->providers->pdata[i])->id == id)
      {
        g_ptr_array_remove_index (counters->providers, i);
        return;
      }
}

typedef struct {
  GHashTable *values;   /* full name -> guint64* */
  const char *prefix;
} Visit;

static void
visit_counter (const char *name, guint64 value, gpointer user_data)
{
  Visit *v = user_data;
  guint64 *boxed = g_new (guint64, 1);
  *boxed = value;
  g_hash_table_replace (v->values, g_strconcat (v->prefix, name, NULL), boxed);
}

GVariant *
chatd_counters_snapshot (ChatdCounters *counters)
{
  g_autoptr(GHashTable) values = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  GHashTableIter iter;
  gpointer key, value;
  g_hash_table_iter_init (&iter, counters->by_name);
  while (g_hash_table_iter_next (&iter, &key, &value))
    {
      Visit v = { values, "" };
      visit_counter (key, ((Counter *) value)->read (((Counter *) value)->user_data), &v);
    }
  for (guint i = 0; i < counters->providers->len; i++)
    {
      Provider *p = counters->providers->pdata[i];
      Visit v = { values, p->prefix };
      p->provider (p->data, visit_counter, &v);
    }
  guint n = 0;
  g_autofree const char **names = chatd_sorted_keys (values, &n);
  g_auto(GVariantBuilder) builder = G_VARIANT_BUILDER_INIT (G_VARIANT_TYPE_VARDICT);
  for (guint i = 0; i < n; i++)
    g_variant_builder_add (&builder, "{sv}", names[i],
                           g_variant_new_uint64 (*(guint64 *) g_hash_table_lookup (values, names[i])));
  return g_variant_builder_end (&builder);
}
