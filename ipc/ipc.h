/*
 * Messages between the supervisor and its worker children, in the manner of
 * OpenBSD's imsg: one socketpair(AF_UNIX, SOCK_SEQPACKET) per child, so one
 * send() is one message and boundaries hold; every message is a fixed header
 * followed by a typed body. This header lists every message there is.
 *
 * Wire format (both ends run on one machine, so integers are in host byte
 * order and there is no padding: fields are written one after another):
 *
 *     header   uint16 type | uint16 version (TLW_IPC_VERSION) | uint32 body length
 *
 *     DRAIN       int64 drain_deadline_ms | int64 hard_stop_deadline_ms
 *     STOP        (empty)
 *     READY       uint32 pid | uint32 slot kind | uint32 slot index
 *     TASK_BEGIN  uint32 task kind | uint32 attempt | uint32 token length |
 *                 uint32 type name length | token bytes | type name bytes
 *     TASK_END    uint32 task kind | uint32 outcome | uint32 reported (0 or 1) |
 *                 uint32 token length | token bytes
 *     STATS       uint64 started | uint64 completed | uint64 failed | uint64 canceled
 *     FATAL       uint32 message length | message bytes
 *     METRICS     what the slot recorded, in common/metrics.h's compact form
 *                 (at most TLW_IPC_METRICS_MAX bytes; a slot sends several
 *                 when it has more), checked as strictly as the rest
 *     SPAN        one finished trace span, in common/spans.h's compact form
 *
 * A string on the wire carries its terminating NUL, which its length counts,
 * and no other NUL. A decoder accepts exactly this and nothing else: any other
 * version, an unknown type, a body length that disagrees with the header or
 * with the body's own lengths, an oversized field, an enum out of range or a
 * string that is not NUL-terminated is TLW_ERR_PROTOCOL.
 *
 * A decoded message (tlw_ipc_msg) owns no heap memory: tokens and strings
 * live in fixed-size buffers inside it, so it can sit on the stack and be
 * copied with `=`.
 */
#ifndef TLW_IPC_IPC_H
#define TLW_IPC_IPC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <tlw/lambda_worker.h>

#include "common/spans.h"

#define TLW_IPC_VERSION 2

/* Largest task token a message carries. Temporal's tokens are a few hundred
 * bytes; a longer one is refused by the sender rather than cut. */
#define TLW_IPC_TASK_TOKEN_MAX 4096
/* Room for a workflow or activity type name, terminating NUL included. */
#define TLW_IPC_TYPE_NAME_MAX 256
/* The largest METRICS body: fits within TLW_IPC_MSG_MAX. */
#define TLW_IPC_METRICS_MAX 4096
/* Room for a FATAL message, terminating NUL included. */
#define TLW_IPC_FATAL_MESSAGE_MAX 512

#define TLW_IPC_HEADER_SIZE 8
/* The largest encoded message (a TASK_BEGIN with both fields full). */
#define TLW_IPC_MSG_MAX (TLW_IPC_HEADER_SIZE + 16 + TLW_IPC_TASK_TOKEN_MAX + TLW_IPC_TYPE_NAME_MAX)

typedef enum tlw_ipc_type {
    TLW_IPC_NONE = 0, /* not a message: tlw_ipc_recv() found nothing to read */
    /* supervisor -> child */
    TLW_IPC_DRAIN = 1, /* stop polling, finish the running task by the deadlines */
    TLW_IPC_STOP = 2,  /* exit now */
    /* child -> supervisor */
    TLW_IPC_READY = 16,      /* the slot is connected and polling */
    TLW_IPC_TASK_BEGIN = 17, /* a task was polled; its token, for recovery */
    TLW_IPC_TASK_END = 18,   /* that task ended; whether the server was told */
    TLW_IPC_STATS = 19,      /* counters, sent before the child exits */
    TLW_IPC_FATAL = 20,      /* the child cannot go on; it exits after this */
    TLW_IPC_METRICS = 21,    /* metrics the child recorded, sent before it exits */
    TLW_IPC_SPAN = 22,       /* a trace span the child finished */
    /* executor -> slot (a pipe; see tlw_ipc_exec_decode) */
    TLW_IPC_EXEC_HEARTBEAT = 32,
    TLW_IPC_EXEC_RESULT = 33,
    TLW_IPC_EXEC_FAILURE = 34,
    TLW_IPC_EXEC_CANCELLED = 35,
    /* slot -> a pre-forked executor (the same stream; see worker/zygote.h) */
    TLW_IPC_EXEC_JOB = 36
} tlw_ipc_type;

/* What a worker slot polls. */
typedef enum tlw_ipc_slot_kind {
    TLW_IPC_SLOT_WORKFLOW = 1,
    TLW_IPC_SLOT_ACTIVITY = 2
} tlw_ipc_slot_kind;

/* The kind of a task (TASK_BEGIN, TASK_END). */
typedef enum tlw_ipc_task_kind {
    TLW_IPC_TASK_WORKFLOW = 1,
    TLW_IPC_TASK_ACTIVITY = 2
} tlw_ipc_task_kind;

