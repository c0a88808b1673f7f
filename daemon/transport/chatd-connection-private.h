/* chatd-connection-private.h: the connection state machine's internals,
 * shared by chatd-connection.c and chatd-endpoint.c only. */
#pragma once

#include "chatd-counters.h"
#include "chatd-endpoint.h"
#include "chatd-frame.h"
#include "chatd-ranges.h"

G_BEGIN_DECLS

typedef enum
{
  CONN_HANDSHAKE,   /* client: waiting for ACCEPT */
  CONN_ESTABLISHED,
  CONN_CLOSING,     /* local close: CLOSE frames still to send */
  CONN_CLOSED,      /* detached from the endpoint */
} ChatdConnState;

/* A fixed-size-element ring indexed by an ever-growing 64-bit position. */
typedef struct
{
  guint8 *items;
  gsize elem_size;
  guint64 head;  /* position of the oldest element */
  guint64 tail;  /* position one past the newest */
  guint64 cap;   /* power of two */
} ChatdRing;

enum { SENT_OUTSTANDING, SENT_ACKED, SENT_LOST, SENT_DONE };
#define SENT_FLAG_ACK_ELICITING 0x01

typedef struct
{
  gint64 time_sent;
  guint64 first_frame;
  guint32 size;
  guint16 n_frames;
  guint8 state;
  guint8 flags;
} ChatdSentPacket;

typedef struct
{
  guint64 id;     /* stream id, or value for control frames */
  guint64 offset;
  guint32 len;
  guint8 kind;    /* ChatdFrameType */
  guint8 fin;
} ChatdSentFrame;

typedef struct
{
  guint64 id;
  GBytes *payload;
  const guint8 *data;
  guint64 len;
  guint64 next_offset; /* first byte never sent */
  guint64 max_data;    /* peer's credit for this stream */
  ChatdRangeSet acked;
  ChatdRangeSet lost;
  gboolean fin_sent, fin_acked, fin_lost;
  ChatdSendCallback callback;
  gpointer user_data;
  GList new_link;   /* in new_small or new_large while next_offset < len or !fin_sent */
  GList retx_link;  /* in retx while lost or fin_lost */
  gboolean in_new, in_retx, is_large;
} ChatdSendStream;

typedef struct
{
  guint64 id;
  guint8 *buf;
  gsize cap;
  guint64 highest;        /* highest offset + 1 seen */
  guint64 max_data_advertised;
  ChatdRangeSet received;
  gboolean fin_known;
  guint64 final_size;
} ChatdRecvStream;

/* Key of a server-side connection by the client's handshake id. */
typedef struct
{
  ChatdAddress peer;
  guint64 cid;
} ChatdInitialKey;

struct _ChatdConnection
{
  gint ref_count;
  ChatdEndpoint *endpoint; /* NULL once the endpoint is gone */
  ChatdConnState state;
  gboolean is_client;
  ChatdAddress peer;
  guint64 local_cid;
  guint64 peer_cid;
  ChatdInitialKey initial_key; /* server: (peer, client's cid) */
  ChatdTransportParams local_params;
  ChatdTransportParams peer_params;
  gboolean peer_params_known;
  gint64 created_us;

  /* client handshake */
  guint8 token[CHATD_MAX_TOKEN_LEN];
  gsize token_len;
  guint retries_accepted;
  guint handshake_attempts;
  gint64 handshake_next_us;
  gboolean handshake_send_due;
  /* server handshake */
  gboolean accept_pending;
  gboolean accept_acked;

  /* receiving */
  ChatdRangeSet recv_pns;
  guint64 recv_pn_floor;
  guint64 largest_recv_pn;
  gint64 largest_recv_time;
  gboolean any_received;
  gboolean ack_pending;
  gboolean ack_now;
  guint ack_eliciting_unacked;
  gint64 ack_deadline;
  /* the largest packet number of an ACK frame of ours that the peer has
   * acknowledged: ranges at or below it are not reported again (RFC 9000
   * section 13.2.4), so ACK frames stay short under steady loss */
  guint64 ack_floor;
  gboolean ack_floor_known;
  /* a packet at or below the floor arriving late starts a new epoch: ACK
   * frames written before it no longer raise the floor */
  guint64 ack_floor_epoch;

  /* sent packets and loss recovery (RFC 9002) */
  ChatdRing sent;    /* ChatdSentPacket, position = packet number */
  ChatdRing frames;  /* ChatdSentFrame */
  guint64 next_pn;
  gboolean any_acked;
  guint64 largest_acked;
  guint64 bytes_in_flight;
  guint ack_eliciting_in_flight;
  gint64 last_ack_eliciting_sent;
  gint64 loss_time; /* 0: none */
  guint pto_count;
  guint probes_pending;
  /* reordering tolerance, raised when a packet declared lost is acknowledged */
  guint packet_threshold;  /* 3 .. 256, doubled on each spurious loss */
  guint time_threshold_8;  /* 9 .. 16 (eighths of an RTT) */
  guint64 recent_lost[16]; /* packet numbers lately declared lost */
  guint32 recent_lost_episode[16];
  guint recent_lost_pos;
  /* congestion episodes, to undo a reduction caused only by reordering */
  guint32 episode;
  guint episode_lost;
  guint episode_spurious;
  guint64 prior_cwnd, prior_ssthresh;
  gboolean undo_possible;
  gint64 latest_rtt, smoothed_rtt, rttvar, min_rtt;
  gboolean have_rtt;
  /* NewReno and pacing */
  guint64 cwnd, ssthresh;
  guint64 cwnd_acc;
  gint64 recovery_start; /* G_MININT64: not in recovery */
  double pace_tokens;
  gint64 pace_last;
  gboolean pace_blocked;
  gint64 pace_ready_at;
  /* liveness */
  gint64 last_progress;
  gint64 last_activity;
  gboolean ping_pending;

