/*
 * Supervisor <-> child messages: encoding, strict decoding, and the socket
 * calls around them. The wire format is described in ipc.h.
 */
#include "config.h"

#include "ipc/ipc.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "common/error.h"
#include "common/metrics.h"
#include "common/utf8.h"

/* Fixed parts of the bodies, in bytes. */
#define DRAIN_SIZE 16
#define READY_SIZE 12
#define TASK_BEGIN_FIXED 16
#define TASK_END_FIXED 16
#define STATS_SIZE 32
#define FATAL_FIXED 4

/* --- names ------------------------------------------------------------------ */

const char *tlw_ipc_type_name(tlw_ipc_type type)
{
    switch (type) {
    case TLW_IPC_NONE: return "NONE";
    case TLW_IPC_DRAIN: return "DRAIN";
    case TLW_IPC_STOP: return "STOP";
    case TLW_IPC_READY: return "READY";
    case TLW_IPC_TASK_BEGIN: return "TASK_BEGIN";
    case TLW_IPC_TASK_END: return "TASK_END";
    case TLW_IPC_STATS: return "STATS";
    case TLW_IPC_FATAL: return "FATAL";
    case TLW_IPC_METRICS: return "METRICS";
    case TLW_IPC_SPAN: return "SPAN";
    case TLW_IPC_EXEC_HEARTBEAT: return "EXEC_HEARTBEAT";
    case TLW_IPC_EXEC_RESULT: return "EXEC_RESULT";
    case TLW_IPC_EXEC_FAILURE: return "EXEC_FAILURE";
    case TLW_IPC_EXEC_CANCELLED: return "EXEC_CANCELLED";
    case TLW_IPC_EXEC_JOB: return "EXEC_JOB";
    }
    return "unknown";
}

const char *tlw_ipc_slot_kind_name(tlw_ipc_slot_kind kind)
{
    switch (kind) {
    case TLW_IPC_SLOT_WORKFLOW: return "workflow";
    case TLW_IPC_SLOT_ACTIVITY: return "activity";
    }
    return "unknown";
}

const char *tlw_ipc_task_kind_name(tlw_ipc_task_kind kind)
{
    switch (kind) {
    case TLW_IPC_TASK_WORKFLOW: return "workflow";
    case TLW_IPC_TASK_ACTIVITY: return "activity";
    }
    return "unknown";
}

const char *tlw_ipc_outcome_name(tlw_ipc_outcome outcome)
{
    switch (outcome) {
    case TLW_IPC_OUTCOME_COMPLETED: return "completed";
    case TLW_IPC_OUTCOME_FAILED: return "failed";
    case TLW_IPC_OUTCOME_CANCELED: return "canceled";
    case TLW_IPC_OUTCOME_CRASHED: return "crashed";
    case TLW_IPC_OUTCOME_TIMED_OUT: return "timed out";
    }
    return "unknown";
}

static bool slot_kind_valid(uint32_t v)
{
    return v == TLW_IPC_SLOT_WORKFLOW || v == TLW_IPC_SLOT_ACTIVITY;
}

static bool task_kind_valid(uint32_t v)
{
    return v == TLW_IPC_TASK_WORKFLOW || v == TLW_IPC_TASK_ACTIVITY;
}

static bool outcome_valid(uint32_t v)
{
    return v >= TLW_IPC_OUTCOME_COMPLETED && v <= TLW_IPC_OUTCOME_TIMED_OUT;
}

/* --- encoding ----------------------------------------------------------------- */

/* Appends fields to a buffer whose size was checked beforehand. */
typedef struct writer {
    uint8_t *at;
} writer;

static void put(writer *w, const void *src, size_t n)
{
    if (n)
        memcpy(w->at, src, n);
    w->at += n;
}

static void put_u16(writer *w, uint16_t v)
{
    put(w, &v, sizeof v);
}

static void put_u32(writer *w, uint32_t v)
{
    put(w, &v, sizeof v);
}

static void put_u64(writer *w, uint64_t v)
{
    put(w, &v, sizeof v);
}

static void put_i64(writer *w, int64_t v)
{
    put(w, &v, sizeof v);
}

