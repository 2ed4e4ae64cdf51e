#include "config.h"

#include "worker/heartbeat.h"

#include <signal.h>

#include "common/clock.h"
#include "common/error.h"
#include "common/log.h"
#include "worker/payload.h"

#define RPC_TIMEOUT_MS 10000
#define DEFAULT_INTERVAL_MS 30000
#define STORE_TIMEOUT_MS 30000

void tlw_heartbeat_init(tlw_heartbeat *hb, tlw_poller *p, ProtobufCBinaryData task_token,
                        const char *activity_type, int64_t heartbeat_timeout_ms)
{
    *hb = (tlw_heartbeat){
        .poller = p,
        .task_token = task_token,
        .activity_type = activity_type,
        .interval_ms = heartbeat_timeout_ms > 0 ? heartbeat_timeout_ms / 10 * 8
                                                : DEFAULT_INTERVAL_MS,
    };
}

static void send_now(tlw_heartbeat *hb)
{
    tlw_error err;
    tlw_payloads *details = NULL;
    if (hb->latest && tlw_payloads_from_json(hb->latest, false, &details, &err) != TLW_OK) {
        tlw_log_warn("heartbeat details of %s: %s", hb->activity_type, err.message);
        details = NULL;
    }
    tlw_rpc_call_options o;
    bool cancel = false;
    tlw_status st = tlw_poller_call_options(hb->poller, RPC_TIMEOUT_MS, &o, &err);
    if (st == TLW_OK && details &&
        tlw_storage_store(hb->storage, &hb->target, details,
                          tlw_wall_ms() + tlw_poller_budget_ms(hb->poller, STORE_TIMEOUT_MS),
                          &err) != TLW_OK) {
        /* Sending no details would erase the last ones the server has: a
         * retry keeps those, and the next heartbeat tries again. */
        tlw_log_warn("heartbeat of %s not sent: %s", hb->activity_type, err.message);
        protobuf_c_message_free_unpacked(&details->base, NULL);
        hb->last_sent_ms = tlw_wall_ms();
        hb->pending = false;
        return;
    }
    if (st == TLW_OK)
        st = tlw_service_record_heartbeat(&hb->poller->caller, hb->task_token, details, &o,
                                          &cancel, &err);
    if (st != TLW_OK)
        tlw_log_warn("heartbeat of %s: %s", hb->activity_type, err.message);
    else if (cancel && !hb->cancel_requested) {
        hb->cancel_requested = true;
        if (hb->executor > 0)
            kill(hb->executor, SIGUSR1);
    }
    if (details)
        protobuf_c_message_free_unpacked(&details->base, NULL);
    hb->last_sent_ms = tlw_wall_ms();
    hb->pending = false;
}

void tlw_heartbeat_record(tlw_heartbeat *hb, const json_t *details)
{
    json_decref(hb->latest);
    hb->latest = json_deep_copy(details);
    hb->pending = true;
    tlw_heartbeat_flush_due(hb);
}

int64_t tlw_heartbeat_due_ms(const tlw_heartbeat *hb)
{
    return hb->pending ? hb->last_sent_ms + hb->interval_ms : INT64_MAX;
}

void tlw_heartbeat_flush_due(tlw_heartbeat *hb)
{
    if (hb->pending && tlw_wall_ms() >= tlw_heartbeat_due_ms(hb))
        send_now(hb);
}

const json_t *tlw_heartbeat_latest(const tlw_heartbeat *hb)
{
    return hb->latest;
}

void tlw_heartbeat_free(tlw_heartbeat *hb)
{
    json_decref(hb->latest);
    hb->latest = NULL;
}
