/* sorted-keys.c: the keys of a string-keyed hash table in sorted order. */
#include "sorted-keys.h"

#include <string.h>

static gint
compare_strings (gconstpointer a, gconstpointer b, gpointer user_data)
{
  return strcmp (*(const char * const *) a, *(const char * const *) b);
}

const char **
chatd_sorted_keys (GHashTable *table, guint *ret_n)
{
  guint n = 0;
  const char **keys = (const char **) g_hash_table_get_keys_as_array (table, &n);
  g_qsort_with_data (keys, n, sizeof (char *), compare_strings, NULL);
  if (ret_n != NULL)
    *ret_n = n;
  return keys;
}
