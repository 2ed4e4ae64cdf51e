#include "config.h"

#include "common/spans.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>
#include <time.h>

#include "common/error.h"
#include "common/utf8.h"

static void copy_cut(char *dst, size_t cap, const char *s)
{
    size_t len = strlen(s);
    if (len >= cap) {
        len = cap - 1;
        while (len > 0 && ((unsigned char)s[len] & 0xc0) == 0x80)
            len--;
    }
    memcpy(dst, s, len);
    dst[len] = '\0';
}

void tlw_span_attr(tlw_span *s, const char *key, const char *value)
{
    if (s->attr_count == TLW_SPAN_ATTRS_MAX)
        return;
    copy_cut(s->attr_keys[s->attr_count], TLW_SPAN_KEY_MAX, key);
    copy_cut(s->attr_values[s->attr_count], TLW_SPAN_VALUE_MAX, value ? value : "");
    s->attr_count++;
}

/* ---- the compact form ---------------------------------------------------- */

static uint8_t *put(uint8_t *at, const void *src, size_t n)
{
    memcpy(at, src, n);
    return at + n;
}

size_t tlw_span_encode(const tlw_span *s, uint8_t *buf)
{
    uint8_t *at = buf;
    uint8_t link = s->has_link ? 1 : 0;
    static const uint8_t zero[16];
    at = put(at, s->trace_id, 16);
    at = put(at, s->span_id, 8);
    at = put(at, s->parent_span_id, 8);
    at = put(at, &link, 1);
    at = put(at, link ? s->link_trace_id : zero, 16);
    at = put(at, link ? s->link_span_id : zero, 8);
    at = put(at, &s->kind, 1);
    at = put(at, &s->status, 1);
    at = put(at, &s->start_ns, 8);
    at = put(at, &s->end_ns, 8);
    uint16_t name_len = (uint16_t)strnlen(s->name, TLW_SPAN_NAME_MAX - 1);
    at = put(at, &name_len, 2);
    at = put(at, s->name, name_len);
    uint8_t n = (uint8_t)(s->attr_count < TLW_SPAN_ATTRS_MAX ? s->attr_count : TLW_SPAN_ATTRS_MAX);
    at = put(at, &n, 1);
    for (size_t i = 0; i < n; i++) {
        uint8_t kl = (uint8_t)strnlen(s->attr_keys[i], TLW_SPAN_KEY_MAX - 1);
        uint16_t vl = (uint16_t)strnlen(s->attr_values[i], TLW_SPAN_VALUE_MAX - 1);
        at = put(at, &kl, 1);
        at = put(at, s->attr_keys[i], kl);
        at = put(at, &vl, 2);
        at = put(at, s->attr_values[i], vl);
    }
    return (size_t)(at - buf);
}

typedef struct reader {
    const uint8_t *at;
    size_t left;
} reader;

static bool take(reader *r, void *dst, size_t n)
{
    if (r->left < n)
        return false;
    memcpy(dst, r->at, n);
    r->at += n;
    r->left -= n;
    return true;
}

static bool all_zero(const uint8_t *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (b[i])
            return false;
    return true;
}

static bool key_ok(const char *s, size_t len)
{
    if (len == 0)
        return false;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '.'))
            return false;
    }
    return true;
}

static tlw_status bad(tlw_error *err, const char *what)
{
    return tlw_error_set(err, TLW_ERR_PROTOCOL, "span: %s", what);
}

