/* message-event.c: a `message` event's data, flat. */
#include "message-event.h"
#include "bench-times.h"
#include "mailbox.h"
#include "vardict.h"

#include <time.h>

/* 1970-01-01 .. 9999-12-31T23:59:59.999Z: the years GDateTime prints with
 * exactly four digits; other times take the mailbox's own (slower) path */
#define FAST_TIME_MAX_MS G_GINT64_CONSTANT (253402300800000)

/* what the mailbox's "%Y-%m-%dT%H:%M:%S.%fZ" gives for these times */
static gboolean
format_time (gint64 ms, char out[32])
{
  if (ms < 0 || ms >= FAST_TIME_MAX_MS)
    return FALSE;
  time_t seconds = (time_t) (ms / 1000);
  struct tm tm;
  if (gmtime_r (&seconds, &tm) == NULL)
    return FALSE;
  g_snprintf (out, 32, "%04d-%02d-%02dT%02d:%02d:%02d.%03d000Z", tm.tm_year + 1900, tm.tm_mon + 1,
              tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int) (ms % 1000));
  return TRUE;
}

GVariant *
chatd_message_event_data (const ChatdMessage *message, gint64 stored_us)
{
  char time[32];
  if (!format_time (message->time_ms, time))
    return chatd_vardict_with_time (chatd_message_to_variant (message), "stored-us", stored_us);
  ChatdVardictMember members[] = {
    { .key = "id", .string = message->id_text },
    { .key = "from", .string = message->sender },
    { .key = "to", .string = message->recipient },
    { .key = "time", .string = time },
    { .key = "text", .string = message->text },
    { .key = "stored-us", .int64 = stored_us },
  };
  return chatd_vardict_new_flat (G_N_ELEMENTS (members), members);
}
