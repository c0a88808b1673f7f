/* output.h: how chatctl prints results: the command's text for people, or
 * JSON serialised by json-glib. */
#pragma once
#include <glib.h>

/* One JSON document for a result (a{sv} -> object, aa{sv} -> array). */
char *chatctl_json_from_variant (GVariant *value, gboolean pretty);
