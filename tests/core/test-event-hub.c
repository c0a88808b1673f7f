/* test-event-hub.c: replay after an id, then live, none lost or doubled;
 * bounded ring; unsubscribing inside a callback; batched delivery (one
 * batch per main-loop iteration, bounded, in order, the gap notice first). */
#include "event-hub.h"

#include <string.h>

typedef struct {
  GPtrArray     *seen;    /* "id:kind" */
  ChatdEventHub *hub;
  guint          subscription;
  gboolean       unsubscribe_on_first;
} Recorder;

static void
record (const char *id, const char *kind, GVariant *data, const char *text, gpointer user_data)
{
  Recorder *r = user_data;
  g_ptr_array_add (r->seen, g_strdup_printf ("%s:%s", id, kind));
  if (r->unsubscribe_on_first)
    chatd_event_hub_unsubscribe (r->hub, r->subscription);
}

static void
test_replay_then_live (void)
{
  g_autoptr(ChatdEventHub) hub = chatd_event_hub_new (8);
  for (int i = 0; i < 5; i++)
    chatd_event_hub_emit (hub, "tick", NULL, "t");
  Recorder r = { .seen = g_ptr_array_new_with_free_func (g_free), .hub = hub };
  g_autoptr(GError) error = NULL;
  guint sub = chatd_event_hub_subscribe (hub, "3", record, &r, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (sub, >, 0);
  g_assert_cmpuint (r.seen->len, ==, 2);   /* 4 and 5 replayed */
  chatd_event_hub_emit (hub, "tock", NULL, NULL);
  g_assert_cmpuint (r.seen->len, ==, 3);
  g_assert_cmpstr (r.seen->pdata[0], ==, "4:tick");
  g_assert_cmpstr (r.seen->pdata[1], ==, "5:tick");
  g_assert_cmpstr (r.seen->pdata[2], ==, "6:tock");
  chatd_event_hub_unsubscribe (hub, sub);
  chatd_event_hub_emit (hub, "after", NULL, NULL);
  g_assert_cmpuint (r.seen->len, ==, 3);
  g_ptr_array_unref (r.seen);
}

static void
test_live_only_and_ring_bound (void)
{
  g_autoptr(ChatdEventHub) hub = chatd_event_hub_new (4);
  for (int i = 0; i < 10; i++)
    chatd_event_hub_emit (hub, "old", NULL, NULL);
  Recorder live = { .seen = g_ptr_array_new_with_free_func (g_free), .hub = hub };
  Recorder all = { .seen = g_ptr_array_new_with_free_func (g_free), .hub = hub };
  chatd_event_hub_subscribe (hub, "", record, &live, NULL, NULL);
  chatd_event_hub_subscribe (hub, "0", record, &all, NULL, NULL);
  g_assert_cmpuint (live.seen->len, ==, 0);
  /* only the ring's 4 are held: a gap event says 1..6 were missed */
  g_assert_cmpuint (all.seen->len, ==, 5);
  g_assert_cmpstr (all.seen->pdata[0], ==, "6:gap");
  g_assert_cmpstr (all.seen->pdata[1], ==, "7:old");
  g_assert_cmpstr (all.seen->pdata[4], ==, "10:old");
  g_assert_cmpuint (chatd_event_hub_n_subscribers (hub), ==, 2);
  g_ptr_array_unref (live.seen);
  g_ptr_array_unref (all.seen);
}

static void
test_bad_since (void)
{
  g_autoptr(ChatdEventHub) hub = chatd_event_hub_new (4);
  g_autoptr(GError) error = NULL;
  g_assert_cmpuint (chatd_event_hub_subscribe (hub, "12abc", record, NULL, NULL, &error), ==, 0);
  g_assert_error (error, CHATD_ERROR, CHATD_ERROR_INVALID_ARGUMENT);
  g_assert_cmpuint (chatd_event_hub_n_subscribers (hub), ==, 0);
}

static void
test_unsubscribe_inside_callback (void)
{
  g_autoptr(ChatdEventHub) hub = chatd_event_hub_new (4);
  chatd_event_hub_emit (hub, "a", NULL, NULL);
  chatd_event_hub_emit (hub, "b", NULL, NULL);
  Recorder r = { .seen = g_ptr_array_new_with_free_func (g_free), .hub = hub, .unsubscribe_on_first = TRUE };
  r.subscription = 1;   /* the first subscription id of a new hub */
  g_assert_cmpuint (chatd_event_hub_subscribe (hub, "0", record, &r, NULL, NULL), ==, 1);
  g_assert_cmpuint (r.seen->len, ==, 1);   /* replay stopped when it unsubscribed */
  chatd_event_hub_emit (hub, "c", NULL, NULL);
  g_assert_cmpuint (r.seen->len, ==, 1);
  g_ptr_array_unref (r.seen);
}

/* a subscriber that emits from its callback, with a full ring: the event
 * being delivered is trimmed from the ring meanwhile (run under valgrind or
 * ASan to see a use-after-free if events were not reference-counted) */
typedef struct {
  ChatdEventHub *hub;
  guint          depth;
  guint          calls;
} Echo;

static void
echo (const char *id, const char *kind, GVariant *data, const char *text, gpointer user_data)
{
  Echo *e = user_data;
  e->calls++;
  if (e->depth < 5)
    {
      e->depth++;
      for (int i = 0; i < 3; i++)
        chatd_event_hub_emit (e->hub, "echo", NULL, "again");
      e->depth--;
    }
  /* still valid after the emits above trimmed the ring */
  g_assert_nonnull (kind);
  g_assert_cmpuint (strlen (text), >, 0);
  g_assert_true (g_variant_is_of_type (data, G_VARIANT_TYPE_VARDICT));
}

static void
test_reentrant_emit (void)
{
  g_autoptr(ChatdEventHub) hub = chatd_event_hub_new (2);
  Echo e = { .hub = hub };
  chatd_event_hub_emit (hub, "a", NULL, "first");
  chatd_event_hub_emit (hub, "b", NULL, "second");
  chatd_event_hub_subscribe (hub, "0", echo, &e, NULL, NULL);
  g_assert_cmpuint (e.calls, >, 3);
  g_assert_cmpuint (chatd_event_hub_last_id (hub), >, 10);
}

/* --- batched subscribers --- */

typedef struct {
  GPtrArray     *seen;       /* "id:kind" of every event, in arrival order */
  GArray        *sizes;      /* guint: events per batch */
  ChatdEventHub *hub;
  guint          subscription;
  gboolean       unsubscribe_in_callback;
  guint          destroyed;
  GVariant      *first_data; /* of the first event seen */
} BatchRecorder;

static void
batch_recorder_init (BatchRecorder *r, ChatdEventHub *hub)
{
  *r = (BatchRecorder) { .seen = g_ptr_array_new_with_free_func (g_free),
                         .sizes = g_array_new (FALSE, FALSE, sizeof (guint)), .hub = hub };
}

static void
batch_recorder_clear (BatchRecorder *r)
{
  g_ptr_array_unref (r->seen);
  g_array_unref (r->sizes);
  g_clear_pointer (&r->first_data, g_variant_unref);
}

static void
record_batch (GVariant *batch, gpointer user_data)
{
  BatchRecorder *r = user_data;
  g_assert_true (g_variant_is_of_type (batch, G_VARIANT_TYPE (CHATD_EVENT_BATCH_TYPE)));
  guint n = g_variant_n_children (batch);
  g_assert_cmpuint (n, >, 0);
  g_array_append_val (r->sizes, n);
  for (guint i = 0; i < n; i++)
    {
      const char *id, *kind, *text;
      GVariant *data;
      g_variant_get_child (batch, i, "(&s&s@a{sv}&s)", &id, &kind, &data, &text);
      g_ptr_array_add (r->seen, g_strdup_printf ("%s:%s", id, kind));
      if (r->first_data == NULL)
        r->first_data = data;
      else
        g_variant_unref (data);
    }
  if (r->unsubscribe_in_callback)
    chatd_event_hub_unsubscribe (r->hub, r->subscription);
}

static void
count_destroy (gpointer user_data)
{
  ((BatchRecorder *) user_data)->destroyed++;
}

static void
iterate_all (void)
{
  for (int i = 0; i < 100 && g_main_context_iteration (NULL, FALSE); i++)
    ;
}

/* ids 1..n in order, each once */
static void
assert_ids_in_order (GPtrArray *seen, guint first, guint n)
{
  g_assert_cmpuint (seen->len, ==, n);
  for (guint i = 0; i < n; i++)
    {
      g_autofree char *prefix = g_strdup_printf ("%u:", first + i);
      g_assert_true (g_str_has_prefix (seen->pdata[i], prefix));
    }
}

static void
test_batch_one_iteration (void)
{
  g_autoptr(ChatdEventHub) hub = chatd_event_hub_new (64);
  for (int i = 0; i < 5; i++)
    chatd_event_hub_emit (hub, "old", NULL, NULL);
  BatchRecorder r;
  batch_recorder_init (&r, hub);
  Recorder unbatched = { .seen = g_ptr_array_new_with_free_func (g_free), .hub = hub };
  g_autoptr(GError) error = NULL;
  guint sub = chatd_event_hub_subscribe_batched (hub, "3", record_batch, &r, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (sub, >, 0);
  chatd_event_hub_subscribe (hub, "", record, &unbatched, NULL, NULL);
  GVariantDict dict;
  g_variant_dict_init (&dict, NULL);
  g_variant_dict_insert (&dict, "n", "u", 7);
  chatd_event_hub_emit (hub, "tick", g_variant_dict_end (&dict), "a tick");
  chatd_event_hub_emit (hub, "tock", NULL, NULL);
  /* replayed and live events wait for the end of the iteration; an
   * unbatched subscriber still has them at once */
  g_assert_cmpuint (r.seen->len, ==, 0);
  g_assert_cmpuint (unbatched.seen->len, ==, 2);
  iterate_all ();
  g_assert_cmpuint (r.sizes->len, ==, 1);
  assert_ids_in_order (r.seen, 4, 4);
  g_assert_cmpstr (r.seen->pdata[2], ==, "6:tick");
  g_assert_cmpstr (r.seen->pdata[3], ==, "7:tock");

  /* the next iteration's events are the next batch; flush sends at once */
  chatd_event_hub_emit (hub, "later", NULL, NULL);
  chatd_event_hub_flush (hub);
  g_assert_cmpuint (r.sizes->len, ==, 2);
  g_assert_cmpstr (r.seen->pdata[4], ==, "8:later");
  iterate_all ();
  g_assert_cmpuint (r.sizes->len, ==, 2);   /* nothing doubled */

  /* the data arrives as emitted */
  BatchRecorder live;
  batch_recorder_init (&live, hub);
  chatd_event_hub_subscribe_batched (hub, "5", record_batch, &live, NULL, NULL);
  iterate_all ();
  guint n = 0;
  g_assert_true (g_variant_lookup (live.first_data, "n", "u", &n));
  g_assert_cmpuint (n, ==, 7);
  batch_recorder_clear (&r);
  batch_recorder_clear (&live);
  g_ptr_array_unref (unbatched.seen);
}

static void
test_batch_burst_over_bound (void)
{
  g_autoptr(ChatdEventHub) hub = chatd_event_hub_new (4096);
  BatchRecorder r;
  batch_recorder_init (&r, hub);
  chatd_event_hub_subscribe_batched (hub, "", record_batch, &r, NULL, NULL);
  guint n = 2 * CHATD_EVENT_BATCH_MAX_EVENTS + 88;
  for (guint i = 0; i < n; i++)
    chatd_event_hub_emit (hub, "burst", NULL, "b");
  /* full batches went out as they filled, in order */
  g_assert_cmpuint (r.sizes->len, ==, 2);
  g_assert_cmpuint (g_array_index (r.sizes, guint, 0), ==, CHATD_EVENT_BATCH_MAX_EVENTS);
  g_assert_cmpuint (g_array_index (r.sizes, guint, 1), ==, CHATD_EVENT_BATCH_MAX_EVENTS);
  iterate_all ();
  g_assert_cmpuint (r.sizes->len, ==, 3);
  g_assert_cmpuint (g_array_index (r.sizes, guint, 2), ==, 88);
  assert_ids_in_order (r.seen, 1, n);

  /* the byte bound: big events make small batches */
  g_autofree char *big = g_strnfill (CHATD_EVENT_BATCH_MAX_BYTES / 3, 'x');
  for (int i = 0; i < 10; i++)
    chatd_event_hub_emit (hub, "big", NULL, big);
  iterate_all ();
  guint total = 0;
  for (guint i = 3; i < r.sizes->len; i++)
    {
      g_assert_cmpuint (g_array_index (r.sizes, guint, i), <=, 3);
      total += g_array_index (r.sizes, guint, i);
    }
  g_assert_cmpuint (total, ==, 10);
  assert_ids_in_order (r.seen, 1, n + 10);
  batch_recorder_clear (&r);
}

static void
test_batch_unsubscribe_mid_burst (void)
{
  g_autoptr(ChatdEventHub) hub = chatd_event_hub_new (4096);
  BatchRecorder r, other;
  batch_recorder_init (&r, hub);
  batch_recorder_init (&other, hub);
  r.subscription = chatd_event_hub_subscribe_batched (hub, "", record_batch, &r, count_destroy, NULL);
  chatd_event_hub_subscribe_batched (hub, "", record_batch, &other, NULL, NULL);
  guint n = CHATD_EVENT_BATCH_MAX_EVENTS + 44;
  for (guint i = 0; i < n; i++)
    chatd_event_hub_emit (hub, "burst", NULL, NULL);
  g_assert_cmpuint (r.seen->len, ==, CHATD_EVENT_BATCH_MAX_EVENTS);
  /* what it was due before unsubscribing still arrives, then nothing */
  chatd_event_hub_unsubscribe (hub, r.subscription);
  g_assert_cmpuint (r.destroyed, ==, 1);
  assert_ids_in_order (r.seen, 1, n);
  for (int i = 0; i < 10; i++)
    chatd_event_hub_emit (hub, "after", NULL, NULL);
  iterate_all ();
  assert_ids_in_order (r.seen, 1, n);
  assert_ids_in_order (other.seen, 1, n + 10);   /* the other one is unaffected */
  g_assert_cmpuint (chatd_event_hub_n_subscribers (hub), ==, 1);

  /* unsubscribing from inside its own batch callback, mid-burst */
  BatchRecorder self;
  batch_recorder_init (&self, hub);
  self.unsubscribe_in_callback = TRUE;
  self.subscription = chatd_event_hub_subscribe_batched (hub, "", record_batch, &self, count_destroy, NULL);
  for (guint i = 0; i < n; i++)
    chatd_event_hub_emit (hub, "burst", NULL, NULL);
  iterate_all ();
  g_assert_cmpuint (self.destroyed, ==, 1);
  g_assert_cmpuint (self.sizes->len, ==, 1);
  assert_ids_in_order (self.seen, n + 11, CHATD_EVENT_BATCH_MAX_EVENTS);
  assert_ids_in_order (other.seen, 1, 2 * n + 10);
  batch_recorder_clear (&r);
  batch_recorder_clear (&other);
  batch_recorder_clear (&self);
}

static void
test_batch_gap_first (void)
{
  g_autoptr(ChatdEventHub) hub = chatd_event_hub_new (4);
  for (int i = 0; i < 10; i++)
    chatd_event_hub_emit (hub, "old", NULL, NULL);
  BatchRecorder r;
  batch_recorder_init (&r, hub);
  chatd_event_hub_subscribe_batched (hub, "0", record_batch, &r, NULL, NULL);
  chatd_event_hub_emit (hub, "new", NULL, NULL);
  iterate_all ();
  g_assert_cmpuint (r.sizes->len, ==, 1);
  g_assert_cmpuint (r.seen->len, ==, 6);
  g_assert_cmpstr (r.seen->pdata[0], ==, "6:gap");
  g_assert_cmpstr (r.seen->pdata[1], ==, "7:old");
  g_assert_cmpstr (r.seen->pdata[4], ==, "10:old");
  g_assert_cmpstr (r.seen->pdata[5], ==, "11:new");
  guint64 first = 0, last = 0;
  g_assert_true (g_variant_lookup (r.first_data, "first", "t", &first));
  g_assert_true (g_variant_lookup (r.first_data, "last", "t", &last));
  g_assert_cmpuint (first, ==, 1);
  g_assert_cmpuint (last, ==, 6);
  batch_recorder_clear (&r);
}

/* pending batches of a hub that goes away are dropped, not delivered late */
static void
test_batch_free_with_pending (void)
{
  BatchRecorder r;
  batch_recorder_init (&r, NULL);
  ChatdEventHub *hub = chatd_event_hub_new (8);
  chatd_event_hub_subscribe_batched (hub, "", record_batch, &r, count_destroy, NULL);
  chatd_event_hub_emit (hub, "pending", NULL, NULL);
  chatd_event_hub_free (hub);
  g_assert_cmpuint (r.destroyed, ==, 1);
  iterate_all ();
  g_assert_cmpuint (r.seen->len, ==, 0);
  batch_recorder_clear (&r);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/core/events/replay-then-live", test_replay_then_live);
  g_test_add_func ("/core/events/live-only-and-ring-bound", test_live_only_and_ring_bound);
  g_test_add_func ("/core/events/bad-since", test_bad_since);
  g_test_add_func ("/core/events/unsubscribe-inside-callback", test_unsubscribe_inside_callback);
  g_test_add_func ("/core/events/reentrant-emit", test_reentrant_emit);
  g_test_add_func ("/core/events/batch/one-iteration", test_batch_one_iteration);
  g_test_add_func ("/core/events/batch/burst-over-bound", test_batch_burst_over_bound);
  g_test_add_func ("/core/events/batch/unsubscribe-mid-burst", test_batch_unsubscribe_mid_burst);
  g_test_add_func ("/core/events/batch/gap-first", test_batch_gap_first);
  g_test_add_func ("/core/events/batch/free-with-pending", test_batch_free_with_pending);
  return g_test_run ();
}
