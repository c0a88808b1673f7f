/* output.c: JSON output, serialised by json-glib from the result GVariant. */
#include "output.h"

#include <json-glib/json-glib.h>

char *
chatctl_json_from_variant (GVariant *value, gboolean pretty)
{
  g_autoptr(JsonNode) node = json_gvariant_serialize (value);
  g_autoptr(JsonGenerator) generator = json_generator_new ();
  json_generator_set_pretty (generator, pretty);
  json_generator_set_root (generator, node);
  return json_generator_to_data (generator, NULL);
}