tlw_status tlw_span_decode(const void *buf, size_t len, tlw_span *out, tlw_error *err)
{
    tlw_span s;
    memset(&s, 0, sizeof s);
    reader r = {.at = buf, .left = len};
    uint8_t link;
    uint16_t name_len;
    if (!take(&r, s.trace_id, 16) || !take(&r, s.span_id, 8) || !take(&r, s.parent_span_id, 8) ||
        !take(&r, &link, 1) || !take(&r, s.link_trace_id, 16) || !take(&r, s.link_span_id, 8) ||
        !take(&r, &s.kind, 1) || !take(&r, &s.status, 1) || !take(&r, &s.start_ns, 8) ||
        !take(&r, &s.end_ns, 8) || !take(&r, &name_len, 2))
        return bad(err, "truncated");
    if (all_zero(s.trace_id, 16) || all_zero(s.span_id, 8))
        return bad(err, "an all-zero trace id or span id");
    if (link > 1)
        return bad(err, "has_link is not 0 or 1");
    s.has_link = link == 1;
    if (!s.has_link && !(all_zero(s.link_trace_id, 16) && all_zero(s.link_span_id, 8)))
        return bad(err, "link ids without a link");
    if (s.kind < 1 || s.kind > 5)
        return bad(err, "kind out of range");
    if (s.status > 2)
        return bad(err, "status out of range");
    if (s.end_ns < s.start_ns)
        return bad(err, "ends before it starts");
    if (name_len == 0 || name_len >= TLW_SPAN_NAME_MAX || !take(&r, s.name, name_len))
        return bad(err, "name empty, too long or truncated");
    if (!tlw_utf8_text(s.name, name_len))
        return bad(err, "name is not UTF-8 without NUL");
    uint8_t n;
    if (!take(&r, &n, 1))
        return bad(err, "truncated");
    if (n > TLW_SPAN_ATTRS_MAX)
        return bad(err, "too many attributes");
    s.attr_count = n;
    for (size_t i = 0; i < n; i++) {
        uint8_t kl;
        uint16_t vl;
        if (!take(&r, &kl, 1) || kl >= TLW_SPAN_KEY_MAX || !take(&r, s.attr_keys[i], kl))
            return bad(err, "attribute key too long or truncated");
        if (!key_ok(s.attr_keys[i], kl))
            return bad(err, "attribute key is not [A-Za-z0-9_.]+");
        if (!take(&r, &vl, 2) || vl >= TLW_SPAN_VALUE_MAX || !take(&r, s.attr_values[i], vl))
            return bad(err, "attribute value too long or truncated");
        if (!tlw_utf8_text(s.attr_values[i], vl))
            return bad(err, "attribute value is not UTF-8 without NUL");
    }
    if (r.left != 0)
        return bad(err, "bytes left over after the last attribute");
    if (out)
        *out = s;
    return TLW_OK;
}

/* ---- the supervisor's list ------------------------------------------------ */

void tlw_spans_add(tlw_spans *list, const tlw_span *s)
{
    if (list->count == TLW_SPANS_MAX) {
        memmove(list->items, list->items + 1, (list->count - 1) * sizeof *list->items);
        list->count--;
        list->dropped++;
    }
    if (list->count == list->cap) {
        size_t cap = list->cap ? list->cap * 2 : 16;
        tlw_span *grown = realloc(list->items, cap * sizeof *grown);
        if (!grown) {
            list->dropped++;
            return;
        }
        list->items = grown;
        list->cap = cap;
    }
    list->items[list->count++] = *s;
}

void tlw_spans_clear(tlw_spans *list)
{
    list->count = 0;
}

void tlw_spans_free(tlw_spans *list)
{
    free(list->items);
    *list = (tlw_spans){0};
}

/* ---- trace context ------------------------------------------------------------ */

static void random_bytes(uint8_t *b, size_t n)
{
    size_t got = 0;
    while (got < n) {
        ssize_t k = getrandom(b + got, n - got, 0);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            break;
        got += (size_t)k;
    }
    if (got < n) { /* no kernel randomness: ids need only be unlikely to collide */
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        uint64_t x = (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 20) ^ (uint64_t)getpid();
        for (size_t i = got; i < n; i++) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            b[i] = (uint8_t)x;
        }
    }
}

void tlw_trace_new_trace_id(uint8_t id[16], int64_t now_ms)
{
    uint32_t secs = (uint32_t)(now_ms / 1000);
    id[0] = (uint8_t)(secs >> 24);
    id[1] = (uint8_t)(secs >> 16);
    id[2] = (uint8_t)(secs >> 8);
    id[3] = (uint8_t)secs;
    do
        random_bytes(id + 4, 12);
    while (all_zero(id + 4, 12));
}

