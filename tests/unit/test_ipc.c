/*
 * Supervisor <-> child messages: every message survives encode/decode and a
 * real socketpair; every malformed input is refused with TLW_ERR_PROTOCOL;
 * end of file, would-block and a closed peer are told apart; and a forked
 * child's messages reach its parent.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/error.h"
#include "common/metrics.h"
#include "ipc/ipc.h"

/* Offsets inside an encoded TASK_BEGIN (see the wire format in ipc.h). */
enum { OFF_TYPE = 0, OFF_VERSION = 2, OFF_LEN = 4, OFF_BODY = 8 };

static void set_u16(uint8_t *buf, size_t off, uint16_t v)
{
    memcpy(buf + off, &v, sizeof v);
}

static void set_u32(uint8_t *buf, size_t off, uint32_t v)
{
    memcpy(buf + off, &v, sizeof v);
}

static tlw_ipc_msg drain_msg(void)
{
    tlw_ipc_msg m = {.type = TLW_IPC_DRAIN};
    m.drain.drain_deadline_ms = 1700000000123;
    m.drain.hard_stop_deadline_ms = 1700000005123;
    return m;
}

static tlw_ipc_msg ready_msg(void)
{
    tlw_ipc_msg m = {.type = TLW_IPC_READY};
    m.ready.pid = 4242;
    m.ready.slot_kind = TLW_IPC_SLOT_ACTIVITY;
    m.ready.slot_index = 3;
    return m;
}

static tlw_ipc_msg task_begin_msg(size_t token_len, const char *type_name)
{
    tlw_ipc_msg m = {.type = TLW_IPC_TASK_BEGIN};
    m.task_begin.kind = TLW_IPC_TASK_ACTIVITY;
    m.task_begin.attempt = 7;
    m.task_begin.task_token_len = (uint32_t)token_len;
    for (size_t i = 0; i < token_len; i++)
        m.task_begin.task_token[i] = (uint8_t)(i * 31 + 1); /* includes 0 bytes */
    snprintf(m.task_begin.type_name, sizeof m.task_begin.type_name, "%s", type_name);
    return m;
}

static tlw_ipc_msg task_end_msg(void)
{
    tlw_ipc_msg m = {.type = TLW_IPC_TASK_END};
    m.task_end.kind = TLW_IPC_TASK_WORKFLOW;
    m.task_end.outcome = TLW_IPC_OUTCOME_CRASHED;
    m.task_end.reported = 1;
    m.task_end.task_token_len = 3;
    memcpy(m.task_end.task_token, "\x00\xff\x10", 3);
    return m;
}

static tlw_ipc_msg stats_msg(void)
{
    tlw_ipc_msg m = {.type = TLW_IPC_STATS};
    m.stats.tasks_started = 10;
    m.stats.tasks_completed = 7;
    m.stats.tasks_failed = 2;
    m.stats.tasks_canceled = UINT64_MAX;
    return m;
}

static tlw_ipc_msg metrics_msg(void)
{
    tlw_metrics *reg = tlw_metrics_new(0);
    tlw_metric_label l = {"activity_type", "greet"};
    tlw_metrics_add(reg, TLW_M_ACTIVITY_TASK_RECEIVED, NULL, 0, 3);
    tlw_metrics_record(reg, TLW_M_ACTIVITY_EXECUTION_LATENCY, &l, 1, 42.5);
    tlw_metrics_set(reg, TLW_M_STICKY_CACHE_SIZE, NULL, 0, 7);
    tlw_ipc_msg m = {.type = TLW_IPC_METRICS};
    size_t cursor = 0, len = 0;
    assert_int_equal(
        tlw_metrics_encode(reg, &cursor, m.metrics.data, sizeof m.metrics.data, &len, NULL),
        TLW_OK);
    assert_int_equal(cursor, 3);
    m.metrics.len = (uint32_t)len;
    tlw_metrics_free(reg);
    return m;
}

static tlw_ipc_msg span_msg(void)
{
    tlw_span s;
    memset(&s, 0, sizeof s);
    tlw_trace_new_trace_id(s.trace_id, 1700000000000);
    tlw_trace_new_span_id(s.span_id);
    s.kind = TLW_SPAN_KIND_INTERNAL;
    snprintf(s.name, sizeof s.name, "RunActivity:greet");
    tlw_span_attr(&s, "temporalActivityID", "7");
    tlw_ipc_msg m = {.type = TLW_IPC_SPAN};
    m.span.len = (uint32_t)tlw_span_encode(&s, m.span.data);
    return m;
}

static tlw_ipc_msg fatal_msg(const char *text)
{
    tlw_ipc_msg m = {.type = TLW_IPC_FATAL};
    snprintf(m.fatal.message, sizeof m.fatal.message, "%s", text);
    return m;
}

