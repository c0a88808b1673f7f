/* login.h: what the login's two sides share: field positions, signature
 * purposes, the transcript (doc/protocol.md, "Login"). */
#pragma once
#include "auth-message.h"
#include "chatd-crypto.h"

/* HELLO */
enum { HELLO_NONCE, HELLO_SHARE, HELLO_SUITES };
/* CHALLENGE: c1 = n1, difficulty, ts, address; its MAC; the server's share and key */
enum { CH_N1, CH_BITS, CH_TS, CH_ADDRESS, CH_MAC, CH_SHARE, CH_KEY_SUITE, CH_KEY };
/* ANSWER: c1 and its MAC echoed, the client's nonce and share echoed, the name
 * sealed to the server key, the proof of work */
enum { AN_N1, AN_BITS, AN_TS, AN_ADDRESS, AN_MAC, AN_NONCE, AN_SHARE, AN_SEALED, AN_POW };
/* REPLY (signed): registered name, its suite, the wrapped key blob, c2 = n2, ts2 */
enum { RE_NAME, RE_SUITE, RE_WRAPPED, RE_N2, RE_TS2, RE_SIGNATURE };
/* WELCOME: the manifest, its signature, the key confirmation */
enum { WE_MANIFEST, WE_SIGNATURE, WE_CONFIRM };

#define CHATD_LOGIN_NONCE_LEN     32
#define CHATD_LOGIN_N_LEN         16
#define CHATD_LOGIN_TRANSCRIPT_N  13
/* a challenge is accepted this long after it was made (and once) */
#define CHATD_LOGIN_CHALLENGE_LIFETIME_US (30 * G_USEC_PER_SEC)

#define CHATD_PURPOSE_CHALLENGE  "login-challenge"
#define CHATD_PURPOSE_NAME       "login-name"
#define CHATD_PURPOSE_REPLY      "login-reply"
#define CHATD_PURPOSE_PROOF      "login-proof"
#define CHATD_PURPOSE_TRANSCRIPT "login-transcript"
#define CHATD_PURPOSE_CONFIRM    "login-confirm"
#define CHATD_PURPOSE_MANIFEST   "manifest"
#define CHATD_PURPOSE_EPHEMERAL  "login-ephemeral"

/* Everything both sides saw, in this order:
 *   server key fingerprint, n1, difficulty, ts, client address, client nonce,
 *   client share, server share, name, suite, SHA-256(wrapped blob), n2, ts2
 * (ChatdSlices pointing into the caller's buffers). */
typedef struct {
  ChatdSlice fields[CHATD_LOGIN_TRANSCRIPT_N];
  guint8     wrapped_digest[32];
} ChatdLoginTranscript;

void     chatd_login_transcript_init (ChatdLoginTranscript *t, const guint8 *server_fingerprint,
                                      const ChatdAuthMessage *answer_or_challenge_c1,
                                      const ChatdSlice *client_nonce, const ChatdSlice *client_share,
                                      const ChatdSlice *server_share, const ChatdAuthMessage *reply);
/* SHA-256 of the domain-separated transcript */
gboolean chatd_login_transcript_hash (const ChatdLoginTranscript *t, guint8 ret_hash[32],
                                      GError **error);
/* TRUE if no key is pinned or the offered one is the pinned one; else the
 * error names both fingerprints ("... (refusing to <action>)"). */
gboolean chatd_login_check_pinned_key (GBytes *pinned, GBytes *offered, const char *action,
                                       GError **error);
/* The associated data that binds the sealed name to this login attempt */
void     chatd_login_name_aad (const ChatdSlice *n1, const ChatdSlice *client_share,
                               GByteArray *ret_aad);
/* The challenge's MAC (c1 and the client's hello, for the client's address),
 * keyed by the 32-byte server secret: what login-server.c computes, shared
 * with the enrolment, which reuses the login's challenge. */
gboolean chatd_login_challenge_mac (const guint8 *server_secret, const ChatdSlice *n1,
                                    const ChatdSlice *bits, const ChatdSlice *ts,
                                    const ChatdSlice *address, const ChatdSlice *nonce,
                                    const ChatdSlice *share, guint8 ret_mac[32], GError **error);
