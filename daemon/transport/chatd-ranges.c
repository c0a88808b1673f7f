/* chatd-ranges.c: a sorted set of disjoint half-open intervals. */
#include "chatd-ranges.h"

#include <string.h>

void
chatd_range_set_init (ChatdRangeSet *set)
{
  set->items = NULL;
  set->len = 0;
  set->cap = 0;
}

void
chatd_range_set_clear (ChatdRangeSet *set)
{
  g_free (set->items);
  chatd_range_set_init (set);
}

/* Index of the first interval whose end >= value (intervals ending exactly
 * at value are adjacent and therefore mergeable). */
static guint
lower_bound (const ChatdRangeSet *set, guint64 value)
{
  guint lo = 0, hi = set->len;
  while (lo < hi)
    {
      guint mid = lo + (hi - lo) / 2;
      if (set->items[mid].end < value)
        lo = mid + 1;
      else
        hi = mid;
    }
  return lo;
}

static void
reserve (ChatdRangeSet *set, guint n)
{
  if (n <= set->cap)
    return;
  guint cap = set->cap ? set->cap * 2 : 4;
  while (cap < n)
    cap *= 2;
  set->items = g_renew (ChatdRange, set->items, cap);
  set->cap = cap;
}

void
chatd_range_set_add (ChatdRangeSet *set, guint64 start, guint64 end)
{
  if (start >= end)
    return;
  /* Fast path: extends or follows the highest interval. */
  if (set->len > 0)
    {
      ChatdRange *last = &set->items[set->len - 1];
      if (start > last->end)
        {
          reserve (set, set->len + 1);
          set->items[set->len++] = (ChatdRange) { start, end };
          return;
        }
      if (start >= last->start)
        {
          if (end > last->end)
            last->end = end;
          return;
        }
    }
  guint i = lower_bound (set, start);
  if (i == set->len || set->items[i].start > end)
    {
      reserve (set, set->len + 1);
      memmove (&set->items[i + 1], &set->items[i], (set->len - i) * sizeof (ChatdRange));
      set->items[i] = (ChatdRange) { start, end };
      set->len++;
      return;
    }
  /* Merge with items[i] and every following interval that overlaps. */
  guint j = i;
  guint64 new_start = MIN (start, set->items[i].start);
  guint64 new_end = end;
  while (j < set->len && set->items[j].start <= end)
    {
      new_end = MAX (new_end, set->items[j].end);
      j++;
    }
  set->items[i] = (ChatdRange) { new_start, new_end };
  memmove (&set->items[i + 1], &set->items[j], (set->len - j) * sizeof (ChatdRange));
  set->len -= j - i - 1;
}

void
chatd_range_set_remove (ChatdRangeSet *set, guint64 start, guint64 end)
{
  if (start >= end || set->len == 0)
    return;
  guint i = lower_bound (set, start + 1); /* first interval with end > start */
  while (i < set->len && set->items[i].start < end)
    {
      ChatdRange *r = &set->items[i];
      if (r->start < start && r->end > end)
        {
          /* Split in two. */
          reserve (set, set->len + 1);
          r = &set->items[i];
          memmove (&set->items[i + 1], &set->items[i], (set->len - i) * sizeof (ChatdRange));
          set->len++;
          set->items[i].end = start;
          set->items[i + 1].start = end;
          return;
        }
      if (r->start < start)
        {
          r->end = start;
          i++;
          continue;
        }
      if (r->end > end)
        {
          r->start = end;
          return;
        }
      /* Fully covered: delete. */
      memmove (&set->items[i], &set->items[i + 1], (set->len - i - 1) * sizeof (ChatdRange));
      set->len--;
    }
}

gboolean
chatd_range_set_contains (const ChatdRangeSet *set, guint64 value)
{
  guint i = lower_bound (set, value + 1);
  return i < set->len && set->items[i].start <= value;
}

gboolean
chatd_range_set_covers (const ChatdRangeSet *set, guint64 start, guint64 end)
{
  if (start >= end)
    return TRUE;
  guint i = lower_bound (set, start + 1);
  return i < set->len && set->items[i].start <= start && set->items[i].end >= end;
}

void
chatd_range_set_drop_lowest (ChatdRangeSet *set)
{
  if (set->len == 0)
    return;
  memmove (&set->items[0], &set->items[1], (set->len - 1) * sizeof (ChatdRange));
  set->len--;
}

guint64
chatd_range_set_prefix (const ChatdRangeSet *set)
{
  if (set->len == 0 || set->items[0].start != 0)
    return 0;
  return set->items[0].end;
}