/* The fields that matter for each type are equal. */
static void assert_same(const tlw_ipc_msg *a, const tlw_ipc_msg *b)
{
    assert_int_equal(a->type, b->type);
    switch (a->type) {
    case TLW_IPC_DRAIN:
        assert_true(a->drain.drain_deadline_ms == b->drain.drain_deadline_ms);
        assert_true(a->drain.hard_stop_deadline_ms == b->drain.hard_stop_deadline_ms);
        break;
    case TLW_IPC_READY:
        assert_int_equal(a->ready.pid, b->ready.pid);
        assert_int_equal(a->ready.slot_kind, b->ready.slot_kind);
        assert_int_equal(a->ready.slot_index, b->ready.slot_index);
        break;
    case TLW_IPC_TASK_BEGIN:
        assert_int_equal(a->task_begin.kind, b->task_begin.kind);
        assert_int_equal(a->task_begin.attempt, b->task_begin.attempt);
        assert_int_equal(a->task_begin.task_token_len, b->task_begin.task_token_len);
        assert_memory_equal(a->task_begin.task_token, b->task_begin.task_token,
                            a->task_begin.task_token_len);
        assert_string_equal(a->task_begin.type_name, b->task_begin.type_name);
        break;
    case TLW_IPC_TASK_END:
        assert_int_equal(a->task_end.kind, b->task_end.kind);
        assert_int_equal(a->task_end.outcome, b->task_end.outcome);
        assert_int_equal(a->task_end.reported, b->task_end.reported);
        assert_int_equal(a->task_end.task_token_len, b->task_end.task_token_len);
        assert_memory_equal(a->task_end.task_token, b->task_end.task_token,
                            a->task_end.task_token_len);
        break;
    case TLW_IPC_STATS: assert_memory_equal(&a->stats, &b->stats, sizeof a->stats); break;
    case TLW_IPC_FATAL: assert_string_equal(a->fatal.message, b->fatal.message); break;
    case TLW_IPC_SPAN:
        assert_int_equal(a->span.len, b->span.len);
        assert_memory_equal(a->span.data, b->span.data, a->span.len);
        break;
    case TLW_IPC_METRICS:
        assert_int_equal(a->metrics.len, b->metrics.len);
        assert_memory_equal(a->metrics.data, b->metrics.data, a->metrics.len);
        break;
    case TLW_IPC_STOP:
    case TLW_IPC_NONE:
    case TLW_IPC_EXEC_HEARTBEAT: /* not supervisor <-> child messages */
    case TLW_IPC_EXEC_RESULT:
    case TLW_IPC_EXEC_FAILURE:
    case TLW_IPC_EXEC_CANCELLED:
    case TLW_IPC_EXEC_JOB: break;
    }
}

static size_t encode_ok(const tlw_ipc_msg *m, uint8_t *buf)
{
    size_t len = 0;
    tlw_error err;
    assert_int_equal(tlw_ipc_encode(m, buf, TLW_IPC_MSG_MAX, &len, &err), TLW_OK);
    assert_true(len >= TLW_IPC_HEADER_SIZE && len <= TLW_IPC_MSG_MAX);
    return len;
}

/* Decoding `buf` fails with TLW_ERR_PROTOCOL and a message containing `says`. */
static void assert_refused(const uint8_t *buf, size_t len, const char *says)
{
    tlw_ipc_msg m;
    tlw_error err;
    assert_int_equal(tlw_ipc_decode(buf, len, &m, &err), TLW_ERR_PROTOCOL);
    assert_int_equal(err.status, TLW_ERR_PROTOCOL);
    if (!strstr(err.message, says))
        fail_msg("\"%s\" does not say \"%s\"", err.message, says);
    assert_int_equal(m.type, TLW_IPC_NONE);
}

static void all_messages(tlw_ipc_msg *out, size_t *n)
{
    size_t i = 0;
    out[i++] = drain_msg();
    out[i++] = (tlw_ipc_msg){.type = TLW_IPC_STOP};
    out[i++] = ready_msg();
    out[i++] = task_begin_msg(1, "A");
    out[i++] = task_begin_msg(TLW_IPC_TASK_TOKEN_MAX, "GreetingWorkflow");
    char long_name[TLW_IPC_TYPE_NAME_MAX];
    memset(long_name, 'n', sizeof long_name - 1);
    long_name[sizeof long_name - 1] = '\0';
    out[i++] = task_begin_msg(100, long_name);
    out[i++] = task_end_msg();
    out[i++] = stats_msg();
    out[i++] = metrics_msg();
    out[i++] = span_msg();
    out[i++] = fatal_msg("");
    out[i++] = fatal_msg("cannot connect to localhost:7233: connection refused");
    *n = i;
}

static void every_message_round_trips_through_encode_and_decode(void **state)
{
    static tlw_ipc_msg msgs[16];
    size_t n;
    all_messages(msgs, &n);
    for (size_t i = 0; i < n; i++) {
        uint8_t buf[TLW_IPC_MSG_MAX];
        size_t len = encode_ok(&msgs[i], buf);
        tlw_ipc_msg got;
        tlw_error err;
        assert_int_equal(tlw_ipc_decode(buf, len, &got, &err), TLW_OK);
        assert_same(&msgs[i], &got);
    }
}

static void the_largest_message_fits_the_maximum(void **state)
{
    char name[TLW_IPC_TYPE_NAME_MAX];
    memset(name, 'x', sizeof name - 1);
    name[sizeof name - 1] = '\0';
    tlw_ipc_msg m = task_begin_msg(TLW_IPC_TASK_TOKEN_MAX, name);
    uint8_t buf[TLW_IPC_MSG_MAX];
    assert_int_equal(encode_ok(&m, buf), TLW_IPC_MSG_MAX);
}

