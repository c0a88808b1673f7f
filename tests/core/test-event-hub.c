/* test-event-hub.c: replay after an id, then live, none lost or doubled;
 * bounded ring; unsubscribing inside a callback. */
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

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/core/events/replay-then-live", test_replay_then_live);
  g_test_add_func ("/core/events/live-only-and-ring-bound", test_live_only_and_ring_bound);
  g_test_add_func ("/core/events/bad-since", test_bad_since);
  g_test_add_func ("/core/events/unsubscribe-inside-callback", test_unsubscribe_inside_callback);
  g_test_add_func ("/core/events/reentrant-emit", test_reentrant_emit);
  return g_test_run ();
}