/* How a task ended, as the child reported it to the server. */
typedef enum tlw_ipc_outcome {
    TLW_IPC_OUTCOME_COMPLETED = 1,
    TLW_IPC_OUTCOME_FAILED = 2,   /* the task failed (user error, nondeterminism) */
    TLW_IPC_OUTCOME_CANCELED = 3, /* the server asked for cancellation */
    TLW_IPC_OUTCOME_CRASHED = 4,  /* the executor died; reported as a retryable failure */
    TLW_IPC_OUTCOME_TIMED_OUT = 5 /* killed at the drain deadline; reported as retryable */
} tlw_ipc_outcome;

typedef struct tlw_ipc_drain {
    int64_t drain_deadline_ms;     /* epoch ms: stop polling, let running tasks finish */
    int64_t hard_stop_deadline_ms; /* epoch ms: kill what still runs, fail it, exit */
} tlw_ipc_drain;

typedef struct tlw_ipc_ready {
    uint32_t pid; /* > 0 */
    tlw_ipc_slot_kind slot_kind;
    uint32_t slot_index; /* 0-based among the slots of that kind */
} tlw_ipc_ready;

typedef struct tlw_ipc_task_begin {
    tlw_ipc_task_kind kind;
    uint32_t attempt; /* 1 for the first attempt */
    uint32_t task_token_len;
    uint8_t task_token[TLW_IPC_TASK_TOKEN_MAX];
    char type_name[TLW_IPC_TYPE_NAME_MAX]; /* NUL-terminated, not empty */
} tlw_ipc_task_begin;

typedef struct tlw_ipc_task_end {
    tlw_ipc_task_kind kind;
    tlw_ipc_outcome outcome;
    /* 1: the server accepted the report (or refused it for good: the task is
     * gone). 0: the report could not be made (server unreachable, no time
     * left); the supervisor hands the task to the recovery path. */
    uint32_t reported;
    uint32_t task_token_len;
    uint8_t task_token[TLW_IPC_TASK_TOKEN_MAX];
} tlw_ipc_task_end;

typedef struct tlw_ipc_stats {
    uint64_t tasks_started;
    uint64_t tasks_completed;
    uint64_t tasks_failed;
    uint64_t tasks_canceled;
} tlw_ipc_stats;

typedef struct tlw_ipc_metrics {
    uint32_t len; /* 4 to TLW_IPC_METRICS_MAX */
    uint8_t data[TLW_IPC_METRICS_MAX];
} tlw_ipc_metrics;

typedef struct tlw_ipc_span {
    uint32_t len; /* the encoded span's size */
    uint8_t data[TLW_SPAN_ENCODED_MAX];
} tlw_ipc_span;

typedef struct tlw_ipc_fatal {
    char message[TLW_IPC_FATAL_MESSAGE_MAX]; /* NUL-terminated */
} tlw_ipc_fatal;

/* One message: `type` says which member of the union is meaningful (none for
 * TLW_IPC_NONE and TLW_IPC_STOP). */
typedef struct tlw_ipc_msg {
    tlw_ipc_type type;
    union {
        tlw_ipc_drain drain;
        tlw_ipc_ready ready;
        tlw_ipc_task_begin task_begin;
        tlw_ipc_task_end task_end;
        tlw_ipc_stats stats;
        tlw_ipc_fatal fatal;
        tlw_ipc_metrics metrics;
        tlw_ipc_span span;
    };
} tlw_ipc_msg;

/*
 * Creates the channel for one child: fds[0] for the supervisor, fds[1] for the
 * child. Both are blocking and close-on-exec; the supervisor makes its end
 * non-blocking if it reads it from an event loop. After fork each side closes
 * the other's end.
 */
tlw_status tlw_ipc_pair(int fds[2], tlw_error *err);

/*
 * Writes `msg` into `buf` (room for `cap` bytes; TLW_IPC_MSG_MAX is always
 * enough) and sets *len to the encoded size. A message that could not be
 * decoded (oversized token, unterminated string, enum out of range, ...) is
 * refused with TLW_ERR_INVALID, so a sender's bug shows at the sender.
 */
tlw_status tlw_ipc_encode(const tlw_ipc_msg *msg, void *buf, size_t cap, size_t *len,
                          tlw_error *err);

/*
 * Parses one whole message of `len` bytes from `buf` into *msg. Anything but
 * a well-formed message of this version is TLW_ERR_PROTOCOL with a message
 * that says what was wrong. Never reads outside buf[0..len).
 */
tlw_status tlw_ipc_decode(const void *buf, size_t len, tlw_ipc_msg *msg, tlw_error *err);

/*
 * Sends one message, retrying on EINTR, without raising SIGPIPE.
 *   TLW_OK               sent
 *   TLW_ERR_UNAVAILABLE  the peer has closed its end (EPIPE, ECONNRESET)
 *   TLW_ERR_IO           another socket error, including EAGAIN on a full
 *                        non-blocking socket (nothing was sent)
 *   TLW_ERR_INVALID      `msg` cannot be encoded (see tlw_ipc_encode)
 */
tlw_status tlw_ipc_send(int fd, const tlw_ipc_msg *msg, tlw_error *err);