static void every_message_round_trips_through_a_socketpair(void **state)
{
    int fds[2];
    tlw_error err;
    assert_int_equal(tlw_ipc_pair(fds, &err), TLW_OK);
    assert_true(fcntl(fds[0], F_GETFD) & FD_CLOEXEC);
    assert_true(fcntl(fds[1], F_GETFD) & FD_CLOEXEC);

    static tlw_ipc_msg msgs[16];
    size_t n;
    all_messages(msgs, &n);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(tlw_ipc_send(fds[1], &msgs[i], &err), TLW_OK);
    for (size_t i = 0; i < n; i++) {
        tlw_ipc_msg got;
        assert_int_equal(tlw_ipc_recv(fds[0], &got, &err), TLW_OK);
        assert_same(&msgs[i], &got);
    }
    close(fds[0]);
    close(fds[1]);
}

static void malformed_headers_are_refused(void **state)
{
    uint8_t buf[TLW_IPC_MSG_MAX];
    tlw_ipc_msg m = drain_msg();
    size_t len = encode_ok(&m, buf);

    assert_refused(buf, 0, "shorter than the 8-byte header");
    assert_refused(buf, 7, "shorter than the 8-byte header");

    set_u16(buf, OFF_VERSION, TLW_IPC_VERSION + 1);
    assert_refused(buf, len, "version 3, expected 2");
    set_u16(buf, OFF_VERSION, TLW_IPC_VERSION);

    set_u16(buf, OFF_TYPE, 99);
    assert_refused(buf, len, "unknown message type 99");
    set_u16(buf, OFF_TYPE, 0);
    assert_refused(buf, len, "unknown message type 0");
    set_u16(buf, OFF_TYPE, TLW_IPC_DRAIN);

    /* The header's length disagrees with the bytes that arrived. */
    assert_refused(buf, len - 1, "announces a 16-byte body, the message has 15");
    set_u32(buf, OFF_LEN, 17);
    assert_refused(buf, len, "announces a 17-byte body");
    set_u32(buf, OFF_LEN, UINT32_MAX);
    assert_refused(buf, len, "announces a 4294967295-byte body");

    /* A header that agrees with itself but a body of the wrong size. */
    set_u32(buf, OFF_LEN, 15);
    assert_refused(buf, len - 1, "DRAIN body of 15 bytes, expected 16");
    set_u16(buf, OFF_TYPE, TLW_IPC_STOP);
    assert_refused(buf, len - 1, "STOP body of 15 bytes, expected 0");
    set_u16(buf, OFF_TYPE, TLW_IPC_STATS);
    assert_refused(buf, len - 1, "STATS body of 15 bytes, expected 32");
    set_u16(buf, OFF_TYPE, TLW_IPC_READY);
    assert_refused(buf, len - 1, "READY body of 15 bytes, expected 12");
    set_u16(buf, OFF_TYPE, TLW_IPC_TASK_BEGIN);
    set_u32(buf, OFF_LEN, 3);
    assert_refused(buf, OFF_BODY + 3, "TASK_BEGIN body of 3 bytes, expected at least 16");
    set_u16(buf, OFF_TYPE, TLW_IPC_TASK_END);
    assert_refused(buf, OFF_BODY + 3, "TASK_END body of 3 bytes, expected at least 16");
    set_u16(buf, OFF_TYPE, TLW_IPC_FATAL);
    assert_refused(buf, OFF_BODY + 3, "FATAL body of 3 bytes, expected at least 4");
}

static void malformed_ready_is_refused(void **state)
{
    uint8_t buf[TLW_IPC_MSG_MAX];
    tlw_ipc_msg m = ready_msg();
    size_t len = encode_ok(&m, buf);
    set_u32(buf, OFF_BODY, 0);
    assert_refused(buf, len, "READY with pid 0");
    set_u32(buf, OFF_BODY, 0x80000000u);
    assert_refused(buf, len, "READY with pid 2147483648");
    set_u32(buf, OFF_BODY, 1);
    set_u32(buf, OFF_BODY + 4, 9);
    assert_refused(buf, len, "unknown slot kind 9");
}