/* Checks what a receiver would refuse and computes the body size. */
static tlw_status check_outgoing(const tlw_ipc_msg *msg, size_t *body_len, tlw_error *err)
{
    const char *name = tlw_ipc_type_name(msg->type);
    switch (msg->type) {
    case TLW_IPC_DRAIN: *body_len = DRAIN_SIZE; return TLW_OK;
    case TLW_IPC_STOP: *body_len = 0; return TLW_OK;
    case TLW_IPC_READY:
        if (msg->ready.pid == 0 || msg->ready.pid > INT32_MAX)
            return tlw_error_set(err, TLW_ERR_INVALID, "ipc: READY: pid %u is not a process id",
                                 (unsigned)msg->ready.pid);
        if (!slot_kind_valid(msg->ready.slot_kind))
            return tlw_error_set(err, TLW_ERR_INVALID, "ipc: READY: unknown slot kind %d",
                                 (int)msg->ready.slot_kind);
        *body_len = READY_SIZE;
        return TLW_OK;
    case TLW_IPC_TASK_BEGIN: {
        const tlw_ipc_task_begin *b = &msg->task_begin;
        if (!task_kind_valid(b->kind))
            return tlw_error_set(err, TLW_ERR_INVALID, "ipc: %s: unknown task kind %d", name,
                                 (int)b->kind);
        if (b->task_token_len == 0 || b->task_token_len > TLW_IPC_TASK_TOKEN_MAX)
            return tlw_error_set(err, TLW_ERR_INVALID,
                                 "ipc: %s: task token of %u bytes (1 to %d allowed)", name,
                                 (unsigned)b->task_token_len, TLW_IPC_TASK_TOKEN_MAX);
        size_t name_len = strnlen(b->type_name, sizeof b->type_name);
        if (name_len == sizeof b->type_name)
            return tlw_error_set(err, TLW_ERR_INVALID, "ipc: %s: type name longer than %d bytes",
                                 name, TLW_IPC_TYPE_NAME_MAX - 1);
        if (name_len == 0)
            return tlw_error_set(err, TLW_ERR_INVALID, "ipc: %s: empty type name", name);
        *body_len = TASK_BEGIN_FIXED + b->task_token_len + name_len + 1;
        return TLW_OK;
    }
    case TLW_IPC_TASK_END: {
        const tlw_ipc_task_end *e = &msg->task_end;
        if (!task_kind_valid(e->kind))
            return tlw_error_set(err, TLW_ERR_INVALID, "ipc: %s: unknown task kind %d", name,
                                 (int)e->kind);
        if (!outcome_valid(e->outcome))
            return tlw_error_set(err, TLW_ERR_INVALID, "ipc: %s: unknown outcome %d", name,
                                 (int)e->outcome);
        if (e->reported > 1)
            return tlw_error_set(err, TLW_ERR_INVALID, "ipc: %s: reported is %u (0 or 1)", name,
                                 (unsigned)e->reported);
        if (e->task_token_len == 0 || e->task_token_len > TLW_IPC_TASK_TOKEN_MAX)
            return tlw_error_set(err, TLW_ERR_INVALID,
                                 "ipc: %s: task token of %u bytes (1 to %d allowed)", name,
                                 (unsigned)e->task_token_len, TLW_IPC_TASK_TOKEN_MAX);
        *body_len = TASK_END_FIXED + e->task_token_len;
        return TLW_OK;
    }
    case TLW_IPC_STATS: *body_len = STATS_SIZE; return TLW_OK;
    case TLW_IPC_METRICS: {
        if (msg->metrics.len > TLW_IPC_METRICS_MAX)
            return tlw_error_set(err, TLW_ERR_INVALID, "ipc: METRICS: %u bytes, over the %d limit",
                                 (unsigned)msg->metrics.len, TLW_IPC_METRICS_MAX);
        tlw_status st = tlw_metrics_merge(NULL, msg->metrics.data, msg->metrics.len, err);
        if (st != TLW_OK)
            return tlw_error_set(err, TLW_ERR_INVALID, "ipc: METRICS: %s", err ? err->message : "");
        *body_len = msg->metrics.len;
        return TLW_OK;
    }
    case TLW_IPC_SPAN: {
        if (msg->span.len > TLW_SPAN_ENCODED_MAX)
            return tlw_error_set(err, TLW_ERR_INVALID, "ipc: SPAN: %u bytes, over the %d limit",
                                 (unsigned)msg->span.len, (int)TLW_SPAN_ENCODED_MAX);
        tlw_status st = tlw_span_decode(msg->span.data, msg->span.len, NULL, err);
        if (st != TLW_OK)
            return tlw_error_set(err, TLW_ERR_INVALID, "ipc: SPAN: %s", err ? err->message : "");
        *body_len = msg->span.len;
        return TLW_OK;
    }
    case TLW_IPC_FATAL: {
        size_t len = strnlen(msg->fatal.message, sizeof msg->fatal.message);
        if (len == sizeof msg->fatal.message)
            return tlw_error_set(err, TLW_ERR_INVALID, "ipc: FATAL: message longer than %d bytes",
                                 TLW_IPC_FATAL_MESSAGE_MAX - 1);
        *body_len = FATAL_FIXED + len + 1;
        return TLW_OK;
    }
    case TLW_IPC_NONE:
    case TLW_IPC_EXEC_HEARTBEAT: /* executor messages: tlw_ipc_exec_write() */
    case TLW_IPC_EXEC_RESULT:
    case TLW_IPC_EXEC_FAILURE:
    case TLW_IPC_EXEC_CANCELLED:
    case TLW_IPC_EXEC_JOB: break;
    }
    return tlw_error_set(err, TLW_ERR_INVALID, "ipc: cannot send a message of type %d",
                         (int)msg->type);
}

