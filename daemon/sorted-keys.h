/* sorted-keys.h: the keys of a string-keyed hash table in sorted order. */
#pragma once
#include <glib.h>

/* Returns the keys (borrowed) sorted by strcmp; free the array with g_free. */
const char **chatd_sorted_keys (GHashTable *table, guint *ret_n);