/*
 * Receives one message, retrying on EINTR. Works on blocking and non-blocking
 * descriptors alike:
 *   TLW_OK, msg->type != TLW_IPC_NONE   a message was read into *msg
 *   TLW_OK, msg->type == TLW_IPC_NONE   non-blocking fd and nothing to read
 *                                       yet (EAGAIN): wait for readability
 *   TLW_ERR_UNAVAILABLE                 end of file: the peer closed its end
 *                                       (or exited); nothing more will come
 *   TLW_ERR_PROTOCOL                    a malformed message (consumed; the
 *                                       next call reads the next one)
 *   TLW_ERR_IO                          another socket error
 */
tlw_status tlw_ipc_recv(int fd, tlw_ipc_msg *msg, tlw_error *err);

/*
 * Executor -> slot: what an activity's executor process reports to its slot,
 * over a pipe. A pipe is a byte stream, so each message is the same 8-byte
 * header as above (its length frames the message) and a body:
 *
 *     EXEC_HEARTBEAT  JSON text: the heartbeat details
 *     EXEC_RESULT     JSON text: the activity's result
 *     EXEC_FAILURE    uint32 non_retryable (0 or 1) | uint32 type length |
 *                     uint32 message length | type bytes | message bytes |
 *                     JSON text: the failure's details
 *     EXEC_CANCELLED  (empty): the activity accepted a cancellation
 *
 * and, the other way, slot -> an executor forked before its task (on the
 * socket the executor then answers on):
 *
 *     EXEC_JOB        JSON text: the task (see worker/executor.h)
 *
 * JSON text and strings are UTF-8 without NUL bytes and without a
 * terminating NUL; a body is at most TLW_IPC_EXEC_BODY_MAX bytes. The
 * decoder is as strict as the one above: another version, an unknown type,
 * a body over the limit, lengths that disagree, a NUL byte, invalid UTF-8 or
 * an empty JSON text is TLW_ERR_PROTOCOL. (The JSON itself is parsed by the
 * slot, which treats unparseable JSON the same way.)
 */
#define TLW_IPC_EXEC_BODY_MAX (4 * 1024 * 1024)

/* A decoded executor message. Its pointers point into the buffer it was
 * decoded from (no NUL terminators: use the lengths). */
typedef struct tlw_ipc_exec_msg {
    tlw_ipc_type type; /* TLW_IPC_EXEC_* */
    const char *json;  /* HEARTBEAT, RESULT, FAILURE (details) */
    size_t json_len;
    int non_retryable; /* FAILURE */
    const char *failure_type;
    size_t failure_type_len;
    const char *message;
    size_t message_len;
} tlw_ipc_exec_msg;

/*
 * Writes `msg` to `fd` whole (header and body), retrying on EINTR and short
 * writes. TLW_ERR_INVALID if the message breaks the rules above (the body
 * over the limit, a NUL byte); TLW_ERR_IO if the write fails.
 */
tlw_status tlw_ipc_exec_write(int fd, const tlw_ipc_exec_msg *msg, tlw_error *err);

/*
 * Decodes the first message in buf[0..len). TLW_OK with *consumed = 0 when
 * the buffer holds only part of one (read more); TLW_OK with *consumed > 0
 * and *msg filled when one was decoded; TLW_ERR_PROTOCOL when the bytes
 * cannot be a valid message (stop reading: the stream has lost its frame).
 * Never reads outside buf[0..len).
 */
tlw_status tlw_ipc_exec_decode(const void *buf, size_t len, size_t *consumed, tlw_ipc_exec_msg *msg,
                               tlw_error *err);

/*
 * Descriptor passing, for the executor zygote's SOCK_SEQPACKET channels
 * (worker/zygote.h): the supervisor hands the zygote one end of each
 * activity slot's channel, and the zygote hands a slot its end of each
 * executor's socket. The small messages themselves are that module's.
 *
 * tlw_ipc_send_fd sends one message of `len` bytes and, when `fd` >= 0, a
 * duplicate of descriptor `fd` with it (SCM_RIGHTS); it retries on EINTR and
 * never raises SIGPIPE. True if the whole message went.
 *
 * tlw_ipc_recv_fd receives one message of at most `cap` bytes, with `flags`
 * for recvmsg (MSG_DONTWAIT, or 0), retrying on EINTR. It returns its length,
 * 0 when the peer closed its end, or -1 with errno (EAGAIN: nothing yet).
 * *fd is the descriptor that came with it (close-on-exec), else -1; any
 * other descriptor that came is closed.
 */
bool tlw_ipc_send_fd(int chan, const void *buf, size_t len, int fd);
ssize_t tlw_ipc_recv_fd(int chan, void *buf, size_t cap, int flags, int *fd);

/* Names for logs, e.g. "TASK_BEGIN", "activity", "crashed". Never NULL. */
const char *tlw_ipc_type_name(tlw_ipc_type type);
const char *tlw_ipc_slot_kind_name(tlw_ipc_slot_kind kind);
const char *tlw_ipc_task_kind_name(tlw_ipc_task_kind kind);
const char *tlw_ipc_outcome_name(tlw_ipc_outcome outcome);

#endif