tlw_status tlw_ipc_encode(const tlw_ipc_msg *msg, void *buf, size_t cap, size_t *len,
                          tlw_error *err)
{
    size_t body_len = 0;
    tlw_status st = check_outgoing(msg, &body_len, err);
    if (st != TLW_OK)
        return st;
    if (TLW_IPC_HEADER_SIZE + body_len > cap)
        return tlw_error_set(err, TLW_ERR_INVALID, "ipc: %s needs %zu bytes, the buffer has %zu",
                             tlw_ipc_type_name(msg->type), TLW_IPC_HEADER_SIZE + body_len, cap);

    writer w = {.at = buf};
    put_u16(&w, (uint16_t)msg->type);
    put_u16(&w, TLW_IPC_VERSION);
    put_u32(&w, (uint32_t)body_len);
    switch (msg->type) {
    case TLW_IPC_DRAIN:
        put_i64(&w, msg->drain.drain_deadline_ms);
        put_i64(&w, msg->drain.hard_stop_deadline_ms);
        break;
    case TLW_IPC_READY:
        put_u32(&w, msg->ready.pid);
        put_u32(&w, (uint32_t)msg->ready.slot_kind);
        put_u32(&w, msg->ready.slot_index);
        break;
    case TLW_IPC_TASK_BEGIN: {
        const tlw_ipc_task_begin *b = &msg->task_begin;
        uint32_t name_size = (uint32_t)strlen(b->type_name) + 1;
        put_u32(&w, (uint32_t)b->kind);
        put_u32(&w, b->attempt);
        put_u32(&w, b->task_token_len);
        put_u32(&w, name_size);
        put(&w, b->task_token, b->task_token_len);
        put(&w, b->type_name, name_size);
        break;
    }
    case TLW_IPC_TASK_END:
        put_u32(&w, (uint32_t)msg->task_end.kind);
        put_u32(&w, (uint32_t)msg->task_end.outcome);
        put_u32(&w, msg->task_end.reported);
        put_u32(&w, msg->task_end.task_token_len);
        put(&w, msg->task_end.task_token, msg->task_end.task_token_len);
        break;
    case TLW_IPC_STATS:
        put_u64(&w, msg->stats.tasks_started);
        put_u64(&w, msg->stats.tasks_completed);
        put_u64(&w, msg->stats.tasks_failed);
        put_u64(&w, msg->stats.tasks_canceled);
        break;
    case TLW_IPC_METRICS: put(&w, msg->metrics.data, msg->metrics.len); break;
    case TLW_IPC_SPAN: put(&w, msg->span.data, msg->span.len); break;
    case TLW_IPC_FATAL: {
        uint32_t size = (uint32_t)strlen(msg->fatal.message) + 1;
        put_u32(&w, size);
        put(&w, msg->fatal.message, size);
        break;
    }
    case TLW_IPC_STOP:
    case TLW_IPC_NONE:
    case TLW_IPC_EXEC_HEARTBEAT:
    case TLW_IPC_EXEC_RESULT:
    case TLW_IPC_EXEC_FAILURE:
    case TLW_IPC_EXEC_CANCELLED:
    case TLW_IPC_EXEC_JOB: break;
    }
    *len = TLW_IPC_HEADER_SIZE + body_len;
    return TLW_OK;
}

/* --- decoding ----------------------------------------------------------------- */

/* Reads fields in order. Callers check the length before reading, so a read
 * never passes the end; `left` is kept to make that easy to assert. */
typedef struct reader {
    const uint8_t *at;
    size_t left;
} reader;

static void take(reader *r, void *dst, size_t n)
{
    if (n)
        memcpy(dst, r->at, n);
    r->at += n;
    r->left -= n;
}

static uint16_t take_u16(reader *r)
{
    uint16_t v;
    take(r, &v, sizeof v);
    return v;
}

static uint32_t take_u32(reader *r)
{
    uint32_t v;
    take(r, &v, sizeof v);
    return v;
}

static uint64_t take_u64(reader *r)
{
    uint64_t v;
    take(r, &v, sizeof v);
    return v;
}

static int64_t take_i64(reader *r)
{
    int64_t v;
    take(r, &v, sizeof v);
    return v;
}

