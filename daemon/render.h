/* render.h: the generic rendering of a result for people, used when a
 * command has no render function of its own. */
#pragma once
#include <glib.h>

/* a{sv}: "key: value" lines; aa{sv}: one line per item, "key=value ..." */
char *chatd_render_generic (GVariant *value);
