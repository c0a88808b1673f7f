/* chatd-counters.c: counter name tables. */
#include "chatd-counters.h"

#include <stddef.h>

#define CONN_INFO(n) { #n, offsetof (ChatdConnCounters, n) },
#define ENDPOINT_INFO(n) { #n, offsetof (ChatdEndpointCounters, n) },

const ChatdCounterInfo chatd_conn_counter_info[] = { CHATD_CONN_COUNTERS (CONN_INFO) };
const gsize chatd_conn_counter_count = G_N_ELEMENTS (chatd_conn_counter_info);
const ChatdCounterInfo chatd_endpoint_counter_info[] = { CHATD_ENDPOINT_COUNTERS (ENDPOINT_INFO) };
const gsize chatd_endpoint_counter_count = G_N_ELEMENTS (chatd_endpoint_counter_info);
