/* counters.h: named counters that modules register and `stats` reads. */
#pragma once
#include <chatd/chatd-plugin.h>

typedef struct _ChatdCounters ChatdCounters;

ChatdCounters *chatd_counters_new      (void);
void           chatd_counters_free     (ChatdCounters *counters);
gboolean       chatd_counters_add      (ChatdCounters *counters, const char *name,
                                        ChatdCounterRead read, gpointer user_data,
                                        GError **error);
/* A module whose counters come and go (a transport's connections): it lists
 * them when `stats` asks, under its prefix ("transport." + name). */
typedef void (*ChatdCounterVisit)    (const char *name, guint64 value, gpointer visit_data);
typedef void (*ChatdCounterProvider) (gpointer provider_data, ChatdCounterVisit visit, gpointer visit_data);

guint          chatd_counters_add_provider    (ChatdCounters *counters, const char *prefix,
                                               ChatdCounterProvider provider, gpointer provider_data);
void           chatd_counters_remove_provider (ChatdCounters *counters, guint id);

/* a{sv}: every counter by name, sorted, values of type t */
GVariant      *chatd_counters_snapshot (ChatdCounters *counters);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (ChatdCounters, chatd_counters_free)
