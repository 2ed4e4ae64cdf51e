#include "config.h"

#include "worker/replay.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/error.h"
#include "common/file.h"
#include "worker/connect.h"
#include "worker/engine.h"
#include "worker/pbjson.h"
#include "worker/service.h"
#include "worker/storage.h"

#define MAX_HISTORY_FILE (512u * 1024 * 1024)
/* How long fetching the history's payloads stored in S3 may take. */
#define FETCH_TIMEOUT_MS (5 * 60 * 1000)

tlw_status tlw_replay_history(const tlw_config *cfg,
                              const Temporal__Api__History__V1__History *history,
                              const char *workflow_id, tlw_error *err)
{
    if (!history || history->n_events == 0)
        return tlw_error_set(err, TLW_ERR_INVALID, "the history has no events");
    /* Payloads stored in S3 are fetched as a worker fetches them (the
     * events are ours to change). */
    tlw_storage *storage = NULL;
    tlw_status fetched = tlw_storage_open(&cfg->settings.worker, environ, &storage, err);
    int64_t deadline = tlw_wall_ms() + FETCH_TIMEOUT_MS;
    for (size_t i = 0; i < history->n_events && fetched == TLW_OK; i++)
        fetched = tlw_storage_retrieve_all(storage, &history->events[i]->base, deadline, err);
    tlw_storage_close(storage);
    if (fetched != TLW_OK)
        return tlw_error_prefix(err, "cannot fetch a payload stored externally: ");
    tlw_engine_result r;
    tlw_engine_replay(cfg, cfg->settings.client.namespace_name.value,
                      workflow_id ? workflow_id : "replay", "replay", history->events,
                      history->n_events, &r);
    tlw_status st = TLW_OK;
    if (r.task_failed)
        st = tlw_error_set(err, TLW_ERR_FAILED, "%s", r.message);
    tlw_engine_result_free(&r);
    return st;
}

tlw_status tlw_replay_file(const tlw_config *cfg, const char *path, tlw_error *err)
{
    char *text = NULL;
    size_t len = 0;
    tlw_status st = tlw_read_file(path, "the history file", MAX_HISTORY_FILE, &text, &len, err);
    if (st != TLW_OK)
        return st;
    ProtobufCMessage *msg = NULL;
    st = tlw_pbjson_decode_text(&temporal__api__history__v1__history__descriptor, text, len, &msg,
                                err);
    free(text);
    if (st != TLW_OK) {
        char why[TLW_ERROR_MESSAGE_MAX];
        snprintf(why, sizeof why, "%s", err->message);
        return tlw_error_set(err, st, "%s: %s", path, why);
    }
    st = tlw_replay_history(cfg, (const Temporal__Api__History__V1__History *)msg, NULL, err);
    protobuf_c_message_free_unpacked(msg, NULL);
    return st;
}

tlw_status tlw_replay_workflow(const tlw_config *cfg, const char *workflow_id, tlw_error *err)
{
    tlw_rpc_client *client = NULL;
    tlw_status st = tlw_worker_connect(&cfg->settings, &client, err);
    if (st != TLW_OK)
        return st;
    tlw_service_caller caller = {.client = client,
                                 .namespace_name = cfg->settings.client.namespace_name.value,
                                 .identity = "tlw-replay"};
    Temporal__Api__Common__V1__WorkflowExecution execution =
        TEMPORAL__API__COMMON__V1__WORKFLOW_EXECUTION__INIT;
    execution.workflow_id = (char *)workflow_id;
    Temporal__Api__History__V1__History all = TEMPORAL__API__HISTORY__V1__HISTORY__INIT;
    tlw_history_page **pages = NULL;
    size_t n_pages = 0;
    ProtobufCBinaryData token = {0};
    do {
        tlw_rpc_call_options o = {.timeout_ms = 10000};
        tlw_history_page *page = NULL;
        st = tlw_service_history_page(&caller, &execution, token, &o, &page, err);
        if (st != TLW_OK)
            break;
        tlw_history_page **bigger = realloc(pages, (n_pages + 1) * sizeof *pages);
        if (!bigger) {
            protobuf_c_message_free_unpacked(&page->base, NULL);
            st = tlw_error_set(err, TLW_ERR_NOMEM, "out of memory reading the history");
            break;
        }
        pages = bigger;
        pages[n_pages++] = page; /* freed below, whatever happens next */
        size_t n = page->history ? page->history->n_events : 0;
        Temporal__Api__History__V1__HistoryEvent **events =
            realloc(all.events, (all.n_events + n + 1) * sizeof *events);
        if (!events) {
            st = tlw_error_set(err, TLW_ERR_NOMEM, "out of memory reading the history");
            break;
        }
        all.events = events;
        if (n)
            memcpy(all.events + all.n_events, page->history->events, n * sizeof *events);
        all.n_events += n;
        token = page->next_page_token;
    } while (token.len > 0);
    if (st == TLW_OK)
        st = tlw_replay_history(cfg, &all, workflow_id, err);
    free(all.events);
    for (size_t i = 0; i < n_pages; i++)
        protobuf_c_message_free_unpacked(&pages[i]->base, NULL);
    free(pages);
    tlw_rpc_client_close(client);
    return st;
}