void tlw_trace_new_span_id(uint8_t id[8])
{
    do
        random_bytes(id, 8);
    while (all_zero(id, 8));
}

static uint64_t fnv1a(const char *s, uint64_t h)
{
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

static void put_u64_be(uint8_t *out, uint64_t v)
{
    for (int i = 7; i >= 0; i--, v >>= 8)
        out[i] = (uint8_t)v;
}

void tlw_trace_span_id_from(const char *seed, uint8_t id[8])
{
    uint64_t h = fnv1a(seed, 1469598103934665603ULL ^ 0x52756e576f726b66ULL);
    put_u64_be(id, h ? h : 1);
}

void tlw_trace_trace_id_from(const char *seed, int64_t start_ms, uint8_t id[16])
{
    uint32_t secs = (uint32_t)(start_ms / 1000);
    id[0] = (uint8_t)(secs >> 24);
    id[1] = (uint8_t)(secs >> 16);
    id[2] = (uint8_t)(secs >> 8);
    id[3] = (uint8_t)secs;
    uint64_t a = fnv1a(seed, 1469598103934665603ULL), b = fnv1a(seed, a | 1);
    uint8_t tail[16];
    put_u64_be(tail, a);
    put_u64_be(tail + 8, b);
    memcpy(id + 4, tail, 12);
    if (all_zero(id + 4, 12))
        id[15] = 1;
}

void tlw_trace_format_traceparent(const uint8_t trace_id[16], const uint8_t span_id[8],
                                  char out[56])
{
    static const char hex[] = "0123456789abcdef";
    char *p = out;
    *p++ = '0';
    *p++ = '0';
    *p++ = '-';
    for (int i = 0; i < 16; i++) {
        *p++ = hex[trace_id[i] >> 4];
        *p++ = hex[trace_id[i] & 15];
    }
    *p++ = '-';
    for (int i = 0; i < 8; i++) {
        *p++ = hex[span_id[i] >> 4];
        *p++ = hex[span_id[i] & 15];
    }
    memcpy(p, "-01", 4);
}

/* Reads 2n hex digits into n bytes; false on anything else. */
static bool hex_bytes(const char *s, uint8_t *out, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        int hi = tlw_hex_value(s[2 * i]), lo = hi < 0 ? -1 : tlw_hex_value(s[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return false;
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    return true;
}

bool tlw_trace_parse_traceparent(const char *t, uint8_t trace_id[16], uint8_t span_id[8])
{
    /* version 00: exactly 55 characters; a later version may append fields
     * after another '-', which a reader of version 00 ignores. */
    size_t len = strlen(t);
    if (len < 55 || (len > 55 && t[55] != '-'))
        return false;
    if (t[2] != '-' || t[35] != '-' || t[52] != '-')
        return false;
    uint8_t version, flags;
    if (!hex_bytes(t, &version, 1) || version == 0xff || (version == 0 && len != 55))
        return false;
    if (!hex_bytes(t + 3, trace_id, 16) || !hex_bytes(t + 36, span_id, 8) ||
        !hex_bytes(t + 53, &flags, 1))
        return false;
    return !all_zero(trace_id, 16) && !all_zero(span_id, 8);
}

bool tlw_trace_parse_xray(const char *text, uint8_t trace_id[16], uint8_t span_id[8])
{
    bool root = false;
    memset(span_id, 0, 8);
    const char *p = text;
    while (*p) {
        size_t len = strcspn(p, ";");
        while (len > 0 && *p == ' ') {
            p++;
            len--;
        }
        /* Root=1-<8 hex>-<24 hex> */
        if (len == 5 + 35 && strncmp(p, "Root=1-", 7) == 0 && p[15] == '-' &&
            hex_bytes(p + 7, trace_id, 4) && hex_bytes(p + 16, trace_id + 4, 12))
            root = true;
        else if (len == 7 + 16 && strncmp(p, "Parent=", 7) == 0 && !hex_bytes(p + 7, span_id, 8))
            memset(span_id, 0, 8);
        p += len;
        if (*p == ';')
            p++;
    }
    return root && !all_zero(trace_id, 16);
}
