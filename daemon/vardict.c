/* vardict.c: a{sv} of strings and int64s, written flat. */
#include "vardict.h"

#include <string.h>

/* GVariant's serialised form (the GVariant specification; gvariant-serialiser.c):
 * a container of body size B with n framing offsets takes B + n * k bytes,
 * k the smallest of 1, 2, 4, 8 whose range holds that total; offsets are
 * little-endian.  A {sv} entry is the key (with its NUL), zero padding to 8,
 * the variant (the value, a NUL, the type string), then one offset: the end
 * of the key.  a{sv} is the entries, each starting at a multiple of 8, then
 * the end offset of every entry. */
static gsize
total_size (gsize body, gsize n_offsets)
{
  if (body + n_offsets <= G_MAXUINT8)
    return body + n_offsets;
  if (body + 2 * n_offsets <= G_MAXUINT16)
    return body + 2 * n_offsets;
  if (body + 4 * n_offsets <= G_MAXUINT32)
    return body + 4 * n_offsets;
  return body + 8 * n_offsets;
}

static gsize
offset_size (gsize total)
{
  return total > G_MAXUINT32 ? 8 : total > G_MAXUINT16 ? 4 : total > G_MAXUINT8 ? 2 : total > 0 ? 1 : 0;
}

static void
write_offset (guint8 *at, gsize value, gsize size)
{
  for (gsize i = 0; i < size; i++)
    at[i] = (guint8) (value >> (8 * i));
}

#define ALIGN8(x) (((x) + 7) & ~(gsize) 7)

/* the entry's sizes: key end, value start, body, total */
typedef struct { gsize key_end, value_at, value_size, body, total; } EntryLayout;

static EntryLayout
entry_layout (const ChatdVardictMember *member)
{
  EntryLayout l;
  l.key_end = strlen (member->key) + 1;
  l.value_at = ALIGN8 (l.key_end);
  l.value_size = member->string != NULL ? strlen (member->string) + 1 : sizeof (gint64);
  l.body = l.value_at + l.value_size + 2;   /* NUL and the one-letter type */
  l.total = total_size (l.body, 1);
  return l;
}

GVariant *
chatd_vardict_new_flat (gsize n, const ChatdVardictMember *members)
{
  if (n == 0)
    return g_variant_new_array (G_VARIANT_TYPE ("{sv}"), NULL, 0);
  EntryLayout stack_layouts[16];
  EntryLayout *layouts = n <= G_N_ELEMENTS (stack_layouts) ? stack_layouts : g_new (EntryLayout, n);
  gsize body = 0;
  for (gsize i = 0; i < n; i++)
    {
      layouts[i] = entry_layout (&members[i]);
      body = ALIGN8 (body) + layouts[i].total;
    }
  gsize total = total_size (body, n);
  gsize array_offset_size = offset_size (total);
  guint8 *data = g_malloc0 (total);
  gsize at = 0;
  for (gsize i = 0; i < n; i++)
    {
      const ChatdVardictMember *m = &members[i];
      const EntryLayout *l = &layouts[i];
      at = ALIGN8 (at);
      guint8 *entry = data + at;
      memcpy (entry, m->key, l->key_end);
      if (m->string != NULL)
        memcpy (entry + l->value_at, m->string, l->value_size);
      else
        {
          gint64 little = GINT64_TO_LE (m->int64);
          memcpy (entry + l->value_at, &little, sizeof little);
        }
      entry[l->value_at + l->value_size] = '\0';
      entry[l->value_at + l->value_size + 1] = m->string != NULL ? 's' : 'x';
      write_offset (entry + l->body, l->key_end, offset_size (l->total));
      at += l->total;
      write_offset (data + body + i * array_offset_size, at, array_offset_size);
    }
  if (layouts != stack_layouts)
    g_free (layouts);
  GBytes *bytes = g_bytes_new_take (data, total);
  GVariant *dict = g_variant_new_from_bytes (G_VARIANT_TYPE_VARDICT, bytes, TRUE);
  g_bytes_unref (bytes);
  return dict;
}

gboolean
chatd_vardict_to_members (GVariant *dict, ChatdVardictMember *members, gsize max, gsize *ret_n)
{
  gsize n = g_variant_n_children (dict);
  if (n > max)
    return FALSE;
  for (gsize i = 0; i < n; i++)
    {
      g_autoptr(GVariant) entry = g_variant_get_child_value (dict, i);
      g_autoptr(GVariant) key = g_variant_get_child_value (entry, 0);
      g_autoptr(GVariant) boxed = g_variant_get_child_value (entry, 1);
      g_autoptr(GVariant) value = g_variant_get_variant (boxed);
      /* pointers into dict's own data: they live as long as dict */
      members[i].key = g_variant_get_string (key, NULL);
      if (g_variant_is_of_type (value, G_VARIANT_TYPE_STRING))
        members[i].string = g_variant_get_string (value, NULL);
      else if (g_variant_is_of_type (value, G_VARIANT_TYPE_INT64))
        {
          members[i].string = NULL;
          members[i].int64 = g_variant_get_int64 (value);
        }
      else
        return FALSE;
    }
  *ret_n = n;
  return TRUE;
}
