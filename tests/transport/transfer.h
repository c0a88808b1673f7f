/* transfer.h: send messages between two real ChatdTransports in one
 * process with a GMainLoop and check what arrives.
 *
 * The destination address is a parameter so that an impairment relay
 * (tests/netsim/relay) can sit between the two endpoints: pass the relay's
 * address instead of the receiver's. */
#pragma once

#include "chatd-transport.h"

typedef struct
{
  guint delivered;     /* messages that arrived intact, once */
  guint unexpected;    /* duplicates or altered messages */
  guint acknowledged;  /* send callbacks with success */
  guint failed;        /* send callbacks with an error */
  GError *first_error;
  gboolean timed_out;  /* the test's own time limit hit */
  double seconds;
} TransferResult;

/* Sends @messages from @sender to @dest and runs the default main context
 * until all are delivered to @receiver and acknowledged, something fails,
 * or @timeout_s passes. */
void transfer_run (ChatdTransport *sender, ChatdTransport *receiver, const ChatdAddress *dest,
                   GPtrArray *messages, guint timeout_s, TransferResult *ret_result);
void transfer_result_clear (TransferResult *result);
