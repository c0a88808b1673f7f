/* netsim-impair.h: the impairment model of one direction of the relay.
 *
 * Pure logic, no sockets: given the time a datagram arrived, decide whether it
 * is dropped (and why), whether it is corrupted or duplicated, and when each
 * copy leaves.  Every random decision comes from the direction's own seeded
 * generator, so a fixed seed and a fixed sequence of datagrams give the same
 * fate to every datagram on every run.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define NETSIM_NS_PER_MS G_GUINT64_CONSTANT (1000000)

typedef struct {
  guint64 start_ms;
  guint64 duration_ms;
} NetsimBlackhole;

typedef struct {
  double loss;            /* probability 0..1 of a random drop */
  double burst_enter;     /* Gilbert-Elliott: good -> bad per datagram */
  double burst_leave;     /* bad -> good per datagram */
  double burst_loss;      /* loss probability while in the bad state */
  double delay_ms;        /* base one-way delay */
  double jitter_ms;       /* delay is uniform in [delay - jitter, delay + jitter] */
  double reorder;         /* probability to hold a datagram back by reorder_gap_ms */
  double reorder_gap_ms;
  double duplicate;       /* probability to send a second copy */
  double corrupt;         /* probability to flip bits in one random byte */
  double rate_mbit;       /* 0: unlimited; else a serialising link of that rate */
  guint64 queue_bytes;    /* with a rate: drop when more than this is waiting */
  gboolean fifo;          /* datagrams never overtake each other */
  GArray *blackholes;     /* NetsimBlackhole, times relative to the relay's start */
} NetsimImpairment;

typedef struct {
  guint64 received;
  guint64 forwarded;         /* copies handed to the network, duplicates included */
  guint64 dropped_loss;
  guint64 dropped_burst;
  guint64 dropped_blackhole;
  guint64 dropped_queue;
  guint64 duplicated;
  guint64 corrupted;
  guint64 reordered;
  guint64 send_errors;
  guint64 bytes_in;
  guint64 bytes_out;
} NetsimCounters;

typedef enum {
  NETSIM_FATE_FORWARD,
  NETSIM_FATE_DROP_LOSS,
  NETSIM_FATE_DROP_BURST,
  NETSIM_FATE_DROP_BLACKHOLE,
  NETSIM_FATE_DROP_QUEUE,
} NetsimFateKind;

typedef struct {
  NetsimFateKind kind;
  guint copies;              /* 1 or 2 when forwarded */
  guint64 due_ns[2];         /* when each copy leaves, relative to the start */
  gboolean corrupted;        /* the bytes were changed in place */
} NetsimFate;

typedef struct _NetsimDirection NetsimDirection;

void netsim_impairment_init (NetsimImpairment *impairment);
void netsim_impairment_clear (NetsimImpairment *impairment);
gboolean netsim_impairment_is_active (const NetsimImpairment *impairment);

NetsimDirection *netsim_direction_new (const NetsimImpairment *impairment, guint64 seed);
void netsim_direction_free (NetsimDirection *direction);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (NetsimDirection, netsim_direction_free)

/* Decides the fate of one datagram that arrived at now_ns (relative to the
 * relay's start).  May change data in place (corruption). */
void netsim_direction_judge (NetsimDirection *direction, guint64 now_ns,
                             guint8 *data, gsize len, NetsimFate *ret_fate);

NetsimCounters *netsim_direction_get_counters (NetsimDirection *direction);

/* One line of key=value counters, for the summary. */
char *netsim_counters_to_string (const NetsimCounters *counters);

G_END_DECLS