  /* flow control */
  guint64 peer_max_data;
  guint64 sent_data_total;
  guint64 peer_max_streams;
  guint64 next_stream_seq;
  guint64 recv_max_data;       /* advertised */
  guint64 recv_data_total;     /* sum of highest offsets */
  guint64 recv_consumed;
  gboolean max_data_pending;
  guint64 recv_max_streams;    /* advertised */
  guint64 incoming_done_count;
  gboolean max_streams_pending;
  ChatdRangeSet incoming_done; /* sequence numbers of finished incoming streams */

  /* streams */
  GHashTable *send_streams; /* guint64 id -> ChatdSendStream */
  GHashTable *recv_streams; /* guint64 id -> ChatdRecvStream */
  GQueue new_small, new_large, retx;
  guint64 send_queue_bytes;
  GArray *max_stream_data_pending; /* guint64 ids */
  GArray *resets_pending;          /* ChatdSentFrame: id, offset = final size, len = code */

  /* close */
  guint close_sends_left;
  guint64 close_code;
  char *close_reason;

  /* protection */
  ChatdPacketProtector protector;
  gboolean have_protector;
  gboolean peer_ready;
  gboolean ready_pending;
  gboolean send_protected;
  gboolean recv_protected;
  gboolean protected_reported;
  /* key update (doc/protocol.md, "Transport key update"): the current keys
   * seal with and open key_phase; the previous ones open the other phase
   * below current_first_pn until prev_discard_at; the next ones (given by
   * the upper layer, not yet used by the peer) open the other phase above */
  guint8 key_phase;
  guint64 current_first_pn; /* lowest pn the peer sealed with the current keys */
  ChatdPacketProtector prev_protector;
  gboolean have_prev_protector;
  gint64 prev_discard_at;
  ChatdPacketProtector next_protector;
  gboolean have_next_protector;

  ChatdConnCounters counters;
  gpointer user_data;
  GDestroyNotify user_destroy;
  gboolean maybe_ready; /* may have something to send */
};

/* chatd-connection.c */
ChatdConnection *chatd_conn_new            (ChatdEndpoint *endpoint, gboolean is_client,
                                            const ChatdAddress *peer, guint64 local_cid,
                                            gint64 now_us);
void             chatd_conn_handle_packet  (ChatdConnection *conn, gint64 now_us,
                                            const ChatdPacketHeader *header,
                                            guint8 *data, gsize len);
void             chatd_conn_handle_retry   (ChatdConnection *conn, gint64 now_us,
                                            const ChatdPacketHeader *header);
gsize            chatd_conn_build_packet   (ChatdConnection *conn, gint64 now_us,
                                            guint8 *buf, gsize cap);
void             chatd_conn_on_timeout     (ChatdConnection *conn, gint64 now_us);
gint64           chatd_conn_deadline       (ChatdConnection *conn);
void             chatd_conn_queue_message  (ChatdConnection *conn, GBytes *payload,
                                            ChatdSendCallback callback, gpointer user_data);
/* Fails every pending message with @error (taken), reports CLOSED and
 * detaches; with @send_close, CLOSE frames go out first. */
void             chatd_conn_fail           (ChatdConnection *conn, GError *error,
                                            gboolean send_close);
void             chatd_conn_server_accept  (ChatdConnection *conn, const ChatdPacketHeader *initial);

/* chatd-endpoint.c, for the connection */
void    chatd_endpoint_emit_message   (ChatdEndpoint *endpoint, ChatdConnection *conn,
                                       GBytes *message);
void    chatd_endpoint_emit_send_done (ChatdEndpoint *endpoint, ChatdConnection *conn,
                                       ChatdSendCallback callback, gpointer user_data,
                                       GError *error);
void    chatd_endpoint_emit_event     (ChatdEndpoint *endpoint, ChatdConnection *conn,
                                       ChatdConnectionEvent event, GError *error);
void    chatd_endpoint_detach         (ChatdEndpoint *endpoint, ChatdConnection *conn);
ChatdCrc *chatd_endpoint_get_crc (ChatdEndpoint *endpoint);
/* The endpoint-wide budget of bytes buffered for unfinished messages. */
void     chatd_endpoint_buffered_change (ChatdEndpoint *endpoint, gint64 delta);
gboolean chatd_endpoint_buffered_allows (ChatdEndpoint *endpoint, guint64 growth);
/* Runs queued callbacks (for entry points outside chatd-endpoint.c). */
void    chatd_endpoint_dispatch       (ChatdEndpoint *endpoint);

G_END_DECLS
