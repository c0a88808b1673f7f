/* vardict.h: building a{sv} dictionaries on hot paths without the
 * format-string parser of g_variant_new / GVariantBuilder (which costs
 * several µs per dictionary). */
#pragma once
#include <glib.h>

/* An a{sv} of n entries keys[i] -> values[i] (each value floating or owned:
 * consumed), in that order; keys must be distinct.  Returns a floating a{sv}. */
GVariant *chatd_vardict_new (gsize n, const char *const *keys, GVariant *const *values);