static void malformed_task_begin_is_refused(void **state)
{
    enum {
        KIND = OFF_BODY,
        TOKEN_LEN = OFF_BODY + 8,
        NAME_SIZE = OFF_BODY + 12,
        TOKEN = OFF_BODY + 16
    };
    uint8_t good[TLW_IPC_MSG_MAX], buf[TLW_IPC_MSG_MAX];
    tlw_ipc_msg m = task_begin_msg(10, "Greet"); /* name: 6 bytes with its NUL */
    size_t len = encode_ok(&m, good);
    assert_int_equal(len, TOKEN + 10 + 6);

    memcpy(buf, good, len);
    set_u32(buf, KIND, 3);
    assert_refused(buf, len, "TASK_BEGIN with unknown task kind 3");

    memcpy(buf, good, len);
    set_u32(buf, TOKEN_LEN, 0);
    assert_refused(buf, len, "TASK_BEGIN with an empty task token");

    memcpy(buf, good, len);
    set_u32(buf, TOKEN_LEN, TLW_IPC_TASK_TOKEN_MAX + 1);
    assert_refused(buf, len, "task token of 4097 bytes exceeds the 4096-byte limit");

    memcpy(buf, good, len);
    set_u32(buf, NAME_SIZE, TLW_IPC_TYPE_NAME_MAX + 1);
    assert_refused(buf, len, "type name of 257 bytes exceeds the 256-byte limit");

    /* The two sizes disagree with the body length. */
    memcpy(buf, good, len);
    set_u32(buf, TOKEN_LEN, 11);
    assert_refused(buf, len, "does not match its token (11) and type name (6) sizes");
    memcpy(buf, good, len);
    set_u32(buf, NAME_SIZE, 5);
    assert_refused(buf, len, "does not match its token (10) and type name (5) sizes");

    /* Shift one byte from the token to the name: the name loses its NUL. */
    memcpy(buf, good, len);
    set_u32(buf, TOKEN_LEN, 9);
    set_u32(buf, NAME_SIZE, 7);
    buf[len - 1] = 'x';
    assert_refused(buf, len, "TASK_BEGIN type name is not NUL-terminated");

    memcpy(buf, good, len);
    set_u32(buf, NAME_SIZE, 0);
    set_u32(buf, TOKEN_LEN, 16);
    assert_refused(buf, len, "TASK_BEGIN type name is not NUL-terminated");

    memcpy(buf, good, len);
    buf[TOKEN + 10 + 2] = '\0';
    assert_refused(buf, len, "TASK_BEGIN type name contains a NUL byte");

    /* An empty name ("" plus its NUL) is refused too. */
    memcpy(buf, good, len);
    set_u32(buf, TOKEN_LEN, 15);
    set_u32(buf, NAME_SIZE, 1);
    assert_refused(buf, len, "TASK_BEGIN with an empty type name");
}

static void malformed_task_end_is_refused(void **state)
{
    enum { KIND = OFF_BODY, OUTCOME = OFF_BODY + 4, REPORTED = OFF_BODY + 8,
           TOKEN_LEN = OFF_BODY + 12 };
    uint8_t good[TLW_IPC_MSG_MAX], buf[TLW_IPC_MSG_MAX];
    tlw_ipc_msg m = task_end_msg();
    size_t len = encode_ok(&m, good);

    memcpy(buf, good, len);
    set_u32(buf, KIND, 0);
    assert_refused(buf, len, "TASK_END with unknown task kind 0");
    memcpy(buf, good, len);
    set_u32(buf, OUTCOME, 0);
    assert_refused(buf, len, "TASK_END with unknown outcome 0");
    set_u32(buf, OUTCOME, TLW_IPC_OUTCOME_TIMED_OUT + 1);
    assert_refused(buf, len, "TASK_END with unknown outcome 6");
    memcpy(buf, good, len);
    set_u32(buf, REPORTED, 2);
    assert_refused(buf, len, "TASK_END with reported 2 (0 or 1)");
    memcpy(buf, good, len);
    set_u32(buf, TOKEN_LEN, 4);
    assert_refused(buf, len, "does not match its token size (4)");
    set_u32(buf, TOKEN_LEN, 0);
    assert_refused(buf, len, "TASK_END with an empty task token");
    set_u32(buf, TOKEN_LEN, 5000);
    assert_refused(buf, len, "task token of 5000 bytes exceeds the 4096-byte limit");
}

static void malformed_fatal_is_refused(void **state)
{
    uint8_t good[TLW_IPC_MSG_MAX], buf[TLW_IPC_MSG_MAX];
    tlw_ipc_msg m = fatal_msg("boom");
    size_t len = encode_ok(&m, good);

    memcpy(buf, good, len);
    buf[len - 1] = '!';
    assert_refused(buf, len, "FATAL message is not NUL-terminated");
    memcpy(buf, good, len);
    buf[OFF_BODY + 4 + 1] = '\0';
    assert_refused(buf, len, "FATAL message contains a NUL byte");
    memcpy(buf, good, len);
    set_u32(buf, OFF_BODY, 4);
    assert_refused(buf, len, "does not match its message size (4)");
    set_u32(buf, OFF_BODY, TLW_IPC_FATAL_MESSAGE_MAX + 1);
    assert_refused(buf, len, "message of 513 bytes exceeds the 512-byte limit");
    /* A zero-size string has no NUL at all. */
    set_u32(buf, OFF_LEN, 4);
    set_u32(buf, OFF_BODY, 0);
    assert_refused(buf, OFF_BODY + 4, "FATAL message is not NUL-terminated");
}

