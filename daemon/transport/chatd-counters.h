/* chatd-counters.h: the transport's counters, as tables of (name, field).
 *
 * Adding a counter is one line in a list below; stats output, sums over
 * connections and lookups by name all follow from the table.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define CHATD_CONN_COUNTERS(X) \
  X (packets_sent)             \
  X (packets_received)         \
  X (bytes_sent)               \
  X (bytes_received)           \
  X (packets_lost)             \
  X (spurious_losses)          \
  X (packets_retransmitted)    \
  X (bytes_retransmitted)      \
  X (bytes_redundant)          \
  X (probe_timeouts)           \
  X (messages_sent)            \
  X (messages_failed)          \
  X (messages_received)        \
  X (messages_refused)         \
  X (dropped_duplicate)        \
  X (dropped_malformed)        \
  X (dropped_bad_checksum)     \
  X (dropped_auth_failed)      \
  X (dropped_no_key)           \
  X (dropped_unprotected)      \
  X (dropped_key_phase)        \
  X (key_updates)              \
  X (old_keys_wiped)           \
  X (dropped_memory_budget)    \
  X (protocol_violations)

#define CHATD_ENDPOINT_COUNTERS(X)   \
  X (datagrams_received)             \
  X (datagrams_sent)                 \
  X (bytes_received)                 \
  X (bytes_sent)                     \
  X (dropped_too_short)              \
  X (dropped_oversized)              \
  X (dropped_bad_version)            \
  X (dropped_bad_type)               \
  X (dropped_malformed_header)       \
  X (dropped_bad_checksum)           \
  X (dropped_unknown_connection)     \
  X (dropped_wrong_address)          \
  X (dropped_bad_cookie)             \
  X (dropped_initial_too_small)      \
  X (dropped_connection_limit)       \
  X (dropped_stateless_queue_full)   \
  X (retries_sent)                   \
  X (stateless_bytes_received)       \
  X (stateless_bytes_sent)           \
  X (connections_initiated)          \
  X (connections_accepted)           \
  X (connections_failed)             \
  X (connections_closed)

#define CHATD_COUNTER_FIELD(name) guint64 name;

typedef struct
{
  CHATD_CONN_COUNTERS (CHATD_COUNTER_FIELD)
} ChatdConnCounters;

typedef struct
{
  CHATD_ENDPOINT_COUNTERS (CHATD_COUNTER_FIELD)
} ChatdEndpointCounters;

typedef struct
{
  const char *name;
  gsize offset;
} ChatdCounterInfo;

extern const ChatdCounterInfo chatd_conn_counter_info[];
extern const gsize chatd_conn_counter_count;
extern const ChatdCounterInfo chatd_endpoint_counter_info[];
extern const gsize chatd_endpoint_counter_count;

#define CHATD_COUNTER_AT(base, info) (*(guint64 *) ((guint8 *) (base) + (info).offset))

G_END_DECLS