static tlw_status body_size_is(const char *name, size_t got, size_t want, tlw_error *err)
{
    if (got != want)
        return tlw_error_set(err, TLW_ERR_PROTOCOL, "ipc: %s body of %zu bytes, expected %zu", name,
                             got, want);
    return TLW_OK;
}

static tlw_status token_size_ok(const char *name, uint32_t len, tlw_error *err)
{
    if (len == 0)
        return tlw_error_set(err, TLW_ERR_PROTOCOL, "ipc: %s with an empty task token", name);
    if (len > TLW_IPC_TASK_TOKEN_MAX)
        return tlw_error_set(err, TLW_ERR_PROTOCOL,
                             "ipc: %s task token of %u bytes exceeds the %d-byte limit", name,
                             (unsigned)len, TLW_IPC_TASK_TOKEN_MAX);
    return TLW_OK;
}

/*
 * A wire string of `size` bytes must end in its only NUL. Copies it to `dst`
 * (room for `cap` bytes, which the caller checked `size` against).
 */
static tlw_status take_string(reader *r, uint32_t size, char *dst, const char *what, tlw_error *err)
{
    const uint8_t *s = r->at;
    if (size == 0 || s[size - 1] != '\0')
        return tlw_error_set(err, TLW_ERR_PROTOCOL, "ipc: %s is not NUL-terminated", what);
    if (memchr(s, '\0', size) != s + size - 1)
        return tlw_error_set(err, TLW_ERR_PROTOCOL, "ipc: %s contains a NUL byte", what);
    take(r, dst, size);
    return TLW_OK;
}