static void encode_refuses_what_a_receiver_would_refuse(void **state)
{
    uint8_t buf[TLW_IPC_MSG_MAX];
    size_t len;
    tlw_error err;

    tlw_ipc_msg m = task_begin_msg(10, "Greet");
    m.task_begin.task_token_len = TLW_IPC_TASK_TOKEN_MAX + 1;
    assert_int_equal(tlw_ipc_encode(&m, buf, sizeof buf, &len, &err), TLW_ERR_INVALID);
    assert_non_null(strstr(err.message, "task token of 4097 bytes"));

    m = task_begin_msg(10, "Greet");
    memset(m.task_begin.type_name, 'x', sizeof m.task_begin.type_name);
    assert_int_equal(tlw_ipc_encode(&m, buf, sizeof buf, &len, &err), TLW_ERR_INVALID);
    assert_non_null(strstr(err.message, "type name longer than 255 bytes"));

    m = task_begin_msg(10, "");
    assert_int_equal(tlw_ipc_encode(&m, buf, sizeof buf, &len, &err), TLW_ERR_INVALID);

    m = fatal_msg("x");
    memset(m.fatal.message, 'x', sizeof m.fatal.message);
    assert_int_equal(tlw_ipc_encode(&m, buf, sizeof buf, &len, &err), TLW_ERR_INVALID);

    m = task_end_msg();
    m.task_end.outcome = (tlw_ipc_outcome)42;
    assert_int_equal(tlw_ipc_encode(&m, buf, sizeof buf, &len, &err), TLW_ERR_INVALID);

    m = ready_msg();
    m.ready.pid = 0;
    assert_int_equal(tlw_ipc_encode(&m, buf, sizeof buf, &len, &err), TLW_ERR_INVALID);

    m = (tlw_ipc_msg){.type = TLW_IPC_NONE};
    assert_int_equal(tlw_ipc_encode(&m, buf, sizeof buf, &len, &err), TLW_ERR_INVALID);

    m = drain_msg();
    assert_int_equal(tlw_ipc_encode(&m, buf, 10, &len, &err), TLW_ERR_INVALID);
    assert_non_null(strstr(err.message, "needs 24 bytes, the buffer has 10"));

    /* Nothing reaches the socket either. */
    int fds[2];
    assert_int_equal(tlw_ipc_pair(fds, &err), TLW_OK);
    m = task_end_msg();
    m.task_end.task_token_len = 0;
    assert_int_equal(tlw_ipc_send(fds[1], &m, &err), TLW_ERR_INVALID);
    fcntl(fds[0], F_SETFL, O_NONBLOCK);
    assert_int_equal(tlw_ipc_recv(fds[0], &m, &err), TLW_OK);
    assert_int_equal(m.type, TLW_IPC_NONE);
    close(fds[0]);
    close(fds[1]);
}

static void nonblocking_recv_says_would_block_then_reads(void **state)
{
    int fds[2];
    tlw_error err;
    assert_int_equal(tlw_ipc_pair(fds, &err), TLW_OK);
    assert_int_equal(fcntl(fds[0], F_SETFL, fcntl(fds[0], F_GETFL) | O_NONBLOCK), 0);

    tlw_ipc_msg got = ready_msg();
    assert_int_equal(tlw_ipc_recv(fds[0], &got, &err), TLW_OK);
    assert_int_equal(got.type, TLW_IPC_NONE);

    tlw_ipc_msg m = stats_msg();
    assert_int_equal(tlw_ipc_send(fds[1], &m, &err), TLW_OK);
    assert_int_equal(tlw_ipc_recv(fds[0], &got, &err), TLW_OK);
    assert_same(&m, &got);

    assert_int_equal(tlw_ipc_recv(fds[0], &got, &err), TLW_OK);
    assert_int_equal(got.type, TLW_IPC_NONE);
    close(fds[0]);
    close(fds[1]);
}

static void eof_is_told_apart_after_the_last_message(void **state)
{
    int fds[2];
    tlw_error err;
    assert_int_equal(tlw_ipc_pair(fds, &err), TLW_OK);
    tlw_ipc_msg m = fatal_msg("bye");
    assert_int_equal(tlw_ipc_send(fds[1], &m, &err), TLW_OK);
    close(fds[1]);

    tlw_ipc_msg got;
    assert_int_equal(tlw_ipc_recv(fds[0], &got, &err), TLW_OK);
    assert_string_equal(got.fatal.message, "bye");
    assert_int_equal(tlw_ipc_recv(fds[0], &got, &err), TLW_ERR_UNAVAILABLE);
    assert_non_null(strstr(err.message, "closed the channel"));
    assert_int_equal(got.type, TLW_IPC_NONE);

    /* Non-blocking: still end of file, not "would block". */
    fcntl(fds[0], F_SETFL, O_NONBLOCK);
    assert_int_equal(tlw_ipc_recv(fds[0], &got, &err), TLW_ERR_UNAVAILABLE);
    close(fds[0]);
}

static void sending_to_a_closed_peer_fails_without_sigpipe(void **state)
{
    /* With SIGPIPE at its default action the test would die here. */
    void (*old)(int) = signal(SIGPIPE, SIG_DFL);
    int fds[2];
    tlw_error err;
    assert_int_equal(tlw_ipc_pair(fds, &err), TLW_OK);
    close(fds[0]);
    tlw_ipc_msg m = (tlw_ipc_msg){.type = TLW_IPC_STOP};
    assert_int_equal(tlw_ipc_send(fds[1], &m, &err), TLW_ERR_UNAVAILABLE);
    assert_non_null(strstr(err.message, "sending STOP"));
    close(fds[1]);
    signal(SIGPIPE, old);
}

