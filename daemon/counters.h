/* counters.h: named counters that modules register and `stats` reads. */
#pragma once
#include <chatd/chatd-plugin.h>

typedef struct _ChatdCounters ChatdCounters;

ChatdCounters *chatd_counters_new      (void);
void           chatd_counters_free     (ChatdCounters *counters);
gboolean       chatd_counters_add      (ChatdCounters *counters, const char *name,
                                        ChatdCounterRead read, gpointer user_data,
                                        GError **error);
/* a{sv}: every counter by name, sorted, values of type t */
GVariant      *chatd_counters_snapshot (ChatdCounters *counters);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (ChatdCounters, chatd_counters_free)
