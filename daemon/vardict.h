/* vardict.h: building a{sv} dictionaries of strings and int64s on hot paths
 * (every event a node emits) without the format-string parser of
 * g_variant_new / GVariantBuilder and without a tree of small GVariants. */
#pragma once
#include <glib.h>

/* One member of a flat dictionary: a string value, or (string NULL) an int64 */
typedef struct {
  const char *key;
  const char *string;   /* valid UTF-8 */
  gint64      int64;
} ChatdVardictMember;

/* The a{sv} of these members (keys distinct, strings valid UTF-8), written
 * directly in GVariant's serialised form: one buffer, nothing to walk or
 * free member by member.  Returns a floating a{sv} in normal form. */
GVariant *chatd_vardict_new_flat (gsize n, const ChatdVardictMember *members);

/* The members of dict (an a{sv}, borrowed; its strings stay valid while it
 * lives), in order; FALSE if a value is neither a string nor an int64 or
 * there are more than max members (the caller falls back). */
gboolean  chatd_vardict_to_members (GVariant *dict, ChatdVardictMember *members, gsize max,
                                    gsize *ret_n);