static void a_full_nonblocking_socket_fails_with_io(void **state)
{
    int fds[2];
    tlw_error err;
    assert_int_equal(tlw_ipc_pair(fds, &err), TLW_OK);
    fcntl(fds[1], F_SETFL, O_NONBLOCK);
    tlw_ipc_msg m = task_begin_msg(TLW_IPC_TASK_TOKEN_MAX, "Big");
    tlw_status st = TLW_OK;
    for (int i = 0; i < 100000 && st == TLW_OK; i++)
        st = tlw_ipc_send(fds[1], &m, &err);
    assert_int_equal(st, TLW_ERR_IO);
    assert_non_null(strstr(err.message, "would block"));
    close(fds[0]);
    close(fds[1]);
}

static void an_oversized_datagram_is_refused_and_the_next_one_read(void **state)
{
    int fds[2];
    tlw_error err;
    assert_int_equal(tlw_ipc_pair(fds, &err), TLW_OK);
    static uint8_t big[TLW_IPC_MSG_MAX + 100];
    memset(big, 'z', sizeof big);
    assert_int_equal(send(fds[1], big, sizeof big, 0), (ssize_t)sizeof big);
    tlw_ipc_msg m = drain_msg(), got;
    assert_int_equal(tlw_ipc_send(fds[1], &m, &err), TLW_OK);

    assert_int_equal(tlw_ipc_recv(fds[0], &got, &err), TLW_ERR_PROTOCOL);
    assert_non_null(strstr(err.message, "larger than"));
    assert_int_equal(tlw_ipc_recv(fds[0], &got, &err), TLW_OK);
    assert_same(&m, &got);

    /* A datagram of garbage is a protocol error, not a crash. */
    assert_int_equal(send(fds[1], "garbage!", 8, 0), 8);
    assert_int_equal(tlw_ipc_recv(fds[0], &got, &err), TLW_ERR_PROTOCOL);
    close(fds[0]);
    close(fds[1]);
}

static void a_forked_child_reports_to_its_parent(void **state)
{
    int fds[2];
    tlw_error err;
    assert_int_equal(tlw_ipc_pair(fds, &err), TLW_OK);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(fds[0]);
        tlw_ipc_msg ready = {.type = TLW_IPC_READY};
        ready.ready.pid = (uint32_t)getpid();
        ready.ready.slot_kind = TLW_IPC_SLOT_WORKFLOW;
        ready.ready.slot_index = 1;
        tlw_ipc_msg begin = task_begin_msg(300, "GreetingWorkflow");
        begin.task_begin.kind = TLW_IPC_TASK_WORKFLOW;
        begin.task_begin.attempt = 1;
        tlw_ipc_msg drain;
        int ok = tlw_ipc_send(fds[1], &ready, NULL) == TLW_OK &&
                 tlw_ipc_send(fds[1], &begin, NULL) == TLW_OK &&
                 /* Then it waits for its parent's DRAIN before leaving. */
                 tlw_ipc_recv(fds[1], &drain, NULL) == TLW_OK && drain.type == TLW_IPC_DRAIN &&
                 drain.drain.drain_deadline_ms == 1700000000123;
        _exit(ok ? 0 : 1);
    }
    close(fds[1]);

    tlw_ipc_msg got;
    assert_int_equal(tlw_ipc_recv(fds[0], &got, &err), TLW_OK);
    assert_int_equal(got.type, TLW_IPC_READY);
    assert_int_equal(got.ready.pid, (uint32_t)pid);
    assert_int_equal(got.ready.slot_kind, TLW_IPC_SLOT_WORKFLOW);
    assert_int_equal(got.ready.slot_index, 1);

    assert_int_equal(tlw_ipc_recv(fds[0], &got, &err), TLW_OK);
    tlw_ipc_msg want = task_begin_msg(300, "GreetingWorkflow");
    want.task_begin.kind = TLW_IPC_TASK_WORKFLOW;
    want.task_begin.attempt = 1;
    assert_same(&want, &got);

    tlw_ipc_msg drain = drain_msg();
    assert_int_equal(tlw_ipc_send(fds[0], &drain, &err), TLW_OK);
    assert_int_equal(tlw_ipc_recv(fds[0], &got, &err), TLW_ERR_UNAVAILABLE);

    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    close(fds[0]);
}

static void names_cover_every_value(void **state)
{
    assert_string_equal(tlw_ipc_type_name(TLW_IPC_TASK_BEGIN), "TASK_BEGIN");
    assert_string_equal(tlw_ipc_type_name((tlw_ipc_type)77), "unknown");
    assert_string_equal(tlw_ipc_slot_kind_name(TLW_IPC_SLOT_ACTIVITY), "activity");
    assert_string_equal(tlw_ipc_task_kind_name(TLW_IPC_TASK_WORKFLOW), "workflow");
    assert_string_equal(tlw_ipc_outcome_name(TLW_IPC_OUTCOME_CRASHED), "crashed");
    assert_string_equal(tlw_ipc_outcome_name((tlw_ipc_outcome)0), "unknown");
}

/* ---- executor -> slot messages ------------------------------------------- */