static tlw_status decode_body(uint16_t type, reader *r, tlw_ipc_msg *msg, tlw_error *err)
{
    const char *name = tlw_ipc_type_name((tlw_ipc_type)type);
    size_t body_len = r->left;
    tlw_status st;

    switch (type) {
    case TLW_IPC_DRAIN:
        if ((st = body_size_is(name, body_len, DRAIN_SIZE, err)) != TLW_OK)
            return st;
        msg->drain.drain_deadline_ms = take_i64(r);
        msg->drain.hard_stop_deadline_ms = take_i64(r);
        break;

    case TLW_IPC_STOP:
        if ((st = body_size_is(name, body_len, 0, err)) != TLW_OK)
            return st;
        break;

    case TLW_IPC_READY: {
        if ((st = body_size_is(name, body_len, READY_SIZE, err)) != TLW_OK)
            return st;
        uint32_t pid = take_u32(r), kind = take_u32(r);
        if (pid == 0 || pid > INT32_MAX)
            return tlw_error_set(err, TLW_ERR_PROTOCOL, "ipc: READY with pid %u", (unsigned)pid);
        if (!slot_kind_valid(kind))
            return tlw_error_set(err, TLW_ERR_PROTOCOL, "ipc: READY with unknown slot kind %u",
                                 (unsigned)kind);
        msg->ready.pid = pid;
        msg->ready.slot_kind = (tlw_ipc_slot_kind)kind;
        msg->ready.slot_index = take_u32(r);
        break;
    }

    case TLW_IPC_TASK_BEGIN: {
        if (body_len < TASK_BEGIN_FIXED)
            return tlw_error_set(err, TLW_ERR_PROTOCOL,
                                 "ipc: %s body of %zu bytes, expected at least %d", name, body_len,
                                 TASK_BEGIN_FIXED);
        tlw_ipc_task_begin *b = &msg->task_begin;
        uint32_t kind = take_u32(r), attempt = take_u32(r);
        uint32_t token_len = take_u32(r), name_size = take_u32(r);
        if (!task_kind_valid(kind))
            return tlw_error_set(err, TLW_ERR_PROTOCOL, "ipc: %s with unknown task kind %u", name,
                                 (unsigned)kind);
        if ((st = token_size_ok(name, token_len, err)) != TLW_OK)
            return st;
        if (name_size > TLW_IPC_TYPE_NAME_MAX)
            return tlw_error_set(err, TLW_ERR_PROTOCOL,
                                 "ipc: %s type name of %u bytes exceeds the %d-byte limit", name,
                                 (unsigned)name_size, TLW_IPC_TYPE_NAME_MAX);
        /* Both sizes are bounded above, so the sum cannot overflow. */
        if ((size_t)token_len + name_size != r->left)
            return tlw_error_set(err, TLW_ERR_PROTOCOL,
                                 "ipc: %s body of %zu bytes does not match its token (%u) and "
                                 "type name (%u) sizes",
                                 name, body_len, (unsigned)token_len, (unsigned)name_size);
        b->kind = (tlw_ipc_task_kind)kind;
        b->attempt = attempt;
        b->task_token_len = token_len;
        take(r, b->task_token, token_len);
        if ((st = take_string(r, name_size, b->type_name, "TASK_BEGIN type name", err)) != TLW_OK)
            return st;
        if (b->type_name[0] == '\0')
            return tlw_error_set(err, TLW_ERR_PROTOCOL, "ipc: %s with an empty type name", name);
        break;
    }

    case TLW_IPC_TASK_END: {
        if (body_len < TASK_END_FIXED)
            return tlw_error_set(err, TLW_ERR_PROTOCOL,
                                 "ipc: %s body of %zu bytes, expected at least %d", name, body_len,
                                 TASK_END_FIXED);
        tlw_ipc_task_end *e = &msg->task_end;
        uint32_t kind = take_u32(r), outcome = take_u32(r), reported = take_u32(r),
                 token_len = take_u32(r);
        if (!task_kind_valid(kind))
            return tlw_error_set(err, TLW_ERR_PROTOCOL, "ipc: %s with unknown task kind %u", name,
                                 (unsigned)kind);
        if (!outcome_valid(outcome))
            return tlw_error_set(err, TLW_ERR_PROTOCOL, "ipc: %s with unknown outcome %u", name,
                                 (unsigned)outcome);
        if (reported > 1)
            return tlw_error_set(err, TLW_ERR_PROTOCOL, "ipc: %s with reported %u (0 or 1)", name,
                                 (unsigned)reported);
        if ((st = token_size_ok(name, token_len, err)) != TLW_OK)
            return st;
        if (token_len != r->left)
            return tlw_error_set(err, TLW_ERR_PROTOCOL,
                                 "ipc: %s body of %zu bytes does not match its token size (%u)",
                                 name, body_len, (unsigned)token_len);
        e->kind = (tlw_ipc_task_kind)kind;
        e->outcome = (tlw_ipc_outcome)outcome;
        e->reported = reported;
        e->task_token_len = token_len;
        take(r, e->task_token, token_len);
        break;
    }

    case TLW_IPC_STATS:
        if ((st = body_size_is(name, body_len, STATS_SIZE, err)) != TLW_OK)
            return st;
        msg->stats.tasks_started = take_u64(r);
        msg->stats.tasks_completed = take_u64(r);
        msg->stats.tasks_failed = take_u64(r);
        msg->stats.tasks_canceled = take_u64(r);
        break;

    case TLW_IPC_METRICS:
        if (body_len > TLW_IPC_METRICS_MAX)
            return tlw_error_set(err, TLW_ERR_PROTOCOL,
                                 "ipc: %s body of %zu bytes exceeds the %d-byte limit", name,
                                 body_len, TLW_IPC_METRICS_MAX);
        if ((st = tlw_metrics_merge(NULL, r->at, body_len, err)) != TLW_OK) {
            tlw_error_prefix(err, "ipc: %s: ", name);
            return st;
        }
        msg->metrics.len = (uint32_t)body_len;
        take(r, msg->metrics.data, body_len);
        break;

    case TLW_IPC_SPAN:
        if (body_len > TLW_SPAN_ENCODED_MAX)
            return tlw_error_set(err, TLW_ERR_PROTOCOL,
                                 "ipc: %s body of %zu bytes exceeds the %d-byte limit", name,
                                 body_len, (int)TLW_SPAN_ENCODED_MAX);
        if ((st = tlw_span_decode(r->at, body_len, NULL, err)) != TLW_OK) {
            tlw_error_prefix(err, "ipc: %s: ", name);
            return st;
        }
        msg->span.len = (uint32_t)body_len;
        take(r, msg->span.data, body_len);
        break;

    case TLW_IPC_FATAL: {
        if (body_len < FATAL_FIXED)
            return tlw_error_set(err, TLW_ERR_PROTOCOL,
                                 "ipc: %s body of %zu bytes, expected at least %d", name, body_len,
                                 FATAL_FIXED);
        uint32_t size = take_u32(r);
        if (size > TLW_IPC_FATAL_MESSAGE_MAX)
            return tlw_error_set(err, TLW_ERR_PROTOCOL,
                                 "ipc: %s message of %u bytes exceeds the %d-byte limit", name,
                                 (unsigned)size, TLW_IPC_FATAL_MESSAGE_MAX);
        if (size != r->left)
            return tlw_error_set(err, TLW_ERR_PROTOCOL,
                                 "ipc: %s body of %zu bytes does not match its message size (%u)",
                                 name, body_len, (unsigned)size);
        if ((st = take_string(r, size, msg->fatal.message, "FATAL message", err)) != TLW_OK)
            return st;
        break;
    }

    default:
        return tlw_error_set(err, TLW_ERR_PROTOCOL, "ipc: unknown message type %u", (unsigned)type);
    }
    msg->type = (tlw_ipc_type)type;
    return TLW_OK;
}

