/* chatd-ranges.h: a set of half-open 64-bit intervals [start, end).
 *
 * Used for received packet numbers (ACK generation), received and
 * acknowledged stream bytes, bytes to retransmit, and finished stream ids.
 * Intervals are kept sorted, disjoint and non-adjacent; adding at the top
 * (the common case) is O(1).
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct
{
  guint64 start;
  guint64 end; /* exclusive */
} ChatdRange;

typedef struct
{
  ChatdRange *items;
  guint len;
  guint cap;
} ChatdRangeSet;

void     chatd_range_set_init      (ChatdRangeSet *set);
void     chatd_range_set_clear     (ChatdRangeSet *set);
void     chatd_range_set_add       (ChatdRangeSet *set, guint64 start, guint64 end);
void     chatd_range_set_remove    (ChatdRangeSet *set, guint64 start, guint64 end);
gboolean chatd_range_set_contains  (const ChatdRangeSet *set, guint64 value);
gboolean chatd_range_set_covers    (const ChatdRangeSet *set, guint64 start, guint64 end);
/* Drops the lowest interval; used to bound the size of a set. */
void     chatd_range_set_drop_lowest (ChatdRangeSet *set);
/* Length of the prefix [0, n) fully covered: 0 if 0 is not in the set. */
guint64  chatd_range_set_prefix    (const ChatdRangeSet *set);

static inline gboolean
chatd_range_set_is_empty (const ChatdRangeSet *set)
{
  return set->len == 0;
}

G_END_DECLS