/* Writes `m` into a pipe and reads back the bytes. */
static size_t exec_bytes(const tlw_ipc_exec_msg *m, uint8_t *buf, size_t cap)
{
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    tlw_error err;
    assert_int_equal(tlw_ipc_exec_write(fds[1], m, &err), TLW_OK);
    close(fds[1]);
    size_t len = 0;
    ssize_t n;
    while ((n = read(fds[0], buf + len, cap - len)) > 0)
        len += (size_t)n;
    close(fds[0]);
    return len;
}

static void executor_messages_round_trip_byte_by_byte(void **state)
{
    tlw_ipc_exec_msg in[] = {
        {.type = TLW_IPC_EXEC_HEARTBEAT, .json = "{\"step\":1}", .json_len = 10},
        {.type = TLW_IPC_EXEC_RESULT, .json = "\"h\xc3\xa9\"", .json_len = 5},
        {.type = TLW_IPC_EXEC_FAILURE, .non_retryable = 1, .failure_type = "BadInput",
         .failure_type_len = 8, .message = "the input is bad", .message_len = 16,
         .json = "[1]", .json_len = 3},
        {.type = TLW_IPC_EXEC_CANCELLED},
        {.type = TLW_IPC_EXEC_JOB, .json = "{\"args\":[]}", .json_len = 11},
    };
    for (size_t i = 0; i < sizeof in / sizeof in[0]; i++) {
        uint8_t buf[256];
        size_t len = exec_bytes(&in[i], buf, sizeof buf);
        tlw_ipc_exec_msg out;
        size_t used;
        tlw_error err;
        /* Every proper prefix is "not all here yet". */
        for (size_t cut = 0; cut < len; cut++) {
            assert_int_equal(tlw_ipc_exec_decode(buf, cut, &used, &out, &err), TLW_OK);
            assert_int_equal(used, 0);
        }
        assert_int_equal(tlw_ipc_exec_decode(buf, len, &used, &out, &err), TLW_OK);
        assert_int_equal(used, len);
        assert_int_equal(out.type, in[i].type);
        assert_int_equal(out.json_len, in[i].json_len);
        if (in[i].json_len)
            assert_memory_equal(out.json, in[i].json, in[i].json_len);
        assert_int_equal(out.non_retryable, in[i].non_retryable);
        assert_int_equal(out.failure_type_len, in[i].failure_type_len);
        assert_int_equal(out.message_len, in[i].message_len);
        if (in[i].message_len)
            assert_memory_equal(out.message, in[i].message, in[i].message_len);
    }
}

static void assert_exec_refused(const uint8_t *buf, size_t len, const char *says)
{
    tlw_ipc_exec_msg m;
    size_t used = 99;
    tlw_error err;
    assert_int_equal(tlw_ipc_exec_decode(buf, len, &used, &m, &err), TLW_ERR_PROTOCOL);
    assert_int_equal(used, 0);
    if (!strstr(err.message, says))
        fail_msg("\"%s\" does not say \"%s\"", err.message, says);
}

static void malformed_executor_messages_are_refused(void **state)
{
    uint8_t buf[64];
    tlw_ipc_exec_msg hb = {.type = TLW_IPC_EXEC_HEARTBEAT, .json = "[1,2]", .json_len = 5};
    size_t len = exec_bytes(&hb, buf, sizeof buf);

    uint8_t bad[64];
    memcpy(bad, buf, len);
    set_u16(bad, OFF_VERSION, 1);
    assert_exec_refused(bad, len, "version 1, expected 2");
    memcpy(bad, buf, len);
    set_u16(bad, OFF_TYPE, TLW_IPC_READY);
    assert_exec_refused(bad, len, "unknown executor message type 16");
    memcpy(bad, buf, len);
    set_u32(bad, OFF_LEN, TLW_IPC_EXEC_BODY_MAX + 1);
    assert_exec_refused(bad, len, "over the 4194304-byte limit");
    memcpy(bad, buf, len);
    bad[OFF_BODY + 2] = '\0';
    assert_exec_refused(bad, len, "not UTF-8 or holds a NUL byte");
    memcpy(bad, buf, len);
    bad[OFF_BODY + 2] = (uint8_t)0xc0; /* an overlong form */
    assert_exec_refused(bad, len, "not UTF-8");
    memcpy(bad, buf, len);
    set_u32(bad, OFF_LEN, 0);
    assert_exec_refused(bad, OFF_BODY, "JSON text is empty");
    memcpy(bad, buf, len);
    set_u16(bad, OFF_TYPE, TLW_IPC_EXEC_CANCELLED);
    assert_exec_refused(bad, len, "EXEC_CANCELLED with a body of 5 bytes");

    tlw_ipc_exec_msg f = {.type = TLW_IPC_EXEC_FAILURE, .failure_type = "T",
                          .failure_type_len = 1, .message = "m", .message_len = 1,
                          .json = "[]", .json_len = 2};
    len = exec_bytes(&f, buf, sizeof buf);
    memcpy(bad, buf, len);
    set_u32(bad, OFF_BODY, 2);
    assert_exec_refused(bad, len, "non_retryable 2 (0 or 1)");
    memcpy(bad, buf, len);
    set_u32(bad, OFF_BODY + 8, 100);
    assert_exec_refused(bad, len, "exceed its body");

    /* The writer refuses what the reader would. */
    tlw_error err;
    tlw_ipc_exec_msg nul = {.type = TLW_IPC_EXEC_RESULT, .json = "\"a\0b\"", .json_len = 5};
    assert_int_equal(tlw_ipc_exec_write(1, &nul, &err), TLW_ERR_INVALID);
    tlw_ipc_exec_msg empty = {.type = TLW_IPC_EXEC_RESULT, .json = "", .json_len = 0};
    assert_int_equal(tlw_ipc_exec_write(1, &empty, &err), TLW_ERR_INVALID);
}