tlw_status tlw_ipc_decode(const void *buf, size_t len, tlw_ipc_msg *msg, tlw_error *err)
{
    memset(msg, 0, sizeof *msg);
    if (len < TLW_IPC_HEADER_SIZE)
        return tlw_error_set(err, TLW_ERR_PROTOCOL,
                             "ipc: message of %zu bytes is shorter than the %d-byte header", len,
                             TLW_IPC_HEADER_SIZE);
    reader r = {.at = buf, .left = len};
    uint16_t type = take_u16(&r);
    uint16_t version = take_u16(&r);
    uint32_t body_len = take_u32(&r);
    if (version != TLW_IPC_VERSION)
        return tlw_error_set(err, TLW_ERR_PROTOCOL,
                             "ipc: message version %u, expected %d (supervisor and worker from "
                             "different builds?)",
                             (unsigned)version, TLW_IPC_VERSION);
    if (body_len != r.left)
        return tlw_error_set(err, TLW_ERR_PROTOCOL,
                             "ipc: header announces a %u-byte body, the message has %zu",
                             (unsigned)body_len, r.left);
    tlw_status st = decode_body(type, &r, msg, err);
    if (st != TLW_OK) {
        memset(msg, 0, sizeof *msg);
        return st;
    }
    return TLW_OK;
}

/* --- sockets ------------------------------------------------------------------ */

tlw_status tlw_ipc_pair(int fds[2], tlw_error *err)
{
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, fds) != 0)
        return tlw_error_set(err, TLW_ERR_IO, "ipc: socketpair(AF_UNIX, SOCK_SEQPACKET): %s",
                             strerror(errno));
    return TLW_OK;
}

tlw_status tlw_ipc_send(int fd, const tlw_ipc_msg *msg, tlw_error *err)
{
    uint8_t buf[TLW_IPC_MSG_MAX];
    size_t len = 0;
    tlw_status st = tlw_ipc_encode(msg, buf, sizeof buf, &len, err);
    if (st != TLW_OK)
        return st;

    ssize_t n;
    do
        n = send(fd, buf, len, MSG_NOSIGNAL);
    while (n < 0 && errno == EINTR);
    if (n < 0) {
        int e = errno;
        const char *name = tlw_ipc_type_name(msg->type);
        if (e == EPIPE || e == ECONNRESET)
            return tlw_error_set(err, TLW_ERR_UNAVAILABLE,
                                 "ipc: sending %s on fd %d: the peer has closed the channel", name,
                                 fd);
        if (e == EAGAIN || e == EWOULDBLOCK)
            return tlw_error_set(err, TLW_ERR_IO,
                                 "ipc: sending %s on fd %d: would block (the peer is not reading)",
                                 name, fd);
        return tlw_error_set(err, TLW_ERR_IO, "ipc: sending %s on fd %d: %s", name, fd,
                             strerror(e));
    }
    if ((size_t)n != len)
        return tlw_error_set(err, TLW_ERR_IO, "ipc: sent %zd of %zu bytes on fd %d", n, len, fd);
    return TLW_OK;
}

tlw_status tlw_ipc_recv(int fd, tlw_ipc_msg *msg, tlw_error *err)
{
    msg->type = TLW_IPC_NONE;
    /* One byte more than the largest message, so that an oversized one shows
     * as truncated rather than fitting exactly. */
    uint8_t buf[TLW_IPC_MSG_MAX + 1];
    struct iovec iov = {.iov_base = buf, .iov_len = sizeof buf};
    struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};

    ssize_t n;
    do
        n = recvmsg(fd, &mh, 0);
    while (n < 0 && errno == EINTR);
    if (n < 0) {
        int e = errno;
        if (e == EAGAIN || e == EWOULDBLOCK)
            return TLW_OK; /* msg->type stays TLW_IPC_NONE */
        if (e == ECONNRESET)
            return tlw_error_set(err, TLW_ERR_UNAVAILABLE,
                                 "ipc: fd %d: the peer has closed the channel", fd);
        return tlw_error_set(err, TLW_ERR_IO, "ipc: receiving on fd %d: %s", fd, strerror(e));
    }
    /* The senders never send an empty message, so 0 bytes is end of file. */
    if (n == 0)
        return tlw_error_set(err, TLW_ERR_UNAVAILABLE,
                             "ipc: fd %d: the peer has closed the channel", fd);
    if ((mh.msg_flags & MSG_TRUNC) || (size_t)n > TLW_IPC_MSG_MAX)
        return tlw_error_set(err, TLW_ERR_PROTOCOL, "ipc: message on fd %d is larger than %d bytes",
                             fd, TLW_IPC_MSG_MAX);
    return tlw_ipc_decode(buf, (size_t)n, msg, err);
}

