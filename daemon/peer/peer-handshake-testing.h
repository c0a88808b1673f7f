/* peer-handshake-testing.h: for tests only (tests/peer): a copy of the
 * handshake's ephemeral key exchange secret while it still has one (from
 * the start for an initiator, after PEER_INIT for a responder, until the
 * handshake ends and wipes it).  The forward-secrecy test's positive control
 * uses it; no daemon code includes this header. */
#pragma once
#include "peer-handshake.h"

ChatdSecret *chatd_peer_handshake_copy_ephemeral_for_testing (const ChatdPeerHandshake *handshake);