/* METRICS carries common/metrics.h's form; the decoder checks it whole. */
static void malformed_metrics_are_refused(void **state)
{
    tlw_ipc_msg m = metrics_msg();
    uint8_t buf[TLW_IPC_MSG_MAX];
    size_t len = encode_ok(&m, buf);
    /* A series count that promises more than the body holds. */
    uint8_t bad[TLW_IPC_MSG_MAX];
    memcpy(bad, buf, len);
    bad[OFF_BODY] = 4;
    assert_refused(bad, len, "metrics: series 3: truncated");
    /* An unknown metric id in the first series. */
    memcpy(bad, buf, len);
    bad[OFF_BODY + 4] = 0xff;
    bad[OFF_BODY + 5] = 0x7f;
    assert_refused(bad, len, "unknown metric id");
    /* Bytes left over after the last series. */
    memcpy(bad, buf, len);
    bad[len] = 0;
    set_u32(bad, OFF_LEN, (uint32_t)(len - TLW_IPC_HEADER_SIZE + 1));
    assert_refused(bad, len + 1, "left over");
    /* The sender refuses what the receiver would. */
    m.metrics.data[0] = 9;
    tlw_error err;
    size_t n;
    assert_int_equal(tlw_ipc_encode(&m, buf, sizeof buf, &n, &err), TLW_ERR_INVALID);
}

/* A descriptor crosses with its message, and is the peer's to use; EOF
 * and "nothing yet" are told apart. */
static void a_descriptor_crosses_with_its_message(void **state)
{
    (void)state;
    int chan[2], pipe_fds[2];
    assert_int_equal(tlw_ipc_pair(chan, NULL), TLW_OK);
    assert_int_equal(pipe(pipe_fds), 0);
    char buf[8];
    int fd = 7;
    assert_int_equal(tlw_ipc_recv_fd(chan[1], buf, sizeof buf, MSG_DONTWAIT, &fd), -1);
    assert_true(errno == EAGAIN || errno == EWOULDBLOCK);
    assert_int_equal(fd, -1);

    assert_true(tlw_ipc_send_fd(chan[0], "hi", 2, pipe_fds[1]));
    close(pipe_fds[1]); /* the peer's copy keeps the pipe open */
    assert_true(tlw_ipc_send_fd(chan[0], "x", 1, -1));
    assert_int_equal(tlw_ipc_recv_fd(chan[1], buf, sizeof buf, 0, &fd), 2);
    assert_memory_equal(buf, "hi", 2);
    assert_true(fd > 2);
    assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
    assert_int_equal(write(fd, "z", 1), 1);
    close(fd);
    assert_int_equal(read(pipe_fds[0], buf, sizeof buf), 1); /* then EOF: no copy left */
    assert_int_equal(read(pipe_fds[0], buf, sizeof buf), 0);
    assert_int_equal(tlw_ipc_recv_fd(chan[1], buf, sizeof buf, 0, &fd), 1);
    assert_int_equal(fd, -1);

    close(chan[0]);
    assert_int_equal(tlw_ipc_recv_fd(chan[1], buf, sizeof buf, 0, &fd), 0);
    assert_false(tlw_ipc_send_fd(chan[1], "y", 1, -1)); /* no SIGPIPE either */
    close(chan[1]);
    close(pipe_fds[0]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(executor_messages_round_trip_byte_by_byte),
        cmocka_unit_test(malformed_executor_messages_are_refused),
        cmocka_unit_test(every_message_round_trips_through_encode_and_decode),
        cmocka_unit_test(the_largest_message_fits_the_maximum),
        cmocka_unit_test(every_message_round_trips_through_a_socketpair),
        cmocka_unit_test(malformed_headers_are_refused),
        cmocka_unit_test(malformed_ready_is_refused),
        cmocka_unit_test(malformed_task_begin_is_refused),
        cmocka_unit_test(malformed_task_end_is_refused),
        cmocka_unit_test(malformed_fatal_is_refused),
        cmocka_unit_test(malformed_metrics_are_refused),
        cmocka_unit_test(encode_refuses_what_a_receiver_would_refuse),
        cmocka_unit_test(nonblocking_recv_says_would_block_then_reads),
        cmocka_unit_test(eof_is_told_apart_after_the_last_message),
        cmocka_unit_test(sending_to_a_closed_peer_fails_without_sigpipe),
        cmocka_unit_test(a_full_nonblocking_socket_fails_with_io),
        cmocka_unit_test(an_oversized_datagram_is_refused_and_the_next_one_read),
        cmocka_unit_test(a_forked_child_reports_to_its_parent),
        cmocka_unit_test(names_cover_every_value),
        cmocka_unit_test(a_descriptor_crosses_with_its_message),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