/* --- executor -> slot ---------------------------------------------------------- */

#define EXEC_FAILURE_FIXED 12

static bool exec_type_valid(uint32_t t)
{
    return t >= TLW_IPC_EXEC_HEARTBEAT && t <= TLW_IPC_EXEC_JOB;
}

static bool exec_has_json(tlw_ipc_type t)
{
    return t == TLW_IPC_EXEC_HEARTBEAT || t == TLW_IPC_EXEC_RESULT || t == TLW_IPC_EXEC_FAILURE ||
           t == TLW_IPC_EXEC_JOB;
}

static tlw_status write_all(int fd, const void *buf, size_t n, tlw_error *err)
{
    const char *p = buf;
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return tlw_error_set(err, TLW_ERR_IO, "ipc: cannot write to the slot: %s",
                                 w < 0 ? strerror(errno) : "nothing written");
        p += w;
        n -= (size_t)w;
    }
    return TLW_OK;
}

tlw_status tlw_ipc_exec_write(int fd, const tlw_ipc_exec_msg *msg, tlw_error *err)
{
    const char *name = tlw_ipc_type_name(msg->type);
    if (!exec_type_valid((uint32_t)msg->type))
        return tlw_error_set(err, TLW_ERR_INVALID, "ipc: %d is not an executor message",
                             (int)msg->type);
    size_t json_len = exec_has_json(msg->type) ? msg->json_len : 0;
    size_t type_len = msg->type == TLW_IPC_EXEC_FAILURE ? msg->failure_type_len : 0;
    size_t message_len = msg->type == TLW_IPC_EXEC_FAILURE ? msg->message_len : 0;
    size_t fixed = msg->type == TLW_IPC_EXEC_FAILURE ? EXEC_FAILURE_FIXED : 0;
    if (json_len > TLW_IPC_EXEC_BODY_MAX || type_len > TLW_IPC_EXEC_BODY_MAX ||
        message_len > TLW_IPC_EXEC_BODY_MAX ||
        fixed + json_len + type_len + message_len > TLW_IPC_EXEC_BODY_MAX)
        return tlw_error_set(err, TLW_ERR_INVALID, "ipc: %s of more than %d bytes", name,
                             TLW_IPC_EXEC_BODY_MAX);
    if ((exec_has_json(msg->type) && (json_len == 0 || !tlw_utf8_text(msg->json, json_len))) ||
        !tlw_utf8_text(msg->failure_type, type_len) || !tlw_utf8_text(msg->message, message_len))
        return tlw_error_set(err, TLW_ERR_INVALID,
                             "ipc: %s text is empty, not UTF-8 or holds a NUL byte", name);
    size_t body = fixed + json_len + type_len + message_len;
    uint8_t head[TLW_IPC_HEADER_SIZE + EXEC_FAILURE_FIXED];
    writer w = {head};
    put_u16(&w, (uint16_t)msg->type);
    put_u16(&w, TLW_IPC_VERSION);
    put_u32(&w, (uint32_t)body);
    if (msg->type == TLW_IPC_EXEC_FAILURE) {
        put_u32(&w, msg->non_retryable ? 1 : 0);
        put_u32(&w, (uint32_t)type_len);
        put_u32(&w, (uint32_t)message_len);
    }
    tlw_status st = write_all(fd, head, TLW_IPC_HEADER_SIZE + fixed, err);
    if (st == TLW_OK && type_len)
        st = write_all(fd, msg->failure_type, type_len, err);
    if (st == TLW_OK && message_len)
        st = write_all(fd, msg->message, message_len, err);
    if (st == TLW_OK && json_len)
        st = write_all(fd, msg->json, json_len, err);
    return st;
}

