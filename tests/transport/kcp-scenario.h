/* kcp-scenario.h: KCP's own test scenario (its test.cpp) on simnet.
 *
 * A client sends a message (8 bytes) every 20 ms to a server that echoes
 * it on the same connection; each direction has the same loss and a
 * one-way delay uniform in [delay, delay + jitter) (30..62 ms), in order.
 * The connection is set up first (KCP has no handshake).  Virtual time:
 * 1000 samples take a few milliseconds, and a seed always gives the same
 * answer.  Used by test-interactive (which pins the figures) and by the
 * kcp-sim tool (which prints them, with a trace of the slowest samples).
 */
#pragma once

#include "simnet.h"

G_BEGIN_DECLS

typedef struct
{
  double loss;          /* per direction, 0..1 */
  gint64 delay_us;      /* one-way */
  gint64 jitter_us;
  gint64 interval_us;   /* between messages; 0: the next once the answer is in */
  guint samples;
  gsize size;           /* message bytes, at least 4 (the sample's index) */
  gboolean trace;       /* keep a copy of every datagram and its fate */
} KcpScenario;

typedef struct
{
  gint64 sent;
  gint64 at_server;     /* 0: never arrived */
  gint64 back;          /* 0: never answered */
} KcpSample;

typedef struct
{
  gint64 t;
  gboolean from_client;
  gint64 arrival;       /* -1: lost */
  GBytes *data;
} KcpDatagram;

typedef struct
{
  KcpSample *samples;
  guint n_samples;
  guint answered;
  GArray *datagrams;       /* KcpDatagram, with trace */
  guint64 wire_bytes;      /* both sides, 28 bytes of IPv4 + UDP header per datagram included */
  guint64 redundant_bytes; /* both sides: bytes of redundant copies (conn.bytes_redundant) */
  guint64 probe_timeouts;  /* both sides */
  guint64 packets_lost;    /* both sides, as declared by the senders */
  guint max_ack_ranges;    /* the most ACK ranges in one ACK frame, either side */
} KcpResult;

/* KCP's figures: 5 % loss per direction, 30..62 ms, every 20 ms, 1000 x 8 B. */
void kcp_scenario_init (KcpScenario *scenario);
void kcp_scenario_run (const KcpScenario *scenario, guint32 seed, KcpResult *ret_result);
void kcp_result_clear (KcpResult *result);
/* Round trips of the answered samples, sorted (gint64 µs). */
GArray *kcp_result_sorted_rtts (const KcpResult *result);

G_END_DECLS