tlw_status tlw_ipc_exec_decode(const void *buf, size_t len, size_t *consumed, tlw_ipc_exec_msg *msg,
                               tlw_error *err)
{
    *consumed = 0;
    if (len < TLW_IPC_HEADER_SIZE)
        return TLW_OK;
    reader r = {buf, len};
    uint16_t type = take_u16(&r), version = take_u16(&r);
    uint32_t body = take_u32(&r);
    if (version != TLW_IPC_VERSION)
        return tlw_error_set(err, TLW_ERR_PROTOCOL, "ipc: executor message version %u, expected %d",
                             (unsigned)version, TLW_IPC_VERSION);
    if (!exec_type_valid(type))
        return tlw_error_set(err, TLW_ERR_PROTOCOL, "ipc: unknown executor message type %u",
                             (unsigned)type);
    const char *name = tlw_ipc_type_name((tlw_ipc_type)type);
    if (body > TLW_IPC_EXEC_BODY_MAX)
        return tlw_error_set(err, TLW_ERR_PROTOCOL, "ipc: %s of %u bytes, over the %d-byte limit",
                             name, (unsigned)body, TLW_IPC_EXEC_BODY_MAX);
    if (r.left < body)
        return TLW_OK; /* not all here yet */
    r.left = body;
    *msg = (tlw_ipc_exec_msg){.type = (tlw_ipc_type)type};
    if (type == TLW_IPC_EXEC_CANCELLED) {
        if (body != 0)
            return tlw_error_set(err, TLW_ERR_PROTOCOL, "ipc: %s with a body of %u bytes", name,
                                 (unsigned)body);
    } else if (type == TLW_IPC_EXEC_FAILURE) {
        if (body < EXEC_FAILURE_FIXED)
            return tlw_error_set(err, TLW_ERR_PROTOCOL,
                                 "ipc: %s body of %u bytes, expected at least %d", name,
                                 (unsigned)body, EXEC_FAILURE_FIXED);
        uint32_t non_retryable = take_u32(&r), type_len = take_u32(&r), message_len = take_u32(&r);
        if (non_retryable > 1)
            return tlw_error_set(err, TLW_ERR_PROTOCOL, "ipc: %s with non_retryable %u (0 or 1)",
                                 name, (unsigned)non_retryable);
        if (type_len > r.left || message_len > r.left - type_len)
            return tlw_error_set(err, TLW_ERR_PROTOCOL, "ipc: %s lengths (%u, %u) exceed its body",
                                 name, (unsigned)type_len, (unsigned)message_len);
        msg->non_retryable = (int)non_retryable;
        msg->failure_type = (const char *)r.at;
        msg->failure_type_len = type_len;
        msg->message = (const char *)r.at + type_len;
        msg->message_len = message_len;
        r.at += type_len + message_len;
        r.left -= type_len + message_len;
        if (!tlw_utf8_text(msg->failure_type, type_len) ||
            !tlw_utf8_text(msg->message, message_len))
            return tlw_error_set(err, TLW_ERR_PROTOCOL,
                                 "ipc: %s type or message is not UTF-8 or holds a NUL byte", name);
    }
    if (exec_has_json((tlw_ipc_type)type)) {
        msg->json = (const char *)r.at;
        msg->json_len = r.left;
        if (r.left == 0 || !tlw_utf8_text(msg->json, msg->json_len))
            return tlw_error_set(err, TLW_ERR_PROTOCOL,
                                 "ipc: %s JSON text is empty, not UTF-8 or holds a NUL byte", name);
    }
    *consumed = TLW_IPC_HEADER_SIZE + body;
    return TLW_OK;
}

/* --- descriptor passing -------------------------------------------------------- */

bool tlw_ipc_send_fd(int chan, const void *buf, size_t len, int fd)
{
    struct iovec iov = {.iov_base = (void *)buf, .iov_len = len};
    union {
        char buf[CMSG_SPACE(sizeof(int))];
        struct cmsghdr align;
    } control;
    struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
    if (fd >= 0) {
        memset(&control, 0, sizeof control);
        mh.msg_control = control.buf;
        mh.msg_controllen = sizeof control.buf;
        struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int));
        memcpy(CMSG_DATA(c), &fd, sizeof fd);
    }
    ssize_t sent;
    do
        sent = sendmsg(chan, &mh, MSG_NOSIGNAL);
    while (sent < 0 && errno == EINTR);
    return sent == (ssize_t)len;
}

ssize_t tlw_ipc_recv_fd(int chan, void *buf, size_t cap, int flags, int *fd)
{
    *fd = -1;
    struct iovec iov = {.iov_base = buf, .iov_len = cap};
    union {
        char buf[CMSG_SPACE(4 * sizeof(int))];
        struct cmsghdr align;
    } control;
    struct msghdr mh = {.msg_iov = &iov,
                        .msg_iovlen = 1,
                        .msg_control = control.buf,
                        .msg_controllen = sizeof control.buf};
    ssize_t n;
    do
        n = recvmsg(chan, &mh, MSG_CMSG_CLOEXEC | flags);
    while (n < 0 && errno == EINTR);
    if (n < 0)
        return n;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
        if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
            continue;
        size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        for (size_t i = 0; i < count; i++) {
            int got;
            memcpy(&got, CMSG_DATA(c) + i * sizeof(int), sizeof got);
            if (*fd < 0)
                *fd = got;
            else
                close(got);
        }
    }
    return n;
}
